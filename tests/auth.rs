//! Identity and tenant isolation, end to end over HTTP: the route × role
//! matrix (generated from the same table the middleware reads), tenant
//! scoping of reads and the stream, batches, admin audit, key management,
//! JWT login, approval links, rate limits, and keys shared by two gateway
//! instances on DynamoDB.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchyard_server::access::{Access, ROUTES};
use switchyard_tests::auth::{
    Identity, Keys, NAMESPACE, OTHER_TENANT, PASSWORD, TENANT, USER, auth_config, write_auth_file,
};
use switchyard_tests::{TestServer, at, outcome_kind, start};

/// 17:00 UTC on a Monday: business hours in US/Eastern (orders execute).
const NOW: &str = "2026-01-05T17:00:00Z";

async fn auth_server() -> (TestServer, Keys) {
    let keys = write_auth_file();
    let server = start(auth_config(&keys), at(NOW)).await;
    (server, keys)
}

fn order(tenant: &str, id: &str, cents: u64) -> Value {
    json!({"namespace": NAMESPACE, "tenant": tenant, "provider": "payment-gateway",
           "action_type": "place_order", "id": id,
           "payload": {"order_id": id, "total_cents": cents, "currency": "USD",
                       "shipping_country": "US", "customer_email": "c@example.com"}})
}

/// Dispatch a small order for `tenant` with `key`; it must be accepted.
async fn dispatch_ok(s: &TestServer, key: &str, tenant: &str, id: &str) -> Value {
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(key),
            Some(&order(tenant, id, 1500)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// How a route's resource relates to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Not tenant data (rules, breakers, health): any granted caller.
    Shared,
    /// The request names the tenant: other tenants' keys get 403.
    Tenant,
    /// The request names a record by id: other tenants' keys get 404.
    Record,
}

struct Sample {
    path: String,
    body: Option<Value>,
    scope: Scope,
}

/// Records the matrix's requests point at, created first by the admin.
struct Ids {
    quota: String,
    retention: String,
    recurring: String,
    chain: String,
    approval: String,
    key: String,
    action: String,
}

fn scoped(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}namespace={NAMESPACE}&tenant={TENANT}")
}

