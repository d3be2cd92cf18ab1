//! Chains: a state record per chain, one delay-queue message per step, and a
//! step handler that advances the chain by exactly one step.
//!
//! Crash safety: before calling a provider the handler records the step as
//! `running` with a lease (a conditional write on the chain's version), and
//! it sends the next step's message *before* saving the step's result. So a
//! crash never loses the chain: either the current message is redelivered
//! (the step re-runs) or the next one is (and waits until the state catches
//! up). The one place a provider can be called twice for the same step is a
//! crash after the provider answered and before the result was saved; the
//! retry uses the same idempotency key (`<chain_id>:<step>`), so providers
//! that honour it drop the duplicate.

mod model;
mod runner;

use serde_json::json;
use switchyard_config::ChainDefinition;
use switchyard_core::{Action, ActionOutcome, AuditEvent};
use switchyard_store::{Deferred, DelayedMessage, RecordRef};

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::records::decode;

use model::step_state;
pub use model::{
    CHAIN_KIND, ChainError, ChainState, ChainStatus, ParentRef, StepState, StepStatus,
};

impl Gateway {
    fn chain_def(&self, name: &str) -> Result<&ChainDefinition, GatewayError> {
        self.config
            .chain(name)
            .ok_or_else(|| GatewayError::Internal(format!("chain '{name}' is not defined")))
    }

    async fn send_step(
        &self,
        state: &ChainState,
        step: usize,
        delay: Option<u64>,
    ) -> Result<(), GatewayError> {
        let at = switchyard_core::after_seconds(self.ports.clock.now(), delay.unwrap_or(0));
        self.send_step_at(state, step, at, None).await
    }

