//! The gateway value: configuration, ports, providers and the live rule set.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono_tz::Tz;
use switchyard_config::Config;
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};
use switchyard_providers::ProviderRegistry;
use switchyard_rules::{Rule, RuleError, RuleSet, RuleSummary};
use switchyard_store::{AuditStore, DelayQueue, StateStore};

use crate::approval_signer::ApprovalSigner;
use crate::error::GatewayError;
use crate::executor::Executor;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::quotas::Quotas;
use crate::redact::Redactor;

/// The adapters the gateway runs on (memory locally, AWS in Lambda).
#[derive(Clone)]
pub struct GatewayPorts {
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditStore>,
    pub queue: Arc<dyn DelayQueue>,
    pub clock: Arc<dyn Clock>,
}

pub struct Gateway {
    pub(crate) config: Arc<Config>,
    pub(crate) ports: GatewayPorts,
    pub(crate) providers: ProviderRegistry,
    pub(crate) rules: ArcSwap<RuleSet>,
    rules_dir: Mutex<Option<PathBuf>>,
    /// Rules enabled or disabled through the API since start: a reload keeps
    /// these states (an operator who switched a rule off meant it).
    runtime_toggles: Mutex<std::collections::BTreeMap<String, bool>>,
    pub(crate) default_timezone: Tz,
    pub(crate) metrics: Metrics,
    pub(crate) telemetry: crate::telemetry::Telemetry,
    pub(crate) redactor: Redactor,
    pub(crate) executor: Executor,
    pub(crate) signer: ApprovalSigner,
    pub(crate) external_url: String,
    pub quotas: Quotas,
    pub(crate) audit_ttls: crate::ttl_cache::AuditTtlCache,
    pub(crate) breakers: crate::breaker::model::BreakerCache,
    /// Audit records waiting for the store after a failed write.
    pub(crate) audit_retry: crate::audit_retry::AuditRetry,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    #[error("directory not found: {0}")]
    DirectoryNotFound(String),
    #[error(
        "no rules directory is configured: these rules were not loaded from a folder, so there is nothing to reload"
    )]
    NoDirectory,
    #[error(transparent)]
    Rules(#[from] RuleError),
}

impl Gateway {
    /// Build the gateway and load the configured rules directory. Any error
    /// (bad rule file, rule naming an unknown provider or chain) stops start-up.
    pub fn new(
        config: Config,
        ports: GatewayPorts,
        providers: ProviderRegistry,
    ) -> Result<Gateway, String> {
        let resolved = config.resolve_rules_directory();
        let written = config.rules.directory.clone();
        let gateway = Self::with_rules(config, ports, providers, Vec::new())?;
        if let (Some(resolved), Some(written)) = (resolved, written) {
            let dir = &resolved.path;
            if !dir.is_dir() {
                return Err(format!(
                    "[rules] directory \"{}\": no such folder beside the config file nor in the working directory ({})",
                    written.display(),
                    dir.display()
                ));
            }
            let count = gateway.reload_rules(Some(dir)).map_err(|e| e.to_string())?;
            tracing::info!(directory = %dir.display(), resolved = %resolved.origin, rules = count, "rules loaded");
            if let Some(other) = &resolved.also_existing {
                tracing::warn!(
                    used = %dir.display(),
                    not_used = %other.display(),
                    "[rules] directory exists both beside the config file and in the working directory; the one beside the config file is used (give an absolute path to choose)"
                );
            }
        }
        Ok(gateway)
    }

    /// Build the gateway with an explicit rule list (tests, benchmarks, CLI).
    pub fn with_rules(
        config: Config,
        ports: GatewayPorts,
        providers: ProviderRegistry,
        rules: Vec<Rule>,
    ) -> Result<Gateway, String> {
        let default_timezone = match &config.rules.default_timezone {
            Some(name) => switchyard_rules::parse_timezone(name)?,
            None => chrono_tz::UTC,
        };
        for p in &config.providers {
            if !providers.contains(&p.name) {
                return Err(format!(
                    "provider '{}' is configured but was not built",
                    p.name
                ));
            }
        }
        let signer = ApprovalSigner::from_config(&config.server)?;
        let gateway = Gateway {
            external_url: config.server.external_url(),
            redactor: Redactor::from_config(&config.audit.redact),
            executor: Executor::new(&config.executor),
            quotas: Quotas::new(ports.state.clone(), ports.clock.clone()),
            audit_ttls: crate::ttl_cache::AuditTtlCache::new(crate::ttl_cache::AUDIT_TTL_CACHE),
            breakers: Default::default(),
            audit_retry: Default::default(),
            rules: ArcSwap::from_pointee(RuleSet::empty(default_timezone)),
            rules_dir: Mutex::new(config.rules_directory()),
            runtime_toggles: Mutex::default(),
            config: Arc::new(config),
            ports,
            providers,
            default_timezone,
            metrics: Metrics::default(),
            telemetry: crate::telemetry::Telemetry::default(),
            signer,
        };
        let set = RuleSet::new(rules, default_timezone).map_err(|e| e.to_string())?;
        gateway.check_references(&set).map_err(|e| e.to_string())?;
        gateway.rules.store(Arc::new(set));
        Ok(gateway)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    pub fn ports(&self) -> &GatewayPorts {
        &self.ports
    }

    pub fn signer(&self) -> &ApprovalSigner {
        &self.signer
    }

    pub fn providers(&self) -> &ProviderRegistry {
        &self.providers
    }

    /// The rule set serving right now.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.load_full()
    }

