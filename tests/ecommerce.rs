//! Seed 001, "E-Commerce Order Pipeline": the 15 sample orders over HTTP,
//! inside and outside business hours (US/Eastern), on the shipped example.

use serde_json::{Value, json};
use switchyard_tests::{
    Backend, TestServer, at, ecommerce_config, outcome_kind, start_ecommerce, start_on,
};

/// Monday 2026-01-05, 12:00 in New York.
const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";
/// Monday 2026-01-05, 20:00 in New York.
const MONDAY_EVENING_ET: &str = "2026-01-06T01:00:00Z";
/// Saturday 2026-01-10, 12:00 in New York.
const SATURDAY_NOON_ET: &str = "2026-01-10T17:00:00Z";

struct Order {
    category: &'static str,
    id: String,
    body: Value,
}

fn order(
    category: &'static str,
    n: u32,
    total_cents: u64,
    country: &str,
    dedup_key: &str,
) -> Order {
    let id = format!("ORD-{n}");
    Order {
        category,
        body: json!({
            "id": format!("act-{n}"),
            "namespace": "ecommerce",
            "tenant": "acme-store",
            "provider": "payment-gateway",
            "action_type": "place_order",
            "dedup_key": dedup_key,
            "metadata": {"channel": "web"},
            "payload": {
                "order_id": id,
                "customer_email": format!("customer{n}@example.com"),
                "total_cents": total_cents,
                "currency": "USD",
                "shipping_country": country,
                "card_last4": "4242",
                "billing_zip": "10001",
                "items": [{"sku": "SKU-1", "qty": 1}]
            }
        }),
        id,
    }
}

/// The seed's 15 orders, in the order the sample script sends them.
fn sample_orders() -> Vec<Order> {
    vec![
        order("standard", 1001, 4999, "US", "order-1001"),
        order("standard", 1002, 12900, "CA", "order-1002"),
        order("standard", 1003, 19900, "GB", "order-1003"),
        order("high-value", 2001, 75000, "US", "order-2001"),
        order("high-value", 2002, 120000, "DE", "order-2002"),
        order("sanctioned", 3001, 5000, "NK", "order-3001"),
        order("sanctioned", 3002, 8000, "SY", "order-3002"),
        order("duplicate", 4001, 6500, "US", "order-4001"),
        order("duplicate", 4002, 6500, "US", "order-4001"),
        order("rapid-fire", 5001, 1500, "US", "order-5001"),
        order("rapid-fire", 5002, 1500, "US", "order-5002"),
        order("rapid-fire", 5003, 1500, "US", "order-5003"),
        order("after-hours", 6001, 3000, "US", "order-6001"),
        order("after-hours", 6002, 3000, "US", "order-6002"),
        order("after-hours", 6003, 3000, "US", "order-6003"),
    ]
}

async fn send_all(server: &TestServer) -> Vec<(&'static str, String, Value)> {
    let mut results = Vec::new();
    for order in sample_orders() {
        let (status, outcome) = server.post("/v1/dispatch", &order.body).await;
        assert_eq!(status, 200, "{}: {outcome}", order.id);
        results.push((order.category, order.id, outcome));
    }
    results
}

fn kinds(results: &[(&str, String, Value)], category: &str) -> Vec<String> {
    results
        .iter()
        .filter(|(c, _, _)| *c == category)
        .map(|(_, _, o)| outcome_kind(o))
        .collect()
}

#[tokio::test]
async fn sample_orders_during_business_hours() {
    business_hours_on(Backend::Memory).await;
}

#[tokio::test]
async fn sample_orders_during_business_hours_on_dynamodb() {
    business_hours_on(Backend::DynamoDb).await;
}

#[tokio::test]
async fn sample_orders_during_business_hours_on_postgres() {
    business_hours_on(Backend::Postgres).await;
}

