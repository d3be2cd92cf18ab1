//! Keys and users over HTTP: administrative changes audited with their
//! caller, API keys created and revoked, user logins, keys shared by
//! instances on DynamoDB, no key in the repository, and Acteon's client on an
//! API key.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchyard_tests::auth::{
    NAMESPACE, NOW, OTHER_TENANT, PASSWORD, TENANT, USER, auth_config, auth_server, order, scoped,
    write_auth_file,
};
use switchyard_tests::{at, outcome_kind};

#[tokio::test]
async fn administrative_changes_are_audited_with_the_caller() {
    let (s, keys) = auth_server().await;
    let admin = Some(keys.admin.as_str());
    let (status, _) = s
        .call(
            "PUT",
            "/v1/rules/deny-sanctioned-regions/enabled",
            admin,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, quota) = s
        .call(
            "POST",
            "/v1/quotas",
            admin,
            Some(&json!({"namespace": NAMESPACE, "tenant": TENANT,
            "max_actions": 5, "window": "hourly"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = s
        .call(
            "DELETE",
            &format!("/v1/quotas/{}", quota["id"].as_str().expect("id")),
            admin,
            None,
        )
        .await;
    assert_eq!(
        status, 204,
        "a delete answers no content, as Acteon's clients expect"
    );
    let (_, page) = s
        .call("GET", "/v1/audit?verdict=admin&limit=50", admin, None)
        .await;
    let changes: BTreeMap<String, Value> = page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["action_type"].as_str().unwrap_or_default().to_string(),
                r.clone(),
            )
        })
        .collect();
    for change in ["rule_disabled", "quota_created", "quota_deleted"] {
        let record = changes
            .get(change)
            .unwrap_or_else(|| panic!("{change} audited: {page}"));
        assert_eq!(record["caller_id"], json!("admin"));
        assert_eq!(record["auth_method"], json!("api_key"));
    }
    assert_eq!(
        changes["rule_disabled"]["verdict_details"]["rule"],
        json!("deny-sanctioned-regions")
    );
    // A tenant viewer does not see global admin records.
    let (_, page) = s
        .call("GET", "/v1/audit?verdict=admin", Some(&keys.viewer), None)
        .await;
    assert!(
        page["records"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["tenant"] == TENANT)
    );
}

#[tokio::test]
async fn keys_created_through_the_api_work_at_once_and_die_when_revoked() {
    let (s, keys) = auth_server().await;
    let admin = Some(keys.admin.as_str());
    let (status, created) = s
        .call("POST", "/v1/auth/keys", admin, Some(&json!({"name": "ci", "role": "operator",
            "grants": [{"tenants": [TENANT], "namespaces": [NAMESPACE], "providers": ["*"], "actions": ["*"]}]})))
        .await;
    assert_eq!(status, 201, "{created}");
    let raw = created["key"]
        .as_str()
        .expect("raw key shown once")
        .to_string();
    let id = created["id"].as_str().expect("id").to_string();
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&raw),
            Some(&order(TENANT, "k1", 1500)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = s.call("GET", "/v1/auth/keys", admin, None).await;
    let text = listed.to_string();
    assert!(
        text.contains(&id) && !text.contains(&raw),
        "listed without secrets: {listed}"
    );
    assert!(!text.contains("key_hash"), "no hashes either: {listed}");
    let (status, _) = s
        .call("DELETE", &format!("/v1/auth/keys/{id}"), admin, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&raw),
            Some(&order(TENANT, "k2", 1500)),
        )
        .await;
    assert_eq!(status, 401, "revoked on this instance at once");
    assert_eq!(
        s.call("DELETE", &format!("/v1/auth/keys/{id}"), admin, None)
            .await
            .0,
        404
    );
    // Invalid requests name their field.
    let (status, body) = s
        .call(
            "POST",
            "/v1/auth/keys",
            admin,
            Some(&json!({"name": "x", "role": "viewer", "grants": []})),
        )
        .await;
    assert_eq!((status, body["field"].clone()), (400, json!("grants")));
}

