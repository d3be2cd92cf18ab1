//! Rule files in S3: `s3://bucket/prefix/` holds `*.yaml` / `*.yml` rule files,
//! optionally `gateway.toml`, and optionally `rules.compiled.json` (written by
//! `switchyard rules compile`, read instead of the YAML while it matches it). Loaded once at start-up; afterwards the
//! objects' ETags are compared at most every `RULES_REFRESH_SECONDS`, and a
//! changed set is loaded and swapped in (a broken set is refused with its
//! file, line and column in the log, and the old set keeps serving).
//! `gateway.toml` changes apply at the next cold start.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use switchyard_gateway::Gateway;
use switchyard_rules::Rule;
use tokio::sync::Mutex;

pub(crate) const CONFIG_FILE: &str = "gateway.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
}

impl S3Location {
    /// A listed key's name under the prefix (`gateway.toml`, `a.yaml`, `sub/b.yaml`).
    fn file_name<'a>(&self, key: &'a str) -> &'a str {
        key.strip_prefix(self.prefix.as_str()).unwrap_or(key)
    }
}

impl FromStr for S3Location {
    type Err = String;

    fn from_str(uri: &str) -> Result<Self, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{uri:?} is not an s3://bucket/prefix URI"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.len() < 3
            || !bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err(format!("{uri:?}: '{bucket}' is not a valid bucket name"));
        }
        let prefix = match prefix {
            "" => String::new(),
            p if p.ends_with('/') => p.to_string(),
            p => format!("{p}/"),
        };
        Ok(Self {
            bucket: bucket.to_string(),
            prefix,
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

fn is_rule_file(key: &str) -> bool {
    key.ends_with(".yaml") || key.ends_with(".yml")
}

/// What the prefix holds: key → ETag of every rule file and the config.
type Listing = BTreeMap<String, String>;

pub(crate) struct RuleFiles {
    pub config: Option<(String, String)>,
    pub rules: Vec<Rule>,
    pub listing: Listing,
}

pub(crate) async fn list(s3: &aws_sdk_s3::Client, at: &S3Location) -> anyhow::Result<Listing> {
    let mut listing = Listing::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(&at.bucket)
        .prefix(&at.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!("list {at}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
        })?;
        for object in page.contents() {
            let (Some(key), Some(etag)) = (object.key(), object.e_tag()) else {
                continue;
            };
            // Only the prefix's own files, not sub-folders.
            let name = at.file_name(key);
            if !name.contains('/')
                && (is_rule_file(name)
                    || name == CONFIG_FILE
                    || name == switchyard_rules::ARTIFACT_FILE)
            {
                listing.insert(key.to_string(), etag.to_string());
            }
        }
    }
    Ok(listing)
}

async fn get_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "get s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("read s3://{bucket}/{key}"))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).with_context(|| format!("s3://{bucket}/{key} is not UTF-8"))
}

/// Fetch every file of `listing` at once (a cold start waits for one S3
/// round trip, not one per file), then parse them in key order so rule
/// order, and so priority ties, do not depend on which answer came first.
/// Rule errors name the S3 URI, line and column.
pub(crate) async fn fetch(
    s3: &aws_sdk_s3::Client,
    at: &S3Location,
    listing: Listing,
) -> anyhow::Result<RuleFiles> {
    let texts =
        futures_util::future::try_join_all(listing.keys().map(|key| get_text(s3, &at.bucket, key)))
            .await?;
    let mut config = None;
    let mut artifact = None;
    let mut sources = Vec::new();
    for (key, text) in listing.keys().zip(texts) {
        let uri = format!("s3://{}/{key}", at.bucket);
        let name = at.file_name(key);
        if name == CONFIG_FILE {
            config = Some((uri, text));
        } else if name == switchyard_rules::ARTIFACT_FILE {
            artifact = Some(text);
        } else {
            sources.push(switchyard_rules::RuleSource {
                name: name.to_string(),
                label: uri,
                text,
            });
        }
    }
    // The compiled artifact, when it matches these files exactly, spares
    // the cold start the YAML parser; otherwise the YAML is the rule set.
    let (rules, used) = switchyard_rules::load_sources(&sources, artifact.as_deref())?;
    if let switchyard_rules::ArtifactUse::Stale(reason) = used {
        tracing::warn!(rules = %at, %reason, "compiled rules ignored: the YAML was loaded instead (run `switchyard rules compile` and upload its output)");
    }
    Ok(RuleFiles {
        config,
        rules,
        listing,
    })
}

/// Re-checks the rule files' ETags, at most every `every`.
pub(crate) struct RulesWatcher {
    s3: aws_sdk_s3::Client,
    at: S3Location,
    every: Duration,
    state: Mutex<(Instant, Listing)>,
}

impl RulesWatcher {
    pub fn new(s3: aws_sdk_s3::Client, at: S3Location, every: Duration, listing: Listing) -> Self {
        Self {
            s3,
            at,
            every,
            state: Mutex::new((Instant::now(), listing)),
        }
    }

    /// Load the rules again when their ETags changed. Never fails the
    /// caller: an unreachable bucket or a broken file is logged and the
    /// current rules keep serving. Returns the new rule count when swapped.
    pub async fn refresh_if_due(&self, gateway: &Gateway) -> Option<usize> {
        // One check at a time; concurrent requests do not wait for it.
        let mut state = self.state.try_lock().ok()?;
        if state.0.elapsed() < self.every {
            return None;
        }
        state.0 = Instant::now();
        let listing = match list(&self.s3, &self.at).await {
            Ok(listing) => listing,
            Err(err) => {
                tracing::warn!(error = %err, "cannot check the rule files; keeping the current rules");
                return None;
            }
        };
        if listing == state.1 {
            return None;
        }
        let config_changed = |l: &Listing| {
            l.iter()
                .find(|(k, _)| k.ends_with(CONFIG_FILE))
                .map(|(_, e)| e.clone())
        };
        if config_changed(&listing) != config_changed(&state.1) {
            tracing::warn!(at = %self.at, "gateway.toml changed: configuration changes apply at the next cold start");
        }
        let files = match fetch(&self.s3, &self.at, listing.clone()).await {
            Ok(files) => files,
            Err(err) => {
                // Retried at the next check: the cause may be passing.
                tracing::error!(error = %err, "changed rule files do not load; keeping the current rules");
                return None;
            }
        };
        state.1 = listing;
        match gateway.replace_rules(files.rules) {
            Ok(count) => {
                tracing::info!(at = %self.at, rules = count, "rules reloaded from S3");
                Some(count)
            }
            Err(err) => {
                tracing::error!(error = %err, "changed rules refused; keeping the current rules");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let at: S3Location = "s3://my-rules/prod/gateway".parse().expect("uri");
        assert_eq!(at.bucket, "my-rules");
        assert_eq!(at.prefix, "prod/gateway/");
        let at: S3Location = "s3://my-rules".parse().expect("uri");
        assert_eq!(at.prefix, "");
        assert_eq!(at.to_string(), "s3://my-rules/");
    }

    #[test]
    fn refuses_what_is_not_an_s3_uri() {
        assert!("https://my-rules/x".parse::<S3Location>().is_err());
        assert!("s3://My_Rules/x".parse::<S3Location>().is_err());
        assert!("s3://ab".parse::<S3Location>().is_err());
    }
}
