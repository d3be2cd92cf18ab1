//! Running a chain: one step per delivered message (claim, provider call,
//! save), sub-chains, the end of a chain and its timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard_config::{ChainDefinition, ChainStepConfig, StepFailurePolicy};
use switchyard_core::{Action, ActionOutcome, AuditEvent};
use switchyard_store::RecordRef;

use super::model::{ChainState, ChainStatus, ParentRef, StepStatus, next_step};
use crate::audit::AuditContext;
use crate::deferred::handled::{HANDLER_LEASE, Handled};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::template::{TemplateContext, render};

impl Gateway {
    /// Advance a chain by one step (the `chain-step` handler).
    pub async fn advance_chain(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        step: usize,
    ) -> Result<Handled, GatewayError> {
        let Some((mut state, version)) = self.load_chain(namespace, tenant, id).await? else {
            return Ok(Handled::Done);
        };
        if state.status.is_terminal() || step < state.current_step || step >= state.total_steps {
            return Ok(Handled::Done);
        }
        if step > state.current_step {
            // Sent before the previous step's result was saved: wait for it.
            return Ok(Handled::RetryLater(Duration::from_secs(1)));
        }
        let now = self.ports.clock.now();
        if state.expires_at.is_some_and(|at| now >= at) {
            state.status = ChainStatus::TimedOut;
            state.failure_reason = Some("chain timed out".into());
            return self.finish_chain(state, version).await;
        }
        let def = self.chain_def(&state.chain_name)?.clone();
        let step_def = &def.steps[step];
        if let Some(sub) = &step_def.sub_chain {
            return self
                .advance_sub_chain(state, version, &def, step, sub)
                .await;
        }
        let current = &state.steps[step];
        if current.status == StepStatus::Completed {
            return Ok(Handled::Done);
        }
        if current.status == StepStatus::Running
            && let Some(until) = current.running_until
            && until > now
        {
            return Ok(Handled::RetryLater(
                (until - now).to_std().unwrap_or(Duration::from_secs(1)),
            ));
        }
        // Built before the claim: a chain that lost its origin fails here,
        // without leaving a step claimed.
        let action = self.step_action(&state, state.origin()?, step_def, step);
        // Claim the step: a conditional write, so two handlers never both run it.
        state.steps[step].status = StepStatus::Running;
        state.steps[step].attempts += 1;
        state.steps[step].running_until = Some(switchyard_core::after(now, HANDLER_LEASE));
        let Some(version) = self.save_chain(&mut state, version).await? else {
            return Ok(Handled::RetryLater(Duration::from_secs(1)));
        };
        let started = self.ports.clock.now();
        let timer = std::time::Instant::now();
        // Through the provider's breaker; a fallback's answer is the step's answer.
        let outcome = self.call_provider(&action, &action.provider).await;
        let (success, body) = match &outcome {
            ActionOutcome::Executed(response) | ActionOutcome::Rerouted { response, .. } => {
                (true, response.body.clone())
            }
            _ => (false, Value::Null),
        };
        let record = self.audit_record(
            AuditContext {
                event: AuditEvent::ChainStepCompleted,
                action: &action,
                provider: &action.provider,
                verdict: "chain",
                matched_rule: None,
                verdict_details: json!({"chain_name": state.chain_name, "step": step_def.name, "step_index": step}),
                chain_id: Some(&state.chain_id),
                dispatched_at: started,
            },
            &outcome,
        );
        self.write_audit(record).await;
        (self.telemetry).observe_chain_step(&state.chain_name, timer.elapsed());
        let finished = self.ports.clock.now();
        let step_state = &mut state.steps[step];
        step_state.running_until = None;
        step_state.completed_at = Some(finished);
        let next = if success {
            step_state.status = StepStatus::Completed;
            step_state.response_body = Some(body.clone());
            next_step(&def, step, true, &body)
        } else {
            let retryable = matches!(
                &outcome,
                ActionOutcome::Failed {
                    retryable: true,
                    ..
                }
            );
            if retryable
                && let Some(retry) = &step_def.retry
                && step_state.attempts <= retry.max_retries
            {
                // The step's retry table: the same step again after its backoff.
                let wait = retry.delay(step_state.attempts, rand::random::<f64>());
                step_state.status = StepStatus::Pending;
                step_state.error = match &outcome {
                    ActionOutcome::Failed { code, message, .. } => {
                        Some(format!("{code}: {message}"))
                    }
                    _ => None,
                };
                let at = switchyard_core::after(finished, wait);
                let attempt = step_state.attempts;
                self.send_step_at(&state, step, at, Some(attempt)).await?;
                let _ = self.save_chain(&mut state, version).await?;
                return Ok(Handled::Done);
            }
            step_state.status = StepStatus::Failed;
            step_state.error = match &outcome {
                ActionOutcome::Failed { code, message, .. } => Some(format!("{code}: {message}")),
                ActionOutcome::CircuitOpen { provider, .. } => Some(format!(
                    "circuit open for '{provider}' and no usable fallback"
                )),
                other => Some(format!("unexpected outcome {}", other.tag())),
            };
            match step_def.on_failure {
                StepFailurePolicy::Skip => {
                    step_state.status = StepStatus::Skipped;
                    next_step(&def, step, false, &Value::Null)
                }
                StepFailurePolicy::Abort | StepFailurePolicy::Dlq => {
                    state.status = ChainStatus::Failed;
                    state.failure_reason = Some(format!(
                        "step '{}' failed: {}",
                        step_def.name,
                        state.steps[step].error.clone().unwrap_or_default()
                    ));
                    None
                }
            }
        };
        self.move_on(state, version, &def, next).await
    }

