//! `[[providers]]`: one flat table per provider; which keys a type takes is
//! checked here so a misconfiguration names the provider and the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

pub const PROVIDER_TYPES: &[&str] = &[
    "log",
    "webhook",
    "aws-sns",
    "aws-sqs",
    "aws-eventbridge",
    "aws-lambda",
    "aws-s3",
    "email",
    "slack",
    "teams",
    "discord",
    "pagerduty",
    "opsgenie",
    "twilio",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    // webhook
    pub url: Option<String>,
    pub method: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub timeout_seconds: Option<u64>,
    // AWS targets
    pub topic_arn: Option<String>,
    pub queue_url: Option<String>,
    pub event_bus_name: Option<String>,
    pub function_name: Option<String>,
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub bucket_name: Option<String>,
    pub object_prefix: Option<String>,
    // email
    pub backend: Option<String>,
    pub email_backend: Option<String>,
    pub from_address: Option<String>,
    // email over SMTP (Acteon's keys)
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// `true` (default): STARTTLS, or TLS from the first byte on port 465;
    /// `false`: plain text (a local relay only).
    pub tls: Option<bool>,
    pub username: Option<String>,
    #[serde(alias = "smtp_password")]
    pub password: Option<String>,
    /// TLS from the first byte (SMTPS) instead of STARTTLS; default: on
    /// port 465 only.
    pub implicit_tls: Option<bool>,
    /// A PEM file of the CA that signed the SMTP server's certificate, when
    /// it is not in the system's store.
    pub tls_ca_file: Option<String>,
    // chat, paging and SMS services (Acteon's keys); secrets may be
    // `env:NAME` (read from the environment at start)
    pub webhook_url: Option<String>,
    pub token: Option<String>,
    pub default_channel: Option<String>,
    pub routing_key: Option<String>,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub from_number: Option<String>,
    /// The service's API root, for tests against a local stub.
    pub api_base_url: Option<String>,
    pub opsgenie: Option<OpsgenieConfig>,
    // common AWS settings
    pub aws_region: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub aws_role_arn: Option<String>,
    pub aws_session_name: Option<String>,
    pub aws_external_id: Option<String>,
}

/// Acteon's nested `opsgenie.*` keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    pub api_key: Option<String>,
    /// `us` (default) or `eu`.
    pub region: Option<String>,
    pub default_team: Option<String>,
    /// `P1` to `P5`.
    pub default_priority: Option<String>,
    pub default_source: Option<String>,
    pub api_base_url: Option<String>,
    /// Prefix aliases with `namespace:tenant:` (default true), so two
    /// tenants sharing an integration never close each other's alerts.
    pub scope_aliases: Option<bool>,
    /// `message` is cut to this many bytes (default 130, the API's limit).
    pub message_max_length: Option<usize>,
}

const AWS_COMMON: &[&str] = &[
    "aws_region",
    "aws_endpoint_url",
    "aws_role_arn",
    "aws_session_name",
    "aws_external_id",
    "timeout_seconds",
];

impl ProviderConfig {
    /// The optional keys that were set, by name.
    fn present_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        macro_rules! check {
            ($($field:ident),*) => { $(if self.$field.is_some() { keys.push(stringify!($field)); })* };
        }
        check!(
            url,
            method,
            headers,
            timeout_seconds,
            topic_arn,
            queue_url,
            event_bus_name,
            function_name,
            qualifier,
            invocation_type,
            bucket_name,
            object_prefix,
            backend,
            email_backend,
            from_address,
            aws_region,
            aws_endpoint_url,
            aws_role_arn,
            aws_session_name,
            aws_external_id,
            smtp_host,
            smtp_port,
            tls,
            implicit_tls,
            tls_ca_file,
            username,
            password,
            webhook_url,
            token,
            default_channel,
            routing_key,
            account_sid,
            auth_token,
            from_number,
            api_base_url,
            opsgenie
        );
        keys
    }

    /// The credentials this provider has configured, by key, for whoever
    /// resolves references in them (`ssm:` on Lambda).
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        let opsgenie = self.opsgenie.as_mut().and_then(|o| o.api_key.as_mut());
        [
            ("webhook_url", self.webhook_url.as_mut()),
            ("token", self.token.as_mut()),
            ("routing_key", self.routing_key.as_mut()),
            ("auth_token", self.auth_token.as_mut()),
            ("password", self.password.as_mut()),
            ("opsgenie.api_key", opsgenie),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect()
    }

    /// (required, optional) keys for this provider's type.
    fn schema(&self) -> Option<(&'static [&'static str], Vec<&'static str>)> {
        let with_aws = |own: &[&'static str]| {
            let mut keys = own.to_vec();
            keys.extend_from_slice(AWS_COMMON);
            keys
        };
        Some(match self.kind.as_str() {
            "log" => (&[], Vec::new()),
            "webhook" => (&["url"], vec!["method", "headers", "timeout_seconds"]),
            "aws-sns" => (&["topic_arn"], with_aws(&[])),
            "aws-sqs" => (&["queue_url"], with_aws(&[])),
            "aws-eventbridge" => (&["event_bus_name"], with_aws(&[])),
            "aws-lambda" => (
                &["function_name"],
                with_aws(&["qualifier", "invocation_type"]),
            ),
            "aws-s3" => (&["bucket_name"], with_aws(&["object_prefix"])),
            "email" => (
                &["from_address"],
                with_aws(&[
                    "backend",
                    "email_backend",
                    "smtp_host",
                    "smtp_port",
                    "tls",
                    "implicit_tls",
                    "tls_ca_file",
                    "username",
                    "password",
                ]),
            ),
            // Either an incoming webhook or a bot token (checked below).
            "slack" => (
                &[],
                vec![
                    "webhook_url",
                    "token",
                    "default_channel",
                    "api_base_url",
                    "timeout_seconds",
                ],
            ),
            "teams" | "discord" => (&["webhook_url"], vec!["timeout_seconds"]),
            "pagerduty" => (&["routing_key"], vec!["api_base_url", "timeout_seconds"]),
            "opsgenie" => (&["opsgenie"], vec!["timeout_seconds"]),
            "twilio" => (
                &["account_sid", "auth_token"],
                vec!["from_number", "api_base_url", "timeout_seconds"],
            ),
            _ => return None,
        })
    }

    /// Email backend name (`backend` or Acteon's `email_backend`); without
    /// one, `smtp` when an `smtp_host` is given (Acteon's default), else `ses`.
    pub fn email_backend(&self) -> &str {
        let default = if self.smtp_host.is_some() {
            "smtp"
        } else {
            "ses"
        };
        self.backend
            .as_deref()
            .or(self.email_backend.as_deref())
            .unwrap_or(default)
    }
}

