//! Dry-run explanations for `switchyard rules test`: which rule decides and
//! what the gateway would do, without touching any state.

use chrono::{DateTime, Utc};
use serde::Serialize;
use switchyard_core::Action;
use switchyard_rules::{EvaluationMode, OnTypeError, RuleAction, RuleSet};

use crate::decision::decide;
use crate::rule_trace::{RuleTrace, TraceOptions, trace_rules};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub matched_rule: Option<String>,
    pub matched_priority: Option<i32>,
    pub matched_source: Option<String>,
    pub verdict: String,
    /// Gate rules applied on the way (gates mode).
    pub passed_through: Vec<String>,
    pub would_be_provider: String,
    /// The outcome the gateway would return, in words.
    pub outcome: String,
    /// The payload as it would execute (after `modify`).
    pub payload: serde_json::Value,
    /// Whether `modify` rules changed the payload.
    pub payload_modified: bool,
    /// Every rule in evaluation order: considered or skipped, matched or
    /// not, and why not.
    pub trace: Vec<RuleTrace>,
    /// The whole evaluation (decision and trace), in microseconds.
    pub evaluation_duration_us: u64,
    /// The time zone time conditions read by default.
    pub timezone: String,
    /// The `time.*` fields in that zone.
    pub time: serde_json::Value,
}

pub fn explain(
    rules: &RuleSet,
    (mode, on_type_error): (EvaluationMode, OnTypeError),
    action: Action,
    now: DateTime<Utc>,
    options: TraceOptions,
) -> Result<Explanation, crate::GatewayError> {
    let started = std::time::Instant::now();
    let original = action.clone();
    let decision = decide(rules, (mode, on_type_error), action, now, None)?;
    let trace = trace_rules(
        rules,
        &original,
        now,
        decision.matched_rule(),
        &decision.passed_through,
        options,
    );
    let matched = decision.deciding.as_ref();
    let source = matched.and_then(|m| {
        rules
            .rules()
            .iter()
            .find(|r| r.name == m.name)
            .map(|r| r.source.to_string())
    });
    let provider = decision.action.provider.clone();
    let dedup_note = decision
        .gates
        .iter()
        .filter_map(|g| match g {
            crate::decision::RuleGate::Dedup { op } => Some(format!(
                "\"Deduplicated\" if key '{}' was already seen, else ",
                op.key().id
            )),
            crate::decision::RuleGate::Throttle { .. } => None,
        })
        .collect::<String>();
    let throttle_note = if decision
        .gates
        .iter()
        .any(|g| matches!(g, crate::decision::RuleGate::Throttle { .. }))
    {
        "Throttled if the window is full, else "
    } else {
        ""
    };
    let (outcome, would_be_provider) = match matched.map(|m| &m.action) {
        None
        | Some(
            RuleAction::Allow
            | RuleAction::Modify { .. }
            | RuleAction::Deduplicate { .. }
            | RuleAction::Throttle { .. },
        ) => (
            format!("{dedup_note}{throttle_note}Executed by provider '{provider}'"),
            provider.clone(),
        ),
        Some(RuleAction::Deny | RuleAction::Suppress) => (
            format!(
                "Suppressed (rule '{}')",
                matched.map_or("", |m| m.name.as_str())
            ),
            provider.clone(),
        ),
        Some(RuleAction::Reroute { target_provider }) => (
            format!("{dedup_note}{throttle_note}Rerouted from '{provider}' to '{target_provider}'"),
            target_provider.clone(),
        ),
        Some(RuleAction::Schedule { delay_seconds }) => (
            format!(
                "{dedup_note}{throttle_note}Scheduled: runs in {delay_seconds} s, resuming evaluation after this rule"
            ),
            provider.clone(),
        ),
        Some(RuleAction::RequestApproval {
            notify_provider,
            timeout_seconds,
            ..
        }) => (
            format!(
                "PendingApproval: '{notify_provider}' is notified, links expire in {timeout_seconds} s"
            ),
            provider.clone(),
        ),
        Some(RuleAction::Group {
            group_by,
            group_wait_seconds,
            ..
        }) => (
            format!(
                "{dedup_note}{throttle_note}Grouped by [{}], flushed after {group_wait_seconds} s",
                group_by.join(", ")
            ),
            provider.clone(),
        ),
        Some(RuleAction::Chain { chain }) => {
            (format!("ChainStarted: chain '{chain}'"), provider.clone())
        }
        Some(RuleAction::StateMachine { state_machine, .. }) => (
            format!("StateChanged: state machine '{state_machine}'"),
            provider.clone(),
        ),
    };
    Ok(Explanation {
        matched_rule: matched.map(|m| m.name.clone()),
        matched_priority: matched.map(|m| m.priority),
        matched_source: source,
        verdict: decision.verdict().to_string(),
        passed_through: decision.passed_through.clone(),
        would_be_provider,
        outcome,
        payload_modified: decision.action.payload != original.payload,
        payload: decision.action.payload.clone(),
        trace,
        evaluation_duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        timezone: rules.default_timezone().to_string(),
        time: switchyard_rules::time::LocalTime::at(now, rules.default_timezone()).to_json(),
    })
}

impl crate::Gateway {
    /// The rule playground: what the loaded rules decide for `action` at
    /// `now`, with the per-rule trace; nothing is stored or executed.
    pub fn explain(
        &self,
        action: Action,
        now: DateTime<Utc>,
        options: TraceOptions,
    ) -> Result<Explanation, crate::GatewayError> {
        explain(&self.rules(), self.evaluation(), action, now, options)
    }
}