    /// After a step: send the next step's message, then save (see the module docs).
    async fn move_on(
        &self,
        mut state: ChainState,
        version: u64,
        def: &ChainDefinition,
        next: Option<usize>,
    ) -> Result<Handled, GatewayError> {
        match next {
            Some(next) if !state.status.is_terminal() => {
                state.current_step = next;
                state.status = ChainStatus::Running;
                state.execution_path.push(def.steps[next].name.clone());
                self.send_step(&state, next, def.steps[next].delay_seconds)
                    .await?;
                match self.save_chain(&mut state, version).await? {
                    Some(_) => Ok(Handled::Done),
                    // Cancelled meanwhile: the early message will find the chain terminal.
                    None => Ok(Handled::Done),
                }
            }
            _ => {
                if !state.status.is_terminal() {
                    state.status = ChainStatus::Completed;
                }
                self.finish_chain(state, version).await
            }
        }
    }

    async fn advance_sub_chain(
        &self,
        mut state: ChainState,
        version: u64,
        def: &ChainDefinition,
        step: usize,
        sub: &str,
    ) -> Result<Handled, GatewayError> {
        let child_id = format!("{}.{}", state.chain_id, step);
        let child = self
            .load_chain(&state.namespace, &state.tenant, &child_id)
            .await?;
        match child {
            None => {
                // First visit (or a crash before the child was created): start it.
                state.status = ChainStatus::WaitingSubChain;
                state.steps[step].status = StepStatus::Running;
                state.steps[step].child_chain_id = Some(child_id.clone());
                if !state.child_chain_ids.contains(&child_id) {
                    state.child_chain_ids.push(child_id.clone());
                }
                if self.save_chain(&mut state, version).await?.is_none() {
                    return Ok(Handled::RetryLater(Duration::from_secs(1)));
                }
                let parent = ParentRef {
                    chain_id: state.chain_id.clone(),
                    step_index: step,
                };
                self.start_chain(state.origin()?, sub, Some(child_id), Some(parent))
                    .await?;
                Ok(Handled::Done)
            }
            Some((child, _)) if !child.status.is_terminal() => Ok(Handled::Done),
            Some((child, _)) => {
                let now = self.ports.clock.now();
                let step_state = &mut state.steps[step];
                step_state.completed_at = Some(now);
                step_state.response_body =
                    Some(json!({"chain_id": child.chain_id, "status": child.status.name()}));
                let next = if child.status == ChainStatus::Completed {
                    step_state.status = StepStatus::Completed;
                    next_step(def, step, true, &json!({"status": "completed"}))
                } else {
                    step_state.status = StepStatus::Failed;
                    step_state.error = Some(format!(
                        "sub-chain '{}' {}",
                        child.chain_name,
                        child.status.name()
                    ));
                    match def.steps[step].on_failure {
                        StepFailurePolicy::Skip => next_step(def, step, false, &Value::Null),
                        _ => {
                            state.status = ChainStatus::Failed;
                            state.failure_reason = state.steps[step].error.clone();
                            None
                        }
                    }
                };
                self.move_on(state, version, def, next).await
            }
        }
    }

