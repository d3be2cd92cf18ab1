//! Which rules apply to an action: the deciding rule and, in `gates` mode,
//! the gates (modify, deduplicate, throttle) passed on the way.

use chrono::{DateTime, TimeZone, Utc};
use switchyard_core::Action;
use switchyard_rules::{EvalContext, EvaluationMode, OnTypeError, Rule, RuleAction, RuleSet};

use crate::error::GatewayError;
use switchyard_store::GateOp;

use crate::merge::merge_patch;

/// The rule that decided, with what resuming after it needs.
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub name: String,
    pub priority: i32,
    pub action: RuleAction,
}

impl Matched {
    fn of(rule: &Rule) -> Self {
        Self {
            name: rule.name.clone(),
            priority: rule.priority,
            action: rule.action.clone(),
        }
    }
}

/// A store condition a rule imposes before execution.
#[derive(Debug, Clone)]
pub(crate) enum RuleGate {
    Dedup {
        op: GateOp,
    },
    Throttle {
        op: GateOp,
        retry_after: std::time::Duration,
    },
}

impl RuleGate {
    pub fn op(&self) -> &GateOp {
        match self {
            RuleGate::Dedup { op } | RuleGate::Throttle { op, .. } => op,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// The action as it will execute (payload modified by `modify` rules).
    pub action: Action,
    /// The deciding rule; `None` means no rule decided: execute as requested.
    pub deciding: Option<Matched>,
    /// Gates to pass atomically before anything executes.
    pub gates: Vec<RuleGate>,
    /// Names of gate rules applied on the way (gates mode).
    pub passed_through: Vec<String>,
}

impl Decision {
    pub fn verdict(&self) -> &'static str {
        self.deciding
            .as_ref()
            .map_or("allow", |m| m.action.type_name())
    }

    pub fn matched_rule(&self) -> Option<&str> {
        self.deciding.as_ref().map(|m| m.name.as_str())
    }
}

/// Evaluate `action` against `rules` from `resume_after` on; under
/// `on_type_error = reject`, a comparison on a wrongly typed field fails it.
pub(crate) fn decide(
    rules: &RuleSet,
    (mode, on_type_error): (EvaluationMode, OnTypeError),
    action: Action,
    now: DateTime<Utc>,
    resume_after: Option<usize>,
) -> Result<Decision, GatewayError> {
    let mut decision = Decision {
        action,
        deciding: None,
        gates: Vec::new(),
        passed_through: Vec::new(),
    };
    let mut after = resume_after;
    loop {
        let found = {
            let ctx = EvalContext::new(&decision.action, now, rules.default_timezone());
            rules
                .next_match(&ctx, after, on_type_error)
                .map_err(|e| GatewayError::Unprocessable {
                    field: e.mismatch.field.clone(),
                    message: e.mismatch.to_string(),
                    rule: e.rule,
                })?
                .map(|(pos, rule)| (pos, Matched::of(rule)))
        };
        let Some((position, matched)) = found else {
            return Ok(decision);
        };
        let passes_through = mode == EvaluationMode::Gates
            && matches!(
                matched.action,
                RuleAction::Modify { .. }
                    | RuleAction::Deduplicate { .. }
                    | RuleAction::Throttle { .. }
            );
        apply_gate(&mut decision, &matched, now);
        if !passes_through {
            decision.deciding = Some(matched);
            return Ok(decision);
        }
        decision.passed_through.push(matched.name);
        after = Some(position);
    }
}

/// Record what modify/deduplicate/throttle rules impose (both modes).
fn apply_gate(decision: &mut Decision, matched: &Matched, now: DateTime<Utc>) {
    let action = &mut decision.action;
    match &matched.action {
        RuleAction::Modify { changes } => merge_patch(&mut action.payload, changes),
        RuleAction::Deduplicate { ttl_seconds } => {
            let id = action
                .dedup_key
                .clone()
                .unwrap_or_else(|| action.id.clone());
            decision.gates.push(RuleGate::Dedup {
                op: GateOp::Claim {
                    key: crate::keys::dedup(&action.namespace, &action.tenant, &id),
                    expires_at: ttl_seconds.map(|ttl| switchyard_core::after_seconds(now, ttl)),
                },
            });
        }
        RuleAction::Throttle {
            max_count,
            window_seconds,
        } => {
            // Fixed windows aligned to the epoch, one counter per rule and tenant.
            let len = *window_seconds as i64;
            let index = now.timestamp().div_euclid(len);
            let end = Utc
                .timestamp_opt((index + 1) * len, 0)
                .single()
                .unwrap_or(now);
            let remaining = (end - now).to_std().unwrap_or_default();
            decision.gates.push(RuleGate::Throttle {
                op: GateOp::Count {
                    key: crate::keys::throttle_window(
                        &action.namespace,
                        &action.tenant,
                        &matched.name,
                        index,
                    ),
                    limit: *max_count,
                    expires_at: end,
                },
                retry_after: std::time::Duration::from_secs(
                    remaining.as_secs_f64().ceil().max(1.0) as u64,
                ),
            });
        }
        _ => {}
    }
}
