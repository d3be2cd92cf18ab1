//! The races every adapter must win: claims, counters and leases from many
//! clients at once (as if each were a separate process).

use std::sync::Arc;

use chrono::{Duration as Span, Utc};
use std::time::Duration;

use switchyard_core::ManualClock;

use super::key;
use crate::state::{GateOp, GateResult, StateStore};

/// `attempts` concurrent claims of one key spread over `clients` (as if each
/// were a separate process): exactly one passes.
pub async fn concurrent_claims(clients: &[Arc<dyn StateStore>], attempts: usize, run: &str) {
    let k = key(run, "dedup", "contended");
    let passed = race(clients, attempts, move |_| {
        vec![GateOp::Claim {
            key: k.clone(),
            expires_at: None,
        }]
    })
    .await;
    assert_eq!(
        passed, 1,
        "exactly one of {attempts} concurrent claims wins"
    );
}

/// `attempts` concurrent increments of a window limited to `limit`: exactly
/// `limit` pass and the counter ends at `limit`.
pub async fn concurrent_counts(
    clients: &[Arc<dyn StateStore>],
    attempts: usize,
    limit: u64,
    run: &str,
) {
    let k = key(run, "throttle", "contended");
    let expires_at = Utc::now() + Span::days(1);
    let window = k.clone();
    let passed = race(clients, attempts, move |_| {
        vec![GateOp::Count {
            key: window.clone(),
            limit,
            expires_at,
        }]
    })
    .await;
    assert_eq!(
        passed as u64, limit,
        "exactly {limit} of {attempts} concurrent increments pass"
    );
    assert_eq!(clients[0].counter(&k).await.expect("counter"), limit);
}

/// Two workers race for one lease many times over: never both.
pub async fn concurrent_leases(clients: &[Arc<dyn StateStore>], run: &str) {
    for round in 0..20 {
        let name = format!("{run}-race-{round}");
        let racers: Vec<_> = clients.iter().take(2).cycle().take(2).cloned().collect();
        assert_eq!(
            lease_race(&racers, &name).await,
            1,
            "round {round}: exactly one worker holds the lease"
        );
    }
}

/// Every client tries to take lease `name` at once (owner `w<i>`); how many got it.
async fn lease_race(clients: &[Arc<dyn StateStore>], name: &str) -> usize {
    let start = Arc::new(tokio::sync::Barrier::new(clients.len()));
    let mut tasks = Vec::new();
    for (i, store) in clients.iter().enumerate() {
        let (store, name, start) = (store.clone(), name.to_string(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            store
                .try_lock(&name, &format!("w{i}"), Duration::from_secs(30))
                .await
                .expect("lock")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("task") {
            winners += 1;
        }
    }
    winners
}

/// A lease whose holder went silent: when it expires, every client tries to
/// take it over at once (all sharing `clock`) and exactly one succeeds, while
/// the old holder can no longer release it.
pub async fn concurrent_takeover(clients: &[Arc<dyn StateStore>], clock: &ManualClock, run: &str) {
    for round in 0..10 {
        let name = format!("{run}-takeover-{round}");
        assert!(
            clients[0]
                .try_lock(&name, "silent", Duration::from_secs(30))
                .await
                .expect("first lock")
        );
        clock.advance(Span::seconds(31));
        let winners = lease_race(clients, &name).await;
        assert_eq!(
            winners, 1,
            "round {round}: exactly one client takes the expired lease over"
        );
        assert!(
            !clients[1].unlock(&name, "silent").await.expect("unlock"),
            "round {round}: the silent holder no longer owns the lease"
        );
    }
}

async fn race(
    clients: &[Arc<dyn StateStore>],
    attempts: usize,
    ops: impl Fn(usize) -> Vec<GateOp> + Send + Sync + Clone + 'static,
) -> usize {
    let start = Arc::new(tokio::sync::Barrier::new(attempts));
    let mut tasks = Vec::with_capacity(attempts);
    for i in 0..attempts {
        let store = clients[i % clients.len()].clone();
        let ops = ops.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            store.gate(&ops(i)).await.expect("gate")
        }));
    }
    let mut passed = 0;
    for t in tasks {
        if t.await.expect("task") == GateResult::Passed {
            passed += 1;
        }
    }
    passed
}
