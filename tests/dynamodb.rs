//! The gateway with DynamoDB unreachable. (Round trips per outcome:
//! `tests/round_trips.rs`.)

use std::sync::Arc;
use std::time::Duration;

use switchyard_assembly::MemoryPorts;
use switchyard_assembly::build_gateway;
use switchyard_core::{Action, ManualClock};
use switchyard_gateway::{DispatchOptions, GatewayError};
use switchyard_store_dynamodb::{DynamoSettings, DynamoStateStore, connect};
use switchyard_tests::{at, ecommerce_config};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

fn order(n: u32, total_cents: u64, country: &str) -> Action {
    switchyard_tests::ecommerce::order_action(n, total_cents, country)
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