    pub fn rule_summaries(&self) -> Vec<RuleSummary> {
        self.rules.load().summaries()
    }

    /// Enable or disable a rule of the serving set; false if there is no
    /// such rule. The state outlives reloads (see [`Self::runtime_toggles`]).
    pub fn set_rule_enabled(&self, name: &str, enabled: bool) -> bool {
        let mut toggles = self
            .runtime_toggles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !self.rules.load().set_enabled(name, enabled) {
            return false;
        }
        toggles.insert(name.to_string(), enabled);
        true
    }

    /// The rules whose state was set through the API, and that state: each
    /// reload applies it to the rule of that name in the new set.
    pub fn runtime_toggles(&self) -> Vec<(String, bool)> {
        self.runtime_toggles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, enabled)| (name.clone(), *enabled))
            .collect()
    }

    /// Load every rule file of `dir` (or the last directory loaded) and swap the
    /// set in atomically. On any error the previous set keeps serving.
    /// The folder the rules were last loaded from, if any.
    pub fn rules_directory(&self) -> Option<PathBuf> {
        self.rules_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn reload_rules(&self, dir: Option<&Path>) -> Result<usize, ReloadError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => self
                .rules_dir
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .ok_or(ReloadError::NoDirectory)?,
        };
        if !dir.is_dir() {
            return Err(ReloadError::DirectoryNotFound(dir.display().to_string()));
        }
        let count = self.replace_rules(switchyard_rules::load_dir(&dir)?)?;
        *self.rules_dir.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
        Ok(count)
    }

    /// Swap in `rules` (from anywhere: files, S3) atomically, after the same
    /// checks as a start-up load. On any error the previous set keeps serving.
    pub fn replace_rules(&self, rules: Vec<Rule>) -> Result<usize, ReloadError> {
        let set = RuleSet::new(rules, self.default_timezone)?;
        self.check_references(&set)?;
        let count = set.len();
        // Held across the swap so a toggle cannot land on the old set in between.
        let mut toggles = self
            .runtime_toggles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // A toggled rule that the new files no longer have is forgotten.
        toggles.retain(|name, enabled| set.set_enabled(name, *enabled));
        self.rules.store(Arc::new(set));
        Ok(count)
    }

    /// Every provider, chain and state machine a rule names must exist.
    fn check_references(&self, set: &RuleSet) -> Result<(), RuleError> {
        for rule in set.rules() {
            for (kind, name) in rule.action.references() {
                let known = match kind {
                    "provider" => self.providers.contains(name),
                    "chain" => self.config.chain(name).is_some(),
                    "state machine" => self.config.state_machine(name).is_some(),
                    _ => false,
                };
                if !known {
                    return Err(RuleError {
                        location: rule.source.clone(),
                        rule: Some(rule.name.clone()),
                        message: format!("no {kind} named '{name}' is configured"),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        let mut snapshot = self.metrics.snapshot();
        snapshot.audit_evicted = self.ports.audit.evicted();
        snapshot.audit_retried = self.audit_retry.retried();
        snapshot.audit_dropped = self.audit_retry.dropped();
        snapshot.audit_pending = self.audit_retry.pending() as u64;
        snapshot
    }

    pub async fn audit_query(&self, query: &AuditQuery) -> Result<AuditPage, GatewayError> {
        Ok(self.ports.audit.query(query).await?)
    }

    pub async fn audit_for_action(
        &self,
        action_id: &str,
    ) -> Result<Option<AuditRecord>, GatewayError> {
        self.audit_for_action_where(action_id, &|_| true).await
    }

    /// The newest record of `action_id` among those `accept` takes (the
    /// caller's scope: another tenant's record with the same id is not it).
    pub async fn audit_for_action_where(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<AuditRecord>, GatewayError> {
        Ok(self
            .ports
            .audit
            .latest_for_action(action_id, accept)
            .await?)
    }
}

/// Typed record access (see `records.rs` for the free functions).
impl Gateway {
    /// Write `value` if the record is still at `expected` (0: absent); the
    /// new version, or `None` when someone else wrote first.
    pub(crate) async fn swap_json<T: serde::Serialize>(
        &self,
        key: &switchyard_store::StateKey,
        expected: u64,
        value: &T,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<u64>, GatewayError> {
        let body = crate::records::encode(value)?;
        Ok(self
            .ports
            .state
            .compare_and_swap(key, expected, &body, expires_at)
            .await?)
    }

    /// Create a record that must not exist yet (fresh ids): one conditional write.
    pub(crate) async fn create_json<T: serde::Serialize>(
        &self,
        key: &switchyard_store::StateKey,
        value: &T,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), GatewayError> {
        match self.swap_json(key, 0, value, expires_at).await? {
            Some(_) => Ok(()),
            None => Err(GatewayError::Internal(format!(
                "record {} already exists",
                key.display()
            ))),
        }
    }

    pub(crate) async fn put_json<T: serde::Serialize>(
        &self,
        key: &switchyard_store::StateKey,
        value: &T,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<u64, GatewayError> {
        let body = crate::records::encode(value)?;
        Ok(self.ports.state.put(key, &body, expires_at).await?)
    }

    /// Every live record of one kind in a tenant, decoded.
    pub(crate) async fn list_records<T: serde::de::DeserializeOwned>(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
    ) -> Result<Vec<T>, GatewayError> {
        crate::records::list_all(self.ports.state.as_ref(), namespace, tenant, kind)
            .await?
            .iter()
            .map(|(key, stored)| crate::records::decode(key, &stored.value))
            .collect()
    }
}