/// A concrete request for each route of the table; a new route without a
/// sample fails here, so the matrix always covers every route.
fn sample(method: &str, route: &str, ids: &Ids) -> Sample {
    let s = |path: String, body: Option<Value>, scope| Sample { path, body, scope };
    let tenant_body = json!({"namespace": NAMESPACE, "tenant": TENANT});
    match (method, route) {
        ("GET", "/health") | ("GET", "/metrics") => s(route.into(), None, Scope::Shared),
        ("POST", "/v1/auth/login") => s(
            route.into(),
            Some(json!({"username": USER, "password": PASSWORD})),
            Scope::Shared,
        ),
        ("GET", "/v1/auth/keys") => s(route.into(), None, Scope::Shared),
        ("POST", "/v1/auth/keys") => s(
            route.into(),
            Some(json!({"name": "made-in-matrix", "role": "viewer",
                        "grants": [{"tenants": [TENANT], "namespaces": [NAMESPACE], "providers": ["*"], "actions": ["*"]}]})),
            Scope::Shared,
        ),
        ("DELETE", "/v1/auth/keys/{id}") => {
            s(format!("/v1/auth/keys/{}", ids.key), None, Scope::Shared)
        }
        ("GET", "/v1/circuit-breakers")
        | ("GET", "/v1/providers/health")
        | ("GET", "/v1/rules") => s(route.into(), None, Scope::Shared),
        ("GET", "/v1/dead-letters")
        | ("GET", "/v1/dlq/stats")
        | ("POST", "/v1/dead-letters/drain")
        | ("POST", "/v1/dlq/drain") => s(route.into(), None, Scope::Shared),
        ("POST", "/v1/dead-letters/{id}/replay") => s(
            "/v1/dead-letters/no-such-letter/replay".into(),
            None,
            Scope::Shared,
        ),
        ("POST", "/v1/dispatch") => s(
            route.into(),
            Some(order(TENANT, "matrix-order", 1500)),
            Scope::Tenant,
        ),
        ("POST", "/v1/dispatch/batch") => s(
            route.into(),
            Some(json!([order(TENANT, "matrix-batch", 1500)])),
            // A batch answers 200 with a 403 item: checked in its own test.
            Scope::Shared,
        ),
        ("POST", "/v1/rules/reload") => s(route.into(), None, Scope::Shared),
        ("PUT", "/v1/rules/{name}/enabled") => s(
            "/v1/rules/dedup-double-submit/enabled".into(),
            Some(json!({"enabled": true})),
            Scope::Shared,
        ),
        ("GET", "/v1/audit") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/audit/{action_id}") => {
            s(format!("/v1/audit/{}", ids.action), None, Scope::Record)
        }
        ("GET", "/v1/quotas") => s(scoped(route), None, Scope::Tenant),
        ("POST", "/v1/quotas") => s(
            route.into(),
            Some(
                json!({"namespace": NAMESPACE, "tenant": TENANT, "provider": "warehouse",
                        "max_actions": 1000, "window": "daily"}),
            ),
            Scope::Tenant,
        ),
        ("GET", "/v1/quotas/{id}") | ("PUT", "/v1/quotas/{id}") | ("DELETE", "/v1/quotas/{id}") => {
            s(
                format!("/v1/quotas/{}", ids.quota),
                (method == "PUT").then(|| json!({"max_actions": 999})),
                Scope::Record,
            )
        }
        ("GET", "/v1/quotas/{id}/usage") => s(
            format!("/v1/quotas/{}/usage", ids.quota),
            None,
            Scope::Record,
        ),
        ("GET", "/v1/approvals") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/approvals/{namespace}/{tenant}/{id}") => s(
            format!("/v1/approvals/{NAMESPACE}/{TENANT}/{}", ids.approval),
            None,
            Scope::Tenant,
        ),
        ("POST", "/v1/approvals/{namespace}/{tenant}/{id}/approve")
        | ("POST", "/v1/approvals/{namespace}/{tenant}/{id}/reject") => s(
            format!(
                "/v1/approvals/{NAMESPACE}/{TENANT}/{}/{}",
                ids.approval,
                route.rsplit('/').next().unwrap_or_default()
            ),
            None,
            Scope::Tenant,
        ),
        ("GET", "/v1/chains") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/chains/{id}") => s(
            scoped(&format!("/v1/chains/{}", ids.chain)),
            None,
            Scope::Tenant,
        ),
        ("POST", "/v1/chains/{id}/cancel") => s(
            format!("/v1/chains/{}/cancel", ids.chain),
            Some(tenant_body.clone()),
            Scope::Tenant,
        ),
        ("GET", "/v1/groups") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/groups/{key}") | ("DELETE", "/v1/groups/{key}") => {
            s(scoped("/v1/groups/no-such-group"), None, Scope::Tenant)
        }
        ("GET", "/v1/events") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/events/{fingerprint}") => {
            s(scoped("/v1/events/matrix-order"), None, Scope::Tenant)
        }
        ("GET", "/v1/events/{fingerprint}/history") => s(
            scoped("/v1/events/matrix-order/history"),
            None,
            Scope::Tenant,
        ),
        ("PUT", "/v1/events/{fingerprint}/transition") => s(
            "/v1/events/matrix-order/transition".into(),
            Some(json!({"to": "confirmed", "namespace": NAMESPACE, "tenant": TENANT})),
            Scope::Tenant,
        ),
        ("GET", "/v1/stream") => s(scoped(route), None, Scope::Tenant),
        ("GET", "/v1/retention") => s(route.into(), None, Scope::Shared),
        ("POST", "/v1/retention") => s(
            route.into(),
            Some(json!({"namespace": NAMESPACE, "tenant": TENANT, "audit_ttl_seconds": 86400})),
            Scope::Tenant,
        ),
        ("GET", "/v1/retention/{id}")
        | ("PUT", "/v1/retention/{id}")
        | ("DELETE", "/v1/retention/{id}") => s(
            format!("/v1/retention/{}", ids.retention),
            (method == "PUT").then(|| json!({"description": "matrix"})),
            Scope::Record,
        ),
        ("GET", "/v1/recurring") => s(scoped(route), None, Scope::Tenant),
        ("POST", "/v1/recurring") => s(
            route.into(),
            Some(
                json!({"namespace": NAMESPACE, "tenant": TENANT, "cron_expression": "0 * * * *",
                        "provider": "warehouse", "action_type": "restock", "payload": {}}),
            ),
            Scope::Tenant,
        ),
        ("GET", "/v1/recurring/{id}")
        | ("PUT", "/v1/recurring/{id}")
        | ("DELETE", "/v1/recurring/{id}")
        | ("POST", "/v1/recurring/{id}/pause")
        | ("POST", "/v1/recurring/{id}/resume") => s(
            route.replace("{id}", &ids.recurring),
            (method == "PUT").then(|| json!({"description": "matrix"})),
            Scope::Record,
        ),
        other => panic!("no sample request for {other:?}: add one to the matrix"),
    }
}

