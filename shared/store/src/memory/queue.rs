use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::Clock;

use super::lock;
use crate::error::StoreError;
use crate::queue::{DelayQueue, DelayedMessage, PolledQueue, Taken};

#[derive(Debug)]
struct Pending {
    deliver_at: DateTime<Utc>,
    seq: u64,
    message: DelayedMessage,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.deliver_at, self.seq) == (other.deliver_at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deliver_at, self.seq).cmp(&(other.deliver_at, other.seq))
    }
}

#[derive(Debug, Default)]
struct Heap {
    items: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    /// Failed deliveries per message id (SQS's ApproximateReceiveCount).
    failures: std::collections::HashMap<String, u32>,
}

/// Messages held until due, in due order (FIFO among equal times).
#[derive(Debug, Clone)]
pub struct MemoryDelayQueue {
    heap: Arc<Mutex<Heap>>,
    clock: Arc<dyn Clock>,
}

impl MemoryDelayQueue {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            heap: Arc::default(),
            clock,
        }
    }

    /// Remove and return up to `max` messages that are due now.
    pub fn take_due(&self, max: usize) -> Vec<DelayedMessage> {
        self.take_due_at(max).into_iter().map(|(_, m)| m).collect()
    }

    /// [`Self::take_due`] with each message's due time.
    fn take_due_at(&self, max: usize) -> Vec<(DateTime<Utc>, DelayedMessage)> {
        let now = self.clock.now();
        let mut heap = lock(&self.heap);
        let mut due = Vec::new();
        while due.len() < max {
            match heap.items.peek() {
                Some(Reverse(p)) if p.deliver_at <= now => {
                    if let Some(Reverse(p)) = heap.items.pop() {
                        due.push((p.deliver_at, p.message));
                    }
                }
                _ => break,
            }
        }
        due
    }

    /// When the earliest pending message is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        lock(&self.heap).items.peek().map(|Reverse(p)| p.deliver_at)
    }

    pub fn len(&self) -> usize {
        lock(&self.heap).items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Count a failed delivery of `id`; returns the failures so far.
    pub fn record_failure(&self, id: &str) -> u32 {
        let mut heap = lock(&self.heap);
        let count = heap.failures.entry(id.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Failed deliveries of message `id` so far.
    pub fn failures(&self, id: &str) -> u32 {
        lock(&self.heap).failures.get(id).copied().unwrap_or(0)
    }

    /// The message is done with (handled or dead-lettered).
    pub fn forget_failures(&self, id: &str) {
        lock(&self.heap).failures.remove(id);
    }
}

#[async_trait]
impl DelayQueue for MemoryDelayQueue {
    async fn send(
        &self,
        message: DelayedMessage,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut heap = lock(&self.heap);
        heap.seq += 1;
        let seq = heap.seq;
        heap.items.push(Reverse(Pending {
            deliver_at,
            seq,
            message,
        }));
        Ok(())
    }
}

#[async_trait]
impl PolledQueue for MemoryDelayQueue {
    async fn take(&self, max: usize) -> Result<Vec<Taken>, StoreError> {
        Ok(self
            .take_due_at(max)
            .into_iter()
            .map(|(due_at, message)| Taken {
                attempt: self.failures(&message.id).saturating_add(1),
                due_at,
                message,
                receipt: 0,
            })
            .collect())
    }

    async fn ack(&self, taken: &Taken) -> Result<(), StoreError> {
        self.forget_failures(&taken.message.id);
        Ok(())
    }

    async fn retry(&self, taken: Taken, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.record_failure(&taken.message.id);
        self.send(taken.message, at).await
    }
}