    /// The message that runs `step` at `at`; a retry after try `retry` has
    /// its own id (queues drop a second message with the same id).
    pub(crate) async fn send_step_at(
        &self,
        state: &ChainState,
        step: usize,
        at: chrono::DateTime<chrono::Utc>,
        retry: Option<u32>,
    ) -> Result<(), GatewayError> {
        let id = match retry {
            Some(n) => format!("{}:{step}:r{n}", state.chain_id),
            None => format!("{}:{step}", state.chain_id),
        };
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    id,
                    Deferred::ChainStep {
                        namespace: state.namespace.clone(),
                        tenant: state.tenant.clone(),
                        id: state.chain_id.clone(),
                        step,
                    },
                ),
                at,
            )
            .await?;
        Ok(())
    }

    /// Start a chain for `origin`. Idempotent for a given `chain_id`.
    pub(crate) async fn start_chain(
        &self,
        origin: &Action,
        chain_name: &str,
        chain_id: Option<String>,
        parent: Option<ParentRef>,
    ) -> Result<ActionOutcome, GatewayError> {
        let def = self.chain_def(chain_name)?;
        let now = self.ports.clock.now();
        let chain_id = chain_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let state = ChainState {
            chain_id: chain_id.clone(),
            chain_name: def.name.clone(),
            namespace: origin.namespace.clone(),
            tenant: origin.tenant.clone(),
            origin: Some(origin.clone()),
            status: ChainStatus::Running,
            current_step: 0,
            total_steps: def.steps.len(),
            steps: def.steps.iter().map(step_state).collect(),
            execution_path: vec![def.steps[0].name.clone()],
            started_at: now,
            updated_at: now,
            expires_at: def
                .timeout_seconds
                .map(|t| switchyard_core::after_seconds(now, t)),
            parent,
            child_chain_ids: Vec::new(),
            cancel_reason: None,
            cancelled_by: None,
            failure_reason: None,
        };
        // The origin first, so a chain record never exists without it. It
        // lives as long as the chain can (its timeout, then the completed
        // chain's TTL); a chain without a timeout deletes it when it ends.
        let origin_expires = state.expires_at.map(|at| {
            switchyard_core::after_seconds(at, self.config.chains.completed_chain_ttl_seconds)
        });
        let origin_key = crate::keys::chain_origin(&state.namespace, &state.tenant, &chain_id);
        // Absent, or written by an earlier try of this same start: either way it holds `origin`.
        let _ = self
            .swap_json(&origin_key, 0, origin, origin_expires)
            .await?;
        let key = crate::keys::chain(&state.namespace, &state.tenant, &chain_id);
        if self.swap_json(&key, 0, &state, None).await?.is_some() {
            Metrics::bump(&self.metrics.chains_created);
            if let Some(at) = state.expires_at {
                self.ports
                    .queue
                    .send(
                        DelayedMessage::new(
                            format!("{chain_id}:timeout"),
                            Deferred::ChainTimeout(RecordRef {
                                namespace: state.namespace.clone(),
                                tenant: state.tenant.clone(),
                                id: chain_id.clone(),
                            }),
                        ),
                        at,
                    )
                    .await?;
            }
            self.send_step(&state, 0, def.steps[0].delay_seconds)
                .await?;
        }
        Ok(ActionOutcome::ChainStarted {
            chain_id,
            chain_name: def.name.clone(),
            total_steps: def.steps.len(),
            first_step: def.steps[0].name.clone(),
        })
    }

    async fn load_chain(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(ChainState, u64)>, GatewayError> {
        let key = crate::keys::chain(namespace, tenant, id);
        let origin_key = crate::keys::chain_origin(namespace, tenant, id);
        // Two reads at once: reads cost a fraction of the writes the origin
        // would add to every save of the chain record.
        let (chain, origin) = futures_util::future::join(
            self.ports.state.get(&key),
            self.ports.state.get(&origin_key),
        )
        .await;
        let Some(stored) = chain? else {
            return Ok(None);
        };
        let mut state: ChainState = decode(&key, &stored.value)?;
        match (&state.origin, origin?) {
            // A record from before the split carries its origin: give it
            // its own record now, since the next save leaves it out.
            (Some(embedded), None) => {
                let _ = self
                    .swap_json(&origin_key, 0, embedded, state.expires_at)
                    .await?;
            }
            (_, Some(stored_origin)) => {
                state.origin = Some(decode(&origin_key, &stored_origin.value)?);
            }
            (None, None) => {}
        }
        Ok(Some((state, stored.version)))
    }

    /// Save if nobody changed the chain since `version`; false on a conflict.
    async fn save_chain(
        &self,
        state: &mut ChainState,
        version: u64,
    ) -> Result<Option<u64>, GatewayError> {
        state.updated_at = self.ports.clock.now();
        let expires = state.status.is_terminal().then(|| {
            switchyard_core::after_seconds(
                state.updated_at,
                self.config.chains.completed_chain_ttl_seconds,
            )
        });
        let key = crate::keys::chain(&state.namespace, &state.tenant, &state.chain_id);
        let saved = self.swap_json(&key, version, &*state, expires).await?;
        if saved.is_some() && state.status.is_terminal() && state.expires_at.is_none() {
            // No timeout gave the origin a TTL: it goes with the chain's end
            // (the caller keeps it in memory for the final audit record).
            let origin_key =
                crate::keys::chain_origin(&state.namespace, &state.tenant, &state.chain_id);
            if let Err(err) = self.ports.state.delete(&origin_key).await {
                tracing::warn!(chain_id = %state.chain_id, error = %err, "chain origin not deleted");
            }
        }
        Ok(saved)
    }

    pub async fn get_chain(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<ChainState>, GatewayError> {
        Ok(self
            .load_chain(namespace, tenant, id)
            .await?
            .map(|(s, _)| s))
    }

    pub async fn list_chains(
        &self,
        namespace: &str,
        tenant: &str,
        status: Option<&str>,
    ) -> Result<Vec<ChainState>, GatewayError> {
        let chains: Vec<ChainState> = self.list_records(namespace, tenant, CHAIN_KIND).await?;
        Ok(chains
            .into_iter()
            .filter(|c| status.is_none_or(|s| c.status.name() == s))
            .collect())
    }

    /// Cancel a running chain (and the sub-chain it waits for).
    pub async fn cancel_chain(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        reason: Option<String>,
        cancelled_by: Option<String>,
    ) -> Result<ChainState, ChainError> {
        loop {
            let Some((mut state, version)) = self.load_chain(namespace, tenant, id).await? else {
                return Err(ChainError::NotFound);
            };
            if state.status.is_terminal() {
                return Err(ChainError::AlreadyTerminal(state.status.name()));
            }
            state.status = ChainStatus::Cancelled;
            state.cancel_reason = reason.clone();
            state.cancelled_by = cancelled_by.clone();
            let waiting_on = state
                .steps
                .get(state.current_step)
                .and_then(|s| s.child_chain_id.clone());
            if self.save_chain(&mut state, version).await?.is_none() {
                continue;
            }
            Metrics::bump(&self.metrics.chains_cancelled);
            self.notify_cancel(&state).await;
            if let Some(child) = waiting_on {
                // The child may have finished already: that is fine.
                let _ = Box::pin(self.cancel_chain(
                    namespace,
                    tenant,
                    &child,
                    reason.clone(),
                    cancelled_by.clone(),
                ))
                .await;
            }
            return Ok(state);
        }
    }

    /// The chain's `on_cancel` notification (best effort: the cancel stands
    /// whatever the provider says; the outcome is audited under the chain).
    async fn notify_cancel(&self, state: &ChainState) {
        let Ok(def) = self.chain_def(&state.chain_name) else {
            return;
        };
        let Some(on_cancel) = def.on_cancel.clone() else {
            return;
        };
        let now = self.ports.clock.now();
        let mut action = Action::builder(
            &state.namespace,
            &state.tenant,
            &on_cancel.provider,
            &on_cancel.action_type,
            json!({
                "chain_id": state.chain_id, "chain_name": state.chain_name,
                "reason": state.cancel_reason, "cancelled_by": state.cancelled_by,
                "current_step": state.current_step, "execution_path": state.execution_path,
            }),
        )
        .with_id(format!("{}:on_cancel", state.chain_id));
        action.created_at = now;
        let outcome = self.call_provider(&action, &on_cancel.provider).await;
        let record = self.audit_record(
            crate::audit::AuditContext {
                event: AuditEvent::ChainStepCompleted,
                action: &action,
                provider: &on_cancel.provider,
                verdict: "chain",
                matched_rule: None,
                verdict_details: json!({"chain_name": state.chain_name, "on_cancel": true}),
                chain_id: Some(&state.chain_id),
                dispatched_at: now,
            },
            &outcome,
        );
        self.write_audit(record).await;
    }
}
