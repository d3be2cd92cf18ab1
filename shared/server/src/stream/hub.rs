//! The per-process reader of the audit change feed and the registry of live
//! connections it feeds.
//!
//! One poller reads the feed for every connection of the process (before,
//! each connection polled the store itself: 2,000 idle streams meant 8,000
//! store reads a second). It pages forward from its cursor until it is
//! caught up, so a burst of any size is read through, and looks back a
//! short margin for records minted earlier but written later. Each record
//! goes only to the connections whose tenant index, filter and grants match,
//! through a bounded channel: a consumer that falls a channel behind is
//! dropped (it gets a final `lagged` event) instead of buffered.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use switchyard_core::AuditRecord;
use switchyard_store::AuditStore;
use tokio::sync::mpsc;

use super::cursor::{cursor_at, millis_of};
use super::filter::StreamFilter;
use crate::auth::Authed;

/// How often the poller reads the feed when it is caught up.
const POLL: Duration = Duration::from_millis(250);
/// Records per feed read.
pub(crate) const PAGE: usize = 500;
/// Pages read in one go before the poller yields (a burst is read through
/// over several rounds, never skipped).
const MAX_PAGES_PER_ROUND: usize = 40;
/// How far behind its cursor the poller looks again for late writers.
const LATE_WRITE_MARGIN_MS: i64 = 2_000;
/// How long the feed waits for a connection with a full channel before it
/// drops it as too slow.
const SLOW_CONSUMER_GRACE: Duration = Duration::from_secs(1);
/// The late-write look-back runs every this many rounds (once a second).
const LATE_SCAN_EVERY: u64 = 4;

/// The bounds of `[server]` for streams.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    pub per_scope: usize,
    pub total: usize,
    /// Records a connection may have waiting before it counts as lagging.
    pub buffer: usize,
}

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The tenant (or caller) already holds `max_sse_connections_per_tenant`.
    Scope(usize),
    /// The process already holds `max_sse_connections`.
    Total(usize),
}

struct Subscriber {
    filter: StreamFilter,
    authed: Authed,
    tx: mpsc::Sender<Arc<AuditRecord>>,
    lagged: Arc<AtomicBool>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    subscribers: HashMap<u64, Subscriber>,
    /// Subscribers that filter on one tenant, by that tenant: a record is
    /// offered only to its tenant's subscribers and the unindexed ones.
    by_tenant: HashMap<String, HashSet<u64>>,
    unindexed: HashSet<u64>,
    /// Open connections per scope (tenant filter, else caller).
    per_scope: HashMap<String, usize>,
    total: usize,
}

impl Registry {
    fn remove_subscriber(&mut self, id: u64) {
        if let Some(sub) = self.subscribers.remove(&id) {
            match &sub.filter.tenant {
                Some(tenant) => {
                    if let Some(ids) = self.by_tenant.get_mut(tenant) {
                        ids.remove(&id);
                        if ids.is_empty() {
                            self.by_tenant.remove(tenant);
                        }
                    }
                }
                None => {
                    self.unindexed.remove(&id);
                }
            }
        }
    }
}

pub(crate) struct StreamHub {
    audit: Arc<dyn AuditStore>,
    limits: StreamLimits,
    registry: Mutex<Registry>,
    poller: OnceLock<()>,
    /// Connections dropped for falling behind (metrics).
    pub(crate) lagged_total: AtomicU64,
}

/// A live connection's share of the hub: records arrive on `records`; when
/// it ends, `lagged` says whether the hub dropped it for falling behind.
/// Dropping it unregisters the connection.
pub(crate) struct Subscription {
    pub records: mpsc::Receiver<Arc<AuditRecord>>,
    pub lagged: Arc<AtomicBool>,
    hub: Arc<StreamHub>,
    id: u64,
    scope: String,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut registry = self.hub.lock();
        registry.remove_subscriber(self.id);
        registry.total = registry.total.saturating_sub(1);
        if let Some(n) = registry.per_scope.get_mut(&self.scope) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                registry.per_scope.remove(&self.scope);
            }
        }
    }
}

