//! The gateway's races on PostgreSQL: eight instances (each with its own
//! connection pool, as eight processes on one database) dispatch at once.
//! Exactly one of 200 duplicates executes, exactly 10 of 100 pass a
//! throttle of 10, exactly 25 of 60 pass a quota of 25.

use std::sync::Arc;

use serde_json::json;
use switchyard_core::{Action, ManualClock};
use switchyard_gateway::Gateway;
use switchyard_tests::{
    Instance, at, ecommerce_config, fresh_postgres, instances_on, postgres_adapters, postgres_url,
    race,
};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

fn order(n: usize) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": format!("ORD-{n}"), "total_cents": 100, "shipping_country": "US"}),
    )
    .with_id(format!("pg-race-{n}"))
    .with_dedup_key(format!("order-{n}"))
}

/// Eight instances on fresh tables; `rules` replaces the e-commerce rules.
async fn eight(test: &str, rules: Option<&str>) -> Option<Vec<Arc<Gateway>>> {
    let url = postgres_url()?;
    let settings = fresh_postgres(&url, test);
    let clock = Arc::new(ManualClock::new(at(MONDAY_NOON_ET)));
    let mut config = ecommerce_config();
    config.chains.on_executed.clear();
    config.state_machines.clear();
    let instances: Vec<Instance> = instances_on(8, clock.clone(), &config, rules, async || {
        postgres_adapters(&settings, clock.clone(), None).await
    })
    .await;
    Some(instances.into_iter().map(|i| i.gateway).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_200_duplicates_executes_across_8_instances() {
    let Some(gateways) = eight("dedup", None).await else {
        return;
    };
    let (tally, _) = race(&gateways, 200, |i| order(1).with_id(format!("dup-{i}"))).await;
    assert_eq!(tally.get("executed"), Some(&1), "{tally:?}");
    assert_eq!(tally.get("deduplicated"), Some(&199), "{tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_of_100_pass_a_throttle_of_10_across_8_instances() {
    let throttle = "rules:\n  - name: ten-a-minute\n    condition:\n      field: action.tenant\n      eq: acme-store\n    action:\n      type: throttle\n      max_count: 10\n      window_seconds: 60\n";
    let Some(gateways) = eight("throttle", Some(throttle)).await else {
        return;
    };
    let (tally, _) = race(&gateways, 100, |i| order(1000 + i)).await;
    assert_eq!(tally.get("executed"), Some(&10), "{tally:?}");
    assert_eq!(tally.get("throttled"), Some(&90), "{tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_five_of_60_pass_a_quota_of_25_across_8_instances() {
    let Some(gateways) = eight("quota", Some("rules: []\n")).await else {
        return;
    };
    gateways[0]
        .quotas
        .create(switchyard_tests::ecommerce::hourly_quota(
            "q-race",
            25,
            at(MONDAY_NOON_ET),
        ))
        .await
        .expect("quota");
    let (tally, _) = race(&gateways, 60, |i| order(2000 + i)).await;
    assert_eq!(tally.get("executed"), Some(&25), "{tally:?}");
    assert_eq!(tally.get("quota_exceeded"), Some(&35), "{tally:?}");
}

/// The change feed across processes: a client streaming from one instance
/// sees what another instance on the same database dispatched, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_of_one_instance_carries_what_another_dispatched() {
    let Some(url) = postgres_url() else {
        return;
    };
    let settings = fresh_postgres(&url, "stream");
    let now = chrono::Utc::now();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let clock = Arc::new(ManualClock::new(now));
        let mut memory = switchyard_assembly::MemoryPorts::new(clock.clone(), 1000);
        let (state, audit) = postgres_adapters(&settings, clock.clone(), None).await;
        memory.ports.state = state;
        memory.ports.audit = audit;
        servers.push(switchyard_tests::serve(ecommerce_config(), clock, memory).await);
    }
    let (writer, reader) = (&servers[0], &servers[1]);
    let mut stream = reader
        .http
        .get(reader.url("/v1/stream?namespace=ecommerce&tenant=acme-store"))
        .send()
        .await
        .expect("connect");
    assert_eq!(stream.status(), 200);
    let (status, outcome) = writer
        .post(
            "/v1/dispatch",
            &json!({"id": "cross-1", "namespace": "ecommerce", "tenant": "acme-store",
                    "provider": "payment-gateway", "action_type": "place_order",
                    "payload": {"order_id": "ORD-cross", "total_cents": 100, "shipping_country": "US"}}),
        )
        .await;
    assert_eq!(status, 200, "{outcome}");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !text.contains("cross-1") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the other instance's dispatch arrives in time")
            .expect("read")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Read a little longer: the same record must not come twice.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    let events = text.lines().filter(|l| l.starts_with("id: ")).count();
    assert_eq!(events, 1, "one event, once: {text}");
}