/// Each provider whose type we do not have, as one finding per provider.
pub(crate) fn unsupported_types(providers: &[ProviderConfig]) -> Vec<String> {
    providers
        .iter()
        .filter(|p| p.schema().is_none())
        .map(|p| {
            format!(
                "provider '{}': type '{}' is not supported (supported: {})",
                p.name,
                p.kind,
                PROVIDER_TYPES.join(", ")
            )
        })
        .collect()
}

pub(crate) fn validate(providers: &[ProviderConfig]) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for p in providers {
        if p.name.trim().is_empty() {
            return Err("[[providers]]: a provider has an empty name".into());
        }
        let here = format!("provider '{}'", p.name);
        if !names.insert(p.name.as_str()) {
            return Err(format!("{here}: defined twice"));
        }
        let Some((required, optional)) = p.schema() else {
            return Err(format!(
                "{here}: unknown type '{}' (expected one of {})",
                p.kind,
                PROVIDER_TYPES.join(", ")
            ));
        };
        let present = p.present_keys();
        for key in required {
            if !present.contains(key) {
                return Err(format!(
                    "{here} (type {}): missing required key `{key}`",
                    p.kind
                ));
            }
        }
        for key in &present {
            if !required.contains(key) && !optional.contains(key) {
                return Err(format!(
                    "{here} (type {}): key `{key}` does not apply to this type",
                    p.kind
                ));
            }
        }
        if let Some(url) = &p.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "{here}: `url` must start with http:// or https://, got '{url}'"
            ));
        }
        if let Some(method) = &p.method
            && !["POST", "PUT", "PATCH", "GET", "DELETE"]
                .contains(&method.to_ascii_uppercase().as_str())
        {
            return Err(format!(
                "{here}: `method` must be POST, PUT, PATCH, GET or DELETE, got '{method}'"
            ));
        }
        if p.timeout_seconds == Some(0) {
            return Err(format!("{here}: `timeout_seconds` must be at least 1"));
        }
        check_services(p, &here)?;
        if let Some(t) = &p.invocation_type
            && !["RequestResponse", "Event"].contains(&t.as_str())
        {
            return Err(format!(
                "{here}: `invocation_type` must be RequestResponse or Event, got '{t}'"
            ));
        }
    }
    Ok(())
}

/// What the chat, paging, SMS and SMTP types need beyond their keys.
fn check_services(p: &ProviderConfig, here: &str) -> Result<(), String> {
    let url_keys = [
        ("webhook_url", &p.webhook_url),
        ("api_base_url", &p.api_base_url),
    ];
    for (key, value) in url_keys {
        if let Some(url) = value
            && !url.starts_with("env:")
            && !url.starts_with("ssm:")
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "{here}: `{key}` must start with http:// or https:// (or be env:NAME or ssm:/name)"
            ));
        }
    }
    match p.kind.as_str() {
        "email" => match p.email_backend() {
            "ses" => Ok(()),
            "smtp" if p.smtp_host.is_none() => {
                Err(format!("{here}: the smtp backend needs `smtp_host`"))
            }
            "smtp" => match (&p.username, &p.password) {
                (Some(_), None) | (None, Some(_)) => {
                    Err(format!("{here}: give `username` and `password` together"))
                }
                _ => Ok(()),
            },
            other => Err(format!(
                "{here}: email backend '{other}' is not supported (use \"ses\" or \"smtp\")"
            )),
        },
        "slack" if p.webhook_url.is_some() == p.token.is_some() => Err(format!(
            "{here} (type slack): give exactly one of `webhook_url` (incoming webhook) or `token` (chat.postMessage)"
        )),
        "opsgenie" => {
            let og = p.opsgenie.clone().unwrap_or_default();
            if og.api_key.is_none() {
                return Err(format!(
                    "{here} (type opsgenie): missing `opsgenie.api_key`"
                ));
            }
            if let Some(region) = &og.region
                && !["us", "eu"].contains(&region.as_str())
            {
                return Err(format!(
                    "{here}: `opsgenie.region` must be \"us\" or \"eu\", got '{region}'"
                ));
            }
            if let Some(priority) = &og.default_priority
                && !["P1", "P2", "P3", "P4", "P5"].contains(&priority.as_str())
            {
                return Err(format!(
                    "{here}: `opsgenie.default_priority` must be P1 to P5, got '{priority}'"
                ));
            }
            if og.message_max_length == Some(0) {
                return Err(format!(
                    "{here}: `opsgenie.message_max_length` must be at least 1"
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
