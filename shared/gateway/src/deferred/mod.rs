//! Handlers for delayed messages: each advances one record in the store.
//!
//! Every kind of deferred work is "a record in the store + a message on the
//! delay queue + a handler here". Locally a worker loop drains the memory
//! queue into [`Gateway::handle`]; in AWS the scheduler and chain-step
//! functions receive the same messages from SQS / EventBridge Scheduler.
//! Handlers are idempotent: a redelivered message finds its work done.

pub(crate) mod approval_signer;
pub(crate) mod approvals;
pub mod chains;
pub(crate) mod dead_letter;
pub mod delivery;
pub mod groups;
pub(crate) mod handled;
pub mod recurring;
pub(crate) mod schedule;
pub mod state_machines;

use std::time::Duration;

use serde_json::json;
use switchyard_store::{Deferred, DelayedMessage, PolledQueue, RecordRef};

use crate::records::decode;

use crate::delivery::{Incoming, Settled};
use crate::dispatch::Resume;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::schedule::ScheduledAction;

pub use handled::{HANDLER_LEASE, Handled, MAX_DELIVERIES, RETRY_DELAY};

impl Gateway {
    /// Handle one delayed message.
    pub async fn handle(&self, message: &DelayedMessage) -> Result<Handled, GatewayError> {
        let record = |namespace: &str, tenant: &str, id: &str| RecordRef {
            namespace: namespace.to_string(),
            tenant: tenant.to_string(),
            id: id.to_string(),
        };
        match &message.work {
            Deferred::ScheduledAction(r) => self.release_scheduled(r).await,
            Deferred::ApprovalExpiry(r) => self.expire_approval(r).await,
            Deferred::ChainStep {
                namespace,
                tenant,
                id,
                step,
            } => self.advance_chain(namespace, tenant, id, *step).await,
            Deferred::ChainTimeout(r) => self.time_out_chain(r).await,
            Deferred::GroupFlush {
                namespace,
                tenant,
                id,
                group_id,
            } => {
                self.flush_group(namespace, tenant, id, group_id.as_deref(), false)
                    .await
            }
            Deferred::EventTimeout {
                namespace,
                tenant,
                id,
                version,
            } => {
                self.time_out_event(&record(namespace, tenant, id), *version)
                    .await
            }
            Deferred::RecurringFire {
                namespace,
                tenant,
                id,
                fire_at,
            } => {
                self.fire_recurring(&record(namespace, tenant, id), *fire_at)
                    .await
            }
        }
    }

    /// Handle one message with its failure contained: a panic in a handler
    /// becomes an error of this message alone (logged and counted as
    /// `handler_panics`), never the end of the loop or batch that called it.
    pub async fn handle_isolated(&self, message: &DelayedMessage) -> Result<Handled, GatewayError> {
        use futures_util::FutureExt;
        match std::panic::AssertUnwindSafe(self.handle(message))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(panic) => {
                crate::metrics::Metrics::bump(&self.metrics.handler_panics);
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(id = %message.id, kind = message.work.kind(), panic = %why, "message handler panicked");
                Err(GatewayError::Internal(format!("handler panicked: {why}")))
            }
        }
    }

    /// Drain every due message of a polled queue (the local server's memory
    /// or PostgreSQL queue, tests) under the delivery policy every transport
    /// uses ([`Gateway::deliver`]): work that must wait goes back on the
    /// queue, a failure is delivered again after [`RETRY_DELAY`], and the
    /// [`MAX_DELIVERIES`]-th failed delivery is dead-lettered. Returns how
    /// many messages were handled.
    pub async fn process_due(&self, queue: &dyn PolledQueue) -> usize {
        let mut handled = 0;
        loop {
            let due = match queue.take(64).await {
                Ok(due) if !due.is_empty() => due,
                Ok(_) => return handled,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read the delay queue; trying again later");
                    return handled;
                }
            };
            if let Some(oldest) = due.iter().map(|t| t.due_at).min() {
                let lag = (self.ports.clock.now() - oldest)
                    .to_std()
                    .unwrap_or_default();
                self.telemetry.observe_queue_lag(lag);
            }
            // A batch is handled concurrently (handlers wait on providers and
            // the store); one chain never has two steps due at once.
            let settled = futures_util::future::join_all(due.iter().map(|taken| {
                self.deliver(
                    Incoming::Message(&taken.message),
                    taken.attempt,
                    MAX_DELIVERIES,
                )
            }))
            .await;
            for (taken, settled) in due.into_iter().zip(settled) {
                handled += 1;
                let id = taken.message.id.clone();
                let result = match settled {
                    Settled::Ack => queue.ack(&taken).await,
                    Settled::Redeliver => {
                        let at = switchyard_core::after(self.ports.clock.now(), RETRY_DELAY);
                        queue.retry(taken, at).await
                    }
                };
                // Unsettled, a durable queue shows the message again after
                // its visibility timeout; the memory queue cannot fail here.
                if let Err(err) = result {
                    tracing::error!(error = %err, %id, "cannot settle message");
                }
            }
        }
    }

    /// Release a scheduled action: evaluation resumes after the rule that
    /// scheduled it. At least once: the record is deleted only after the
    /// outcome is audited, so a crash in between re-runs the action with the
    /// same id (the provider's idempotency key).
    async fn release_scheduled(&self, r: &RecordRef) -> Result<Handled, GatewayError> {
        let key = crate::keys::scheduled(&r.namespace, &r.tenant, &r.id);
        let Some(stored) = self.ports.state.get(&key).await? else {
            return Ok(Handled::Done);
        };
        let lease = crate::keys::scheduled_lease(&r.namespace, &r.tenant, &r.id);
        let owner = uuid::Uuid::new_v4().to_string();
        if !self
            .ports
            .state
            .try_lock(&lease, &owner, HANDLER_LEASE)
            .await?
        {
            return Ok(Handled::RetryLater(HANDLER_LEASE));
        }
        let scheduled: ScheduledAction = decode(&key, &stored.value)?;
        if scheduled.scheduled_for > self.ports.clock.now() {
            self.ports.state.unlock(&lease, &owner).await?;
            return Ok(Handled::RetryLater(Duration::from_secs(1)));
        }
        crate::metrics::Metrics::bump(&self.metrics.scheduled_released);
        self.run_pipeline(
            scheduled.action,
            Resume::After {
                rule: &scheduled.rule,
                priority: scheduled.rule_priority,
            },
            json!({"released_from": r.id, "scheduled_for": scheduled.scheduled_for}),
            &switchyard_core::Caller::system(),
            switchyard_core::AuditEvent::ScheduledActionDue,
        )
        .await?;
        self.ports.state.delete(&key).await?;
        self.ports.state.unlock(&lease, &owner).await?;
        Ok(Handled::Done)
    }
}
