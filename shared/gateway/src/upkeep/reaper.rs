//! The periodic maintenance pass (the `reaper` function, every minute; the
//! local server runs the retention part on its own timer).
//!
//! Not here, on purpose: chain, approval and event timeouts are delayed
//! messages of their own (they fire without a sweep). Expired leases, dedup
//! keys and windows are already absent to every read and conditional write;
//! the pass only frees their space where the backend does not (PostgreSQL,
//! memory: DynamoDB's TTL removes them itself).

use serde::Serialize;

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::retention::RetentionReport;

#[derive(Debug, Default, Clone, Serialize)]
pub struct ReapReport {
    pub retention: RetentionReport,
    /// Breakers moved from open to half-open, or freed of dead probes.
    pub breakers_recovered: u64,
    /// Approval notifications that failed before and went out now.
    pub approval_notifications_sent: u64,
    /// Expired state records physically removed.
    pub expired_state_removed: u64,
}

impl Gateway {
    /// One maintenance pass: retention deletes, then circuit-breaker recovery.
    pub async fn reap(&self) -> Result<ReapReport, GatewayError> {
        self.upkeep(true).await
    }

    /// The same pass, with retention only when `retention` is on: the local
    /// worker and the `reaper` function share it, so breakers recover
    /// locally exactly as they do on Lambda.
    pub async fn upkeep(&self, retention: bool) -> Result<ReapReport, GatewayError> {
        let retention = if retention {
            self.run_retention().await?
        } else {
            RetentionReport::default()
        };
        let breakers_recovered = self.recover_breakers().await?;
        let approval_notifications_sent = self.retry_approval_notifications().await?;
        let expired_state_removed = self
            .ports
            .state
            .purge_expired(self.ports.clock.now())
            .await?;
        Ok(ReapReport {
            retention,
            breakers_recovered,
            approval_notifications_sent,
            expired_state_removed,
        })
    }
}
