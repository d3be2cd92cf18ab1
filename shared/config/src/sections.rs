//! The plain sections of the configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use switchyard_rules::EvaluationMode;

use crate::chains::ChainDefinition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    #[default]
    Memory,
    Dynamodb,
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    pub backend: StateBackend,
    /// PostgreSQL backend: `postgres://user:password@host:port/db` (else
    /// the `DATABASE_URL` environment variable, which keeps the password
    /// out of the file).
    pub url: Option<String>,
    /// PostgreSQL backend: the table-name prefix (default `switchyard_`).
    pub prefix: Option<String>,
    /// PostgreSQL backend: the schema of the tables (default: the search path).
    pub schema: Option<String>,
    /// PostgreSQL backend: connections per process (default 16).
    pub pool_size: Option<usize>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub table_name: Option<String>,
    /// DynamoDB backend only: how many partitions each tenant's items are
    /// spread over (default 16; 1 is the layout before sharding). Fixed for
    /// a table's life: an item's shard is part of its key.
    pub shards: Option<u32>,
    pub memory_sweep_interval_secs: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            backend: StateBackend::Memory,
            url: None,
            prefix: None,
            schema: None,
            pool_size: None,
            region: None,
            endpoint_url: None,
            table_name: None,
            shards: None,
            memory_sweep_interval_secs: 60,
        }
    }
}

impl StateConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.memory_sweep_interval_secs == 0 {
            return Err("[state] memory_sweep_interval_secs must be at least 1".into());
        }
        check_shards("[state] shards", self.shards, MAX_STATE_SHARDS)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    pub directory: Option<PathBuf>,
    pub default_timezone: Option<String>,
    /// Reload the rules folder when its files change (`switchyard serve`;
    /// on by default, as in Acteon). Lambda functions load their rules at
    /// start and on `POST /v1/rules/reload`.
    pub watch: Option<bool>,
    pub evaluation: EvaluationMode,
    /// A comparison on a value of the wrong type: `false` (the predicate is
    /// false, Acteon-compatible outcomes) or `reject` (422, nothing executes).
    pub on_type_error: switchyard_rules::OnTypeError,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    pub max_retries: u32,
    pub timeout_seconds: u64,
    pub max_concurrent: usize,
    pub dlq_enabled: bool,
    /// First retry delay; doubles per attempt (with full jitter), capped below.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            timeout_seconds: 30,
            max_concurrent: 10,
            dlq_enabled: false,
            backoff_base_ms: 1000,
            backoff_max_ms: 8000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditBackend {
    #[default]
    Memory,
    Dynamodb,
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    pub enabled: bool,
    pub backend: AuditBackend,
    /// PostgreSQL backend: as `[state] url` (default: `[state] url` when
    /// state is on PostgreSQL too, else `DATABASE_URL`).
    pub url: Option<String>,
    pub prefix: Option<String>,
    pub schema: Option<String>,
    pub pool_size: Option<usize>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub table_name: Option<String>,
    /// DynamoDB backend only: how many partitions each busy index key is
    /// spread over (default 32). Raise it in place; never lower it.
    pub shards: Option<u32>,
    pub ttl_seconds: Option<u64>,
    pub cleanup_interval_seconds: u64,
    pub store_payload: bool,
    /// In-memory backend only: the most records kept (oldest dropped first).
    pub max_records: usize,
    /// In-memory backend only: the most bytes of records (their JSON size)
    /// kept, oldest dropped first and counted (`audit_evicted` in /metrics).
    pub max_bytes: usize,
    pub redact: RedactConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            backend: AuditBackend::Memory,
            url: None,
            prefix: None,
            schema: None,
            pool_size: None,
            region: None,
            endpoint_url: None,
            table_name: None,
            shards: None,
            ttl_seconds: None,
            cleanup_interval_seconds: 3600,
            store_payload: true,
            max_records: 100_000,
            max_bytes: 256 * 1024 * 1024,
            redact: RedactConfig::default(),
        }
    }
}

/// The most shards an audit index key may be spread over (each read fans
/// out to every shard); the DynamoDB adapter enforces the same bounds.
pub const MAX_AUDIT_SHARDS: u32 = 256;
/// The most partitions a tenant's state items may be spread over (a list
/// reads every one).
pub const MAX_STATE_SHARDS: u32 = 64;

fn check_shards(setting: &str, shards: Option<u32>, max: u32) -> Result<(), String> {
    match shards {
        Some(n) if !(1..=max).contains(&n) => {
            Err(format!("{setting} must be between 1 and {max}, not {n}"))
        }
        _ => Ok(()),
    }
}

impl AuditConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.redact.fields.iter().any(|f| f.trim().is_empty()) {
            return Err("[audit.redact] fields: empty field name".into());
        }
        if self.max_records == 0 {
            return Err("[audit] max_records must be at least 1".into());
        }
        if self.max_bytes < 1024 * 1024 {
            return Err("[audit] max_bytes must be at least 1 MiB (1048576)".into());
        }
        check_shards("[audit] shards", self.shards, MAX_AUDIT_SHARDS)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactConfig {
    pub enabled: bool,
    /// Key names (any depth, case-insensitive) or dotted paths.
    pub fields: Vec<String>,
    pub placeholder: String,
}