#[tokio::test]
async fn users_log_in_for_a_token_that_works_like_a_key() {
    let (s, _keys) = auth_server().await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(&json!({"username": USER, "password": "wrong"})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = s
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(&json!({"username": USER, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    assert_eq!(body["expires_in"], json!(600));
    let (status, outcome) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&token),
            Some(&order(TENANT, "j1", 1500)),
        )
        .await;
    assert_eq!(
        (status, outcome_kind(&outcome)),
        (200, "Executed".to_string())
    );
    let (_, record) = s.call("GET", "/v1/audit/j1", Some(&token), None).await;
    assert_eq!(
        (record["caller_id"].clone(), record["auth_method"].clone()),
        (json!(USER), json!("jwt"))
    );
    // The token carries the user's grants.
    let (status, _) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&token),
            Some(&order(OTHER_TENANT, "j2", 1500)),
        )
        .await;
    assert_eq!(status, 403);
    // It expires with the gateway's clock.
    s.clock.advance(chrono::Duration::seconds(601));
    let (status, body) = s
        .call("GET", &scoped("/v1/chains"), Some(&token), None)
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("token expired"))
    );
}

#[tokio::test]
async fn keys_are_shared_by_two_instances_on_dynamodb() {
    use std::sync::Arc;
    use switchyard_core::ManualClock;
    let Some(endpoint) = switchyard_tests::dynamodb_endpoint() else {
        return;
    };
    let keys = write_auth_file();
    let mut config = auth_config(&keys);
    // The bound under test: a revoked key works at most this long elsewhere.
    config.auth.key_cache_seconds = 1;
    let clock = Arc::new(ManualClock::new(at(NOW)));
    let (state, audit) = switchyard_tests::dynamodb_ports(&endpoint, clock.clone(), None).await;
    let instance = |config| {
        let mut memory = switchyard_assembly::MemoryPorts::new(clock.clone(), 1000);
        memory.ports.state = state.clone();
        memory.ports.audit = audit.clone();
        switchyard_tests::serve(config, clock.clone(), memory)
    };
    let a = instance(config.clone()).await;
    let b = instance(config).await;
    let (status, created) = a
        .call("POST", "/v1/auth/keys", Some(&keys.admin), Some(&json!({"name": "shared", "role": "viewer",
            "grants": [{"tenants": [TENANT], "namespaces": [NAMESPACE], "providers": ["*"], "actions": ["*"]}]})))
        .await;
    assert_eq!(status, 201, "{created}");
    let raw = created["key"].as_str().expect("key").to_string();
    let path = scoped("/v1/chains");
    assert_eq!(
        b.call("GET", &path, Some(&raw), None).await.0,
        200,
        "created on A, accepted by B"
    );
    assert_eq!(a.call("GET", &path, Some(&raw), None).await.0, 200);
    let (status, _) = a
        .call(
            "DELETE",
            &format!("/v1/auth/keys/{}", created["id"].as_str().expect("id")),
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        a.call("GET", &path, Some(&raw), None).await.0,
        401,
        "refused at once where revoked"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        b.call("GET", &path, Some(&raw), None).await.0,
        401,
        "refused by B within key_cache_seconds"
    );
}

/// A run of at least 32 hex digits: the shape of a key.
fn has_hex_key(line: &str) -> bool {
    let mut run = 0;
    for c in line.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 32 {
            return true;
        }
    }
    false
}

