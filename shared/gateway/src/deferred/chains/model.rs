//! A chain as data, and the decisions that need no I/O: where a step goes
//! next (branches, default, the following step) and a step's starting
//! state. The runner (`runner.rs`) does the claims, provider calls and saves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_config::{BranchConfig, ChainDefinition, ChainStepConfig};
use switchyard_core::Action;

use crate::error::GatewayError;

pub use crate::keys::CHAIN_KIND;

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

/// A step as stored in its chain record. Every step rewrites the record
/// (twice), and DynamoDB bills a write per started kilobyte, so empty fields
/// are left out of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_chain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_chain_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// While `running`: until when the handler that started it owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_until: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
    /// The action that started the chain. It is stored once, in a record of
    /// its own (`chain_origin`), not in the chain record every step rewrites;
    /// `None` once the chain is over and that record is gone. Chain records
    /// written before the split still carry it, and it is read from them.
    #[serde(default, skip_serializing)]
    pub origin: Option<Action>,
    pub status: ChainStatus,
    pub current_step: usize,
    pub total_steps: usize,
    pub steps: Vec<StepState>,
    pub execution_path: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub child_chain_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

impl ChainState {
    /// The action that started the chain (a running chain always has it).
    pub(crate) fn origin(&self) -> Result<&Action, GatewayError> {
        self.origin.as_ref().ok_or_else(|| {
            GatewayError::Internal(format!(
                "chain {} has lost its origin action",
                self.chain_id
            ))
        })
    }

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
                "provider": s.provider.as_deref().unwrap_or(""), // "" for a sub-chain step (it runs `sub_chain`, no provider)
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

/// Where a step goes next: its first matching branch, else its default, else
/// the following step.
pub(super) fn next_step(
    def: &ChainDefinition,
    index: usize,
    success: bool,
    body: &Value,
) -> Option<usize> {
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

pub(super) fn step_state(def: &ChainStepConfig) -> StepState {
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

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[[providers]]
name = "log"
type = "log"

[[chains.definitions]]
name = "c"

[[chains.definitions.steps]]
name = "check"
provider = "log"
action_type = "t"

  [[chains.definitions.steps.branches]]
  field = "body.risk.score"
  operator = "gt"
  value = 80
  target = "review"

  [[chains.definitions.steps.branches]]
  field = "success"
  operator = "eq"
  value = false
  target = "apologise"

[[chains.definitions.steps]]
name = "charge"
provider = "log"
action_type = "t"
default_next = "done"

[[chains.definitions.steps]]
name = "review"
provider = "log"
action_type = "t"

[[chains.definitions.steps]]
name = "apologise"
provider = "log"
action_type = "t"

[[chains.definitions.steps]]
name = "done"
provider = "log"
action_type = "t"
"#;

    fn definition() -> ChainDefinition {
        let config = switchyard_config::Config::parse("chains.toml", CONFIG).expect("config");
        config.chain("c").expect("chain").clone()
    }

    #[test]
    fn the_first_matching_branch_decides_else_the_next_step() {
        let def = definition();
        let index = |name: &str| def.steps.iter().position(|s| s.name == name);
        let risky = json!({"risk": {"score": 95}});
        assert_eq!(next_step(&def, 0, true, &risky), index("review"));
        assert_eq!(next_step(&def, 0, false, &json!({})), index("apologise"));
        assert_eq!(
            next_step(&def, 0, true, &json!({"risk": {"score": 10}})),
            index("charge"),
            "no branch holds: the following step"
        );
        assert_eq!(
            next_step(&def, 0, true, &json!({"risk": "high"})),
            index("charge"),
            "a number operator on a string holds for nothing"
        );
        assert_eq!(
            next_step(&def, 1, true, &json!({})),
            index("done"),
            "default_next"
        );
        assert_eq!(
            next_step(&def, 4, true, &json!({})),
            None,
            "the last step ends it"
        );
    }

    #[test]
    fn branch_operators_read_paths_into_the_body() {
        let branch = |field: &str, operator: &str, value: Value| BranchConfig {
            field: field.into(),
            operator: operator.into(),
            value,
            target: "x".into(),
            default_next: None,
        };
        let body = json!({"items": [{"sku": "A"}], "tags": ["vip"], "note": "rush order", "n": 3});
        assert!(branch_holds(
            &branch("body.items.0.sku", "eq", json!("A")),
            true,
            &body
        ));
        assert!(branch_holds(
            &branch("body.tags", "contains", json!("vip")),
            true,
            &body
        ));
        assert!(branch_holds(
            &branch("body.note", "contains", json!("rush")),
            true,
            &body
        ));
        assert!(branch_holds(
            &branch("body.n", "lte", json!(3)),
            true,
            &body
        ));
        assert!(branch_holds(&branch("body.n", "ne", json!(4)), true, &body));
        assert!(branch_holds(
            &branch("body.gone", "exists", json!(false)),
            true,
            &body
        ));
        assert!(
            !branch_holds(&branch("body.gone", "eq", json!(null)), true, &body),
            "missing is never equal"
        );
        assert!(branch_holds(
            &branch("success", "eq", json!(true)),
            true,
            &body
        ));
    }
}
