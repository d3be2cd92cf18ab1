//! The per-rule trace of an evaluation (the rule playground and
//! `switchyard rules test`): every rule in evaluation order, whether it was
//! considered, whether it matched, and if not, which predicate failed and why.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::Action;
use switchyard_rules::{EvalContext, RuleSet, trace};

/// What to trace beyond what dispatch would evaluate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct TraceOptions {
    /// Evaluate disabled rules too (they still cannot decide).
    #[serde(default)]
    pub include_disabled: bool,
    /// Evaluate the rules after the deciding one too (they do not change it).
    #[serde(default)]
    pub evaluate_all: bool,
}

/// One rule's line of the trace, in the fields Acteon's clients read plus
/// the reason a condition was false.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTrace {
    pub rule_name: String,
    pub priority: i32,
    pub enabled: bool,
    pub condition_display: String,
    /// `matched`, `not_matched` or `skipped`.
    pub result: &'static str,
    pub evaluation_duration_us: u64,
    /// The rule's action type (`deny`, `reroute`…).
    pub action: &'static str,
    /// `yaml` (Acteon's field); `location` says where.
    pub source: &'static str,
    pub location: String,
    pub description: Option<String>,
    pub skip_reason: Option<String>,
    /// Why the condition is false: the first failing predicate, in words.
    pub reason: Option<String>,
    /// That predicate's field.
    pub field: Option<String>,
    /// This rule decided the verdict.
    pub decided: bool,
    /// A gate (gates mode) that applied; evaluation went on after it.
    pub applied_as_gate: bool,
    /// Acteon reports evaluation errors per rule; a comparison that cannot be
    /// made is false here (or rejects the whole evaluation under
    /// `on_type_error = "reject"`), so this stays empty.
    pub error: Option<String>,
}

/// Trace every rule of `rules` for `action` at `now`, given what the
/// decision found (`decided`: the deciding rule; `gates`: the gates applied).
pub fn trace_rules(
    rules: &RuleSet,
    action: &Action,
    now: DateTime<Utc>,
    decided: Option<&str>,
    gates: &[String],
    options: TraceOptions,
) -> Vec<RuleTrace> {
    let ctx = EvalContext::new(action, now, rules.default_timezone());
    let mut past_decision = false;
    rules
        .rules()
        .iter()
        .map(|rule| {
            let enabled = rule.is_enabled();
            let skip = if !enabled && !options.include_disabled {
                Some("disabled".to_string())
            } else if past_decision && !options.evaluate_all {
                decided.map(|d| format!("rule '{d}' already decided"))
            } else {
                None
            };
            let mut line = RuleTrace {
                rule_name: rule.name.clone(),
                priority: rule.priority,
                enabled,
                condition_display: trace::display(&rule.condition),
                result: "skipped",
                evaluation_duration_us: 0,
                action: rule.action.type_name(),
                source: "yaml",
                location: rule.source.to_string(),
                description: rule.description.clone(),
                skip_reason: skip.clone(),
                reason: None,
                field: None,
                decided: false,
                applied_as_gate: false,
                error: None,
            };
            if skip.is_none() {
                let started = Instant::now();
                let traced = rule.trace_condition(&ctx);
                line.evaluation_duration_us =
                    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                line.result = if traced.holds {
                    "matched"
                } else {
                    "not_matched"
                };
                line.reason = traced.reason;
                line.field = traced.field;
                line.decided = enabled && traced.holds && decided == Some(rule.name.as_str());
                line.applied_as_gate = enabled && traced.holds && gates.contains(&rule.name);
            }
            past_decision |= line.decided;
            line
        })
        .collect()
}
