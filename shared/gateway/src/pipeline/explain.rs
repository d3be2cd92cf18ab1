//! Dry-run explanations for `switchyard rules test`: which rule decides and
//! what the gateway would do, without touching any state.

use chrono::{DateTime, Utc};
use serde::Serialize;
use switchyard_core::Action;
use switchyard_rules::{EvaluationMode, OnTypeError, RuleAction, RuleSet};

use crate::decision::decide;

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
}

pub fn explain(
    rules: &RuleSet,
    (mode, on_type_error): (EvaluationMode, OnTypeError),
    action: Action,
    now: DateTime<Utc>,
) -> Result<Explanation, crate::GatewayError> {
    let decision = decide(rules, (mode, on_type_error), action, now, None)?;
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
        payload: decision.action.payload.clone(),
    })
}
