//! `[auth]` and `[rate_limit]`: who may call the API, and how often.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// `[auth]` (Acteon's keys, plus how long a store key lookup is cached).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub enabled: bool,
    /// Acteon's `auth.toml`: `[settings]`, `[[users]]`, `[[api_keys]]`.
    pub config_path: Option<PathBuf>,
    /// Accepted for Acteon configs; the auth file is read at start.
    pub watch: Option<bool>,
    /// How long a key looked up in the state store is trusted by one process:
    /// a key revoked elsewhere keeps working here at most this long.
    pub key_cache_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            config_path: None,
            watch: None,
            key_cache_seconds: 5,
        }
    }
}

/// Most seconds a store key lookup may be cached (a revoked key must die fast).
pub const MAX_KEY_CACHE_SECONDS: u64 = 300;

impl AuthConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.key_cache_seconds > MAX_KEY_CACHE_SECONDS {
            return Err(format!(
                "[auth] key_cache_seconds: at most {MAX_KEY_CACHE_SECONDS}"
            ));
        }
        Ok(())
    }
}

/// One limit: `requests_per_window` requests every `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitTier {
    pub requests_per_window: u64,
    pub window_seconds: u64,
}

impl RateLimitTier {
    fn validate(&self, at: &str) -> Result<(), String> {
        if self.requests_per_window == 0 || self.requests_per_window > 1_000_000_000 {
            return Err(format!(
                "{at} requests_per_window: between 1 and 1000000000"
            ));
        }
        if self.window_seconds == 0 || self.window_seconds > 86_400 {
            return Err(format!("{at} window_seconds: between 1 and 86400"));
        }
        Ok(())
    }
}

/// `[rate_limit.callers]`: per key, user or (auth off) the anonymous caller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallerLimits {
    pub default: RateLimitTier,
    pub anonymous: RateLimitTier,
    /// By caller id (key name, user name or stored key id).
    pub overrides: BTreeMap<String, RateLimitTier>,
}

impl Default for CallerLimits {
    fn default() -> Self {
        Self {
            default: RateLimitTier {
                requests_per_window: 1000,
                window_seconds: 60,
            },
            anonymous: RateLimitTier {
                requests_per_window: 100,
                window_seconds: 60,
            },
            overrides: BTreeMap::new(),
        }
    }
}

/// `[rate_limit.tenants]`: per tenant of the dispatched actions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    pub enabled: bool,
    pub default: RateLimitTier,
    pub overrides: BTreeMap<String, RateLimitTier>,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self {
            enabled: false,
            default: RateLimitTier {
                requests_per_window: 10_000,
                window_seconds: 60,
            },
            overrides: BTreeMap::new(),
        }
    }
}

/// `[rate_limit]`: the limits inline, or in a separate file (Acteon's
/// `ratelimit.toml` with `[callers]` and `[tenants]`) named by `config_path`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub config_path: Option<PathBuf>,
    pub callers: CallerLimits,
    pub tenants: TenantLimits,
}

/// The separate rate-limit file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitFile {
    pub callers: CallerLimits,
    pub tenants: TenantLimits,
}

impl RateLimitConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.callers
            .default
            .validate("[rate_limit.callers.default]")?;
        self.callers
            .anonymous
            .validate("[rate_limit.callers.anonymous]")?;
        for (id, tier) in &self.callers.overrides {
            tier.validate(&format!("[rate_limit.callers.overrides.{id}]"))?;
        }
        self.tenants
            .default
            .validate("[rate_limit.tenants.default]")?;
        for (id, tier) in &self.tenants.overrides {
            tier.validate(&format!("[rate_limit.tenants.overrides.{id}]"))?;
        }
        Ok(())
    }

    /// Read `config_path` (relative to `base`) into `callers` and `tenants`.
    pub fn load_file(&mut self, base: Option<&std::path::Path>) -> Result<(), String> {
        let Some(path) = &self.config_path else {
            return Ok(());
        };
        let path = crate::resolve(base, path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("[rate_limit] config_path {}: {e}", path.display()))?;
        let file: RateLimitFile = toml::from_str(&text).map_err(|e| {
            format!(
                "{}: {}",
                path.display(),
                e.to_string().trim().replace('\n', " | ")
            )
        })?;
        self.callers = file.callers;
        self.tenants = file.tenants;
        self.validate()
    }
}