#[test]
fn no_approval_key_ships_in_the_repository_or_the_binary() {
    // The configuration compiled into the binary (what `switchyard serve`
    // and the Lambda functions run without one of their own).
    let bundled = switchyard_server::example::config().expect("bundled config");
    assert_eq!(bundled.server.approval_secret, None);
    assert!(bundled.server.approval_previous_secrets.is_empty());
    // So each process signs with its own random key.
    let sign = || {
        let gateway = switchyard_assembly::build_gateway(
            switchyard_server::example::config().expect("config"),
            switchyard_assembly::MemoryPorts::new(
                std::sync::Arc::new(switchyard_core::ManualClock::new(at(NOW))),
                10,
            )
            .ports,
            Some(switchyard_server::example::rules().expect("rules")),
        )
        .expect("gateway");
        gateway
            .signer()
            .sign("n", "t", "id", 1, switchyard_gateway::LinkPurpose::Approve)
    };
    assert_ne!(sign(), sign(), "no fixed key behind the bundled config");
    // Nowhere in the repository: no approval secret with a value.
    let root = switchyard_tests::repo_path("");
    let files = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    assert!(files.status.success());
    let mut offenders = Vec::new();
    for path in String::from_utf8_lossy(&files.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
    {
        let Ok(text) = std::fs::read_to_string(root.join(path)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            if (lower.contains("approval_secret") || lower.contains("approval_previous_secrets"))
                && has_hex_key(line)
            {
                offenders.push(format!("{path}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "approval keys committed:\n{}",
        offenders.join("\n")
    );
    assert!(
        has_hex_key(&"ab".repeat(16)),
        "the detector sees a 32-digit key"
    );
}

/// Requests exactly as Acteon's Python client builds them (`Content-Type:
/// application/json` on every request, `Authorization: Bearer <api_key>`),
/// and the fields its models read from our answers.
#[tokio::test]
async fn acteon_clients_dispatch_and_read_audit_with_an_api_key() {
    let (s, keys) = auth_server().await;
    let client = |method: reqwest::Method, path: &str| {
        s.http
            .request(method, s.url(path))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", keys.operator))
    };
    assert_eq!(
        client(reqwest::Method::GET, "/health")
            .send()
            .await
            .expect("health")
            .status(),
        200
    );
    let action = json!({"id": "client-1", "namespace": NAMESPACE, "tenant": TENANT,
        "provider": "payment-gateway", "action_type": "place_order",
        "payload": {"order_id": "client-1", "total_cents": 1500, "shipping_country": "US"},
        "metadata": {}, "created_at": "2026-01-05T17:00:00Z"});
    let response = client(reqwest::Method::POST, "/v1/dispatch")
        .json(&action)
        .send()
        .await
        .expect("dispatch");
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.expect("outcome");
    assert_eq!(outcome_kind(&outcome), "Executed", "{outcome}");
    // query_audit(AuditQuery(namespace, tenant, limit)) → AuditPage.
    let audit = format!("/v1/audit?namespace={NAMESPACE}&tenant={TENANT}&limit=10");
    let response = client(reqwest::Method::GET, &audit)
        .send()
        .await
        .expect("audit");
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("page");
    for field in ["records", "total", "limit", "offset"] {
        assert!(page.get(field).is_some(), "AuditPage.{field}: {page}");
    }
    // get_audit_record(action_id) → AuditRecord.
    let response = client(reqwest::Method::GET, "/v1/audit/client-1")
        .send()
        .await
        .expect("record");
    assert_eq!(response.status(), 200);
    let record: Value = response.json().await.expect("record");
    for field in [
        "id",
        "action_id",
        "namespace",
        "tenant",
        "provider",
        "action_type",
        "verdict",
        "outcome",
        "dispatched_at",
        "completed_at",
        "duration_ms",
        "caller_id",
        "auth_method",
    ] {
        assert!(record.get(field).is_some(), "AuditRecord.{field}: {record}");
    }
    assert_eq!(record["caller_id"], json!("operator"));
    // An error answer carries the fields the client reads (`code`, message text).
    let response = client(reqwest::Method::POST, "/v1/dispatch")
        .json(
            &json!({"namespace": NAMESPACE, "tenant": OTHER_TENANT, "provider": "payment-gateway",
                      "action_type": "place_order", "payload": {}}),
        )
        .send()
        .await
        .expect("forbidden");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], json!("FORBIDDEN"));
}
