//! One behavioural suite for every adapter of the [`DelayQueue`] port: the
//! memory queue here, SQS + EventBridge Scheduler on the emulator in
//! `tests/delay_queue.rs`. A queue only sends; what it promises is about
//! delivery, so each adapter comes with a [`QueueProbe`] that moves time and
//! collects what arrived, the way its real consumer would.

use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use switchyard_core::{Clock, ManualClock};

use crate::queue::{Deferred, DelayQueue, DelayedMessage, Lane, PolledQueue, RecordRef, Taken};

/// The consumer's side of an adapter, for the suite.
#[async_trait]
pub trait QueueProbe: Send + Sync {
    /// Let `by` pass (a manual clock moves; real carriers are waited for).
    async fn pass(&self, by: Duration);
    /// Take every message delivered on `lane` by now.
    async fn delivered(&self, lane: Lane) -> Vec<DelayedMessage>;
}

/// One message of every kind of work, ids prefixed with `run`.
pub fn every_kind(run: &str) -> Vec<DelayedMessage> {
    let r = |id: &str| RecordRef {
        namespace: format!("{run}-ns"),
        tenant: "tenant".into(),
        id: id.into(),
    };
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let works = [
        Deferred::ScheduledAction(r("scheduled")),
        Deferred::ApprovalExpiry(r("approval")),
        Deferred::ChainStep {
            namespace: format!("{run}-ns"),
            tenant: "tenant".into(),
            id: "chain".into(),
            step: 3,
        },
        Deferred::ChainTimeout(r("chain")),
        Deferred::GroupFlush {
            namespace: format!("{run}-ns"),
            tenant: "tenant".into(),
            id: "group".into(),
            group_id: Some("generation-2".into()),
        },
        Deferred::EventTimeout {
            namespace: format!("{run}-ns"),
            tenant: "tenant".into(),
            id: "event".into(),
            version: 7,
        },
        Deferred::RecurringFire {
            namespace: format!("{run}-ns"),
            tenant: "tenant".into(),
            id: "recurring".into(),
            fire_at: at,
        },
    ];
    works
        .into_iter()
        .map(|work| DelayedMessage::new(format!("{run}-{}", work.kind()), work))
        .collect()
}

fn sorted(mut messages: Vec<DelayedMessage>) -> Vec<DelayedMessage> {
    messages.sort_by(|a, b| a.id.cmp(&b.id));
    messages
}

async fn both_lanes(probe: &dyn QueueProbe) -> (Vec<DelayedMessage>, Vec<DelayedMessage>) {
    (
        sorted(probe.delivered(Lane::Chain).await),
        sorted(probe.delivered(Lane::Delay).await),
    )
}

/// The whole suite.
pub async fn delay_queue(
    queue: &dyn DelayQueue,
    probe: &dyn QueueProbe,
    clock: &dyn Clock,
    run: &str,
) {
    every_kind_arrives_intact_on_its_lane(queue, probe, clock, run).await;
    nothing_arrives_early(queue, probe, clock, run).await;
    far_future_messages_wait_their_time(queue, probe, clock, run).await;
}

/// Due now (or already past due): every kind arrives once, unchanged, chain
/// steps on the chain lane and the rest on the delay lane.
async fn every_kind_arrives_intact_on_its_lane(
    queue: &dyn DelayQueue,
    probe: &dyn QueueProbe,
    clock: &dyn Clock,
    run: &str,
) {
    let messages = every_kind(&format!("{run}-now"));
    for (i, message) in messages.iter().enumerate() {
        // Half due now, half an hour overdue: the same.
        let at = if i % 2 == 0 {
            clock.now()
        } else {
            clock.now() - chrono::Duration::minutes(30)
        };
        queue.send(message.clone(), at).await.expect("send");
    }
    let (chain, delay) = both_lanes(probe).await;
    let (want_chain, want_delay): (Vec<_>, Vec<_>) = messages
        .into_iter()
        .partition(|m| m.work.lane() == Lane::Chain);
    assert_eq!(chain, sorted(want_chain), "the chain lane");
    assert_eq!(delay, sorted(want_delay), "the delay lane");
    assert_eq!(
        both_lanes(probe).await,
        (vec![], vec![]),
        "each arrives once"
    );
}