/// What the table says this caller gets: `Err(status)` when refused.
fn expected(access: Access, scope: Scope, who: &Identity) -> Result<(), u16> {
    let needed = match access {
        Access::Public => return Ok(()),
        Access::LinkOrRole(role) | Access::Role(role) | Access::Global(role) => role,
    };
    if who.key.is_none() {
        return Err(401);
    }
    if who.role < needed {
        return Err(403);
    }
    if matches!(access, Access::Global(_)) && !who.unrestricted {
        return Err(403);
    }
    if who.other_tenant {
        match scope {
            Scope::Tenant => return Err(403),
            Scope::Record => return Err(404),
            Scope::Shared => {}
        }
    }
    Ok(())
}

async fn create_fixtures(s: &TestServer, keys: &Keys) -> Ids {
    let admin = Some(keys.admin.as_str());
    let created = |(status, body): (u16, Value)| {
        assert!(status == 200 || status == 201, "{status} {body}");
        body
    };
    let quota = created(
        s.call(
            "POST",
            "/v1/quotas",
            admin,
            Some(&json!({"namespace": NAMESPACE, "tenant": TENANT,
            "max_actions": 100000, "window": "daily"})),
        )
        .await,
    );
    let retention = created(
        s.call(
            "POST",
            "/v1/retention",
            admin,
            Some(&json!({"namespace": NAMESPACE, "tenant": TENANT,
            "state_ttl_seconds": 86400})),
        )
        .await,
    );
    let recurring = created(
        s.call(
            "POST",
            "/v1/recurring",
            admin,
            Some(&json!({"namespace": NAMESPACE, "tenant": TENANT,
            "cron_expression": "0 0 * * *", "provider": "warehouse", "action_type": "restock",
            "payload": {}})),
        )
        .await,
    );
    let executed = created(
        s.call(
            "POST",
            "/v1/dispatch",
            Some(&keys.dispatcher),
            Some(&order(TENANT, "fixture-order", 1200)),
        )
        .await,
    );
    assert_eq!(outcome_kind(&executed), "Executed", "{executed}");
    let (_, chains) = s.call("GET", &scoped("/v1/chains"), admin, None).await;
    let chain = chains["chains"][0]["chain_id"]
        .as_str()
        .or_else(|| chains["chains"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("a chain: {chains}"))
        .to_string();
    let pending = created(
        s.call(
            "POST",
            "/v1/dispatch",
            Some(&keys.dispatcher),
            Some(&order(TENANT, "fixture-big", 90_000)),
        )
        .await,
    );
    let approval = pending["PendingApproval"]["approval_id"]
        .as_str()
        .unwrap_or_else(|| panic!("pending approval: {pending}"))
        .to_string();
    let key = created(
        s.call("POST", "/v1/auth/keys", admin, Some(&json!({"name": "to-revoke", "role": "viewer",
            "grants": [{"tenants": [TENANT], "namespaces": [NAMESPACE], "providers": ["*"], "actions": ["*"]}]})))
            .await,
    );
    let id = |v: &Value| v["id"].as_str().expect("id").to_string();
    Ids {
        quota: id(&quota),
        retention: id(&retention),
        recurring: id(&recurring),
        chain,
        approval,
        key: id(&key),
        action: "fixture-order".into(),
    }
}

#[tokio::test]
async fn every_route_answers_each_identity_as_the_table_says() {
    let (s, keys) = auth_server().await;
    let ids = create_fixtures(&s, &keys).await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for route in ROUTES {
        let sample = sample(route.method, route.path, &ids);
        for who in keys.identities() {
            let (status, body) = s
                .call(
                    route.method,
                    &sample.path,
                    who.key.as_deref(),
                    sample.body.as_ref(),
                )
                .await;
            let want = expected(route.access, sample.scope, &who);
            let ok = match want {
                Err(code) => status == code && body["error"].is_string(),
                Ok(()) => status != 401 && status != 403 && status < 500,
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {}: got {status} {body}, expected {}",
                    route.method,
                    sample.path,
                    who.name,
                    match want {
                        Err(code) => code.to_string(),
                        Ok(()) => "allowed".into(),
                    }
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, ROUTES.len() * 5);
}

#[test]
fn readme_shows_the_same_route_table() {
    let readme = std::fs::read_to_string(switchyard_tests::repo_path("README.md")).expect("README");
    let table = switchyard_server::access::markdown_table();
    assert!(
        readme.contains(&table),
        "README's route table differs from shared/server/src/access.rs; it should read:\n{table}"
    );
}

#[tokio::test]
async fn credentials_are_read_from_bearer_or_x_api_key_and_errors_are_json() {
    let (s, keys) = auth_server().await;
    let path = scoped("/v1/chains");
    let (status, body) = s.call("GET", &path, None, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("missing authentication credentials"))
    );
    let (status, body) = s.call("GET", &path, Some("not-a-key"), None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid API key"))
    );
    let response = s
        .http
        .get(s.url(&path))
        .header("x-api-key", &keys.viewer)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let response = s
        .http
        .get(s.url(&path))
        .header("authorization", format!("Basic {}", keys.viewer))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401, "only the Bearer scheme");
    assert!(response.headers().contains_key("www-authenticate"));
    // Public routes need nothing.
    assert_eq!(s.call("GET", "/health", None, None).await.0, 200);
    assert_eq!(s.call("GET", "/metrics", None, None).await.0, 200);
}

#[tokio::test]
async fn a_grant_refusal_names_what_no_grant_covers() {
    let (s, keys) = auth_server().await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.operator),
            Some(&order(OTHER_TENANT, "x1", 100)),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        json!(format!(
            "forbidden: no grant covers tenant={OTHER_TENANT}, namespace={NAMESPACE}, provider=payment-gateway, action=place_order"
        ))
    );
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.viewer),
            Some(&order(TENANT, "x2", 100)),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("requires the operator role"),
        "{body}"
    );
}

