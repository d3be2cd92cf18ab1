//! Contention on DynamoDB, for real: every race of the gateway runs across
//! eight instances (separate SDK clients) while a proxy in front of the
//! emulator cancels 30% of transactions and conditional writes the way
//! DynamoDB does under contention (`TransactionCanceledException` with
//! `TransactionConflict`, `TransactionConflictException`) and throttles a
//! few. The emulator alone serialises requests, so without the proxy the
//! store's conflict paths would never run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchyard_core::{Action, ActionOutcome, ManualClock};
use switchyard_gateway::recurring::RecurringAction;
use switchyard_gateway::{DispatchOptions, Gateway};
use switchyard_store::{Deferred, GateOp, StateKey, StateStore, StoreError, conformance};
use switchyard_store_dynamodb::contention::{CONFLICT_ATTEMPTS, worst_case_wait};
use switchyard_tests::contention::{ConflictProxy, Injection, Measured, ProxyStats, write_figures};
use switchyard_tests::{
    Instance, at, dynamodb_adapters, dynamodb_endpoint, ecommerce_config, fresh_tables,
    gateway_instances, race,
};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

/// The emulator answers one request at a time: four races of 200 at once
/// (the test harness runs a file's tests in parallel) queue requests past
/// the store's 5 s attempt timeout on a busy 2-core machine. One race at a
/// time keeps the test about contention, not about the emulator's queue.
static ONE_RACE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn order(n: u32) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": format!("ORD-{n}"), "total_cents": 100, "shipping_country": "US"}),
    )
    .with_id(format!("race-{n}"))
    .with_dedup_key(format!("order-{n}"))
}

/// Conflicts were injected: a run where the proxy did nothing proves
/// nothing. (A gate of one condition is a conditional write, of several a
/// transaction; throttles are injected too, but at 2% a small race may meet
/// none.)
fn assert_contended(stats: &ProxyStats) {
    let conflicts =
        ProxyStats::get(&stats.transaction_conflicts) + ProxyStats::get(&stats.write_conflicts);
    assert!(conflicts > 0, "no conflict injected: {stats:?}");
}

fn gateways(instances: &[Instance]) -> Vec<Arc<Gateway>> {
    instances.iter().map(|i| i.gateway.clone()).collect()
}

/// The dispatch pipeline alone: no chain trigger, no lifecycle tracking.
fn dispatch_only_config() -> switchyard_config::Config {
    let mut config = ecommerce_config();
    config.chains.on_executed.clear();
    config.state_machines.clear();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_races_hold_under_injected_conflicts() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let _turn = ONE_RACE_AT_A_TIME.lock().await;
    let proxy = ConflictProxy::start(&endpoint, Injection::heavy()).await;
    let settings = fresh_tables(&endpoint, "conflict-store").await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut clients: Vec<Arc<dyn StateStore>> = Vec::new();
    for _ in 0..8 {
        clients.push(
            dynamodb_adapters(&settings, &proxy.endpoint, clock.clone(), None)
                .await
                .0,
        );
    }
    conformance::concurrent_claims(&clients, 200, "conflict").await;
    conformance::concurrent_counts(&clients, 100, 10, "conflict").await;
    conformance::concurrent_leases(&clients, "conflict").await;
    conformance::concurrent_takeover(&clients, &clock, "conflict").await;
    assert_contended(&proxy.stats);
    assert!(
        ProxyStats::get(&proxy.stats.write_conflicts) > 0,
        "{:?}",
        proxy.stats
    );
}

