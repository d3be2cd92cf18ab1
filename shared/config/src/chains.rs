//! `[[chains.definitions]]`: multi-step chains, validated as a graph.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainDefinition {
    pub name: String,
    pub timeout_seconds: Option<u64>,
    /// Chain-level policy when a step fails for good: `abort` (default) or `abort_no_dlq`.
    #[serde(default)]
    pub on_failure: Option<String>,
    /// Told when the chain is cancelled.
    #[serde(default)]
    pub on_cancel: Option<OnCancel>,
    pub steps: Vec<ChainStepConfig>,
}

/// `on_cancel = { provider = "...", action_type = "..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCancel {
    pub provider: String,
    pub action_type: String,
}

/// A step's own retries of a retryable provider failure, before its
/// `on_failure` applies: `retry = { max_retries = 3, backoff_ms = 1000,
/// strategy = "exponential", jitter_ms = 100 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRetry {
    pub max_retries: u32,
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    #[serde(default)]
    pub strategy: RetryStrategy,
    #[serde(default)]
    pub jitter_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryStrategy {
    #[default]
    Exponential,
    Linear,
    #[serde(alias = "constant")]
    Fixed,
}

fn default_backoff_ms() -> u64 {
    1000
}

/// Bounds on a step's retry table (checked at start).
pub const MAX_STEP_RETRIES: u32 = 100;
/// The longest wait between two tries of a step, whatever the strategy says.
pub const MAX_STEP_BACKOFF_MS: u64 = 3_600_000;

