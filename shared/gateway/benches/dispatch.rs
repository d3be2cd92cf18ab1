//! Gateway costs on the memory adapters:
//! - a full dispatch (rules, one atomic gate, log provider, audit);
//! - advancing the 4 executed steps of the e-commerce `order-processing` chain;
//! - flushing a group of 10 humidity readings (IoT example).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard_assembly::MemoryPorts;
use switchyard_config::Config;
use switchyard_core::{Action, ActionOutcome, ManualClock};
use switchyard_gateway::{DispatchOptions, Gateway};
use switchyard_providers::ProviderRegistry;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn gateway(config: Config) -> (Gateway, MemoryPorts, Arc<ManualClock>) {
    // Monday noon in New York: standard orders execute through the dedup rule.
    let clock = Arc::new(ManualClock::new(
        "2026-01-05T17:00:00Z".parse().expect("ts"),
    ));
    let memory = MemoryPorts::new(clock.clone(), 1_000_000);
    let providers = ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
        .expect("providers");
    let gateway = Gateway::new(config, memory.ports.clone(), providers).expect("gateway");
    (gateway, memory, clock)
}

fn order(n: u64) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": format!("ORD-{n}"), "total_cents": 4999, "shipping_country": "US", "card_last4": "4242",
               "items": [{"sku": "A", "qty": 1}], "customer_email": "c@example.com"}),
    )
    .with_id(format!("act-{n}"))
    .with_dedup_key(format!("order-{n}"))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let counter = AtomicU64::new(0);

    // Plain dispatch: the e-commerce rules without the chain trigger and the
    // lifecycle tracking, so the figure is the pipeline alone.
    let mut plain = Config::load(&repo("rules/ecommerce/gateway.toml")).expect("config");
    plain.chains.on_executed.clear();
    plain.state_machines.clear();
    let (plain, _, _) = gateway(plain);
    let outcome = runtime
        .block_on(plain.dispatch(order(0), DispatchOptions::default()))
        .expect("dispatch");
    assert!(matches!(outcome, ActionOutcome::Executed(_)), "{outcome:?}");
    c.bench_function("dispatch_in_memory_executed", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            plain
                .dispatch(order(n), DispatchOptions::default())
                .await
                .expect("dispatch")
        })
    });

    // Chain steps: each order starts `order-processing`; time only the 4 steps.
    let (full, memory, _) =
        gateway(Config::load(&repo("rules/ecommerce/gateway.toml")).expect("config"));
    c.bench_function("chain_order_processing_4_steps", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (full, memory, counter) = (&full, &memory, &counter);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    full.dispatch(order(n), DispatchOptions::default())
                        .await
                        .expect("dispatch");
                    let started = Instant::now();
                    let handled = full.process_due(&memory.queue).await;
                    total += started.elapsed();
                    assert_eq!(handled, 4);
                }
                total
            }
        })
    });

    // Group flush: 10 humidity readings on one floor (untimed), then the flush.
    let (iot, memory, clock) =
        gateway(Config::load(&repo("rules/iot/gateway.local.toml")).expect("config"));
    c.bench_function("group_flush_10_events", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (iot, memory, clock, counter) = (&iot, &memory, &clock, &counter);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let floor = counter.fetch_add(1, Ordering::Relaxed);
                    for i in 0..10 {
                        let reading = Action::builder(
                            "iot",
                            "smartbuilding-hq",
                            "telemetry-normalizer",
                            "sensor_reading",
                            json!({"sensor_type": "humidity", "floor": floor, "value": 40 + i}),
                        )
                        .with_dedup_key(format!("h-{floor}-{i}"));
                        let outcome = iot
                            .dispatch(reading, DispatchOptions::default())
                            .await
                            .expect("dispatch");
                        assert!(
                            matches!(outcome, ActionOutcome::Grouped { .. }),
                            "{outcome:?}"
                        );
                    }
                    // Readings are throttled at 30 a minute: each round is a new minute.
                    clock.advance(chrono::Duration::seconds(60));
                    let started = Instant::now();
                    let handled = iot.process_due(&memory.queue).await;
                    total += started.elapsed();
                    assert_eq!(handled, 1);
                }
                total
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
