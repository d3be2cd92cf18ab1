//! A gateway on memory ports with a manual clock, and the e-commerce
//! example's orders, for the dispatch test files (each uses some).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use switchyard_assembly::MemoryPorts;
use switchyard_config::Config;
use switchyard_core::{Action, ActionOutcome, ManualClock};
use switchyard_gateway::{DispatchOptions, Gateway};
use switchyard_providers::ProviderRegistry;

/// Monday 2026-01-05 12:00 EST / 20:00 EST.
pub const NOON_ET: &str = "2026-01-05T17:00:00Z";
pub const EVENING_ET: &str = "2026-01-06T01:00:00Z";

pub fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().expect("timestamp")
}

pub struct Harness {
    pub gateway: Arc<Gateway>,
    pub clock: Arc<ManualClock>,
    pub memory: MemoryPorts,
}

pub fn harness(config_text: &str, rules_yaml: &str, now: &str) -> Harness {
    let config = Config::parse("test.toml", config_text).expect("config");
    let clock = Arc::new(ManualClock::new(at(now)));
    let memory = MemoryPorts::new(clock.clone(), 10_000);
    let providers = ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
        .expect("providers");
    let rules = switchyard_rules::load_str("rules.yaml", rules_yaml).expect("rules");
    let gateway =
        Gateway::with_rules(config, memory.ports.clone(), providers, rules).expect("gateway");
    Harness {
        gateway: Arc::new(gateway),
        clock,
        memory,
    }
}

pub fn ecommerce(now: &str) -> Harness {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce");
    let config = Config::load(&dir.join("gateway.toml")).expect("config");
    let clock = Arc::new(ManualClock::new(at(now)));
    let memory = MemoryPorts::new(clock.clone(), 10_000);
    let providers = ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
        .expect("providers");
    let gateway = Gateway::new(config, memory.ports.clone(), providers).expect("gateway");
    Harness {
        gateway: Arc::new(gateway),
        clock,
        memory,
    }
}

pub fn order(id: &str, payload: Value) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        payload,
    )
    .with_id(id)
}

pub async fn dispatch(h: &Harness, action: Action) -> ActionOutcome {
    h.gateway
        .dispatch(action, DispatchOptions::default())
        .await
        .expect("dispatch")
}

pub fn kind(outcome: &ActionOutcome) -> &'static str {
    outcome.tag()
}

impl Harness {
    pub fn clock_now(&self) -> DateTime<Utc> {
        use switchyard_core::Clock;
        self.clock.now()
    }
}
