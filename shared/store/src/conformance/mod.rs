//! One behavioural suite for every adapter of the storage ports.
//!
//! Each function panics (via `assert!`) on the first deviation. The memory
//! adapters run it in this crate's tests; the DynamoDB adapters run the very
//! same functions against the emulator. Keys are prefixed with `run` so that
//! several runs can share one table.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use serde_json::json;
use switchyard_core::{AuditQuery, AuditRecord, ManualClock};

use crate::audit::AuditStore;
use crate::key::StateKey;
use crate::state::{GateOp, GateResult, StateStore};

mod audit_scopes;
mod concurrent;
mod expiry;

pub use expiry::purge;

pub use concurrent::{
    concurrent_claims, concurrent_counts, concurrent_leases, concurrent_takeover,
};

fn key(run: &str, kind: &str, id: &str) -> StateKey {
    StateKey::new(format!("{run}-ns"), "tenant", kind, id)
}

/// Every operation of [`StateStore`], including expiry driven by `clock`.
pub async fn state_store(store: &dyn StateStore, clock: &ManualClock, run: &str) {
    versioned_records(store, clock, run).await;
    gates(store, clock, run).await;
    listing(store, clock, run).await;
    leases(store, clock, run).await;
}

async fn versioned_records(store: &dyn StateStore, clock: &ManualClock, run: &str) {
    let k = key(run, "record", "a");
    assert_eq!(
        store.get(&k).await.expect("get"),
        None,
        "absent reads as None"
    );
    assert_eq!(store.put(&k, "one", None).await.expect("put"), 1);
    let got = store.get(&k).await.expect("get").expect("present");
    assert_eq!((got.value.as_str(), got.version), ("one", 1));
    assert_eq!(store.put(&k, "two", None).await.expect("put"), 2);
    assert_eq!(
        store
            .compare_and_swap(&k, 1, "stale", None)
            .await
            .expect("cas"),
        None
    );
    assert_eq!(
        store
            .compare_and_swap(&k, 0, "absent?", None)
            .await
            .expect("cas"),
        None
    );
    assert_eq!(
        store
            .compare_and_swap(&k, 2, "three", None)
            .await
            .expect("cas"),
        Some(3)
    );
    assert_eq!(
        store.get(&k).await.expect("get").expect("present").value,
        "three"
    );
    assert!(store.delete(&k).await.expect("delete"));
    assert!(
        !store.delete(&k).await.expect("delete"),
        "second delete finds nothing"
    );
    assert_eq!(store.get(&k).await.expect("get"), None);
    assert_eq!(
        store
            .compare_and_swap(&k, 0, "fresh", None)
            .await
            .expect("cas"),
        Some(1)
    );

    // Logical expiry: an expired record reads as absent and can be created again.
    let e = key(run, "record", "expiring");
    let until = clock.now_plus(10);
    store.put(&e, "soon gone", Some(until)).await.expect("put");
    let got = store.get(&e).await.expect("get").expect("live");
    assert_eq!(
        got.expires_at.map(|t| t.timestamp()),
        Some(until.timestamp())
    );
    clock.advance(Span::seconds(11));
    assert_eq!(
        store.get(&e).await.expect("get"),
        None,
        "expired reads as absent"
    );
    assert!(
        !store.delete(&e).await.expect("delete"),
        "deleting an expired record reports nothing live"
    );
    assert_eq!(
        store
            .compare_and_swap(&e, 0, "again", None)
            .await
            .expect("cas"),
        Some(1)
    );
}

async fn gates(store: &dyn StateStore, clock: &ManualClock, run: &str) {
    let claim = |id: &str, secs: i64| GateOp::Claim {
        key: key(run, "dedup", id),
        expires_at: Some(clock.now_plus(secs)),
    };
    assert_eq!(
        store.gate(&[claim("d1", 30)]).await.expect("gate"),
        GateResult::Passed
    );
    assert_eq!(
        store.gate(&[claim("d1", 30)]).await.expect("gate"),
        GateResult::Rejected {
            op: 0,
            current: None
        }
    );
    clock.advance(Span::seconds(31));
    assert_eq!(
        store.gate(&[claim("d1", 30)]).await.expect("gate"),
        GateResult::Passed,
        "expired claim is free again"
    );

    let window = key(run, "throttle", "w1");
    let count = |limit: u64| GateOp::Count {
        key: window.clone(),
        limit,
        expires_at: clock.now_plus(60),
    };
    for _ in 0..3 {
        assert_eq!(
            store.gate(&[count(3)]).await.expect("gate"),
            GateResult::Passed
        );
    }
    assert_eq!(
        store.gate(&[count(3)]).await.expect("gate"),
        GateResult::Rejected {
            op: 0,
            current: Some(3)
        }
    );
    assert_eq!(store.counter(&window).await.expect("counter"), 3);

    // All or nothing: a failing counter leaves the claim unwritten.
    let outcome = store
        .gate(&[claim("d2", 30), count(3)])
        .await
        .expect("gate");
    assert_eq!(
        outcome,
        GateResult::Rejected {
            op: 1,
            current: Some(3)
        }
    );
    assert_eq!(
        store.gate(&[claim("d2", 30)]).await.expect("gate"),
        GateResult::Passed,
        "claim was not applied"
    );
    assert_eq!(store.counter(&window).await.expect("counter"), 3);

    // Error case: more operations than one gate may hold is refused, not truncated.
    let too_many: Vec<GateOp> = (0..crate::state::MAX_GATE_OPS + 1)
        .map(|i| claim(&format!("many-{i}"), 30))
        .collect();
    assert!(matches!(
        store.gate(&too_many).await,
        Err(crate::StoreError::Invalid(_))
    ));
    assert_eq!(
        store.gate(&[claim("many-0", 30)]).await.expect("gate"),
        GateResult::Passed,
        "nothing was applied"
    );

    clock.advance(Span::seconds(61));
    assert_eq!(
        store.counter(&window).await.expect("counter"),
        0,
        "expired window reads 0"
    );
    assert_eq!(
        store.gate(&[count(3)]).await.expect("gate"),
        GateResult::Passed
    );
    assert_eq!(
        store.counter(&window).await.expect("counter"),
        1,
        "a new window starts from 0"
    );
}