/// A message due in a few seconds is not there before, and is after.
async fn nothing_arrives_early(
    queue: &dyn DelayQueue,
    probe: &dyn QueueProbe,
    clock: &dyn Clock,
    run: &str,
) {
    let messages = every_kind(&format!("{run}-soon"));
    let step = messages
        .iter()
        .find(|m| m.work.lane() == Lane::Chain)
        .cloned()
        .expect("a chain step");
    let flush = messages
        .iter()
        .find(|m| m.work.kind() == "group_flush")
        .cloned()
        .expect("a group flush");
    let due = clock.now() + chrono::Duration::seconds(3);
    queue.send(step.clone(), due).await.expect("send");
    queue.send(flush.clone(), due).await.expect("send");
    assert_eq!(both_lanes(probe).await, (vec![], vec![]), "not yet due");
    probe.pass(Duration::from_secs(4)).await;
    assert_eq!(
        both_lanes(probe).await,
        (vec![step], vec![flush]),
        "due: delivered"
    );
}

/// Beyond SQS's 15 minutes: still nothing an hour early, delivered once due.
async fn far_future_messages_wait_their_time(
    queue: &dyn DelayQueue,
    probe: &dyn QueueProbe,
    clock: &dyn Clock,
    run: &str,
) {
    let messages = every_kind(&format!("{run}-later"));
    let due = clock.now() + chrono::Duration::hours(2);
    for message in &messages {
        queue.send(message.clone(), due).await.expect("send");
    }
    probe.pass(Duration::from_secs(3_600)).await;
    assert_eq!(both_lanes(probe).await, (vec![], vec![]), "an hour early");
    probe.pass(Duration::from_secs(3_601)).await;
    let (chain, delay) = both_lanes(probe).await;
    assert_eq!(chain.len() + delay.len(), messages.len(), "all due");
    assert!(chain.iter().all(|m| m.work.lane() == Lane::Chain));
    assert!(delay.iter().all(|m| m.work.lane() == Lane::Delay));
    let mut arrived = chain;
    arrived.extend(delay);
    assert_eq!(sorted(arrived), sorted(messages), "unchanged");
}

/// What a polled queue promises its worker (memory, PostgreSQL): due
/// messages in due order, each taken once until settled, an acknowledged
/// one gone for good, a retried one back at its time with its delivery
/// counted.
pub async fn polled_queue(queue: &dyn PolledQueue, clock: &ManualClock, run: &str) {
    let mut messages = every_kind(&format!("{run}-polled")).into_iter();
    let mut next = || messages.next().expect("enough kinds");
    let (overdue, now_due, later) = (next(), next(), next());
    let now = clock.now();
    queue
        .send(later.clone(), now + chrono::Duration::seconds(10))
        .await
        .expect("send");
    queue.send(now_due.clone(), now).await.expect("send");
    queue
        .send(overdue.clone(), now - chrono::Duration::seconds(5))
        .await
        .expect("send");

    let taken = queue.take(10).await.expect("take");
    let ids = |taken: &[Taken]| {
        taken
            .iter()
            .map(|t| t.message.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&taken),
        vec![overdue.id.clone(), now_due.id.clone()],
        "due ones, in due order"
    );
    assert!(taken.iter().all(|t| t.attempt == 1), "first deliveries");
    assert_eq!(taken[0].message, overdue, "unchanged");
    assert!(
        queue.take(10).await.expect("take").is_empty(),
        "taken ones are hidden"
    );

    let mut taken = taken.into_iter();
    let (first, second) = (taken.next().expect("one"), taken.next().expect("two"));
    queue.ack(&first).await.expect("ack");
    queue
        .retry(second, now + chrono::Duration::seconds(3))
        .await
        .expect("retry");
    assert!(
        queue.take(10).await.expect("take").is_empty(),
        "the retry waits its time"
    );
    clock.advance(chrono::Duration::seconds(4));
    let again = queue.take(10).await.expect("take");
    assert_eq!(
        ids(&again),
        vec![now_due.id.clone()],
        "retried: back once due"
    );
    assert_eq!(again[0].attempt, 2, "its failed delivery counted");
    queue.ack(&again[0]).await.expect("ack");

    clock.advance(chrono::Duration::seconds(10));
    let last = queue.take(1).await.expect("take");
    assert_eq!(
        ids(&last),
        vec![later.id.clone()],
        "the later one, when due"
    );
    queue.ack(&last[0]).await.expect("ack");

    // Long past any visibility timeout: settled messages never come back.
    clock.advance(chrono::Duration::hours(1));
    assert!(
        queue.take(10).await.expect("take").is_empty(),
        "acknowledged: gone"
    );
}