#[tokio::test]
async fn a_batch_checks_each_item() {
    let (s, keys) = auth_server().await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch/batch",
            Some(&keys.operator),
            Some(&json!([
                order(TENANT, "b1", 1500),
                order(OTHER_TENANT, "b2", 1500),
                order(TENANT, "b3", 1500)
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body.as_array().expect("results");
    assert_eq!(outcome_kind(&items[0]), "Executed");
    assert_eq!(items[1]["code"], json!("FORBIDDEN"), "{}", items[1]);
    assert_eq!(outcome_kind(&items[2]), "Executed");
}

#[tokio::test]
async fn reads_are_scoped_to_the_callers_tenants() {
    let (s, keys) = auth_server().await;
    dispatch_ok(&s, &keys.operator, TENANT, "acme-1").await;
    dispatch_ok(&s, &keys.other, OTHER_TENANT, "globex-1").await;
    // Without filters, a tenant key reads its own tenant only.
    let (status, page) = s
        .call("GET", "/v1/audit?limit=100", Some(&keys.viewer), None)
        .await;
    assert_eq!(status, 200, "{page}");
    let records = page["records"].as_array().expect("records");
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["tenant"] == TENANT), "{page}");
    // The audit record carries who dispatched.
    let mine = records
        .iter()
        .find(|r| r["action_id"] == "acme-1")
        .expect("acme-1 audited");
    assert_eq!(
        (mine["caller_id"].clone(), mine["auth_method"].clone()),
        (json!("operator"), json!("api_key"))
    );
    // Asking for another tenant is refused; its record by id reads as absent.
    let (status, _) = s
        .call(
            "GET",
            &format!("/v1/audit?namespace={NAMESPACE}&tenant={OTHER_TENANT}"),
            Some(&keys.viewer),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        s.call("GET", "/v1/audit/globex-1", Some(&keys.viewer), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.call("GET", "/v1/audit/globex-1", Some(&keys.admin), None)
            .await
            .0,
        200
    );
    assert_eq!(
        s.call("GET", "/v1/audit/acme-1", Some(&keys.viewer), None)
            .await
            .0,
        200
    );
}

/// Action ids are the clients' own: when two tenants pick the same one,
/// each reads its own record by id (the other's, newer, neither shows nor
/// hides it), and `namespace`/`tenant` pick one for a caller who sees both.
#[tokio::test]
async fn one_action_id_in_two_tenants_stays_two_records() {
    let (s, keys) = auth_server().await;
    dispatch_ok(&s, &keys.operator, TENANT, "shared-1").await;
    dispatch_ok(&s, &keys.other, OTHER_TENANT, "shared-1").await;
    for (key, tenant) in [(&keys.viewer, TENANT), (&keys.other, OTHER_TENANT)] {
        let (status, record) = s.call("GET", "/v1/audit/shared-1", Some(key), None).await;
        assert_eq!(status, 200, "{record}");
        assert_eq!(record["tenant"], json!(tenant), "{record}");
    }
    let (status, record) = s
        .call(
            "GET",
            &format!("/v1/audit/shared-1?namespace={NAMESPACE}&tenant={TENANT}"),
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!((status, record["tenant"].clone()), (200, json!(TENANT)));
    let (status, _) = s
        .call(
            "GET",
            "/v1/audit/shared-1?tenant=bad%0Aname",
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

/// Read SSE `data:` lines for a while.
async fn stream_events(
    s: &TestServer,
    key: &str,
    path: &str,
    wait: std::time::Duration,
) -> Vec<Value> {
    let mut response = s
        .http
        .get(s.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status().as_u16(), 200);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

#[tokio::test]
async fn the_stream_never_sends_another_tenants_events() {
    let (s, keys) = auth_server().await;
    let server = std::sync::Arc::new(s);
    let (a, b) = (server.clone(), server.clone());
    let (viewer, other) = (keys.viewer.clone(), keys.other.clone());
    // Unfiltered streams: the server filters by grants.
    let mine = tokio::spawn(async move {
        stream_events(
            &a,
            &viewer,
            "/v1/stream",
            std::time::Duration::from_millis(2500),
        )
        .await
    });
    let theirs = tokio::spawn(async move {
        stream_events(
            &b,
            &other,
            "/v1/stream",
            std::time::Duration::from_millis(2500),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    dispatch_ok(&server, &keys.operator, TENANT, "s-acme").await;
    dispatch_ok(&server, &keys.other, OTHER_TENANT, "s-globex").await;
    let mine = mine.await.expect("stream");
    let theirs = theirs.await.expect("stream");
    assert!(mine.iter().any(|e| e["action_id"] == "s-acme"), "{mine:?}");
    assert!(mine.iter().all(|e| e["tenant"] == TENANT), "{mine:?}");
    assert!(
        theirs.iter().any(|e| e["action_id"] == "s-globex"),
        "{theirs:?}"
    );
    assert!(
        theirs.iter().all(|e| e["tenant"] == OTHER_TENANT),
        "{theirs:?}"
    );
}

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
async fn approval_links_cannot_be_abused() {
    let (s, keys) = auth_server().await;
    let (status, pending) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.dispatcher),
            Some(&order(TENANT, "big-1", 90_000)),
        )
        .await;
    assert_eq!(status, 200);
    let pending = &pending["PendingApproval"];
    let id = pending["approval_id"]
        .as_str()
        .expect("approval id")
        .to_string();
    // With auth on, the dispatcher does not receive the signed links.
    assert!(
        pending.get("approve_url").is_none() && pending.get("reject_url").is_none(),
        "{pending}"
    );
    // The links went to the notify provider only: rebuild them as it got them.
    let approve_url = links_of(&s, &id).await.0;
    let reject_url = approve_url.replace("/approve?", "/reject?");
    // A reject path with the approve signature (and the reverse) is refused.
    let (status, body) = post_link(&s, &reject_url).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("BAD_SIGNATURE"))
    );
    let (real_approve, real_reject) = links_of(&s, &id).await;
    let forged = real_approve.split('?').next().expect("path").to_string()
        + "?"
        + real_reject.split('?').nth(1).expect("query");
    let (status, _) = post_link(&s, &forged).await;
    assert_eq!(status, 403, "a reject link never approves");
    // The key that dispatched cannot approve through the API; refused and audited.
    let decide = format!("/v1/approvals/{NAMESPACE}/{TENANT}/{id}/approve");
    let (status, body) = s.call("POST", &decide, Some(&keys.dispatcher), None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("SELF_APPROVAL"))
    );
    let (_, page) = s
        .call(
            "GET",
            &scoped("/v1/audit?outcome=approval_refused"),
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!(
        page["records"][0]["caller_id"],
        json!("dispatcher"),
        "{page}"
    );
    // Another operator of the tenant may; the audit says who.
    let (status, body) = s.call("POST", &decide, Some(&keys.operator), None).await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("approved")),
        "{body}"
    );
    let (_, record) = s
        .call("GET", "/v1/audit/big-1", Some(&keys.admin), None)
        .await;
    assert_eq!(record["caller_id"], json!("operator"), "{record}");
    // The genuine reject link now finds it decided.
    let (status, _) = post_link(&s, &real_reject).await;
    assert_eq!(status, 409);
}

/// The signed links, as the notification carried them (rebuilt from the
/// gateway's signer the same way the notification was).
async fn links_of(s: &TestServer, id: &str) -> (String, String) {
    let record = s
        .gateway
        .ports()
        .state
        .get(&switchyard_store::StateKey::new(
            NAMESPACE, TENANT, "approval", id,
        ))
        .await
        .expect("get")
        .expect("approval record");
    let value: Value = serde_json::from_str(&record.value).expect("json");
    let expires =
        chrono::DateTime::parse_from_rfc3339(value["expires_at"].as_str().expect("expiry"))
            .expect("time")
            .timestamp();
    let signer = s.gateway.signer();
    let link = |purpose: switchyard_gateway::LinkPurpose| {
        format!(
            "/v1/approvals/{NAMESPACE}/{TENANT}/{id}/{}?sig={}&expires_at={expires}&kid={}",
            purpose.as_str(),
            signer.sign(NAMESPACE, TENANT, id, expires, purpose),
            signer.kid()
        )
    };
    (
        link(switchyard_gateway::LinkPurpose::Approve),
        link(switchyard_gateway::LinkPurpose::Reject),
    )
}

async fn post_link(s: &TestServer, link: &str) -> (u16, Value) {
    s.call("POST", link, None, None).await
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let keys = write_auth_file();
    let mut config = auth_config(&keys);
    config.rate_limit.enabled = true;
    config.rate_limit.callers.default.requests_per_window = 3;
    config.rate_limit.tenants.enabled = true;
    config.rate_limit.tenants.default.requests_per_window = 4;
    let s = start(config, at(NOW)).await;
    let path = scoped("/v1/chains");
    for _ in 0..3 {
        assert_eq!(s.call("GET", &path, Some(&keys.viewer), None).await.0, 200);
    }
    let response = s
        .http
        .get(s.url(&path))
        .bearer_auth(&keys.viewer)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], json!("RATE_LIMITED"));
    // Acteon's clients read `message` and `retryable`.
    assert_eq!(body["message"], body["error"]);
    assert_eq!(body["retryable"], json!(true));
    // Another key has its own bucket; the tenant's bucket spans keys.
    let mut statuses = Vec::new();
    for (i, key) in [
        &keys.operator,
        &keys.operator,
        &keys.operator,
        &keys.dispatcher,
        &keys.dispatcher,
    ]
    .iter()
    .enumerate()
    {
        let (status, _) = s
            .call(
                "POST",
                "/v1/dispatch",
                Some(key),
                Some(&order(TENANT, &format!("r{i}"), 1500)),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 200, 429],
        "4 per tenant, whoever sends"
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
