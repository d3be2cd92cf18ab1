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
    // common AWS settings
    pub aws_region: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub aws_role_arn: Option<String>,
    pub aws_session_name: Option<String>,
    pub aws_external_id: Option<String>,
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
            aws_external_id
        );
        keys
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
            "email" => (&["from_address"], with_aws(&["backend", "email_backend"])),
            _ => return None,
        })
    }

    /// Email backend name (`backend` or Acteon's `email_backend`), default `ses`.
    pub fn email_backend(&self) -> &str {
        self.backend
            .as_deref()
            .or(self.email_backend.as_deref())
            .unwrap_or("ses")
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
        if p.kind == "email" && p.email_backend() != "ses" {
            return Err(format!(
                "{here}: email backend '{}' is not supported (use \"ses\")",
                p.email_backend()
            ));
        }
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