/// The retry bound, as `switchyard_store_dynamodb::contention` states it:
/// a write that is cancelled every time is sent exactly `CONFLICT_ATTEMPTS`
/// times, waits at most `worst_case_wait` in between, and then answers
/// `Unavailable` (a 503 at the API), never a wrong "no".
#[tokio::test]
async fn contention_retries_are_bounded() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let _turn = ONE_RACE_AT_A_TIME.lock().await;
    let settings = fresh_tables(&endpoint, "conflict-bound").await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let key = StateKey::new("ns", "t", "dedup", "always-contended");

    let proxy = ConflictProxy::start(
        &endpoint,
        Injection {
            transaction_conflicts: 1.0,
            ..Injection::default()
        },
    )
    .await;
    let (store, _) = dynamodb_adapters(&settings, &proxy.endpoint, clock.clone(), None).await;
    let started = Instant::now();
    // Two ops: one transaction (a single op is a plain conditional write).
    let window = StateKey::new("ns", "t", "throttle", "always-contended");
    let err = store
        .gate(&[
            GateOp::Claim {
                key: key.clone(),
                expires_at: None,
            },
            GateOp::Count {
                key: window,
                limit: 10,
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
            },
        ])
        .await
        .expect_err("a transaction cancelled every time gives up");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(
        ProxyStats::get(&proxy.stats.transactions),
        u64::from(CONFLICT_ATTEMPTS)
    );
    assert!(started.elapsed() < worst_case_wait() + Duration::from_secs(5));

    let proxy = ConflictProxy::start(
        &endpoint,
        Injection {
            write_conflicts: 1.0,
            ..Injection::default()
        },
    )
    .await;
    let (store, _) = dynamodb_adapters(&settings, &proxy.endpoint, clock.clone(), None).await;
    let err = store
        .try_lock("contended-lease", "w1", Duration::from_secs(30))
        .await
        .expect_err("a write refused every time gives up");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(
        ProxyStats::get(&proxy.stats.conditional_writes),
        u64::from(CONFLICT_ATTEMPTS)
    );
    // A gate of one op is one conditional write, bounded the same way.
    let err = store
        .gate(&[GateOp::Claim {
            key: key.clone(),
            expires_at: None,
        }])
        .await
        .expect_err("a single-op gate refused every time gives up");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(
        ProxyStats::get(&proxy.stats.conditional_writes),
        2 * u64::from(CONFLICT_ATTEMPTS)
    );

    // Nothing was written by the refused attempts: the claim is still free.
    let (direct, _) = dynamodb_adapters(&settings, &endpoint, clock, None).await;
    assert_eq!(
        direct
            .gate(&[GateOp::Claim {
                key,
                expires_at: None
            }])
            .await
            .expect("gate"),
        switchyard_store::GateResult::Passed
    );
    assert!(
        direct
            .try_lock("contended-lease", "w2", Duration::from_secs(30))
            .await
            .expect("lock")
    );
}

