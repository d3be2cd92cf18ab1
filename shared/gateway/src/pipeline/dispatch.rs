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
use crate::quotas::{OverageBehavior, QuotaPolicy};

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
        let rules = self.rules.load_full();
        let (resume_after, count_quotas) = match resume {
            Resume::FromStart => (None, true),
            Resume::After { rule, priority } => (rules.resume_position(rule, priority), false),
        };
        let decision = decide(
            &rules,
            self.evaluation(),
            original.clone(),
            dispatched_at,
            resume_after,
        )
        .inspect_err(|_| Metrics::bump(&self.metrics.rejected_requests))?;
        let quotas = if self.config.quotas.enabled && count_quotas {
            self.quotas
                .for_tenant(&original.namespace, &original.tenant)
                .await
                .map_err(|e| self.unavailable(e.into()))?
        } else {
            Arc::new(Vec::new())
        };
        let applicable: Vec<&QuotaPolicy> =
            quotas.iter().filter(|q| q.applies_to(&original)).collect();
        let outcome = match self
            .pass_gate(&applicable, &decision, dispatched_at)
            .await?
        {
            Some(refused) => refused,
            None => self.apply(&decision, caller).await?,
        };
        self.metrics.record(&outcome);
        let provider = match &outcome {
            ActionOutcome::Rerouted { new_provider, .. } => new_provider.as_str(),
            _ => decision.action.provider.as_str(),
        };
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

    /// Run quota and rule gates as one atomic store call. `Some(outcome)` when
    /// the gate refused the action (nothing was counted or claimed).
    async fn pass_gate(
        &self,
        quotas: &[&QuotaPolicy],
        decision: &Decision,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ActionOutcome>, GatewayError> {
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
            return Ok(None);
        }
        let result = self
            .ports
            .state
            .gate(&ops)
            .await
            .map_err(|e| self.unavailable(e.into()))?;
        let (index, current) = match result {
            GateResult::Passed => {
                self.note_quota_warnings(quotas, now).await;
                return Ok(None);
            }
            GateResult::Rejected { op, current } => (op, current),
        };
        Ok(Some(match owners.get(index) {
            Some(GateOwner::Quota(policy)) => ActionOutcome::QuotaExceeded {
                tenant: policy.tenant.clone(),
                limit: policy.max_actions,
                used: current.unwrap_or(policy.max_actions),
                overage_behavior: "block".into(),
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

    /// `warn` quotas never refuse; count the dispatches that went over.
    async fn note_quota_warnings(
        &self,
        quotas: &[&QuotaPolicy],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for quota in quotas
            .iter()
            .filter(|q| q.overage_behavior == OverageBehavior::Warn)
        {
            let (index, _) = quota.window.window_at(now);
            if let Ok(used) = self.ports.state.counter(&quota.usage_key(index)).await
                && used > quota.max_actions
            {
                Metrics::bump(&self.metrics.quota_warned);
                tracing::warn!(quota = %quota.id, tenant = %quota.tenant, used, limit = quota.max_actions, "quota exceeded (warn)");
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
                max_group_size,
                ..
            } => {
                self.add_to_group(
                    action,
                    &matched.name,
                    matched.priority,
                    group_by,
                    *group_wait_seconds,
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
