//! Seed 004, order processing: payment, inventory and shipping are real local
//! HTTP services. Payment failing 60% of the time trips its breaker and orders
//! go to the fallback; with two services down at once every order still ends
//! in an audited final outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::json;
use switchyard_config::Config;
use switchyard_tests::{at, outcome_kind, start, stub_service};

/// A service failing its n-th call when `failing(n)`, or every call while `down`.
async fn service(failing: fn(u64) -> bool, down: Arc<AtomicBool>) -> (String, Arc<AtomicU64>) {
    let stub = stub_service(
        move |n| !down.load(Ordering::SeqCst) && !failing(n),
        std::time::Duration::ZERO,
    )
    .await;
    (stub.url, stub.calls)
}

fn config(payment: &str, inventory: &str, shipping: &str) -> Config {
    let text = format!(
        r#"
[executor]
max_retries = 0

[[providers]]
name = "payment"
type = "webhook"
url = "{payment}"
[[providers]]
name = "payment-backup"
type = "log"
[[providers]]
name = "inventory"
type = "webhook"
url = "{inventory}"
[[providers]]
name = "shipping"
type = "webhook"
url = "{shipping}"
[[providers]]
name = "shipping-backup"
type = "log"

[circuit_breaker]
enabled = true
failure_threshold = 3
success_threshold = 1
recovery_timeout_seconds = 60
[circuit_breaker.providers.payment]
fallback_provider = "payment-backup"
[circuit_breaker.providers.shipping]
failure_threshold = 1
fallback_provider = "shipping-backup"

[[chains.definitions]]
name = "fulfil"
[[chains.definitions.steps]]
name = "reserve"
provider = "inventory"
action_type = "reserve"
on_failure = "dlq"
[[chains.definitions.steps]]
name = "ship"
provider = "shipping"
action_type = "ship"

[[chains.on_executed]]
action_type = "place_order"
chain = "fulfil"
"#
    );
    Config::parse("orders.toml", &text).expect("config")
}

fn order(n: u32) -> serde_json::Value {
    json!({"id": format!("o{n}"), "namespace": "shop", "tenant": "acme", "provider": "payment",
           "action_type": "place_order", "payload": {"order_id": n}})
}

#[tokio::test]
async fn payment_failing_sixty_percent_trips_to_the_fallback() {
    let up = Arc::new(AtomicBool::new(false));
    // Calls 0,1,2 fail, 3,4 succeed, 5,6,7 fail…: 60% failures.
    let (payment, payment_calls) = service(|n| n % 5 < 3, up.clone()).await;
    let (inventory, _) = service(|_| false, up.clone()).await;
    let (shipping, _) = service(|_| false, up.clone()).await;
    let server = start(
        config(&payment, &inventory, &shipping),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let mut kinds = Vec::new();
    for n in 0..20 {
        let (_, outcome) = server.post("/v1/dispatch", &order(n)).await;
        kinds.push(outcome_kind(&outcome));
    }
    // Three consecutive failures open the breaker; every later order goes to the fallback
    // without calling payment.
    assert_eq!(&kinds[..3], ["Failed", "Failed", "Failed"]);
    assert!(kinds[3..].iter().all(|k| k == "Rerouted"), "{kinds:?}");
    assert_eq!(
        payment_calls.load(Ordering::SeqCst),
        3,
        "an open breaker shields the failing service"
    );
    // Nothing lost: every order has an audited outcome.
    for n in 0..20 {
        let (status, record) = server.get(&format!("/v1/audit/o{n}")).await;
        assert_eq!(status, 200, "order {n} has no audit record");
        assert!(
            ["failed", "rerouted"].contains(&record["outcome"].as_str().unwrap_or_default()),
            "{record}"
        );
    }
}

#[tokio::test]
async fn two_services_down_every_order_still_ends_recorded() {
    let up = Arc::new(AtomicBool::new(false));
    let down = Arc::new(AtomicBool::new(true));
    let (payment, _) = service(|_| false, up.clone()).await;
    let (inventory, _) = service(|_| false, down.clone()).await;
    let (shipping, _) = service(|_| false, down.clone()).await;
    let server = start(
        config(&payment, &inventory, &shipping),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    for n in 0..10 {
        let (_, outcome) = server.post("/v1/dispatch", &order(n)).await;
        assert_eq!(outcome_kind(&outcome), "Executed", "payment is up");
    }
    server.run_due().await;
    // Inventory down: each fulfilment chain ends failed (dlq policy) with the reason recorded.
    let (_, chains) = server.get("/v1/chains?namespace=shop&tenant=acme").await;
    let chains = chains["chains"].as_array().expect("chains").clone();
    assert_eq!(chains.len(), 10);
    for chain in &chains {
        let id = chain["chain_id"].as_str().expect("id");
        let (_, detail) = server
            .get(&format!("/v1/chains/{id}?namespace=shop&tenant=acme"))
            .await;
        assert_eq!(detail["status"], json!("failed"), "{detail}");
        assert!(
            detail["failure_reason"]
                .as_str()
                .expect("reason")
                .contains("step 'reserve' failed")
        );
        let (_, ended) = server
            .get(&format!("/v1/audit?chain_id={id}&outcome=chain_failed"))
            .await;
        assert_eq!(ended["total"], json!(1), "the chain's end is audited");
    }
    // Inventory back, shipping still down: shipping's breaker sends the rest to its fallback.
    down.store(false, Ordering::SeqCst);
    let (shipping_down, _) = service(|_| true, up.clone()).await;
    let server = start(
        config(&payment, &inventory, &shipping_down),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let statuses = |chains: serde_json::Value| -> Vec<String> {
        chains["chains"]
            .as_array()
            .expect("chains")
            .iter()
            .filter_map(|c| c["status"].as_str().map(str::to_string))
            .collect()
    };
    // A first batch meets shipping down: the steps run concurrently, so several may
    // fail before the breaker (threshold 1) opens; every chain ends recorded.
    for n in 100..105 {
        server.post("/v1/dispatch", &order(n)).await;
    }
    server.run_due().await;
    let (_, chains) = server.get("/v1/chains?namespace=shop&tenant=acme").await;
    let first = statuses(chains);
    assert_eq!(first.len(), 5);
    assert!(
        first.iter().all(|s| s == "failed" || s == "completed"),
        "{first:?}"
    );
    assert!(
        first.iter().any(|s| s == "failed"),
        "the failures opened the breaker: {first:?}"
    );
    // With the breaker open, the next orders ship through the backup.
    for n in 200..205 {
        server.post("/v1/dispatch", &order(n)).await;
    }
    server.run_due().await;
    let (_, chains) = server
        .get("/v1/chains?namespace=shop&tenant=acme&status=completed")
        .await;
    assert_eq!(
        statuses(chains).len(),
        5 + first.iter().filter(|s| *s == "completed").count()
    );
    let (_, shipped) = server
        .get("/v1/audit?namespace=shop&action_type=ship&outcome=rerouted")
        .await;
    assert!(shipped["total"].as_u64().expect("total") >= 5, "{shipped}");
}