/// `race`, with its figures: time, and what the proxy saw meanwhile.
async fn timed_race(
    label: &'static str,
    stats: &ProxyStats,
    gateways: &[Arc<Gateway>],
    count: usize,
    make: impl Fn(usize) -> Action,
) -> (Measured, Vec<ActionOutcome>) {
    let before = stats.counts();
    let started = Instant::now();
    let (tally, outcomes) = race(gateways, count, make).await;
    let measured = Measured {
        race: label,
        dispatches: count,
        tally,
        counts: stats.counts() - before,
        took: started.elapsed(),
    };
    (measured, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dispatch_races_across_instances_hold_under_conflicts() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let _turn = ONE_RACE_AT_A_TIME.lock().await;
    let proxy = ConflictProxy::start(&endpoint, Injection::heavy()).await;
    let config = dispatch_only_config();
    let clock = || Arc::new(ManualClock::new(at(MONDAY_NOON_ET)));
    let dedup = |i: usize| order(1).with_id(format!("dup-{i}"));

    // 200 dispatches of one order (one dedup key), spread over 8 instances:
    // first through a proxy that injects nothing (the baseline), then through
    // the contended one.
    let baseline_proxy = ConflictProxy::start(&endpoint, Injection::default()).await;
    let settings = fresh_tables(&endpoint, "race-base").await;
    let instances = gateway_instances(
        &settings,
        &baseline_proxy.endpoint,
        8,
        clock(),
        &config,
        None,
    )
    .await;
    let (baseline, _) = timed_race(
        "200 × one dedup key, no injection",
        &baseline_proxy.stats,
        &gateways(&instances),
        200,
        dedup,
    )
    .await;
    let mut measured = Vec::new();

    let settings = fresh_tables(&endpoint, "race-dedup").await;
    let instances = gateway_instances(&settings, &proxy.endpoint, 8, clock(), &config, None).await;
    let (m, _) = timed_race(
        "200 × one dedup key, 30% conflicts",
        &proxy.stats,
        &gateways(&instances),
        200,
        dedup,
    )
    .await;
    assert_eq!(m.tally.get("executed"), Some(&1), "{:?}", m.tally);
    assert_eq!(m.tally.get("deduplicated"), Some(&199), "{:?}", m.tally);
    measured.push(m);

    // 100 against a throttle of 10 per window.
    let throttle = "rules:\n  - name: ten-a-minute\n    condition:\n      field: action.tenant\n      eq: acme-store\n    action:\n      type: throttle\n      max_count: 10\n      window_seconds: 60\n";
    let settings = fresh_tables(&endpoint, "race-throttle").await;
    let instances = gateway_instances(
        &settings,
        &proxy.endpoint,
        8,
        clock(),
        &config,
        Some(throttle),
    )
    .await;
    let (m, _) = timed_race(
        "100 × throttle of 10, 30% conflicts",
        &proxy.stats,
        &gateways(&instances),
        100,
        |i| order(1000 + i as u32),
    )
    .await;
    assert_eq!(m.tally.get("executed"), Some(&10), "{:?}", m.tally);
    assert_eq!(m.tally.get("throttled"), Some(&90), "{:?}", m.tally);
    measured.push(m);

    // A quota of 25: exactly 25 of 60 pass, whichever instance they reach.
    // The e-commerce dedup rule decides each order (keys all distinct), so
    // the gate holds two ops, a dedup claim and the quota counter: one
    // transaction (the races above write their one op alone).
    let settings = fresh_tables(&endpoint, "race-quota").await;
    let instances = gateway_instances(&settings, &proxy.endpoint, 8, clock(), &config, None).await;
    instances[0]
        .gateway
        .quotas
        .create(switchyard_tests::ecommerce::hourly_quota(
            "q-race",
            25,
            at(MONDAY_NOON_ET),
        ))
        .await
        .expect("quota");
    let (m, _) = timed_race(
        "60 × quota of 25 (dedup + quota: a transaction), 30% conflicts",
        &proxy.stats,
        &gateways(&instances),
        60,
        |i| order(2000 + i as u32),
    )
    .await;
    assert_eq!(m.tally.get("executed"), Some(&25), "{:?}", m.tally);
    assert_eq!(m.tally.get("quota_exceeded"), Some(&35), "{:?}", m.tally);
    assert!(
        m.counts.transaction_conflicts > 0,
        "two-op gates ride transactions, and some were cancelled: {:?}",
        m.counts
    );
    measured.push(m);

    // 40 members of one group from 8 instances: every append lands once
    // (the sizes they report are exactly 1..=40, none lost, none twice).
    let group = "rules:\n  - name: batch\n    condition:\n      field: action.action_type\n      eq: place_order\n    action:\n      type: group\n      group_by: [payload.shipping_country]\n      group_wait_seconds: 600\n      max_group_size: 1000\n";
    let settings = fresh_tables(&endpoint, "race-group").await;
    let instances =
        gateway_instances(&settings, &proxy.endpoint, 8, clock(), &config, Some(group)).await;
    let (m, outcomes) = timed_race(
        "40 × one group, 30% conflicts",
        &proxy.stats,
        &gateways(&instances),
        40,
        |i| order(3000 + i as u32),
    )
    .await;
    assert_eq!(m.tally.get("grouped"), Some(&40), "{:?}", m.tally);
    let mut sizes: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| match o {
            ActionOutcome::Grouped { group_size, .. } => Some(*group_size),
            _ => None,
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, (1..=40).collect::<Vec<u64>>());
    measured.push(m);

    assert_contended(&proxy.stats);
    write_figures(&baseline, &measured);
}

/// Deliver one message to every instance at once (SQS delivering a message
/// twice, or two handlers picking up one tick); every delivery must succeed.
async fn deliver_everywhere(instances: &[Instance], message: &switchyard_store::DelayedMessage) {
    let start = Arc::new(tokio::sync::Barrier::new(instances.len()));
    let mut tasks = Vec::new();
    for instance in instances {
        let (gateway, message, start) = (instance.gateway.clone(), message.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            gateway.handle(&message).await
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .unwrap_or_else(|e| panic!("a delivery of {} failed: {e}", message.work.kind()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chain_steps_and_recurring_ticks_run_once_under_conflicts() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let _turn = ONE_RACE_AT_A_TIME.lock().await;
    let proxy = ConflictProxy::start(&endpoint, Injection::heavy()).await;
    let settings = fresh_tables(&endpoint, "race-handlers").await;
    let clock = Arc::new(ManualClock::new(at(MONDAY_NOON_ET)));
    let mut config = ecommerce_config();
    config.state_machines.clear();
    let instances =
        gateway_instances(&settings, &proxy.endpoint, 8, clock.clone(), &config, None).await;
    let (_, audit) = dynamodb_adapters(&settings, &endpoint, clock.clone(), None).await;

    // A chain step delivered to eight handlers at once runs once.
    let outcome = instances[0]
        .gateway
        .dispatch(order(1), DispatchOptions::default())
        .await
        .expect("order");
    assert_eq!(outcome.tag(), "executed", "{outcome:?}");
    let step = instances[0]
        .memory
        .queue
        .take_due(16)
        .into_iter()
        .find(|m| matches!(m.work, Deferred::ChainStep { .. }))
        .expect("the order's chain sent its first step");
    deliver_everywhere(&instances, &step).await;
    let Deferred::ChainStep { id: chain_id, .. } = step.work.clone() else {
        unreachable!("found as a chain step");
    };
    let records = audit.since("0", 1000).await.expect("audit");
    let step_runs = records
        .iter()
        .filter(|r| r.chain_id.as_deref() == Some(chain_id.as_str()))
        .filter(|r| r.verdict_details["step_index"] == json!(0))
        .count();
    assert_eq!(step_runs, 1, "the first step ran exactly once");
    let chain = instances[1]
        .gateway
        .get_chain("ecommerce", "acme-store", &chain_id)
        .await
        .expect("chain")
        .expect("the chain exists");
    assert_eq!(chain.steps[0].attempts, 1, "one handler claimed the step");

    // A recurring tick delivered to eight handlers at once dispatches once.
    let recurring = instances[0]
        .gateway
        .create_recurring(RecurringAction {
            id: "every-minute".into(),
            namespace: "ecommerce".into(),
            tenant: "acme-store".into(),
            cron_expression: "* * * * *".into(),
            timezone: "UTC".into(),
            provider: "warehouse".into(),
            action_type: "stock_check".into(),
            payload: json!({}),
            metadata: Default::default(),
            enabled: true,
            description: None,
            next_fire_at: None,
            last_fired_at: None,
            fire_count: 0,
            created_at: at(MONDAY_NOON_ET),
            updated_at: at(MONDAY_NOON_ET),
            name: None,
            labels: Default::default(),
            dedup_key: None,
            ends_at: None,
            max_executions: None,
        })
        .await
        .expect("recurring");
    let fire_at = recurring.next_fire_at.expect("armed");
    clock.set(fire_at);
    let tick = instances[0]
        .memory
        .queue
        .take_due(16)
        .into_iter()
        .find(|m| matches!(m.work, Deferred::RecurringFire { .. }))
        .expect("the first tick is due");
    deliver_everywhere(&instances, &tick).await;
    let tick_id = format!("every-minute:{}", fire_at.timestamp());
    let dispatched = audit
        .since("0", 1000)
        .await
        .expect("audit")
        .iter()
        .filter(|r| r.action_id == tick_id)
        .count();
    assert_eq!(dispatched, 1, "the tick dispatched exactly once");
    let stored = instances[2]
        .gateway
        .get_recurring("every-minute")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(stored.fire_count, 1);

    assert_contended(&proxy.stats);
}
