//! The dispatch pipeline:
//! validate → decide (rules) → one atomic gate (quotas, dedup, throttle) →
//! apply the verdict (execute, reroute, suppress, schedule, approval…) → audit.
//!
//! Rules are pure, so they are evaluated before the gate: that lets quota
//! counters and the rule's own dedup/throttle condition go to the store as one
//! atomic call (one round trip, all or nothing) instead of a sequence of writes.

use std::sync::Arc;

use serde_json::json;

use switchyard_core::{Action, ActionOutcome, AuditEvent, Caller};
use switchyard_rules::RuleAction;
use switchyard_store::{GateOp, GateResult};

use crate::audit::{AuditContext, gates_details};
use crate::decision::{Decision, RuleGate, decide};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::quotas::{MAX_DEGRADE_HOPS, OverageBehavior, QuotaPolicy};

/// Where rule evaluation starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resume<'a> {
    FromStart,
    /// After the rule that deferred the action (by name; by priority if it was
    /// removed by a reload since).
    After {
        rule: &'a str,
        priority: i32,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DispatchOptions {
    /// Evaluate only: no state, no provider call, no audit.
    pub dry_run: bool,
    /// Who dispatched (the audit's `caller_id`; an approval's requester).
    pub caller: Caller,
}

/// Why the gate refused, mapped back to an outcome.
enum GateOwner<'a> {
    Quota(&'a QuotaPolicy),
    Rule(&'a RuleGate),
}

impl Gateway {
    /// Dispatch one action through the whole pipeline.
    pub async fn dispatch(
        &self,
        action: Action,
        options: DispatchOptions,
    ) -> Result<ActionOutcome, GatewayError> {
        Metrics::bump(&self.metrics.dispatched);
        if !self.providers.contains(&action.provider) {
            Metrics::bump(&self.metrics.rejected_requests);
            return Err(GatewayError::Invalid {
                field: "provider".into(),
                message: format!(
                    "unknown provider '{}' (configured: {})",
                    action.provider,
                    self.providers.names().join(", ")
                ),
            });
        }
        let dispatched_at = self.ports.clock.now();
        if options.dry_run {
            let rules = self.rules.load_full();
            let decision = decide(&rules, self.evaluation(), action, dispatched_at, None)?;
            let outcome = ActionOutcome::DryRun {
                verdict: decision.verdict().to_string(),
                matched_rule: decision.matched_rule().map(str::to_string),
                would_be_provider: would_be_provider(&decision),
            };
            self.metrics.record(&outcome);
            return Ok(outcome);
        }
        self.run_pipeline(
            action,
            Resume::FromStart,
            json!({}),
            &options.caller,
            AuditEvent::ActionDispatched,
        )
        .await
    }

    /// How rules are evaluated (`[rules] evaluation` and `on_type_error`).
    pub(crate) fn evaluation(
        &self,
    ) -> (
        switchyard_rules::EvaluationMode,
        switchyard_rules::OnTypeError,
    ) {
        (
            self.config.rules.evaluation,
            self.config.rules.on_type_error,
        )
    }

    /// Decide, gate, apply and audit. Actions re-entering the pipeline (released
    /// schedules, flushed groups, approved actions) resume after the rule that
    /// deferred them and skip quotas (they were counted when first dispatched).
    pub(crate) async fn run_pipeline(
        &self,
        original: Action,
        resume: Resume<'_>,
        mut details: serde_json::Value,
        caller: &Caller,
        event: AuditEvent,
    ) -> Result<ActionOutcome, GatewayError> {
        let dispatched_at = self.ports.clock.now();
        let timer = std::time::Instant::now();
        let rules = self.rules.load_full();
        let (resume_after, count_quotas) = match resume {
            Resume::FromStart => (None, true),
            Resume::After { rule, priority } => (rules.resume_position(rule, priority), false),
        };
        let decide_for = |action: Action| {
            decide(
                &rules,
                self.evaluation(),
                action,
                dispatched_at,
                resume_after,
            )
            .inspect_err(|_| Metrics::bump(&self.metrics.rejected_requests))
        };
        let mut decision = decide_for(original.clone())?;
        let quotas = if self.config.quotas.enabled && count_quotas {
            self.quotas
                .for_tenant(&original.namespace, &original.tenant)
                .await
                .map_err(|e| self.unavailable(e.into()))?
        } else {
            Arc::new(Vec::new())
        };
        let mut applicable: Vec<&QuotaPolicy> =
            quotas.iter().filter(|q| q.applies_to(&original)).collect();
        let mut degraded: Vec<serde_json::Value> = Vec::new();
        let outcome = loop {
            match self
                .pass_gate(&applicable, &decision, dispatched_at)
                .await?
            {
                Gate::Passed => break self.apply(&decision, caller).await?,
                Gate::Refused(refused) => break refused,
                Gate::Degrade { policy, fallback } => {
                    // Acteon: the action goes to the fallback, the rules see
                    // it there, and only the fallback's provider-scoped quotas
                    // count it (a tenant-wide one would refuse it again).
                    if degraded.len() >= MAX_DEGRADE_HOPS {
                        break quota_exceeded(policy, None);
                    }
                    Metrics::bump(&self.metrics.quota_degraded);
                    degraded.push(json!({"quota": policy.id, "from": decision.action.provider, "to": fallback}));
                    let mut action = decision.action.clone();
                    action.provider = fallback;
                    applicable = quotas
                        .iter()
                        .filter(|q| q.provider.is_some() && q.applies_to(&action))
                        .collect();
                    decision = decide_for(action)?;
                }
            }
        };
        if let (false, serde_json::Value::Object(map)) = (degraded.is_empty(), &mut details) {
            map.insert("quota_degraded".into(), json!(degraded));
        }
        let provider = match &outcome {
            ActionOutcome::Rerouted { new_provider, .. } => new_provider.as_str(),
            _ => decision.action.provider.as_str(),
        };
        self.record_outcome(&original, provider, &outcome, timer);
        if let (serde_json::Value::Object(map), serde_json::Value::Object(gates)) =
            (&mut details, gates_details(&decision.passed_through))
        {
            map.extend(gates);
        }
        let mut record = self.audit_record(
            AuditContext {
                event,
                action: &original,
                provider,
                verdict: decision.verdict(),
                matched_rule: decision.matched_rule(),
                verdict_details: details,
                chain_id: None,
                dispatched_at,
            },
            &outcome,
        );
        record.caller_id = caller.id.clone();
        record.auth_method = caller.auth_method.clone();
        self.write_audit(record).await;
        self.after_outcome(&decision.action, &outcome).await;
        Ok(outcome)
    }

    fn unavailable(&self, err: GatewayError) -> GatewayError {
        if matches!(err, GatewayError::Unavailable(_)) {
            Metrics::bump(&self.metrics.store_unavailable);
        }
        err
    }

    /// Run quota and rule gates as one atomic store call. When it refuses,
    /// nothing was counted or claimed.
    async fn pass_gate<'q>(
        &self,
        quotas: &[&'q QuotaPolicy],
        decision: &Decision,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Gate<'q>, GatewayError> {
        let mut ops: Vec<GateOp> = Vec::with_capacity(quotas.len() + decision.gates.len());
        let mut owners: Vec<GateOwner<'_>> = Vec::with_capacity(ops.capacity());
        for quota in quotas {
            ops.push(quota.gate_op(now));
            owners.push(GateOwner::Quota(quota));
        }
        for gate in &decision.gates {
            ops.push(gate.op().clone());
            owners.push(GateOwner::Rule(gate));
        }
        if ops.is_empty() {
            return Ok(Gate::Passed);
        }
        let result = self
            .ports
            .state
            .gate(&ops)
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        let (index, current) = match result {
            GateResult::Passed => {
                self.note_quota_overages(quotas, &decision.action, now)
                    .await;
                return Ok(Gate::Passed);
            }
            GateResult::Rejected { op, current } => (op, current),
        };
        Ok(Gate::Refused(match owners.get(index) {
            Some(GateOwner::Quota(policy)) => match &policy.overage_behavior {
                OverageBehavior::Degrade { fallback_provider } => {
                    // Quota operations come first: `index` is the policy's place.
                    if let Some(policy) = quotas.get(index).copied() {
                        return Ok(Gate::Degrade {
                            policy,
                            fallback: fallback_provider.clone(),
                        });
                    }
                    quota_exceeded(policy, current)
                }
                _ => quota_exceeded(policy, current),
            },
            Some(GateOwner::Rule(RuleGate::Throttle { retry_after, .. })) => {
                ActionOutcome::Throttled {
                    retry_after: *retry_after,
                }
            }
            Some(GateOwner::Rule(RuleGate::Dedup { .. })) => ActionOutcome::Deduplicated,
            None => {
                return Err(GatewayError::Internal(format!(
                    "gate rejected unknown operation {index}"
                )));
            }
        }))
    }

    /// `warn` and `notify` quotas never refuse: count the dispatches that
    /// went over, and for `notify` tell the target once per window.
    async fn note_quota_overages(
        &self,
        quotas: &[&QuotaPolicy],
        action: &Action,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for quota in quotas.iter().filter(|q| {
            matches!(
                q.overage_behavior,
                OverageBehavior::Warn | OverageBehavior::Notify { .. }
            )
        }) {
            let (index, resets_at) = quota.window.window_at(now);
            let Ok(used) = self.ports.state.counter(&quota.usage_key(index)).await else {
                continue;
            };
            if used <= quota.max_actions {
                continue;
            }
            let OverageBehavior::Notify { target } = &quota.overage_behavior else {
                Metrics::bump(&self.metrics.quota_warned);
                tracing::warn!(quota = %quota.id, tenant = %quota.tenant, used, limit = quota.max_actions, "quota exceeded (warn)");
                continue;
            };
            // Exactly one notification per window, however many dispatches race past the limit.
            let claim = GateOp::Claim {
                key: crate::keys::quota_notified(&quota.namespace, &quota.tenant, &quota.id, index),
                expires_at: Some(resets_at),
            };
            if !matches!(
                self.ports.state.gate(&[claim]).await,
                Ok(GateResult::Passed)
            ) {
                continue;
            }
            Metrics::bump(&self.metrics.quota_notified);
            let mut notice = Action::builder(
                &quota.namespace,
                &quota.tenant,
                target,
                "quota_exceeded",
                json!({
                    "quota_id": quota.id, "namespace": quota.namespace, "tenant": quota.tenant,
                    "used": used, "limit": quota.max_actions, "window": quota.window,
                    "resets_at": resets_at, "action_id": action.id, "action_type": action.action_type,
                }),
            )
            .with_id(format!("quota:{}:{index}:notification", quota.id));
            notice.created_at = now;
            if let ActionOutcome::Failed { message, .. } = self.call_provider(&notice, target).await
            {
                tracing::warn!(quota = %quota.id, target, error = %message, "quota notification failed");
            }
        }
    }

    /// Carry out the verdict once the gate has passed.
    async fn apply(
        &self,
        decision: &Decision,
        caller: &Caller,
    ) -> Result<ActionOutcome, GatewayError> {
        let action = &decision.action;
        let Some(matched) = &decision.deciding else {
            return Ok(self.call_provider(action, &action.provider).await);
        };
        match &matched.action {
            RuleAction::Allow
            | RuleAction::Deduplicate { .. }
            | RuleAction::Throttle { .. }
            | RuleAction::Modify { .. } => Ok(self.call_provider(action, &action.provider).await),
            RuleAction::Deny | RuleAction::Suppress => Ok(ActionOutcome::Suppressed {
                rule: matched.name.clone(),
            }),
            // Through the target's breaker (seed 003: alerts rerouted to a
            // dead SNS topic fall back to local-fallback), unlike Acteon's code.
            RuleAction::Reroute { target_provider } => {
                Ok(match self.call_provider(action, target_provider).await {
                    ActionOutcome::Executed(response) => ActionOutcome::Rerouted {
                        original_provider: action.provider.clone(),
                        new_provider: target_provider.clone(),
                        response,
                    },
                    ActionOutcome::Rerouted {
                        new_provider,
                        response,
                        ..
                    } => ActionOutcome::Rerouted {
                        original_provider: action.provider.clone(),
                        new_provider,
                        response,
                    },
                    other => other,
                })
            }
            RuleAction::Schedule { delay_seconds } => {
                self.schedule(action, &matched.name, matched.priority, *delay_seconds)
                    .await
            }
            RuleAction::RequestApproval {
                notify_provider,
                timeout_seconds,
                message,
            } => {
                self.request_approval(
                    action,
                    crate::approvals::ApprovalRequest {
                        rule: &matched.name,
                        rule_priority: matched.priority,
                        notify_provider,
                        timeout_seconds: *timeout_seconds,
                        message: message.as_deref(),
                    },
                    caller,
                )
                .await
            }
            RuleAction::Group {
                group_by,
                group_wait_seconds,
                group_interval_seconds,
                repeat_interval_seconds,
                max_group_size,
                ..
            } => {
                self.add_to_group(
                    action,
                    &matched.name,
                    matched.priority,
                    group_by,
                    (
                        *group_wait_seconds,
                        *group_interval_seconds,
                        *repeat_interval_seconds,
                    ),
                    *max_group_size,
                )
                .await
            }
            RuleAction::Chain { chain } => self.start_chain(action, chain, None, None).await,
            RuleAction::StateMachine {
                state_machine,
                fingerprint_fields,
            } => {
                self.apply_state_machine(action, state_machine, fingerprint_fields)
                    .await
            }
        }
    }

    /// Call a provider through the executor; a failure becomes `Failed`.
    pub(crate) async fn execute(&self, action: &Action, provider: &str) -> ActionOutcome {
        match self
            .executor
            .execute(&self.providers, provider, action, &action.idempotency_key())
            .await
        {
            Ok(response) => ActionOutcome::Executed(response),
            Err(failure) => failure.into_outcome(),
        }
    }
}

fn would_be_provider(decision: &Decision) -> String {
    match decision.deciding.as_ref().map(|m| &m.action) {
        Some(RuleAction::Reroute { target_provider }) => target_provider.clone(),
        _ => decision.action.provider.clone(),
    }
}

impl Gateway {
    /// What follows an outcome beyond the audit: lifecycle tracking and chain
    /// triggers for executed actions. The action already happened, so these
    /// never fail the dispatch; a failure is logged and counted.
    pub(crate) async fn after_outcome(&self, action: &Action, outcome: &ActionOutcome) {
        if !matches!(
            outcome,
            ActionOutcome::Executed(_) | ActionOutcome::Rerouted { .. }
        ) {
            return;
        }
        if let Err(err) = self.track_event(action).await {
            Metrics::bump(&self.metrics.follow_up_errors);
            tracing::error!(action_id = %action.id, error = %err, "could not start lifecycle tracking");
        }
        let triggers = self.config.chains.on_executed.iter().filter(|t| {
            t.action_type == action.action_type
                && t.namespace.as_deref().is_none_or(|n| n == action.namespace)
                && t.tenant.as_deref().is_none_or(|n| n == action.tenant)
        });
        for trigger in triggers {
            // Deterministic id: a re-run of the same action does not start a second chain.
            let chain_id = format!("{}-{}", trigger.chain, action.id);
            match self
                .start_chain(action, &trigger.chain, Some(chain_id), None)
                .await
            {
                Ok(outcome) => self.metrics.record(&outcome),
                Err(err) => {
                    Metrics::bump(&self.metrics.follow_up_errors);
                    tracing::error!(action_id = %action.id, chain = %trigger.chain, error = %err, "could not start chain");
                }
            }
        }
    }
}

/// What the gate made of an action.
enum Gate<'q> {
    Passed,
    Refused(ActionOutcome),
    /// A `degrade` quota is full: try the action on `fallback`.
    Degrade {
        policy: &'q QuotaPolicy,
        fallback: String,
    },
}

fn quota_exceeded(policy: &QuotaPolicy, current: Option<u64>) -> ActionOutcome {
    ActionOutcome::QuotaExceeded {
        tenant: policy.tenant.clone(),
        limit: policy.max_actions,
        used: current.unwrap_or(policy.max_actions),
        overage_behavior: policy.overage_behavior.name().into(),
    }
}