async fn business_hours_on(backend: Backend) {
    let Some(server) = start_on(backend, ecommerce_config(), at(MONDAY_NOON_ET)).await else {
        return;
    };
    let results = send_all(&server).await;
    assert_eq!(kinds(&results, "standard"), ["Executed"; 3]);
    assert_eq!(kinds(&results, "high-value"), ["PendingApproval"; 2]);
    assert_eq!(kinds(&results, "sanctioned"), ["Suppressed"; 2]);
    assert_eq!(kinds(&results, "duplicate"), ["Executed", "Deduplicated"]);
    assert_eq!(kinds(&results, "rapid-fire"), ["Executed"; 3]);
    assert_eq!(
        kinds(&results, "after-hours"),
        ["Executed"; 3],
        "inside business hours they pass"
    );

    // Exact wire shapes Acteon clients parse.
    let (_, _, standard) = &results[0];
    assert_eq!(
        standard,
        &json!({"Executed": {"status": "success", "body": {"provider": "payment-gateway", "logged": true}, "headers": {}}})
    );
    let (_, _, duplicate) = &results[8];
    assert_eq!(
        duplicate,
        &json!("Deduplicated"),
        "a bare string, as Acteon sends it"
    );
    let (_, _, sanctioned) = &results[5];
    assert_eq!(
        sanctioned,
        &json!({"Suppressed": {"rule": "deny-sanctioned-regions"}})
    );
    let pending = &results[3].2["PendingApproval"];
    assert_eq!(pending["notification_sent"], json!(true));
    let approve = pending["approve_url"].as_str().expect("url");
    assert!(approve.contains("/v1/approvals/ecommerce/acme-store/") && approve.contains("sig="));

    // The audit trail saw every order, with payment fields redacted.
    let (status, audit) = server
        .get("/v1/audit?namespace=ecommerce&tenant=acme-store&limit=50")
        .await;
    assert_eq!(status, 200);
    assert_eq!(audit["total"], json!(15));
    let newest = &audit["records"][0];
    assert_eq!(newest["action_id"], json!("act-6003"), "newest first");
    assert_eq!(newest["action_payload"]["card_last4"], json!("[REDACTED]"));
    assert_eq!(newest["action_payload"]["billing_zip"], json!("[REDACTED]"));
    assert_eq!(newest["action_payload"]["order_id"], json!("ORD-6003"));
    let (_, denied) = server
        .get("/v1/audit?namespace=ecommerce&tenant=acme-store&outcome=suppressed")
        .await;
    assert_eq!(denied["total"], json!(2));
    let (_, approvals) = server
        .get("/v1/audit?namespace=ecommerce&outcome=pending_approval")
        .await;
    assert_eq!(approvals["total"], json!(2));
    let (status, one) = server.get("/v1/audit/act-4002").await;
    assert_eq!(
        (status, one["outcome"].clone()),
        (200, json!("deduplicated"))
    );

    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(metrics["dispatched"], json!(15));
    assert_eq!(metrics["executed"], json!(10));
    assert_eq!(metrics["deduplicated"], json!(1));
    assert_eq!(metrics["suppressed"], json!(2));
    assert_eq!(metrics["pending_approval"], json!(2));
}

#[tokio::test]
async fn sample_orders_outside_business_hours() {
    after_hours_on(Backend::Memory).await;
}

#[tokio::test]
async fn sample_orders_outside_business_hours_on_dynamodb() {
    after_hours_on(Backend::DynamoDb).await;
}

#[tokio::test]
async fn sample_orders_outside_business_hours_on_postgres() {
    after_hours_on(Backend::Postgres).await;
}

async fn after_hours_on(backend: Backend) {
    for instant in [MONDAY_EVENING_ET, SATURDAY_NOON_ET] {
        let Some(server) = start_on(backend, ecommerce_config(), at(instant)).await else {
            return;
        };
        let results = send_all(&server).await;
        // Security gates still decide first...
        assert_eq!(
            kinds(&results, "sanctioned"),
            ["Suppressed"; 2],
            "{instant}"
        );
        assert_eq!(
            kinds(&results, "high-value"),
            ["PendingApproval"; 2],
            "{instant}"
        );
        // ...and every other order is held for business hours (first match:
        // schedule-after-hours precedes dedup).
        for category in ["standard", "duplicate", "rapid-fire", "after-hours"] {
            assert!(
                kinds(&results, category).iter().all(|k| k == "Scheduled"),
                "{instant} {category}"
            );
        }
        let scheduled = &results[0].2["Scheduled"];
        let due: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(scheduled["scheduled_for"].clone()).expect("timestamp");
        assert_eq!((due - at(instant)).num_seconds(), 30);
        // The outcome names the action itself: its audit record is found by it.
        assert_eq!(scheduled["action_id"], "act-1001", "{instant}");
        let (status, record) = server.get("/v1/audit/act-1001").await;
        assert_eq!(status, 200, "{instant}: {record}");
        assert_eq!(record["outcome"], "scheduled", "{instant}: {record}");
        // 11 scheduled orders and 2 approval expiries wait on the delay queue.
        assert_eq!(
            server.memory.queue.len(),
            13,
            "one delayed message per scheduled order and approval"
        );
    }
}

