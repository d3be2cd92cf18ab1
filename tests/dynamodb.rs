//! The gateway on DynamoDB: round trips per outcome (counted by an SDK
//! interceptor on every HTTP request, retries included) and behaviour when
//! DynamoDB is unreachable.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchyard_assembly::MemoryPorts;
use switchyard_assembly::build_gateway;
use switchyard_core::{Action, ActionOutcome, ManualClock};
use switchyard_gateway::quotas::{OverageBehavior, QuotaPolicy, QuotaWindow};
use switchyard_gateway::{DispatchOptions, Gateway, GatewayError};
use switchyard_store_dynamodb::{DynamoSettings, DynamoStateStore, RoundTrips, connect};
use switchyard_tests::{at, dynamodb_endpoint, dynamodb_ports, ecommerce_config, repo_path};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

fn order(n: u32, total_cents: u64, country: &str) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": format!("ORD-{n}"), "total_cents": total_cents, "shipping_country": country}),
    )
    .with_id(format!("rt-{n}"))
    .with_dedup_key(format!("order-{n}"))
}

struct Meter {
    gateway: Gateway,
    trips: RoundTrips,
    clock: Arc<ManualClock>,
}

impl Meter {
    /// Round trips of one dispatch, and its outcome.
    async fn measure(&self, action: Action) -> (u64, ActionOutcome) {
        let before = self.trips.count();
        let outcome = self
            .gateway
            .dispatch(action, DispatchOptions::default())
            .await
            .expect("dispatch");
        (self.trips.count() - before, outcome)
    }
}

/// The e-commerce rules on DynamoDB, a quota in force, caches warm.
async fn meter(endpoint: &str) -> Meter {
    let clock = Arc::new(ManualClock::new(at(MONDAY_NOON_ET)));
    let trips = RoundTrips::default();
    let mut memory = MemoryPorts::new(clock.clone(), 1000);
    let (state, audit) = dynamodb_ports(endpoint, clock.clone(), Some(trips.clone())).await;
    memory.ports.state = state;
    memory.ports.audit = audit;
    // The dispatch pipeline alone: no chain trigger, no lifecycle tracking, and
    // no breakers (their state is read at most once a second per provider and
    // instance, which a wall-clock cache makes non-deterministic to count here).
    let mut config = ecommerce_config();
    config.chains.on_executed.clear();
    config.state_machines.clear();
    config.circuit_breaker.enabled = false;
    let gateway = build_gateway(config, memory.ports.clone(), None).expect("gateway");
    let now = at(MONDAY_NOON_ET);
    gateway
        .quotas
        .create(QuotaPolicy {
            id: "q-rt".into(),
            namespace: "ecommerce".into(),
            tenant: "acme-store".into(),
            provider: None,
            max_actions: 1000,
            window: QuotaWindow::Hourly,
            overage_behavior: OverageBehavior::Block,
            enabled: true,
            description: None,
            created_at: now,
            updated_at: now,
            labels: Default::default(),
        })
        .await
        .expect("quota");
    let meter = Meter {
        gateway,
        trips,
        clock,
    };
    // Warm the per-process caches (quota policies, retention TTL).
    meter.measure(order(0, 100, "US")).await;
    meter
}

#[tokio::test]
async fn round_trips_per_outcome() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let m = meter(&endpoint).await;
    let mut rows: Vec<(&str, u64, String)> = Vec::new();
    let mut record = |label: &'static str, (trips, outcome): (u64, ActionOutcome)| {
        rows.push((label, trips, outcome.tag().to_string()));
        trips
    };
    // Executed through dedup + quota: one TransactWriteItems gate, one audit write.
    assert_eq!(
        record(
            "executed (dedup + quota gate)",
            m.measure(order(1, 100, "US")).await
        ),
        2
    );
    assert_eq!(
        record(
            "deduplicated",
            m.measure(order(1, 100, "US").with_id("rt-1b")).await
        ),
        2
    );
    assert_eq!(
        record(
            "suppressed (deny rule, quota gate)",
            m.measure(order(2, 100, "NK")).await
        ),
        2
    );
    assert_eq!(
        record(
            "pending approval (quota gate, record, notification flag)",
            m.measure(order(3, 90_000, "US")).await
        ),
        4
    );
    // Throttle decides once the dedup rule is off.
    assert!(m.gateway.set_rule_enabled("dedup-double-submit", false));
    let mut last = (0, ActionOutcome::Deduplicated);
    for n in 0..11 {
        last = m.measure(order(100 + n, 100, "US")).await;
        if n < 10 {
            assert!(matches!(last.1, ActionOutcome::Executed(_)), "{:?}", last.1);
        }
    }
    assert_eq!(record("throttled (window full)", last), 2);
    // The 11th in the window was refused; a new window executes again.
    m.clock.advance(chrono::Duration::seconds(60));
    // The policy caches (quotas, retention) are 5 s old at most: after the jump
    // the first dispatch re-reads them (2 more round trips), later ones do not.
    assert_eq!(
        record(
            "executed, policy caches refreshing",
            m.measure(order(199, 100, "US")).await
        ),
        4
    );
    assert_eq!(
        record(
            "executed (throttle + quota gate)",
            m.measure(order(200, 100, "US")).await
        ),
        2
    );
    // After hours: quota gate, the scheduled record, the audit write.
    m.clock.set(at("2026-01-06T01:00:00Z"));
    m.measure(order(299, 100, "US")).await; // refresh the policy caches
    assert_eq!(
        record(
            "scheduled (quota gate, scheduled record)",
            m.measure(order(300, 100, "US")).await
        ),
        3
    );

    // The budget holds for a dispatch the gate decides with warm caches.
    let mut table = String::from("| outcome | DynamoDB round trips | budget |\n|---|---|---|\n");
    for (label, trips, tag) in &rows {
        let gated = ["executed", "deduplicated", "suppressed", "throttled"].contains(&tag.as_str())
            && !label.contains("refreshing");
        let budget = if gated {
            format!("≤ 2: **{}**", if *trips <= 2 { "PASS" } else { "MISS" })
        } else {
            "–".to_string()
        };
        table.push_str(&format!("| {label} → `{tag}` | {trips} | {budget} |\n"));
    }
    println!("{table}");
    let out = repo_path("target/round-trips.md");
    std::fs::write(&out, table).expect("write round-trip table");
}

/// DynamoDB unreachable: the gate cannot be written, so the dispatch is a 503
/// (Unavailable) and the provider was never called.
#[tokio::test]
async fn unreachable_dynamodb_executes_nothing() {
    let clock = Arc::new(ManualClock::new(at(MONDAY_NOON_ET)));
    let settings = DynamoSettings {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..DynamoSettings::default()
    };
    let mut memory = MemoryPorts::new(clock.clone(), 100);
    memory.ports.state = Arc::new(DynamoStateStore::new(
        connect(&settings, None).await,
        "nowhere",
        clock.clone(),
    ));
    let gateway = build_gateway(ecommerce_config(), memory.ports.clone(), None).expect("gateway");
    let started = std::time::Instant::now();
    let err = gateway
        .dispatch(order(1, 100, "US"), DispatchOptions::default())
        .await
        .expect_err("unavailable");
    assert!(matches!(err, GatewayError::Unavailable(_)), "{err:?}");
    assert_eq!(gateway.metrics().executed, 0, "nothing executed");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "retries are bounded"
    );
}
