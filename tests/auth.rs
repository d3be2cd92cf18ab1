//! Identity and tenant isolation, end to end over HTTP: the route × role
//! matrix (generated from the same table the middleware reads), tenant
//! scoping of reads and the stream, batches, admin audit, key management,
//! JWT login, approval links, rate limits, and keys shared by two gateway
//! instances on DynamoDB.

use serde_json::{Value, json};
use switchyard_server::access::{Access, ROUTES};
use switchyard_tests::auth::{
    Identity, Keys, NAMESPACE, PASSWORD, TENANT, USER, auth_server, order, scoped,
};
use switchyard_tests::{TestServer, outcome_kind};

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

/// A concrete request for each route of the table; a new route without a
/// sample fails here, so the matrix always covers every route.
fn sample(method: &str, route: &str, ids: &Ids) -> Sample {
    let s = |path: String, body: Option<Value>, scope| Sample { path, body, scope };
    let tenant_body = json!({"namespace": NAMESPACE, "tenant": TENANT});
    match (method, route) {
        ("GET", "/openapi.json")
        | ("GET", "/ui")
        | ("GET", "/ui/console.js")
        | ("GET", "/ui/console.css")
        | ("GET", "/health")
        | ("GET", "/metrics")
        | ("GET", "/metrics/prometheus") => s(route.into(), None, Scope::Shared),
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
        ("POST", "/v1/rules/evaluate") => s(
            route.into(),
            Some(order(TENANT, "matrix-evaluate", 1500)),
            Scope::Tenant,
        ),
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