#[tokio::test]
async fn dry_run_and_rules_api() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let order = &sample_orders()[0].body;
    let (status, dry) = server.post("/v1/dispatch?dry_run=true", order).await;
    assert_eq!(status, 200);
    assert_eq!(
        dry,
        json!({"DryRun": {"verdict": "deduplicate", "matched_rule": "dedup-double-submit", "would_be_provider": "payment-gateway"}})
    );
    let (_, rules) = server.get("/v1/rules").await;
    let names: Vec<&str> = rules
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names.first(), Some(&"deny-sanctioned-regions"));
    assert_eq!(rules[2]["action_type"], json!("schedule"));
    // Disabling the dedup rule lets the throttle rule decide.
    let (status, body) = server
        .put(
            "/v1/rules/dedup-double-submit/enabled",
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!((status, body["status"].clone()), (200, json!("disabled")));
    let (_, dry) = server.post("/v1/dispatch?dry_run=true", order).await;
    assert_eq!(
        dry["DryRun"]["matched_rule"],
        json!("throttle-merchant-orders")
    );
    let (status, _) = server
        .put("/v1/rules/no-such-rule/enabled", &json!({"enabled": false}))
        .await;
    assert_eq!(status, 404);
    // A reload keeps what the operator switched off, and says so.
    let (status, body) = server.post_raw("/v1/rules/reload", None, Vec::new()).await;
    assert_eq!((status, body["reloaded"].clone()), (200, json!(6)));
    assert_eq!(
        body["runtime_state_kept"],
        json!([{"rule": "dedup-double-submit", "enabled": false}])
    );
    let (_, dry) = server.post("/v1/dispatch?dry_run=true", order).await;
    assert_eq!(
        dry["DryRun"]["matched_rule"],
        json!("throttle-merchant-orders")
    );
    // Switched on again, it decides again, and later reloads keep it on.
    let (status, _) = server
        .put(
            "/v1/rules/dedup-double-submit/enabled",
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = server.post_raw("/v1/rules/reload", None, Vec::new()).await;
    assert_eq!(
        body["runtime_state_kept"],
        json!([{"rule": "dedup-double-submit", "enabled": true}])
    );
    let (_, dry) = server.post("/v1/dispatch?dry_run=true", order).await;
    assert_eq!(dry["DryRun"]["matched_rule"], json!("dedup-double-submit"));
}

#[tokio::test]
async fn quotas_through_the_api() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let (status, quota) = server
        .post(
            "/v1/quotas",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "max_actions": 2, "window": "hourly",
                    "overage_behavior": "block", "description": "tiny for the test"}),
        )
        .await;
    assert_eq!(status, 201, "{quota}");
    let id = quota["id"].as_str().expect("id").to_string();
    for order in sample_orders().iter().take(2) {
        let (_, outcome) = server.post("/v1/dispatch", &order.body).await;
        assert_eq!(outcome_kind(&outcome), "Executed");
    }
    let (_, over) = server.post("/v1/dispatch", &sample_orders()[2].body).await;
    assert_eq!(
        over,
        json!({"QuotaExceeded": {"tenant": "acme-store", "limit": 2, "used": 2, "overage_behavior": "block"}})
    );
    let (_, usage) = server.get(&format!("/v1/quotas/{id}/usage")).await;
    assert_eq!(
        (usage["used"].clone(), usage["remaining"].clone()),
        (json!(2), json!(0))
    );
    let (_, list) = server
        .get("/v1/quotas?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!(list["count"], json!(1));
    let (status, _) = server
        .post("/v1/quotas", &json!({"namespace": "ecommerce", "tenant": "acme-store", "max_actions": 5, "window": "hourly"}))
        .await;
    assert_eq!(status, 409, "one quota per scope and window");
    let (status, _) = server
        .put(&format!("/v1/quotas/{id}"), &json!({"max_actions": 200}))
        .await;
    assert_eq!(status, 200);
    let (_, outcome) = server.post("/v1/dispatch", &sample_orders()[2].body).await;
    assert_eq!(
        outcome_kind(&outcome),
        "Executed",
        "the raised limit applies at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_over_http_execute_once() {
    let server = std::sync::Arc::new(start_ecommerce(at(MONDAY_NOON_ET)).await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut body = sample_orders()[0].body.clone();
            body["id"] = json!(format!("concurrent-{i}"));
            body["dedup_key"] = json!("one-order");
            let (status, outcome) = server.post("/v1/dispatch", &body).await;
            assert_eq!(status, 200);
            outcome_kind(&outcome)
        }));
    }
    let mut executed = 0;
    for task in tasks {
        if task.await.expect("task") == "Executed" {
            executed += 1;
        }
    }
    assert_eq!(executed, 1);
}

/// Every single-dispatch answer carries the action's id in `X-Action-Id`
/// (Acteon's `Executed` and `Suppressed` shapes have none), and the audit
/// record is found by it, also when the server chose the id.
#[tokio::test]
async fn every_dispatch_answer_names_its_action() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let mut sanctioned = order("sanctioned", 3001, 5000, "NK", "order-3001").body;
    sanctioned.as_object_mut().expect("object").remove("id");
    for (body, kind) in [
        (
            order("standard", 1001, 4999, "US", "order-1001").body,
            "Executed",
        ),
        (sanctioned, "Suppressed"),
    ] {
        let response = server
            .http
            .post(server.url("/v1/dispatch"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let id = response.headers()["x-action-id"]
            .to_str()
            .expect("ascii")
            .to_string();
        let outcome: Value = response.json().await.expect("json");
        assert_eq!(outcome_kind(&outcome), kind, "{outcome}");
        if let Some(sent) = body["id"].as_str() {
            assert_eq!(id, sent);
        }
        let (status, record) = server.get(&format!("/v1/audit/{id}")).await;
        assert_eq!(status, 200, "{kind}: {record}");
        assert_eq!(record["action_id"], id.as_str());
    }
}
