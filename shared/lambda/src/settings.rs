//! The environment every function receives from `infra/template.yaml`.

use std::time::Duration;

use switchyard_queue_aws::QueueSettings;
use switchyard_store_dynamodb::{
    DEFAULT_AUDIT_SHARDS, DEFAULT_STATE_SHARDS, MAX_AUDIT_SHARDS, MAX_STATE_SHARDS,
};

use crate::rules_source::S3Location;

#[derive(Debug, Clone)]
pub struct Settings {
    pub state_table: String,
    pub audit_table: String,
    /// `STATE_SHARDS`: partitions each tenant's state items are spread over.
    pub state_shards: u32,
    /// `AUDIT_SHARDS`: partitions each busy audit index key is spread over.
    pub audit_shards: u32,
    pub queues: QueueSettings,
    /// Rule files (and optionally `gateway.toml`) in S3; `None` = bundled example.
    pub rules: Option<S3Location>,
    /// How often, at most, the rule files' ETags are compared.
    pub rules_refresh: Duration,
    /// SSM SecureString holding the approval-link key.
    pub approval_secret_parameter: Option<String>,
    /// Public base URL for approval links (the API's URL or a custom domain).
    pub external_url: Option<String>,
    /// SSM SecureString holding the first admin key's SHA-256 (hex): turns
    /// authentication on. The raw key never reaches AWS.
    pub admin_key_hash_parameter: Option<String>,
    /// `ALLOW_ANONYMOUS=true` (stack parameter `AllowAnonymous`): let the
    /// dispatch function serve with authentication disabled.
    pub allow_anonymous: bool,
    /// The chain queue's `maxReceiveCount`: the delivery that fails for the
    /// last time records the failure in the audit trail.
    pub chain_max_receive_count: u32,
    /// The same for the delay queue.
    pub delay_max_receive_count: u32,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings through `get` (the environment, or a map in tests).
    /// Every missing or malformed variable is named in one error.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let optional = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let mut required = |name: &str| {
            optional(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set"));
                String::new()
            })
        };
        let state_table = required("STATE_TABLE");
        let audit_table = required("AUDIT_TABLE");
        let queues = QueueSettings {
            chain_queue_url: required("CHAIN_QUEUE_URL"),
            delay_queue_url: required("DELAY_QUEUE_URL"),
            schedule_group: required("SCHEDULE_GROUP"),
            schedule_target_arn: required("SCHEDULER_TARGET_ARN"),
            schedule_role_arn: required("SCHEDULER_ROLE_ARN"),
            schedule_dead_letter_arn: optional("SCHEDULER_DLQ_ARN"),
        };
        let number = |name: &str, default: u64, problems: &mut Vec<String>| match optional(name) {
            None => default,
            Some(v) => v.trim().parse::<u64>().unwrap_or_else(|_| {
                problems.push(format!("{name}={v:?} is not a whole number"));
                default
            }),
        };
        let rules_refresh = Duration::from_secs(number("RULES_REFRESH_SECONDS", 60, &mut problems));
        let chain_max_receive_count =
            u32::try_from(number("CHAIN_MAX_RECEIVE_COUNT", 5, &mut problems)).unwrap_or(5);
        let delay_max_receive_count =
            u32::try_from(number("DELAY_MAX_RECEIVE_COUNT", 5, &mut problems)).unwrap_or(5);
        let mut shards = |name: &str, default: u32, max: u32| match u32::try_from(number(
            name,
            u64::from(default),
            &mut problems,
        )) {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                problems.push(format!("{name} must be between 1 and {max}"));
                default
            }
        };
        let state_shards = shards("STATE_SHARDS", DEFAULT_STATE_SHARDS, MAX_STATE_SHARDS);
        let audit_shards = shards("AUDIT_SHARDS", DEFAULT_AUDIT_SHARDS, MAX_AUDIT_SHARDS);
        let allow_anonymous = match optional("ALLOW_ANONYMOUS").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                problems.push(format!("ALLOW_ANONYMOUS={other:?} is not true or false"));
                false
            }
        };
        let rules = match optional("RULES_S3_URI") {
            None => None,
            Some(uri) => match uri.parse::<S3Location>() {
                Ok(location) => Some(location),
                Err(e) => {
                    problems.push(format!("RULES_S3_URI: {e}"));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(format!(
                "function environment incomplete: {}",
                problems.join("; ")
            ));
        }
        Ok(Self {
            state_table,
            audit_table,
            state_shards,
            audit_shards,
            queues,
            rules,
            rules_refresh,
            approval_secret_parameter: optional("APPROVAL_SECRET_PARAMETER"),
            external_url: optional("EXTERNAL_URL"),
            admin_key_hash_parameter: optional("ADMIN_KEY_HASH_PARAMETER"),
            allow_anonymous,
            chain_max_receive_count,
            delay_max_receive_count,
        })
    }
}

/// A complete environment with bundled rules (tests of this crate).
#[cfg(test)]
pub(crate) fn complete_test_env() -> std::collections::HashMap<&'static str, &'static str> {
    std::collections::HashMap::from([
        ("STATE_TABLE", "s"),
        ("AUDIT_TABLE", "a"),
        ("CHAIN_QUEUE_URL", "https://q/chain"),
        ("DELAY_QUEUE_URL", "https://q/delay"),
        ("SCHEDULE_GROUP", "g"),
        ("SCHEDULER_TARGET_ARN", "arn:fn"),
        ("SCHEDULER_ROLE_ARN", "arn:role"),
        ("RULES_S3_URI", ""),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> std::collections::HashMap<&'static str, &'static str> {
        complete_test_env()
    }

    #[test]
    fn reads_a_complete_environment_with_defaults() {
        let env = complete();
        let s = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect("settings");
        assert_eq!(s.state_table, "s");
        assert!(
            s.rules.is_none(),
            "an empty RULES_S3_URI means bundled rules"
        );
        assert_eq!(s.rules_refresh, Duration::from_secs(60));
        assert_eq!(s.chain_max_receive_count, 5);
        assert_eq!(s.queues.schedule_dead_letter_arn, None);
        assert_eq!(s.audit_shards, DEFAULT_AUDIT_SHARDS);
        assert_eq!(s.state_shards, DEFAULT_STATE_SHARDS);
    }

    #[test]
    fn shard_counts_are_bounded() {
        for (name, max) in [("AUDIT_SHARDS", "256"), ("STATE_SHARDS", "64")] {
            let mut env = complete();
            env.insert(name, max);
            let s = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect("settings");
            assert_eq!(s.audit_shards.max(s.state_shards).to_string(), max);
            let over = (max.parse::<u32>().expect("number") + 1).to_string();
            for bad in ["0", over.as_str(), "many"] {
                env.insert(name, bad);
                let err = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string()))
                    .expect_err("out of bounds");
                assert!(err.contains(name), "{bad}: {err}");
            }
        }
    }

    #[test]
    fn names_every_missing_or_bad_variable() {
        let mut env = complete();
        env.remove("STATE_TABLE");
        env.remove("SCHEDULE_GROUP");
        env.insert("RULES_REFRESH_SECONDS", "soon");
        env.insert("RULES_S3_URI", "https://bucket/rules");
        let err =
            Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect_err("incomplete");
        for needle in [
            "STATE_TABLE is not set",
            "SCHEDULE_GROUP is not set",
            "RULES_REFRESH_SECONDS=\"soon\"",
            "RULES_S3_URI",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
