//! Audit records whose write failed (the store was unreachable after the
//! provider had already run) wait here and are written again, with backoff,
//! until the store takes them: an outage of the audit store does not lose
//! the record of an action that executed.
//!
//! Bounded: past [`MAX_PENDING`] waiting records the newest failure is
//! dropped and counted (`audit_dropped`). Per process: on Lambda the retries
//! run while the execution environment lives (between invocations it is
//! frozen), so a record can still be lost if the environment is recycled
//! during an outage; the error is logged either way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_core::AuditRecord;
use switchyard_store::AuditStore;

/// Records waiting for the store, at most.
pub(crate) const MAX_PENDING: usize = 100_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Shared {
    pending: Mutex<VecDeque<AuditRecord>>,
    running: AtomicBool,
    retried: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Clone, Default)]
pub(crate) struct AuditRetry {
    shared: Arc<Shared>,
}

impl AuditRetry {
    /// Records written on a later try.
    pub(crate) fn retried(&self) -> u64 {
        self.shared.retried.load(Ordering::Relaxed)
    }

    /// Records given up on (the queue was full).
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting now.
    pub(crate) fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<AuditRecord>> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `record` for another try, and make sure a writer is running.
    pub(crate) fn defer(&self, record: AuditRecord, store: &Arc<dyn AuditStore>) {
        {
            let mut pending = self.lock();
            if pending.len() >= MAX_PENDING {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(audit_id = %record.id, "audit retry queue full; record dropped");
                return;
            }
            pending.push_back(record);
        }
        self.start(store);
    }

    fn start(&self, store: &Arc<dyn AuditStore>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime (a synchronous caller): records wait for the next
        };
        if self
            .shared
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            runtime.spawn(write_pending(self.clone(), store.clone()));
        }
    }
}

/// Write the waiting records in order, backing off while the store refuses;
/// ends when nothing waits.
async fn write_pending(retry: AuditRetry, store: Arc<dyn AuditStore>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let next = retry.lock().pop_front();
        let Some(record) = next else {
            retry.shared.running.store(false, Ordering::Release);
            // A record deferred between the pop and the store above would
            // otherwise wait for the next failure: take it on.
            if retry.lock().is_empty()
                || retry
                    .shared
                    .running
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                return;
            }
            continue;
        };
        match store.append(record.clone()).await {
            Ok(()) => {
                retry.shared.retried.fetch_add(1, Ordering::Relaxed);
                backoff = FIRST_BACKOFF;
            }
            Err(err) => {
                tracing::warn!(audit_id = %record.id, error = %err, retry_in_ms = backoff.as_millis() as u64, "audit write failed again");
                retry.lock().push_front(record);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