impl StreamHub {
    pub(crate) fn new(audit: Arc<dyn AuditStore>, limits: StreamLimits) -> Arc<Self> {
        Arc::new(Self {
            audit,
            limits,
            registry: Mutex::default(),
            poller: OnceLock::new(),
            lagged_total: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn audit(&self) -> &Arc<dyn AuditStore> {
        &self.audit
    }

    /// Open connections (metrics, tests).
    pub(crate) fn connections(&self) -> usize {
        self.lock().total
    }

    /// Register a connection in `scope`, or say which bound it would break.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        scope: String,
        filter: StreamFilter,
        authed: Authed,
    ) -> Result<Subscription, Refused> {
        self.poller.get_or_init(|| {
            tokio::spawn(poll_loop(Arc::downgrade(self)));
        });
        let (tx, records) = mpsc::channel(self.limits.buffer.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        let mut registry = self.lock();
        if registry.total >= self.limits.total {
            return Err(Refused::Total(self.limits.total));
        }
        let in_scope = registry.per_scope.get(&scope).copied().unwrap_or(0);
        if in_scope >= self.limits.per_scope {
            return Err(Refused::Scope(self.limits.per_scope));
        }
        registry.total += 1;
        *registry.per_scope.entry(scope.clone()).or_insert(0) += 1;
        registry.next_id += 1;
        let id = registry.next_id;
        match &filter.tenant {
            Some(tenant) => {
                registry
                    .by_tenant
                    .entry(tenant.clone())
                    .or_default()
                    .insert(id);
            }
            None => {
                registry.unindexed.insert(id);
            }
        }
        registry.subscribers.insert(
            id,
            Subscriber {
                filter,
                authed,
                tx,
                lagged: lagged.clone(),
            },
        );
        Ok(Subscription {
            records,
            lagged,
            hub: self.clone(),
            id,
            scope,
        })
    }

    /// The connections that want `record` and may see it.
    fn targets(&self, record: &AuditRecord) -> Vec<(u64, mpsc::Sender<Arc<AuditRecord>>)> {
        let registry = self.lock();
        registry
            .by_tenant
            .get(&record.tenant)
            .into_iter()
            .flatten()
            .chain(registry.unindexed.iter())
            .filter_map(|id| {
                let sub = registry.subscribers.get(id)?;
                let wanted = sub.filter.matches(record)
                    && sub.authed.sees_action(
                        &record.namespace,
                        &record.tenant,
                        &record.provider,
                        &record.action_type,
                    );
                wanted.then(|| (*id, sub.tx.clone()))
            })
            .collect()
    }

    /// Offer a page of records, in order, to every connection that wants
    /// them. A connection whose channel is full gets until `SLOW_CONSUMER_GRACE`
    /// after the page began to make room; past that it is dropped as lagging
    /// (so one slow client delays the feed at most that long, once).
    async fn deliver_page(&self, records: Vec<AuditRecord>) {
        let deadline = tokio::time::Instant::now() + SLOW_CONSUMER_GRACE;
        for record in records {
            let record = Arc::new(record);
            for (id, tx) in self.targets(&record) {
                let sent = match tx.try_send(record.clone()) {
                    Ok(()) => Ok(()),
                    Err(mpsc::error::TrySendError::Closed(_)) => Err(false),
                    Err(mpsc::error::TrySendError::Full(record)) => {
                        match tokio::time::timeout_at(deadline, tx.send(record)).await {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(_)) => Err(false),
                            Err(_) => Err(true),
                        }
                    }
                };
                if let Err(lagging) = sent {
                    self.drop_subscriber(id, lagging);
                }
            }
        }
    }

    /// Stop feeding a connection; it ends once it has sent what it holds
    /// (its count goes when it disconnects).
    fn drop_subscriber(&self, id: u64, lagging: bool) {
        let mut registry = self.lock();
        if lagging && let Some(sub) = registry.subscribers.get(&id) {
            sub.lagged.store(true, Ordering::Relaxed);
            self.lagged_total.fetch_add(1, Ordering::Relaxed);
        }
        registry.remove_subscriber(id);
    }

    fn has_subscribers(&self) -> bool {
        !self.lock().subscribers.is_empty()
    }
}

/// The poller's position in the feed.
struct Feed {
    cursor: String,
    /// Ids delivered within the late-write margin (pruned as the cursor moves).
    seen: BTreeSet<String>,
    rounds: u64,
}

impl Feed {
    fn now() -> Self {
        Self {
            cursor: cursor_at(chrono::Utc::now().timestamp_millis()),
            seen: BTreeSet::new(),
            rounds: 0,
        }
    }

    /// Read forward from the cursor; true when a full round of pages came
    /// back (more may be waiting: read again without sleeping).
    async fn read_new(&mut self, hub: &StreamHub) -> Result<bool, String> {
        for _ in 0..MAX_PAGES_PER_ROUND {
            let page = hub
                .audit
                .since(&self.cursor, PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let full = page.len() >= PAGE;
            if let Some(last) = page.iter().map(|r| &r.id).max()
                && *last > self.cursor
            {
                self.cursor = last.clone();
            }
            let fresh = self.unseen(page);
            hub.deliver_page(fresh).await;
            if !full {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Look back over the margin for records written after their neighbours.
    async fn read_late(&mut self, hub: &StreamHub) -> Result<(), String> {
        let Some(ms) = millis_of(&self.cursor) else {
            return Ok(());
        };
        let lower = cursor_at(ms - LATE_WRITE_MARGIN_MS);
        self.seen = self.seen.split_off(&lower);
        let until = self.cursor.clone();
        let mut after = lower;
        loop {
            let page = hub
                .audit
                .since(&after, PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let full = page.len() >= PAGE;
            let reached_end = page.iter().any(|r| r.id > until);
            // Past `until` is read_new's job.
            let page: Vec<AuditRecord> = page.into_iter().filter(|r| r.id <= until).collect();
            if let Some(last) = page.last() {
                after = last.id.clone();
            }
            let late = self.unseen(page);
            hub.deliver_page(late).await;
            if !full || reached_end {
                return Ok(());
            }
        }
    }

    /// The records not delivered before (each is delivered once).
    fn unseen(&mut self, page: Vec<AuditRecord>) -> Vec<AuditRecord> {
        page.into_iter()
            .filter(|r| self.seen.insert(r.id.clone()))
            .collect()
    }
}

async fn poll_loop(hub: Weak<StreamHub>) {
    use futures_util::FutureExt;
    let mut feed = Feed::now();
    loop {
        let Some(strong) = hub.upgrade() else {
            return; // the app is gone
        };
        if !strong.has_subscribers() {
            // Nobody listens: stay at "now" so the next listener starts live.
            feed = Feed::now();
            drop(strong);
            tokio::time::sleep(POLL).await;
            continue;
        }
        feed.rounds += 1;
        let late = feed.rounds.is_multiple_of(LATE_SCAN_EVERY);
        let round = std::panic::AssertUnwindSafe(async {
            let more = feed.read_new(&strong).await?;
            if late {
                feed.read_late(&strong).await?;
            }
            Ok::<bool, String>(more)
        })
        .catch_unwind()
        .await;
        drop(strong);
        match round {
            Ok(Ok(true)) => tokio::task::yield_now().await,
            Ok(Ok(false)) => tokio::time::sleep(POLL).await,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "stream feed read failed; retrying");
                tokio::time::sleep(POLL * 4).await;
            }
            Err(_) => {
                tracing::error!("stream feed round panicked; the poller goes on");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