/// Enough items that a sharded adapter spreads them over every shard and
/// pages cut through shards.
const LISTED: usize = 30;

async fn listing(store: &dyn StateStore, clock: &ManualClock, run: &str) {
    for i in 0..LISTED {
        store
            .put(
                &key(run, "item", &format!("i{i:02}")),
                &format!("v{i}"),
                None,
            )
            .await
            .expect("put");
    }
    store
        .put(&key(run, "other", "x"), "x", None)
        .await
        .expect("put");
    store
        .put(
            &key(run, "item", "i9-expired"),
            "gone",
            Some(clock.now_plus(1)),
        )
        .await
        .expect("put");
    clock.advance(Span::seconds(2));
    let ns = format!("{run}-ns");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list(&ns, "tenant", "item", cursor.as_deref(), 7)
            .await
            .expect("list");
        assert!(page.items.len() <= 7, "page respects the limit");
        seen.extend(
            page.items
                .iter()
                .map(|(k, v)| (k.id.clone(), v.value.clone())),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<(String, String)> = (0..LISTED)
        .map(|i| (format!("i{i:02}"), format!("v{i}")))
        .collect();
    assert_eq!(
        seen, expected,
        "every live item once, in id order, no other kind, nothing expired"
    );
}

async fn leases(store: &dyn StateStore, clock: &ManualClock, run: &str) {
    let name = format!("{run}-lease");
    let ttl = Duration::from_secs(5);
    assert!(store.try_lock(&name, "worker-1", ttl).await.expect("lock"));
    assert!(
        !store.try_lock(&name, "worker-2", ttl).await.expect("lock"),
        "held by another"
    );
    assert!(
        store.try_lock(&name, "worker-1", ttl).await.expect("lock"),
        "holder renews"
    );
    assert!(
        !store.unlock(&name, "worker-2").await.expect("unlock"),
        "only the holder releases"
    );
    assert!(store.unlock(&name, "worker-1").await.expect("unlock"));
    assert!(
        store.try_lock(&name, "worker-2", ttl).await.expect("lock"),
        "free after release"
    );
    // worker-2 "crashes": its lease runs out and worker-3 takes over.
    clock.advance(Span::seconds(6));
    assert!(
        store.try_lock(&name, "worker-3", ttl).await.expect("lock"),
        "expired lease is taken over"
    );
    assert!(
        !store.try_lock(&name, "worker-2", ttl).await.expect("lock"),
        "the crashed holder lost it"
    );
}

fn record(
    run: &str,
    n: usize,
    tenant: &str,
    outcome: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> AuditRecord {
    let at = Utc::now();
    AuditRecord {
        event: Some(switchyard_core::AuditEvent::ActionDispatched),
        id: uuid::Uuid::now_v7().to_string(),
        action_id: format!("{run}-action-{n}"),
        chain_id: None,
        namespace: format!("{run}-ns"),
        tenant: tenant.to_string(),
        provider: "log".into(),
        action_type: "t".into(),
        verdict: "allow".into(),
        matched_rule: None,
        outcome: outcome.to_string(),
        action_payload: Some(json!({"n": n})),
        verdict_details: json!({}),
        outcome_details: json!({}),
        metadata: Default::default(),
        dispatched_at: at,
        completed_at: at,
        duration_ms: 0,
        expires_at,
        caller_id: String::new(),
        auth_method: "anonymous".into(),
    }
}

/// Every operation of [`AuditStore`].
pub async fn audit_store(store: &dyn AuditStore, clock: &ManualClock, run: &str) {
    audit_feed(store, run).await;
    audit_scopes::namespace_and_action_queries(store, run).await;
    for n in 0..7 {
        let outcome = if n % 2 == 0 { "executed" } else { "suppressed" };
        store
            .append(record(run, n, "t1", outcome, None))
            .await
            .expect("append");
        // Distinct UUIDv7 timestamps keep "newest first" unambiguous.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    store
        .append(record(run, 100, "t2", "executed", None))
        .await
        .expect("append");
    store
        .append(record(run, 200, "t1", "executed", Some(clock.now_plus(5))))
        .await
        .expect("append");
    let query = |outcome: Option<&str>, limit: usize, offset: usize| AuditQuery {
        namespace: Some(format!("{run}-ns")),
        tenant: Some("t1".into()),
        outcome: outcome.map(str::to_string),
        limit,
        offset,
        ..AuditQuery::default()
    };
    clock.advance(Span::seconds(6));
    let all = store.query(&query(None, 50, 0)).await.expect("query");
    assert_eq!(
        all.total, 7,
        "expired and other-tenant records are excluded"
    );
    let ns: Vec<u64> = all
        .records
        .iter()
        .map(|r| {
            r.action_payload
                .as_ref()
                .and_then(|p| p["n"].as_u64())
                .unwrap_or(999)
        })
        .collect();
    assert_eq!(ns, vec![6, 5, 4, 3, 2, 1, 0], "newest first");
    let page = store.query(&query(None, 3, 3)).await.expect("query");
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.records[0].action_id, format!("{run}-action-3"));
    assert_eq!((page.total, page.limit, page.offset), (7, 3, 3));
    let executed = store
        .query(&query(Some("executed"), 50, 0))
        .await
        .expect("query");
    assert_eq!(executed.total, 4);
    assert!(executed.records.iter().all(|r| r.outcome == "executed"));
    let any = |_: &AuditRecord| true;
    let latest = store
        .latest_for_action(&format!("{run}-action-4"), &any)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(latest.outcome, "executed");
    assert_eq!(
        store
            .latest_for_action("no-such-action", &any)
            .await
            .expect("get"),
        None
    );
    // Two tenants with one action id: each finds its own, whichever is newer.
    let mut other = record(run, 4, "t2", "suppressed", None);
    other.action_id = format!("{run}-action-4");
    store.append(other).await.expect("append");
    for (tenant, outcome) in [("t1", "executed"), ("t2", "suppressed")] {
        let mine = |r: &AuditRecord| r.tenant == tenant;
        let found = store
            .latest_for_action(&format!("{run}-action-4"), &mine)
            .await
            .expect("get")
            .expect("present");
        assert_eq!(
            (found.tenant.as_str(), found.outcome.as_str()),
            (tenant, outcome)
        );
    }
}

/// The change feed (`since`) and unscoped queries: paging by cursor sees
/// every record once, in id order, whatever layout the store shards them in.
async fn audit_feed(store: &dyn AuditStore, run: &str) {
    let feed_run = format!("{run}-feed");
    let cursor_start = uuid::Uuid::now_v7().to_string();
    let mut appended = Vec::new();
    // More than a store reads back in one batch (DynamoDB: 100 keys).
    let records = 105;
    for n in 0..records {
        let mut r = record(&feed_run, n, "t1", "executed", None);
        r.namespace = format!("{feed_run}-ns");
        appended.push((r.id.clone(), Some(json!({"n": n}))));
        store.append(r).await.expect("append");
    }
    // Pages of 7 (fewer than the shards of a sharded store, and not a
    // divisor of the count) until the feed is exhausted.
    let mut seen = Vec::new();
    let mut cursor = cursor_start;
    loop {
        let page = store.since(&cursor, 7).await.expect("since");
        assert!(page.len() <= 7, "a page holds at most its limit");
        let Some(last) = page.last() else { break };
        assert!(
            page.windows(2).all(|w| w[0].id < w[1].id),
            "oldest first within a page"
        );
        cursor = last.id.clone();
        seen.extend(
            page.into_iter()
                .filter(|r| r.namespace == format!("{feed_run}-ns"))
                .map(|r| (r.id, r.action_payload)),
        );
    }
    assert_eq!(
        seen, appended,
        "every record once, in order, whole (with its payload)"
    );
    // An unscoped query reads every partition.
    let unscoped = store
        .query(&AuditQuery {
            limit: AuditQuery::MAX_LIMIT,
            ..AuditQuery::default()
        })
        .await
        .expect("query");
    let mine: Vec<_> = unscoped
        .records
        .iter()
        .filter(|r| r.namespace == format!("{feed_run}-ns"))
        .map(|r| (r.id.clone(), r.action_payload.clone()))
        .rev()
        .collect();
    assert_eq!(mine, appended, "an unscoped query finds them all, whole");
    assert!(
        unscoped.records.windows(2).all(|w| w[0].id > w[1].id),
        "newest first across partitions"
    );
}

trait NowPlus {
    fn now_plus(&self, secs: i64) -> chrono::DateTime<Utc>;
}

impl NowPlus for ManualClock {
    fn now_plus(&self, secs: i64) -> chrono::DateTime<Utc> {
        use switchyard_core::Clock;
        self.now() + Span::seconds(secs)
    }
}
