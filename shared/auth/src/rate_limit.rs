//! Request rates per caller and per tenant (`[rate_limit]`), as token
//! buckets in this process. With N gateway processes (Lambda instances) a
//! caller can reach up to N times the limit; the API Gateway stage throttle
//! is the deployment-wide cap. See README "Rate limits" for why.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use switchyard_config::{RateLimitConfig, RateLimitTier};

use crate::principal::{AuthMethod, Principal};

/// Forget idle buckets every this many checks (keeps memory bounded when
/// clients invent tenant names).
const RETAIN_EVERY: u64 = 10_000;

fn quota(tier: &RateLimitTier) -> Quota {
    let burst = u32::try_from(tier.requests_per_window)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(NonZeroU32::MIN);
    let period = Duration::from_secs(tier.window_seconds) / burst.get();
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

struct Limits {
    default: DefaultKeyedRateLimiter<String>,
    overrides: HashMap<String, DefaultDirectRateLimiter>,
    checks: AtomicU64,
}

impl Limits {
    fn new(
        default: &RateLimitTier,
        overrides: &std::collections::BTreeMap<String, RateLimitTier>,
    ) -> Self {
        Self {
            default: DefaultKeyedRateLimiter::keyed(quota(default)),
            overrides: overrides
                .iter()
                .map(|(k, t)| (k.clone(), DefaultDirectRateLimiter::direct(quota(t))))
                .collect(),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when over the limit.
    fn check(&self, key: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let result = match self.overrides.get(key) {
            Some(limiter) => limiter.check(),
            None => {
                if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
                    self.default.retain_recent();
                }
                self.default.check_key(&key.to_string())
            }
        };
        result.map_err(|not_until| not_until.wait_time_from(now))
    }
}

pub struct RateLimiter {
    callers: Limits,
    anonymous: DefaultDirectRateLimiter,
    tenants: Option<Limits>,
}

/// Whole seconds to wait (at least 1), for `Retry-After`.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

impl RateLimiter {
    /// `None` when `[rate_limit]` is off.
    pub fn from_config(config: &RateLimitConfig) -> Option<RateLimiter> {
        config.enabled.then(|| RateLimiter {
            callers: Limits::new(&config.callers.default, &config.callers.overrides),
            anonymous: DefaultDirectRateLimiter::direct(quota(&config.callers.anonymous)),
            tenants: config
                .tenants
                .enabled
                .then(|| Limits::new(&config.tenants.default, &config.tenants.overrides)),
        })
    }

    pub fn check_caller(&self, caller: &Principal) -> Result<(), Duration> {
        if caller.method == AuthMethod::Anonymous {
            let now = DefaultClock::default().now();
            return self.anonymous.check().map_err(|n| n.wait_time_from(now));
        }
        self.callers.check(&caller.id)
    }

    /// Login attempts per user name share the caller's default tier (a
    /// password is not guessed faster than a key may call).
    pub fn check_login(&self, username: &str) -> Result<(), Duration> {
        self.callers.check(&format!("login:{username}"))
    }

    pub fn check_tenant(&self, tenant: &str) -> Result<(), Duration> {
        match &self.tenants {
            Some(limits) => limits.check(tenant),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_config::{CallerLimits, TenantLimits};

    fn tier(n: u64) -> RateLimitTier {
        RateLimitTier {
            requests_per_window: n,
            window_seconds: 60,
        }
    }

    #[test]
    fn each_caller_and_tenant_has_its_own_bucket() {
        let mut overrides = std::collections::BTreeMap::new();
        overrides.insert("vip".to_string(), tier(5));
        let limiter = RateLimiter::from_config(&RateLimitConfig {
            enabled: true,
            config_path: None,
            callers: CallerLimits {
                default: tier(2),
                anonymous: tier(1),
                overrides,
            },
            tenants: TenantLimits {
                enabled: true,
                default: tier(3),
                overrides: Default::default(),
            },
        })
        .expect("enabled");
        let key = |id: &str| Principal {
            id: id.into(),
            method: AuthMethod::ApiKey,
            ..Principal::anonymous()
        };
        assert!(limiter.check_caller(&key("a")).is_ok());
        assert!(limiter.check_caller(&key("a")).is_ok());
        let wait = limiter
            .check_caller(&key("a"))
            .expect_err("third in a minute");
        assert!(wait <= Duration::from_secs(30) && retry_after_seconds(wait) >= 1);
        assert!(limiter.check_caller(&key("b")).is_ok(), "another caller");
        for _ in 0..5 {
            assert!(limiter.check_caller(&key("vip")).is_ok());
        }
        assert!(limiter.check_caller(&key("vip")).is_err());
        assert!(limiter.check_caller(&Principal::anonymous()).is_ok());
        assert!(limiter.check_caller(&Principal::anonymous()).is_err());
        for _ in 0..3 {
            assert!(limiter.check_tenant("acme").is_ok());
        }
        assert!(limiter.check_tenant("acme").is_err());
        assert!(limiter.check_tenant("globex").is_ok());
    }
}
