//! The memory adapters against the shared conformance suite.

use std::sync::Arc;

use chrono::Utc;
use std::sync::Mutex;
use std::time::Duration;
use switchyard_core::ManualClock;

use async_trait::async_trait;
use switchyard_store::queue_conformance::{self, QueueProbe};
use switchyard_store::{
    DelayedMessage, Lane, MemoryAuditStore, MemoryDelayQueue, MemoryStateStore, StateStore,
    conformance,
};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

/// The local worker's view of the memory queue: the clock moves, due
/// messages are taken and sorted by the lane they would ride on AWS.
struct MemoryProbe {
    queue: MemoryDelayQueue,
    clock: Arc<ManualClock>,
    taken: Mutex<Vec<DelayedMessage>>,
}

#[async_trait]
impl QueueProbe for MemoryProbe {
    async fn pass(&self, by: Duration) {
        self.clock
            .advance(chrono::Duration::from_std(by).expect("duration"));
    }

    async fn delivered(&self, lane: Lane) -> Vec<DelayedMessage> {
        let mut taken = self.taken.lock().expect("taken");
        taken.extend(self.queue.take_due(usize::MAX));
        let (on_lane, rest) = taken.drain(..).partition(|m| m.work.lane() == lane);
        *taken = rest;
        on_lane
    }
}

#[tokio::test]
async fn memory_delay_queue_conforms() {
    let clock = clock();
    let queue = MemoryDelayQueue::new(clock.clone());
    let probe = MemoryProbe {
        queue: queue.clone(),
        clock: clock.clone(),
        taken: Mutex::new(Vec::new()),
    };
    queue_conformance::delay_queue(&queue, &probe, clock.as_ref(), "mem").await;
    queue_conformance::polled_queue(&queue, &clock, "mem-polled").await;
}

#[tokio::test]
async fn memory_state_store_conforms() {
    let clock = clock();
    let store = MemoryStateStore::new(clock.clone());
    conformance::state_store(&store, &clock, "mem").await;
    assert!(
        conformance::purge(&store, &clock, "mem").await >= 1,
        "the memory store removes what expired"
    );
}

#[tokio::test]
async fn memory_audit_store_conforms() {
    let clock = clock();
    let store = MemoryAuditStore::new(clock.clone(), 1000);
    conformance::audit_store(&store, &clock, "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_is_atomic_under_concurrency() {
    let clock = clock();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new(clock.clone()));
    // Clones share one map, as handlers of one process do.
    let clients: Vec<Arc<dyn StateStore>> = (0..8).map(|_| store.clone()).collect();
    conformance::concurrent_claims(&clients, 200, "mem").await;
    conformance::concurrent_counts(&clients, 100, 10, "mem").await;
    conformance::concurrent_leases(&clients, "mem").await;
    conformance::concurrent_takeover(&clients, &clock, "mem").await;
}

#[tokio::test]
async fn audit_capacity_drops_the_oldest() {
    use switchyard_store::AuditStore;
    let clock = clock();
    let store = MemoryAuditStore::new(clock.clone(), 3);
    for _ in 0..5 {
        let page = store
            .query(&switchyard_core::AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("query");
        assert!(page.total <= 3);
        store.append(record(None)).await.expect("append");
    }
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn delay_queue_releases_in_due_order() {
    use switchyard_store::{Deferred, DelayQueue, DelayedMessage, MemoryDelayQueue, RecordRef};
    let clock = clock();
    let queue = MemoryDelayQueue::new(clock.clone());
    let msg = |id: &str| {
        DelayedMessage::new(
            id,
            Deferred::ScheduledAction(RecordRef {
                namespace: "n".into(),
                tenant: "t".into(),
                id: id.into(),
            }),
        )
    };
    let now = Utc::now();
    clock.set(now);
    queue
        .send(msg("late"), now + chrono::Duration::seconds(30))
        .await
        .expect("send");
    queue
        .send(msg("early"), now + chrono::Duration::seconds(10))
        .await
        .expect("send");
    queue
        .send(msg("early-2"), now + chrono::Duration::seconds(10))
        .await
        .expect("send");
    assert!(queue.take_due(10).is_empty(), "nothing is due yet");
    clock.advance(chrono::Duration::seconds(10));
    let ids: Vec<String> = queue.take_due(10).into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["early", "early-2"]);
    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(queue.take_due(10).len(), 1);
    assert!(queue.is_empty());
}

fn record(payload: Option<serde_json::Value>) -> switchyard_core::AuditRecord {
    switchyard_core::AuditRecord {
        event: Some(switchyard_core::AuditEvent::ActionDispatched),
        id: uuid::Uuid::now_v7().to_string(),
        action_id: "a".into(),
        chain_id: None,
        namespace: "n".into(),
        tenant: "t".into(),
        provider: "p".into(),
        action_type: "x".into(),
        verdict: "allow".into(),
        matched_rule: None,
        outcome: "executed".into(),
        action_payload: payload,
        verdict_details: serde_json::json!({}),
        outcome_details: serde_json::json!({}),
        metadata: Default::default(),
        dispatched_at: Utc::now(),
        completed_at: Utc::now(),
        duration_ms: 0,
        expires_at: None,
        caller_id: String::new(),
        auth_method: String::new(),
    }
}

/// Large payloads cannot grow the memory audit past its byte bound: the
/// oldest records go, and are counted.
#[tokio::test]
async fn audit_is_bounded_in_bytes() {
    use switchyard_store::{AuditStore, MemoryAuditStore};
    let store = MemoryAuditStore::new(clock(), 1_000_000);
    store.set_max_bytes(1024 * 1024);
    let big = serde_json::json!({"blob": "x".repeat(250 * 1024)});
    for _ in 0..20 {
        store
            .append(record(Some(big.clone())))
            .await
            .expect("append");
    }
    assert!(store.bytes() <= 1024 * 1024, "{} bytes kept", store.bytes());
    assert_eq!(store.len(), 4, "four 250 KiB records fit in 1 MiB");
    assert_eq!(store.evicted(), 16);
    store.append(record(None)).await.expect("append");
    assert_eq!(store.len(), 5, "small records still fit");
}
