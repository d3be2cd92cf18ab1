//! Gateway configuration: Acteon's TOML sections, every key typed, unknown keys
//! rejected with their line and column, cross references checked before the
//! gateway starts. An empty file (or none) gives a working local gateway.

mod chains;
mod durations;
mod providers;
mod sections;
mod security;
mod server_section;
mod unsupported;

use std::path::{Path, PathBuf};

pub use chains::{
    BranchConfig, ChainDefinition, ChainStepConfig, MAX_STEP_BACKOFF_MS, MAX_STEP_RETRIES,
    OnCancel, RetryStrategy, StepFailurePolicy, StepRetry,
};
pub use durations::MAX_DURATION_SECONDS;
pub use providers::{OpsgenieConfig, PROVIDER_TYPES, ProviderConfig};
pub use sections::*;
pub use security::*;
use serde::Deserialize;
pub use server_section::*;
pub use unsupported::Unsupported;

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

/// How `[rules] directory` was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesDirectory {
    pub path: PathBuf,
    pub origin: RulesDirectoryOrigin,
    /// The other reading of a relative path, when it exists too and was not used.
    pub also_existing: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesDirectoryOrigin {
    Absolute,
    /// Relative to the folder of the config file (tried first).
    ConfigFolder,
    /// Relative to the working directory (Acteon's convention), because no
    /// such folder exists beside the config file.
    WorkingDirectory,
    /// Relative, and the config came from no file: the working directory.
    Unanchored,
}

impl std::fmt::Display for RulesDirectoryOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Absolute => "absolute path",
            Self::ConfigFolder => "relative to the config file's folder",
            Self::WorkingDirectory => {
                "relative to the working directory (none beside the config file)"
            }
            Self::Unanchored => "relative to the working directory",
        })
    }
}

/// One error naming every setting of the file we do not support.
fn unsupported_settings(name: &str, findings: &[String]) -> ConfigError {
    ConfigError {
        source_name: name.to_string(),
        message: format!(
            "{} setting(s) Switchyard does not support (remove or change each):\n  - {}",
            findings.len(),
            findings.join("\n  - ")
        ),
    }
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
        let parsed = unsupported::parse::<Config>(text);
        let mut findings: Vec<String> =
            parsed.unsupported.iter().map(ToString::to_string).collect();
        let config = match parsed.value {
            Ok(config) => config,
            Err(e) if findings.is_empty() => {
                return Err(ConfigError {
                    source_name: name.to_string(),
                    message: e.to_string().trim().replace('\n', " | "),
                });
            }
            Err(e) => {
                findings.push(format!(
                    "and then the file stopped reading: {}",
                    e.to_string().trim().replace('\n', " | ")
                ));
                return Err(unsupported_settings(name, &findings));
            }
        };
        findings.extend(providers::unsupported_types(&config.providers));
        if !findings.is_empty() {
            return Err(unsupported_settings(name, &findings));
        }
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

    /// The rules directory, resolved (see [`Config::resolve_rules_directory`]).
    pub fn rules_directory(&self) -> Option<PathBuf> {
        self.resolve_rules_directory().map(|r| r.path)
    }

    /// Where `[rules] directory` points. A relative path is tried against the
    /// config file's folder first (ours), then the working directory
    /// (Acteon's guides run `-c examples/x/acteon.toml` from the repository
    /// root with `directory = "examples/x/rules"`). The first that exists
    /// wins; the answer says which, and which other candidate also existed.
    pub fn resolve_rules_directory(&self) -> Option<RulesDirectory> {
        let dir = self.rules.directory.as_ref()?;
        if dir.is_absolute() {
            return Some(RulesDirectory {
                path: dir.clone(),
                origin: RulesDirectoryOrigin::Absolute,
                also_existing: None,
            });
        }
        let beside_config = self.base_dir.as_ref().map(|base| base.join(dir));
        let in_working_dir = dir.clone();
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        match beside_config {
            Some(beside) if beside.is_dir() => {
                let also = (in_working_dir.is_dir() && !same(&beside, &in_working_dir))
                    .then_some(in_working_dir);
                Some(RulesDirectory {
                    path: beside,
                    origin: RulesDirectoryOrigin::ConfigFolder,
                    also_existing: also,
                })
            }
            beside => Some(RulesDirectory {
                path: in_working_dir,
                origin: if beside.is_some() {
                    RulesDirectoryOrigin::WorkingDirectory
                } else {
                    RulesDirectoryOrigin::Unanchored
                },
                also_existing: None,
            }),
        }
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