    /// Save a terminal chain, audit it, and wake its parent.
    async fn finish_chain(
        &self,
        mut state: ChainState,
        version: u64,
    ) -> Result<Handled, GatewayError> {
        if self.save_chain(&mut state, version).await?.is_none() {
            return Ok(Handled::RetryLater(Duration::from_secs(1)));
        }
        let counter = match state.status {
            ChainStatus::Completed => &self.metrics.chains_completed,
            ChainStatus::Cancelled => &self.metrics.chains_cancelled,
            _ => &self.metrics.chains_failed,
        };
        Metrics::bump(counter);
        let now = self.ports.clock.now();
        let origin = state.origin()?;
        let mut record = self.audit_record(
            AuditContext {
                event: AuditEvent::ChainCompleted,
                action: origin,
                provider: &origin.provider,
                verdict: "chain",
                matched_rule: None,
                verdict_details: json!({"chain_name": state.chain_name, "execution_path": state.execution_path}),
                chain_id: Some(&state.chain_id),
                dispatched_at: state.started_at,
            },
            crate::audit::RecordOutcome::Named {
                tag: format!("chain_{}", state.status.name()),
                details: json!({"status": state.status.name(), "reason": state.failure_reason}),
            },
        );
        // Filed under the chain, so the origin action's own record stays its latest.
        record.action_id = state.chain_id.clone();
        record.completed_at = now;
        self.write_audit(record).await;
        if let Some(parent) = &state.parent
            && let Some((parent_state, _)) = self
                .load_chain(&state.namespace, &state.tenant, &parent.chain_id)
                .await?
        {
            self.send_step(&parent_state, parent.step_index, None)
                .await?;
        }
        Ok(Handled::Done)
    }

    /// The chain-timeout message.
    pub(crate) async fn time_out_chain(&self, r: &RecordRef) -> Result<Handled, GatewayError> {
        let Some((mut state, version)) = self.load_chain(&r.namespace, &r.tenant, &r.id).await?
        else {
            return Ok(Handled::Done);
        };
        if state.status.is_terminal() {
            return Ok(Handled::Done);
        }
        let now = self.ports.clock.now();
        match state.expires_at {
            Some(at) if now >= at => {
                state.status = ChainStatus::TimedOut;
                state.failure_reason = Some("chain timed out".into());
                self.finish_chain(state, version).await
            }
            Some(at) => Ok(Handled::RetryLater((at - now).to_std().unwrap_or_default())),
            None => Ok(Handled::Done),
        }
    }

    fn step_action(
        &self,
        state: &ChainState,
        origin: &Action,
        step: &ChainStepConfig,
        index: usize,
    ) -> Action {
        let bodies: BTreeMap<&str, &Value> = state
            .steps
            .iter()
            .filter_map(|s| s.response_body.as_ref().map(|b| (s.name.as_str(), b)))
            .collect();
        let prev = state
            .execution_path
            .iter()
            .rev()
            .nth(1)
            .and_then(|name| bodies.get(name.as_str()).copied());
        let ctx = TemplateContext {
            origin,
            prev,
            steps: bodies,
            chain_id: &state.chain_id,
            step_index: index,
        };
        let payload = step
            .payload_template
            .as_ref()
            .map_or(json!({}), |t| render(t, &ctx));
        let mut action = Action::builder(
            &state.namespace,
            &state.tenant,
            step.provider.clone().unwrap_or_default(),
            step.action_type.clone().unwrap_or_default(),
            payload,
        )
        .with_id(format!("{}:{}", state.chain_id, step.name));
        action.created_at = self.ports.clock.now();
        action
            .metadata
            .insert("chain_id".into(), state.chain_id.clone());
        action
            .metadata
            .insert("chain_step".into(), step.name.clone());
        action
    }
}
