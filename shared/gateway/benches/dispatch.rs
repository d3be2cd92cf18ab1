//! A full dispatch on the memory adapters: rules, one atomic gate (dedup),
//! the log provider and the audit write.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard_config::Config;
use switchyard_core::{Action, ActionOutcome, ManualClock};
use switchyard_gateway::{DispatchOptions, Gateway, MemoryPorts};
use switchyard_providers::ProviderRegistry;

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce");
    let config = Config::load(&dir.join("gateway.toml")).expect("config");
    // Monday noon in New York: standard orders execute through the dedup rule.
    let clock = Arc::new(ManualClock::new(
        "2026-01-05T17:00:00Z".parse().expect("ts"),
    ));
    let memory = MemoryPorts::new(clock, 1_000_000);
    let providers = ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
        .expect("providers");
    let gateway = Gateway::new(config, memory.ports.clone(), providers).expect("gateway");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let counter = AtomicU64::new(0);
    let order = || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        Action::builder(
            "ecommerce",
            "acme-store",
            "payment-gateway",
            "place_order",
            json!({"order_id": format!("ORD-{n}"), "total_cents": 4999, "shipping_country": "US", "card_last4": "4242"}),
        )
        .with_dedup_key(format!("order-{n}"))
    };
    let outcome = runtime
        .block_on(gateway.dispatch(order(), DispatchOptions::default()))
        .expect("dispatch");
    assert!(matches!(outcome, ActionOutcome::Executed(_)), "{outcome:?}");
    c.bench_function("dispatch_in_memory_executed", |b| {
        b.to_async(&runtime).iter(|| async {
            gateway
                .dispatch(order(), DispatchOptions::default())
                .await
                .expect("dispatch")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