impl StepRetry {
    /// The wait before try `retry` (1 for the first retry); `jitter` is a
    /// random fraction in 0..=1 of `jitter_ms` added on top.
    pub fn delay(&self, retry: u32, jitter: f64) -> std::time::Duration {
        let base = match self.strategy {
            RetryStrategy::Fixed => self.backoff_ms,
            RetryStrategy::Linear => self.backoff_ms.saturating_mul(u64::from(retry)),
            RetryStrategy::Exponential => self.backoff_ms.saturating_mul(
                1u64.checked_shl(retry.saturating_sub(1).min(32))
                    .unwrap_or(u64::MAX),
            ),
        };
        let jitter = (self.jitter_ms as f64 * jitter.clamp(0.0, 1.0)) as u64;
        std::time::Duration::from_millis(base.min(MAX_STEP_BACKOFF_MS).saturating_add(jitter))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepFailurePolicy {
    #[default]
    Abort,
    Skip,
    Dlq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainStepConfig {
    pub name: String,
    pub provider: Option<String>,
    pub action_type: Option<String>,
    #[serde(default)]
    pub payload_template: Option<Value>,
    pub sub_chain: Option<String>,
    #[serde(default)]
    pub on_failure: StepFailurePolicy,
    pub delay_seconds: Option<u64>,
    #[serde(default)]
    pub retry: Option<StepRetry>,
    pub default_next: Option<String>,
    #[serde(default)]
    pub branches: Vec<BranchConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchConfig {
    pub field: String,
    pub operator: String,
    #[serde(default)]
    pub value: Value,
    pub target: String,
    /// TOML scoping puts a `default_next` written after a branch header into
    /// the branch table; the author meant the step's default, so it counts as one.
    pub default_next: Option<String>,
}

pub const BRANCH_OPERATORS: &[&str] = &[
    "eq", "neq", "ne", "contains", "exists", "gt", "lt", "gte", "lte",
];

impl ChainStepConfig {
    /// The step's default successor, wherever TOML put it.
    pub fn default_next(&self) -> Option<&str> {
        self.default_next
            .as_deref()
            .or_else(|| self.branches.iter().find_map(|b| b.default_next.as_deref()))
    }
}

pub(crate) fn validate(
    chains: &[ChainDefinition],
    provider_known: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for chain in chains {
        let here = format!("chain '{}'", chain.name);
        if !names.insert(chain.name.as_str()) {
            return Err(format!("{here}: defined twice"));
        }
        if chain.steps.is_empty() {
            return Err(format!("{here}: has no steps"));
        }
        if let Some(policy) = &chain.on_failure
            && !["abort", "abort_no_dlq"].contains(&policy.as_str())
        {
            return Err(format!(
                "{here}: on_failure must be abort or abort_no_dlq, got '{policy}'"
            ));
        }
        if let Some(cancel) = &chain.on_cancel
            && !provider_known(&cancel.provider)
        {
            return Err(format!(
                "{here} on_cancel: no provider named '{}' is configured",
                cancel.provider
            ));
        }
        let step_names: BTreeSet<&str> = chain.steps.iter().map(|s| s.name.as_str()).collect();
        if step_names.len() != chain.steps.len() {
            return Err(format!("{here}: step names must be unique"));
        }
        for step in &chain.steps {
            let at = format!("{here} step '{}'", step.name);
            match (&step.provider, &step.sub_chain) {
                (Some(provider), None) => {
                    if !provider_known(provider) {
                        return Err(format!(
                            "{at}: no provider named '{provider}' is configured"
                        ));
                    }
                    if step.action_type.is_none() {
                        return Err(format!("{at}: a provider step needs `action_type`"));
                    }
                }
                (None, Some(sub)) => {
                    if !chains.iter().any(|c| &c.name == sub) {
                        return Err(format!("{at}: sub_chain '{sub}' is not defined"));
                    }
                    if step.payload_template.is_some() || step.action_type.is_some() {
                        return Err(format!(
                            "{at}: a sub_chain step takes no action_type or payload_template"
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "{at}: needs exactly one of `provider` or `sub_chain`"
                    ));
                }
            }
            if let Some(retry) = &step.retry {
                if retry.max_retries > MAX_STEP_RETRIES {
                    return Err(format!(
                        "{at}: retry.max_retries is at most {MAX_STEP_RETRIES}"
                    ));
                }
                if retry.backoff_ms > MAX_STEP_BACKOFF_MS || retry.jitter_ms > MAX_STEP_BACKOFF_MS {
                    return Err(format!(
                        "{at}: retry.backoff_ms and retry.jitter_ms are at most {MAX_STEP_BACKOFF_MS} (one hour)"
                    ));
                }
                if step.sub_chain.is_some() {
                    return Err(format!("{at}: a sub_chain step has no retry table"));
                }
            }
            for branch in &step.branches {
                if !BRANCH_OPERATORS.contains(&branch.operator.as_str()) {
                    return Err(format!(
                        "{at}: branch operator '{}' is not one of {}",
                        branch.operator,
                        BRANCH_OPERATORS.join(", ")
                    ));
                }
                if !step_names.contains(branch.target.as_str()) {
                    return Err(format!(
                        "{at}: branch target '{}' is not a step of this chain",
                        branch.target
                    ));
                }
            }
            if let Some(next) = step.default_next()
                && !step_names.contains(next)
            {
                return Err(format!(
                    "{at}: default_next '{next}' is not a step of this chain"
                ));
            }
        }
        check_step_cycles(chain)?;
    }
    check_sub_chain_cycles(chains)
}

/// Branches and defaults may only jump forward or sideways without a loop:
/// a cycle would run a chain forever.
fn check_step_cycles(chain: &ChainDefinition) -> Result<(), String> {
    let index: BTreeMap<&str, usize> = chain
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let successors = |i: usize| -> Vec<usize> {
        let step = &chain.steps[i];
        let mut next: Vec<usize> = step
            .branches
            .iter()
            .filter_map(|b| index.get(b.target.as_str()).copied())
            .collect();
        match step.default_next() {
            Some(d) => next.extend(index.get(d).copied()),
            None if i + 1 < chain.steps.len() => next.push(i + 1),
            None => {}
        }
        next
    };
    // Depth-first search with colours: 1 = on the stack, 2 = done.
    let mut colour = vec![0u8; chain.steps.len()];
    fn visit(
        i: usize,
        colour: &mut [u8],
        successors: &dyn Fn(usize) -> Vec<usize>,
        chain: &ChainDefinition,
    ) -> Result<(), String> {
        colour[i] = 1;
        for j in successors(i) {
            if colour[j] == 1 {
                return Err(format!(
                    "chain '{}': steps form a cycle through '{}' -> '{}'",
                    chain.name, chain.steps[i].name, chain.steps[j].name
                ));
            }
            if colour[j] == 0 {
                visit(j, colour, successors, chain)?;
            }
        }
        colour[i] = 2;
        Ok(())
    }
    visit(0, &mut colour, &successors, chain)
}

fn check_sub_chain_cycles(chains: &[ChainDefinition]) -> Result<(), String> {
    fn walk<'a>(
        name: &'a str,
        chains: &'a [ChainDefinition],
        path: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        if path.contains(&name) {
            path.push(name);
            return Err(format!("sub-chains form a cycle: {}", path.join(" -> ")));
        }
        path.push(name);
        if let Some(chain) = chains.iter().find(|c| c.name == name) {
            for sub in chain.steps.iter().filter_map(|s| s.sub_chain.as_deref()) {
                walk(sub, chains, path)?;
            }
        }
        path.pop();
        Ok(())
    }
    for chain in chains {
        walk(&chain.name, chains, &mut Vec::new())?;
    }
    Ok(())
}
