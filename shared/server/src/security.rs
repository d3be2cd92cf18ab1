//! What the HTTP layer needs to know who calls: the authenticator (when
//! `[auth] enabled`), the rate limiter (when `[rate_limit] enabled`), and
//! whether dispatch answers may carry signed approval links.

use std::sync::Arc;
use std::time::Duration;

use switchyard_auth::{AuthFile, Authenticator, RateLimiter};
use switchyard_gateway::Gateway;

pub struct Security {
    /// `None`: auth is disabled and every caller is an anonymous admin.
    pub authenticator: Option<Authenticator>,
    pub limiter: Option<RateLimiter>,
    pub links_in_response: bool,
}

impl Security {
    /// From the gateway's configuration: the auth file (relative paths
    /// resolve against the config file's folder) and the rate limits.
    pub fn from_gateway(gateway: &Gateway) -> Result<Security, String> {
        let config = gateway.config();
        let mut rate_limit = config.rate_limit.clone();
        rate_limit.load_file(config.base_dir.as_deref())?;
        let authenticator = if config.auth.enabled {
            let file = match &config.auth.config_path {
                Some(path) => Some(AuthFile::load(&config.resolve_path(path))?),
                None => None,
            };
            Some(Authenticator::new(
                file,
                gateway.ports().state.clone(),
                gateway.clock().clone(),
                Duration::from_secs(config.auth.key_cache_seconds),
            ))
        } else {
            None
        };
        Ok(Security {
            links_in_response: config
                .server
                .approval_links_in_response(authenticator.is_some()),
            authenticator,
            limiter: RateLimiter::from_config(&rate_limit),
        })
    }

    /// Everyone is an anonymous admin, nothing is limited (tests, benches).
    pub fn open() -> Security {
        Security {
            authenticator: None,
            limiter: None,
            links_in_response: true,
        }
    }

    pub fn enabled(&self) -> bool {
        self.authenticator.is_some()
    }

    /// Add an admin key known by its hash (the Lambda's SSM parameter).
    pub fn add_admin_key_hash(&mut self, name: &str, hash: &str) -> Result<(), String> {
        match &mut self.authenticator {
            Some(auth) => auth.add_admin_key_hash(name, hash),
            None => Err("an admin key hash was given but [auth] is disabled".into()),
        }
    }

    pub fn shared(self) -> Arc<Security> {
        Arc::new(self)
    }
}
