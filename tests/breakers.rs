//! Circuit breakers with fallbacks against a real local HTTP server that
//! fails on demand; recovery is driven by the injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::{at, outcome_kind, start, stub_service};

#[tokio::test]
async fn breaker_opens_falls_back_and_recovers_with_one_probe() {
    let healthy = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (h, c) = (healthy.clone(), calls.clone());
    let router = Router::new().route(
        "/pay",
        post(move || {
            let (h, c) = (h.clone(), c.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if h.load(Ordering::SeqCst) {
                    (StatusCode::OK, "{\"charged\": true}")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "{\"error\": \"down\"}")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    let text = format!(
        r#"
[executor]
max_retries = 0

[[providers]]
name = "payment-gateway"
type = "webhook"
url = "http://{addr}/pay"

[[providers]]
name = "compliance-queue"
type = "log"

[circuit_breaker]
enabled = true
failure_threshold = 3
success_threshold = 1
recovery_timeout_seconds = 30

[circuit_breaker.providers.payment-gateway]
failure_threshold = 2
recovery_timeout_seconds = 60
fallback_provider = "compliance-queue"
"#
    );
    let server = start(
        Config::parse("cb.toml", &text).expect("config"),
        at("2026-01-05T17:00:00Z"),
    )
    .await;
    let order = |n: u32| {
        json!({"id": format!("o{n}"), "namespace": "shop", "tenant": "t", "provider": "payment-gateway",
                                 "action_type": "charge", "payload": {"n": n}})
    };
    // Two failures open the breaker.
    for n in 0..2 {
        let (_, outcome) = server.post("/v1/dispatch", &order(n)).await;
        assert_eq!(outcome_kind(&outcome), "Failed", "{outcome}");
    }
    let (_, breakers) = server.get("/v1/circuit-breakers").await;
    let payment = breakers["circuit_breakers"]
        .as_array()
        .expect("list")
        .iter()
        .find(|b| b["provider"] == "payment-gateway")
        .expect("breaker")
        .clone();
    assert_eq!(payment["state"], json!("open"));
    // Open: the provider is not called; the fallback takes the order.
    let before = calls.load(Ordering::SeqCst);
    let (_, outcome) = server.post("/v1/dispatch", &order(2)).await;
    assert_eq!(
        outcome,
        json!({"Rerouted": {"original_provider": "payment-gateway", "new_provider": "compliance-queue",
                            "response": {"status": "success", "body": {"provider": "compliance-queue", "logged": true}, "headers": {}}}})
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "an open breaker does not call the provider"
    );
    let (_, health) = server.get("/v1/providers/health").await;
    let entry = health["providers"]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["provider"] == "payment-gateway")
        .expect("entry")
        .clone();
    assert_eq!(
        (
            entry["healthy"].clone(),
            entry["circuit_breaker_state"].clone()
        ),
        (json!(false), json!("open"))
    );

    // After the recovery timeout one probe goes through; it succeeds and closes the breaker.
    healthy.store(true, Ordering::SeqCst);
    server.clock.advance(chrono::Duration::seconds(61));
    let (_, outcome) = server.post("/v1/dispatch", &order(3)).await;
    assert_eq!(outcome_kind(&outcome), "Executed", "{outcome}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before + 1,
        "exactly one probe"
    );
    let (_, breakers) = server.get("/v1/circuit-breakers").await;
    assert_eq!(
        breakers["circuit_breakers"][1]["state"],
        json!("closed"),
        "{breakers}"
    );
    // Each transition is in the audit trail (and so on the stream).
    let (_, transitions) = server
        .get("/v1/audit?namespace=_system&action_type=circuit_breaker_transition")
        .await;
    let outcomes: Vec<&str> = transitions["records"]
        .as_array()
        .expect("records")
        .iter()
        .rev()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["circuit_open", "circuit_half_open", "circuit_closed"]
    );
    assert!(
        transitions["records"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["event"] == json!("circuit_breaker_transition")),
        "{transitions}"
    );
}

/// With every usable provider's breaker open and no fallback left: CircuitOpen.
#[tokio::test]
async fn all_open_is_circuit_open_with_the_chain_tried() {
    let text = r#"
[executor]
max_retries = 0
[[providers]]
name = "a"
type = "webhook"
url = "http://127.0.0.1:9/a"
timeout_seconds = 1
[[providers]]
name = "b"
type = "webhook"
url = "http://127.0.0.1:9/b"
timeout_seconds = 1
[circuit_breaker]
enabled = true
failure_threshold = 1
[circuit_breaker.providers.a]
fallback_provider = "b"
[circuit_breaker.providers.b]
fallback_provider = "a"
"#;
    let server = start(
        Config::parse("cb.toml", text).expect("config"),
        at("2026-01-05T17:00:00Z"),
    )
    .await;
    let send = |p: &str| json!({"namespace": "n", "tenant": "t", "provider": p, "action_type": "x", "payload": {}});
    server.post("/v1/dispatch", &send("a")).await; // opens a
    server.post("/v1/dispatch", &send("b")).await; // opens b
    let (_, outcome) = server.post("/v1/dispatch", &send("a")).await;
    assert_eq!(
        outcome,
        json!({"CircuitOpen": {"provider": "a", "fallback_chain": ["b"]}})
    );
}

/// A service failing its n-th call when `fails(n)` (unless `healthy`), answering after `delay`.
async fn flaky(
    fails: fn(u64) -> bool,
    delay: std::time::Duration,
    healthy: Arc<AtomicBool>,
) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let stub = stub_service(move |n| healthy.load(Ordering::SeqCst) || !fails(n), delay).await;
    (stub.url, stub.calls)
}

fn error_rate_config(url: &str, max_probes: u32) -> Config {
    let text = format!(
        r#"
[executor]
max_retries = 0
[[providers]]
name = "payment"
type = "webhook"
url = "{url}"
[[providers]]
name = "backup"
type = "log"
[circuit_breaker]
enabled = true
mode = "error_rate"
error_rate_threshold_percent = 50
minimum_requests = 10
window_seconds = 60
window_size = 20
success_threshold = 2
half_open_max_probes = {max_probes}
recovery_timeout_seconds = 30
[circuit_breaker.providers.payment]
fallback_provider = "backup"
"#
    );
    Config::parse("rate.toml", &text).expect("config")
}

fn charge(n: usize) -> serde_json::Value {
    json!({"id": format!("c{n}"), "namespace": "shop", "tenant": "t", "provider": "payment", "action_type": "charge", "payload": {}})
}

/// Seed 004's model: the error rate over a sliding window decides, not a run
/// of failures. 40% failures never open; 60% open once the minimum number of
/// requests is in the window.
#[tokio::test]
async fn error_rate_window_opens_above_the_threshold_only() {
    let never = Arc::new(AtomicBool::new(false));
    // 2 of every 5 calls fail (40%), never three in a row.
    let (forty, _) = flaky(
        |n| n % 5 == 1 || n % 5 == 3,
        std::time::Duration::ZERO,
        never.clone(),
    )
    .await;
    let server = start(error_rate_config(&forty, 1), at("2026-01-05T10:00:00Z")).await;
    for n in 0..40 {
        let (_, outcome) = server.post("/v1/dispatch", &charge(n)).await;
        assert_ne!(
            outcome_kind(&outcome),
            "Rerouted",
            "40% stays under the 50% threshold (call {n})"
        );
    }
    // 3 of every 5 fail (60%): opens when 10 requests are in the window.
    let (sixty, calls) = flaky(|n| n % 5 < 3, std::time::Duration::ZERO, never.clone()).await;
    let server = start(error_rate_config(&sixty, 1), at("2026-01-05T10:00:00Z")).await;
    let mut kinds = Vec::new();
    for n in 0..15 {
        let (_, outcome) = server.post("/v1/dispatch", &charge(n)).await;
        kinds.push(outcome_kind(&outcome));
    }
    assert!(kinds[..10].iter().all(|k| k != "Rerouted"), "{kinds:?}");
    assert!(kinds[10..].iter().all(|k| k == "Rerouted"), "{kinds:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 10, "open after the 10th call");
}

/// Half-open admits at most N probes at once; the rest go to the fallback.
#[tokio::test]
async fn half_open_admits_at_most_n_probes() {
    let healthy = Arc::new(AtomicBool::new(false));
    let (url, calls) = flaky(
        |_| true,
        std::time::Duration::from_millis(300),
        healthy.clone(),
    )
    .await;
    let server = Arc::new(start(error_rate_config(&url, 2), at("2026-01-05T10:00:00Z")).await);
    for n in 0..10 {
        server.post("/v1/dispatch", &charge(n)).await;
    }
    let (_, breakers) = server.get("/v1/circuit-breakers").await;
    assert_eq!(
        breakers["circuit_breakers"][1]["state"],
        json!("open"),
        "{breakers}"
    );
    healthy.store(true, Ordering::SeqCst);
    server.clock.advance(chrono::Duration::seconds(31));
    let before = calls.load(Ordering::SeqCst);
    // Five at once: two probes reach the (slow) service, three go to the backup.
    let mut tasks = Vec::new();
    for n in 100..105 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            outcome_kind(&server.post("/v1/dispatch", &charge(n)).await.1)
        }));
    }
    let mut executed = 0;
    let mut rerouted = 0;
    for task in tasks {
        match task.await.expect("task").as_str() {
            "Executed" => executed += 1,
            "Rerouted" => rerouted += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((executed, rerouted), (2, 3));
    assert_eq!(
        calls.load(Ordering::SeqCst) - before,
        2,
        "exactly two probes reached the service"
    );
    // Two successful probes (success_threshold = 2) closed it.
    let (_, breakers) = server.get("/v1/circuit-breakers").await;
    assert_eq!(
        breakers["circuit_breakers"][1]["state"],
        json!("closed"),
        "{breakers}"
    );
}

/// The reaper moves an open breaker past its recovery timeout to half-open,
/// visible in the API before any call probes; the next call then probes.
#[tokio::test]
async fn the_reaper_recovers_open_breakers_and_dead_probes() {
    let healthy = Arc::new(AtomicBool::new(false));
    let (url, calls) = flaky(|_| true, std::time::Duration::ZERO, healthy.clone()).await;
    let server = start(error_rate_config(&url, 1), at("2026-01-05T10:00:00Z")).await;
    for n in 0..10 {
        server.post("/v1/dispatch", &charge(n)).await;
    }
    let state = |b: &Value| b["circuit_breakers"][1]["state"].clone();
    assert_eq!(
        state(&server.get("/v1/circuit-breakers").await.1),
        json!("open")
    );

    // Before the recovery timeout the reaper leaves it open.
    let report = server.gateway.reap().await.expect("reap");
    assert_eq!(report.breakers_recovered, 0);
    server.clock.advance(chrono::Duration::seconds(31));
    let report = server.gateway.reap().await.expect("reap");
    assert_eq!(report.breakers_recovered, 1, "{report:?}");
    assert_eq!(
        state(&server.get("/v1/circuit-breakers").await.1),
        json!("half_open")
    );
    // A second pass finds nothing to do.
    assert_eq!(
        server
            .gateway
            .reap()
            .await
            .expect("reap")
            .breakers_recovered,
        0
    );

    // The next call probes the recovered service at once.
    healthy.store(true, Ordering::SeqCst);
    let before = calls.load(Ordering::SeqCst);
    let (_, outcome) = server.post("/v1/dispatch", &charge(100)).await;
    assert_eq!(outcome_kind(&outcome), "Executed", "{outcome}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before + 1,
        "the next call probes"
    );
}

/// Breaker state lives in the shared store: a breaker that one instance
/// opened keeps a second instance (its own SDK client, its own process
/// memory) off the failing provider, on DynamoDB as on Lambda.
#[tokio::test]
async fn a_breaker_opened_by_one_instance_holds_on_another() {
    use switchyard_tests::{dynamodb_adapters, dynamodb_endpoint, fresh_tables, serve};
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let down = Arc::new(AtomicBool::new(false));
    let (url, calls) = flaky(|_| true, std::time::Duration::ZERO, down).await;
    let config = error_rate_config(&url, 1);
    let settings = fresh_tables(&endpoint, "breaker").await;
    let clock = Arc::new(switchyard_core::ManualClock::new(at(
        "2026-01-05T17:00:00Z",
    )));
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut memory = switchyard_assembly::MemoryPorts::new(clock.clone(), 1000);
        let (state, audit) = dynamodb_adapters(&settings, &endpoint, clock.clone(), None).await;
        memory.ports.state = state;
        memory.ports.audit = audit;
        instances.push(serve(config.clone(), clock.clone(), memory).await);
    }
    let (first, second) = (&instances[0], &instances[1]);
    // Ten failures on the first instance open the breaker (error-rate mode).
    for n in 0..10 {
        let (_, outcome) = first.post("/v1/dispatch", &charge(n)).await;
        assert_eq!(outcome_kind(&outcome), "Failed", "{outcome}");
    }
    let (_, breakers) = second.get("/v1/circuit-breakers").await;
    let payment = breakers["circuit_breakers"]
        .as_array()
        .expect("list")
        .iter()
        .find(|b| b["provider"] == "payment")
        .expect("breaker")
        .clone();
    assert_eq!(
        payment["state"],
        json!("open"),
        "the second instance reads it"
    );
    // The second instance has never called the provider, and does not now.
    let before = calls.load(Ordering::SeqCst);
    let (_, outcome) = second.post("/v1/dispatch", &charge(10)).await;
    assert_eq!(outcome_kind(&outcome), "Rerouted", "{outcome}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "the open breaker keeps the second instance off the provider"
    );
}
