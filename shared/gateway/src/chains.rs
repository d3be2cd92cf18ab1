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

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_config::{BranchConfig, ChainDefinition, ChainStepConfig, StepFailurePolicy};
use switchyard_core::{Action, ActionOutcome, AuditEvent};
use switchyard_store::{Deferred, DelayedMessage, RecordRef, StateKey};

use crate::audit::AuditContext;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::handlers::{HANDLER_LEASE, Handled, decode};
use crate::metrics::Metrics;
use crate::template::{TemplateContext, render};

pub const CHAIN_KIND: &str = "chain";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    Running,
    WaitingSubChain,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

impl ChainStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ChainStatus::Completed
                | ChainStatus::Failed
                | ChainStatus::Cancelled
                | ChainStatus::TimedOut
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            ChainStatus::Running => "running",
            ChainStatus::WaitingSubChain => "waiting_sub_chain",
            ChainStatus::Completed => "completed",
            ChainStatus::Failed => "failed",
            ChainStatus::Cancelled => "cancelled",
            ChainStatus::TimedOut => "timed_out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub name: String,
    pub provider: Option<String>,
    pub status: StepStatus,
    pub response_body: Option<Value>,
    pub error: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub sub_chain: Option<String>,
    pub child_chain_id: Option<String>,
    pub attempts: u32,
    /// While `running`: until when the handler that started it owns it.
    pub running_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentRef {
    pub chain_id: String,
    pub step_index: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainState {
    pub chain_id: String,
    pub chain_name: String,
    pub namespace: String,
    pub tenant: String,
    pub origin: Action,
    pub status: ChainStatus,
    pub current_step: usize,
    pub total_steps: usize,
    pub steps: Vec<StepState>,
    pub execution_path: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub parent: Option<ParentRef>,
    pub child_chain_ids: Vec<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub failure_reason: Option<String>,
}

impl ChainState {
    /// The API view (`GET /v1/chains/{id}`).
    pub fn detail(&self) -> Value {
        json!({
            "chain_id": self.chain_id,
            "chain_name": self.chain_name,
            "namespace": self.namespace,
            "tenant": self.tenant,
            "status": self.status.name(),
            "current_step": self.current_step,
            "total_steps": self.total_steps,
            "steps": self.steps.iter().map(|s| json!({
                "name": s.name,
                "provider": s.provider,
                "status": s.status,
                "response_body": s.response_body,
                "error": s.error,
                "completed_at": s.completed_at,
                "sub_chain": s.sub_chain,
                "child_chain_id": s.child_chain_id,
                "attempts": s.attempts,
            })).collect::<Vec<_>>(),
            "execution_path": self.execution_path,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
            "parent_chain_id": self.parent.as_ref().map(|p| &p.chain_id),
            "child_chain_ids": self.child_chain_ids,
            "cancel_reason": self.cancel_reason,
            "cancelled_by": self.cancelled_by,
            "failure_reason": self.failure_reason,
        })
    }

    /// The list view (`GET /v1/chains`).
    pub fn summary(&self) -> Value {
        json!({
            "chain_id": self.chain_id,
            "chain_name": self.chain_name,
            "status": self.status.name(),
            "current_step": self.current_step,
            "total_steps": self.total_steps,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "parent_chain_id": self.parent.as_ref().map(|p| &p.chain_id),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("chain not found")]
    NotFound,
    #[error("chain already {0}")]
    AlreadyTerminal(&'static str),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

fn chain_key(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, CHAIN_KIND, id)
}

/// Where a step goes next: its first matching branch, else its default, else
/// the following step.
fn next_step(def: &ChainDefinition, index: usize, success: bool, body: &Value) -> Option<usize> {
    let step = &def.steps[index];
    let position = |name: &str| def.steps.iter().position(|s| s.name == name);
    if let Some(branch) = step
        .branches
        .iter()
        .find(|b| branch_holds(b, success, body))
    {
        return position(&branch.target);
    }
    match step.default_next() {
        Some(name) => position(name),
        None => (index + 1 < def.steps.len()).then_some(index + 1),
    }
}

fn branch_holds(branch: &BranchConfig, success: bool, body: &Value) -> bool {
    let success_value = Value::Bool(success);
    let field: Option<&Value> = match branch.field.as_str() {
        "success" => Some(&success_value),
        "body" => Some(body),
        other => other.strip_prefix("body.").and_then(|path| {
            path.split('.').try_fold(body, |v, seg| match v {
                Value::Object(m) => m.get(seg),
                Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
        }),
    };
    let num = |v: &Value| v.as_f64();
    match (branch.operator.as_str(), field) {
        ("exists", f) => f.is_some_and(|v| !v.is_null()) == branch.value.as_bool().unwrap_or(true),
        (_, None) => false,
        ("eq", Some(v)) => switchyard_rules::value::json_equal(v, &branch.value),
        ("neq" | "ne", Some(v)) => !switchyard_rules::value::json_equal(v, &branch.value),
        ("contains", Some(Value::String(s))) => {
            branch.value.as_str().is_some_and(|n| s.contains(n))
        }
        ("contains", Some(Value::Array(items))) => items
            .iter()
            .any(|i| switchyard_rules::value::json_equal(i, &branch.value)),
        (op, Some(v)) => match (num(v), num(&branch.value)) {
            (Some(a), Some(b)) => match op {
                "gt" => a > b,
                "gte" => a >= b,
                "lt" => a < b,
                "lte" => a <= b,
                _ => false,
            },
            _ => false,
        },
    }
}

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
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    format!("{}:{step}", state.chain_id),
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
            origin: origin.clone(),
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
        let key = chain_key(&state.namespace, &state.tenant, &chain_id);
        let body =
            serde_json::to_string(&state).map_err(|e| GatewayError::Internal(e.to_string()))?;
        if self
            .ports
            .state
            .compare_and_swap(&key, 0, &body, None)
            .await?
            .is_some()
        {
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
        let key = chain_key(namespace, tenant, id);
        match self.ports.state.get(&key).await? {
            Some(stored) => Ok(Some((decode(&key, &stored.value)?, stored.version))),
            None => Ok(None),
        }
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
        let body =
            serde_json::to_string(&state).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let key = chain_key(&state.namespace, &state.tenant, &state.chain_id);
        Ok(self
            .ports
            .state
            .compare_and_swap(&key, version, &body, expires)
            .await?)
    }

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
        // Claim the step: a conditional write, so two handlers never both run it.
        state.steps[step].status = StepStatus::Running;
        state.steps[step].attempts += 1;
        state.steps[step].running_until = Some(switchyard_core::after(now, HANDLER_LEASE));
        let Some(version) = self.save_chain(&mut state, version).await? else {
            return Ok(Handled::RetryLater(Duration::from_secs(1)));
        };
        let action = self.step_action(&state, step_def, step);
        let started = self.ports.clock.now();
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
        let finished = self.ports.clock.now();
        let step_state = &mut state.steps[step];
        step_state.running_until = None;
        step_state.completed_at = Some(finished);
        let next = if success {
            step_state.status = StepStatus::Completed;
            step_state.response_body = Some(body.clone());
            next_step(&def, step, true, &body)
        } else {
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
                self.start_chain(&state.origin, sub, Some(child_id), Some(parent))
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
        let mut record = self.audit_record(
            AuditContext {
                event: AuditEvent::ChainCompleted,
                action: &state.origin,
                provider: &state.origin.provider,
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

    fn step_action(&self, state: &ChainState, step: &ChainStepConfig, index: usize) -> Action {
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
            origin: &state.origin,
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
}

fn step_state(def: &ChainStepConfig) -> StepState {
    StepState {
        name: def.name.clone(),
        provider: def.provider.clone(),
        status: StepStatus::Pending,
        response_body: None,
        error: None,
        completed_at: None,
        sub_chain: def.sub_chain.clone(),
        child_chain_id: None,
        attempts: 0,
        running_until: None,
    }
}