impl Default for RedactConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            fields: Vec::new(),
            placeholder: "[REDACTED]".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerConfig {
    pub enabled: bool,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub recovery_timeout_seconds: u64,
    /// What opens a breaker: consecutive failures (Acteon) or an error rate
    /// over a sliding window (seed 004).
    pub mode: BreakerMode,
    pub error_rate_threshold_percent: u32,
    pub window_seconds: u64,
    pub window_size: usize,
    pub minimum_requests: usize,
    /// How many probes may be in flight while half-open.
    pub half_open_max_probes: u32,
    pub providers: BTreeMap<String, BreakerOverride>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerMode {
    #[default]
    Consecutive,
    ErrorRate,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            failure_threshold: 5,
            success_threshold: 2,
            recovery_timeout_seconds: 60,
            mode: BreakerMode::Consecutive,
            error_rate_threshold_percent: 50,
            window_seconds: 60,
            window_size: 100,
            minimum_requests: 10,
            half_open_max_probes: 1,
            providers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerOverride {
    pub failure_threshold: Option<u32>,
    pub success_threshold: Option<u32>,
    pub recovery_timeout_seconds: Option<u64>,
    pub fallback_provider: Option<String>,
    pub mode: Option<BreakerMode>,
    pub error_rate_threshold_percent: Option<u32>,
    pub window_seconds: Option<u64>,
    pub window_size: Option<usize>,
    pub minimum_requests: Option<usize>,
    pub half_open_max_probes: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainsConfig {
    pub max_concurrent_advances: usize,
    pub completed_chain_ttl_seconds: u64,
    pub definitions: Vec<ChainDefinition>,
    /// Start a chain for every executed action of a type (`[[chains.on_executed]]`),
    /// e.g. accepted orders into `order-processing`.
    pub on_executed: Vec<ChainTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainTrigger {
    pub action_type: String,
    pub chain: String,
    pub namespace: Option<String>,
    pub tenant: Option<String>,
}

impl Default for ChainsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_advances: 10,
            completed_chain_ttl_seconds: 3600,
            definitions: Vec::new(),
            on_executed: Vec::new(),
        }
    }
}

/// Background work intervals. Locally a loop calls the handlers; in AWS the
/// scheduler and reaper functions do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackgroundConfig {
    pub enabled: bool,
    pub group_flush_interval_seconds: u64,
    pub timeout_check_interval_seconds: u64,
    pub cleanup_interval_seconds: u64,
    pub enable_group_flush: bool,
    pub enable_timeout_processing: bool,
    pub enable_approval_retry: bool,
    pub enable_scheduled_actions: bool,
    pub scheduled_check_interval_seconds: u64,
    pub enable_recurring_actions: bool,
    pub recurring_check_interval_seconds: u64,
    pub max_recurring_actions_per_tenant: Option<u64>,
    pub enable_retention_reaper: bool,
    pub retention_check_interval_seconds: u64,
    pub namespace: Option<String>,
    pub tenant: Option<String>,
}

impl Default for BackgroundConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            group_flush_interval_seconds: 5,
            timeout_check_interval_seconds: 10,
            cleanup_interval_seconds: 60,
            enable_group_flush: true,
            enable_timeout_processing: true,
            enable_approval_retry: true,
            enable_scheduled_actions: true,
            scheduled_check_interval_seconds: 1,
            enable_recurring_actions: true,
            recurring_check_interval_seconds: 60,
            max_recurring_actions_per_tenant: None,
            enable_retention_reaper: true,
            retention_check_interval_seconds: 3600,
            namespace: None,
            tenant: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasConfig {
    /// Enforce quota policies created through `/v1/quotas` (on by default: a
    /// quota that exists is a quota that holds).
    pub enabled: bool,
}

impl Default for QuotasConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `[[state_machines]]`: event lifecycles (Acteon has the model but no TOML
/// for it; this is our table).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMachineConfig {
    pub name: String,
    pub initial_state: String,
    pub states: Vec<String>,
    #[serde(default)]
    pub transitions: Vec<TransitionConfig>,
    #[serde(default)]
    pub timeouts: Vec<StateTimeoutConfig>,
    /// Track executed actions of these types as events in `initial_state`.
    #[serde(default)]
    pub track_action_types: Vec<String>,
    /// Where a tracked action's fingerprint comes from (default: its `fingerprint`).
    pub fingerprint_field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionConfig {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub notify: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateTimeoutConfig {
    pub in_state: String,
    pub after_seconds: u64,
    pub transition_to: String,
}

impl StateMachineConfig {
    pub fn allowed_from(&self, state: &str) -> Vec<&str> {
        self.transitions
            .iter()
            .filter(|t| t.from == state)
            .map(|t| t.to.as_str())
            .collect()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let here = format!("state machine '{}'", self.name);
        let known = |s: &str| self.states.iter().any(|x| x == s);
        if !known(&self.initial_state) {
            return Err(format!(
                "{here}: initial_state '{}' is not one of its states",
                self.initial_state
            ));
        }
        for t in &self.transitions {
            for s in [&t.from, &t.to] {
                if !known(s) {
                    return Err(format!(
                        "{here}: transition {} -> {} names unknown state '{s}'",
                        t.from, t.to
                    ));
                }
            }
        }
        for t in &self.timeouts {
            if !known(&t.in_state) || !known(&t.transition_to) {
                return Err(format!(
                    "{here}: timeout {} -> {} names an unknown state",
                    t.in_state, t.transition_to
                ));
            }
            if t.after_seconds == 0 {
                return Err(format!("{here}: timeout after_seconds must be at least 1"));
            }
        }
        Ok(())
    }
}
