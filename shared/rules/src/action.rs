//! What a matching rule does.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    Allow,
    Deny,
    Suppress,
    Reroute {
        target_provider: String,
    },
    Throttle {
        max_count: u64,
        window_seconds: u64,
    },
    Deduplicate {
        /// `None`: the key never expires.
        ttl_seconds: Option<u64>,
    },
    Modify {
        /// A JSON merge patch applied to the payload.
        changes: Value,
    },
    Schedule {
        delay_seconds: u64,
    },
    Group {
        group_by: Vec<String>,
        group_wait_seconds: u64,
        group_interval_seconds: u64,
        repeat_interval_seconds: Option<u64>,
        max_group_size: u64,
        template: Option<String>,
    },
    RequestApproval {
        notify_provider: String,
        timeout_seconds: u64,
        message: Option<String>,
    },
    Chain {
        chain: String,
    },
    StateMachine {
        state_machine: String,
        fingerprint_fields: Vec<String>,
    },
}

impl RuleAction {
    /// The action's `type` as written in YAML (also the audit `verdict`).
    pub fn type_name(&self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Deny => "deny",
            RuleAction::Suppress => "suppress",
            RuleAction::Reroute { .. } => "reroute",
            RuleAction::Throttle { .. } => "throttle",
            RuleAction::Deduplicate { .. } => "deduplicate",
            RuleAction::Modify { .. } => "modify",
            RuleAction::Schedule { .. } => "schedule",
            RuleAction::Group { .. } => "group",
            RuleAction::RequestApproval { .. } => "request_approval",
            RuleAction::Chain { .. } => "chain",
            RuleAction::StateMachine { .. } => "state_machine",
        }
    }

    /// In `gates` evaluation mode these apply and let evaluation continue
    /// (group and schedule defer the action, which resumes after the rule later).
    pub fn is_gate(&self) -> bool {
        matches!(
            self,
            RuleAction::Modify { .. }
                | RuleAction::Deduplicate { .. }
                | RuleAction::Throttle { .. }
                | RuleAction::Group { .. }
                | RuleAction::Schedule { .. }
        )
    }

    /// The names this action refers to, for validation against the configuration.
    pub fn references(&self) -> Vec<(&'static str, &str)> {
        match self {
            RuleAction::Reroute { target_provider } => vec![("provider", target_provider)],
            RuleAction::RequestApproval {
                notify_provider, ..
            } => vec![("provider", notify_provider)],
            RuleAction::Chain { chain } => vec![("chain", chain)],
            RuleAction::StateMachine { state_machine, .. } => {
                vec![("state machine", state_machine)]
            }
            _ => Vec::new(),
        }
    }
}

/// Every action type a rule file may use.
pub const ACTION_TYPES: &[&str] = &[
    "allow",
    "deny",
    "suppress",
    "reroute",
    "throttle",
    "deduplicate",
    "modify",
    "schedule",
    "group",
    "request_approval",
    "chain",
    "state_machine",
];

/// Longest schedule delay accepted (7 days, as Acteon).
pub const MAX_SCHEDULE_DELAY_SECONDS: u64 = 604_800;
/// The longest duration a rule may name (10 years of 365 days).
pub const MAX_DURATION_SECONDS: u64 = 10 * 365 * 86_400;
