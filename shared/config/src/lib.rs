//! Gateway configuration: Acteon's TOML sections, every key typed, unknown keys
//! rejected with their line and column, cross references checked before the
//! gateway starts. An empty file (or none) gives a working local gateway.

mod chains;
mod durations;
mod providers;
mod sections;
mod security;
mod server_section;

use std::path::{Path, PathBuf};

pub use chains::{BranchConfig, ChainDefinition, ChainStepConfig, StepFailurePolicy};
pub use durations::MAX_DURATION_SECONDS;
pub use providers::{PROVIDER_TYPES, ProviderConfig};
pub use sections::*;
pub use security::*;
use serde::Deserialize;
pub use server_section::*;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub state: StateConfig,
    pub rules: RulesConfig,
    pub executor: ExecutorConfig,
    pub audit: AuditConfig,
    pub providers: Vec<ProviderConfig>,
    pub circuit_breaker: CircuitBreakerConfig,
    pub chains: ChainsConfig,
    pub background: BackgroundConfig,
    pub quotas: QuotasConfig,
    pub state_machines: Vec<StateMachineConfig>,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    /// Where the file was read from: relative paths in it resolve against its folder.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let mut config = Config::parse(&name, &text)?;
        config.base_dir = path.parent().map(Path::to_path_buf);
        Ok(config)
    }

    /// Parse and validate TOML text; `name` labels errors.
    pub fn parse(name: &str, text: &str) -> Result<Config, ConfigError> {
        durations::check(text).map_err(|message| ConfigError {
            source_name: name.to_string(),
            message,
        })?;
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            source_name: name.to_string(),
            message: e.to_string().trim().replace('\n', " | "),
        })?;
        config.validate().map_err(|message| ConfigError {
            source_name: name.to_string(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        self.server.validate()?;
        if let Some(tz) = &self.rules.default_timezone {
            switchyard_rules::parse_timezone(tz)
                .map_err(|e| format!("[rules] default_timezone: {e}"))?;
        }
        providers::validate(&self.providers)?;
        let known = |name: &str| self.providers.iter().any(|p| p.name == name);
        for (provider, over) in &self.circuit_breaker.providers {
            if !known(provider) {
                return Err(format!(
                    "[circuit_breaker.providers.{provider}]: no provider named '{provider}' is configured"
                ));
            }
            if let Some(fallback) = &over.fallback_provider
                && !known(fallback)
            {
                return Err(format!(
                    "[circuit_breaker.providers.{provider}] fallback_provider: no provider named '{fallback}' is configured"
                ));
            }
        }
        chains::validate(&self.chains.definitions, &known)?;
        for trigger in &self.chains.on_executed {
            if self.chain(&trigger.chain).is_none() {
                return Err(format!(
                    "[[chains.on_executed]]: chain '{}' is not defined",
                    trigger.chain
                ));
            }
        }
        let mut machine_names = std::collections::BTreeSet::new();
        for machine in &self.state_machines {
            if !machine_names.insert(machine.name.as_str()) {
                return Err(format!("state machine '{}': defined twice", machine.name));
            }
            machine.validate()?;
        }
        self.state.validate()?;
        self.audit.validate()?;
        self.auth.validate()?;
        self.rate_limit.validate()?;
        Ok(())
    }

    /// The rules directory, resolved: relative to the config file's folder when
    /// it exists there, otherwise relative to the working directory (Acteon's
    /// convention).
    pub fn rules_directory(&self) -> Option<PathBuf> {
        let dir = self.rules.directory.as_ref()?;
        if dir.is_absolute() {
            return Some(dir.clone());
        }
        if let Some(base) = &self.base_dir {
            let candidate = base.join(dir);
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
        Some(dir.clone())
    }

    /// A path named in the file, resolved against the file's folder.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        resolve(self.base_dir.as_deref(), path)
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    pub fn state_machine(&self, name: &str) -> Option<&StateMachineConfig> {
        self.state_machines.iter().find(|m| m.name == name)
    }

    pub fn chain(&self, name: &str) -> Option<&ChainDefinition> {
        self.chains.definitions.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests;

/// `path` if absolute, else relative to `base` (the config file's folder).
pub(crate) fn resolve(base: Option<&Path>, path: &Path) -> PathBuf {
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}
