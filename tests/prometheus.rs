//! `GET /metrics/prometheus`: what a scrape carries after real traffic.

use serde_json::json;
use switchyard_tests::{at, start_ecommerce};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

fn order(n: u32) -> serde_json::Value {
    json!({"id": format!("prom-{n}"), "namespace": "ecommerce", "tenant": "acme-store",
           "provider": "payment-gateway", "action_type": "place_order",
           "dedup_key": format!("prom-{n}"),
           "payload": {"order_id": format!("ORD-{n}"), "total_cents": 1000, "shipping_country": "US"}})
}

/// The value of the sample line that starts with `series` (labels included).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn a_scrape_counts_outcomes_by_tenant_and_times_dispatches_and_chain_steps() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    for n in 0..3 {
        let (status, outcome) = server.post("/v1/dispatch", &order(n)).await;
        assert_eq!(status, 200, "{outcome}");
    }
    // A duplicate, and an order from a sanctioned country (suppressed).
    server.post("/v1/dispatch", &order(0)).await;
    let mut sanctioned = order(9);
    sanctioned["payload"]["shipping_country"] = json!("NK");
    server.post("/v1/dispatch", &sanctioned).await;
    // Run the chains the executed orders started.
    server.clock.advance(chrono::Duration::seconds(1));
    while server.run_due().await > 0 {}

    let response = server
        .http
        .get(server.url("/metrics/prometheus"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.expect("text");

    let scope = "namespace=\"ecommerce\",tenant=\"acme-store\",provider=\"payment-gateway\"";
    let count = |outcome: &str| {
        sample(
            &text,
            &format!("switchyard_actions_total{{{scope},outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(count("executed"), Some(3.0), "{text}");
    assert_eq!(count("deduplicated"), Some(1.0), "{text}");
    assert_eq!(count("suppressed"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "switchyard_dispatch_duration_seconds_count{outcome=\"executed\"}"
        ),
        Some(3.0)
    );
    let steps = sample(
        &text,
        "switchyard_chain_step_duration_seconds_count{chain=\"order-processing\"}",
    )
    .unwrap_or(0.0);
    assert!(steps >= 3.0, "each chain ran at least one step: {text}");
    assert_eq!(
        sample(
            &text,
            "switchyard_circuit_breaker_state{provider=\"payment-gateway\"}"
        ),
        Some(0.0),
        "closed"
    );
    assert!(sample(&text, "switchyard_worker_queue_lag_seconds").is_some());
    assert_eq!(sample(&text, "switchyard_dispatched_total"), Some(5.0));
    assert_eq!(text.lines().last(), Some("# EOF"));
}
