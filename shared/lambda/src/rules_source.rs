//! Rule files in S3: `s3://bucket/prefix/` holds `*.yaml` / `*.yml` rule files,
//! optionally `gateway.toml`, and optionally `rules.compiled.json` (written by
//! `switchyard rules compile`, read instead of the YAML while it matches it).
//! Loaded once at start-up: the listing, the artifact and the configuration
//! in one round trip, and the YAML only when the listed ETags do not match
//! the MD5s the artifact records. Afterwards the
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

    /// The `s3://` URI of a key in this bucket (what errors name).
    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The `s3://` URI of a file under the prefix.
    fn name_uri(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket, self.prefix)
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
    pub origin: RulesOrigin,
}

/// Where a function's rules came from at its cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesOrigin {
    /// The e-commerce example compiled into the binary (no `RULES_S3_URI`).
    Bundled,
    /// The YAML files, parsed (no artifact, or a stale one).
    Yaml,
    /// The compiled artifact, checked against the YAML's text.
    Artifact,
    /// The compiled artifact, checked against the listed ETags: no YAML read.
    ArtifactByEtag,
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

/// An object's text and ETag; `None` when there is no such key.
async fn get_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<(String, Option<String>)>> {
    let object = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "get s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            ));
        }
    };
    let etag = object.e_tag().map(str::to_string);
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("read s3://{bucket}/{key}"))?
        .into_bytes();
    let text = String::from_utf8(bytes.to_vec())
        .with_context(|| format!("s3://{bucket}/{key} is not UTF-8"))?;
    Ok(Some((text, etag)))
}

async fn get_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<String> {
    get_object(s3, bucket, key)
        .await?
        .map(|(text, _)| text)
        .ok_or_else(|| anyhow::anyhow!("get s3://{bucket}/{key}: listed, but gone"))
}

/// The cold start's read. The listing, the artifact and the configuration
/// are requested at once (one S3 round trip), and the artifact is compiled
/// as soon as it arrives, while the other answers are on their way; when
/// its recorded MD5s match the rule files' listed ETags, that is all.
/// Otherwise (no artifact, a stale one, ETags that are no MD5 because of KMS
/// encryption or a multipart upload) only the YAML is read next; a file
/// replaced between the requests has every file read again.
pub(crate) async fn load(s3: &aws_sdk_s3::Client, at: &S3Location) -> anyhow::Result<RuleFiles> {
    let artifact_key = format!("{}{}", at.prefix, switchyard_rules::ARTIFACT_FILE);
    let config_key = format!("{}{CONFIG_FILE}", at.prefix);
    let compiled_artifact = async {
        let Some((text, etag)) = get_object(s3, &at.bucket, &artifact_key).await? else {
            return Ok(None);
        };
        let at = at.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            switchyard_rules::read_artifact(&text, |name| at.name_uri(name))
        })
        .await
        .context("compiling the rule artifact")?;
        anyhow::Ok(Some((compiled, etag)))
    };
    let (listing, artifact, config) = tokio::try_join!(
        list(s3, at),
        compiled_artifact,
        get_object(s3, &at.bucket, &config_key)
    )?;
    let artifact = Prefetched {
        key: artifact_key,
        object: artifact,
    };
    let config = Prefetched {
        key: config_key,
        object: config,
    };
    match settle(at, &listing, artifact, config) {
        FirstRead::Done(files) => Ok(files),
        FirstRead::NeedsYaml { config, artifact } => {
            fetch(s3, at, listing, Some(Known { config, artifact })).await
        }
        FirstRead::Raced => fetch(s3, at, listing, None).await,
    }
}

/// What the first round trip settled.
enum FirstRead {
    /// The artifact matches the listed ETags: nothing else to read.
    Done(RuleFiles),
    /// The YAML is needed; what was read is the listed configuration and artifact.
    NeedsYaml {
        config: Option<(String, String)>,
        artifact: Option<ReadArtifact>,
    },
    /// The artifact or the configuration changed after the listing.
    Raced,
}

/// The configuration (URI, text) and the artifact as read, for [`fetch`].
struct Known {
    config: Option<(String, String)>,
    artifact: Option<ReadArtifact>,
}

/// An object read beside the listing (as `T`), with its ETag.
struct Prefetched<T> {
    key: String,
    object: Option<(T, Option<String>)>,
}

/// The artifact as read: compiled, or why it could not be.
type ReadArtifact = Result<switchyard_rules::CompiledArtifact, String>;

impl<T> Prefetched<T> {
    /// Whether what was read is what the listing shows (absent from both counts).
    fn as_listed(&self, listing: &Listing) -> bool {
        match (&self.object, listing.get(&self.key)) {
            (None, None) => true,
            (Some((_, Some(etag))), Some(listed)) => etag == listed,
            _ => false,
        }
    }
}

/// The rule files from the artifact alone when the artifact and the
/// configuration are the listed ones and every listed rule file's ETag is
/// the MD5 the artifact was compiled from.
fn settle(
    at: &S3Location,
    listing: &Listing,
    artifact: Prefetched<ReadArtifact>,
    config: Prefetched<String>,
) -> FirstRead {
    if !artifact.as_listed(listing) || !config.as_listed(listing) {
        return FirstRead::Raced;
    }
    let config = config.object.map(|(text, _)| (at.uri(&config.key), text));
    let artifact = artifact.object.map(|(compiled, _)| compiled);
    let fits = match &artifact {
        Some(Ok(compiled)) => {
            let mismatch = match listed_md5s(at, listing) {
                Some(digests) => compiled.md5_mismatch(&digests),
                None => Some("a rule file's ETag is not its MD5".to_string()),
            };
            if let Some(reason) = &mismatch {
                tracing::debug!(%reason, "the listed ETags do not match the compiled rules; reading the YAML");
            }
            mismatch.is_none()
        }
        _ => false,
    };
    match artifact {
        Some(Ok(compiled)) if fits => FirstRead::Done(RuleFiles {
            config,
            rules: compiled.into_rules(),
            listing: listing.clone(),
            origin: RulesOrigin::ArtifactByEtag,
        }),
        artifact => FirstRead::NeedsYaml { config, artifact },
    }
}

/// Each listed rule file's name and MD5, when every ETag is one.
fn listed_md5s(at: &S3Location, listing: &Listing) -> Option<Vec<switchyard_rules::SourceDigest>> {
    listing
        .iter()
        .filter(|(key, _)| is_rule_file(at.file_name(key)))
        .map(|(key, etag)| {
            Some(switchyard_rules::SourceDigest {
                name: at.file_name(key).to_string(),
                md5: plain_md5(etag)?,
            })
        })
        .collect()
}

/// The MD5 an ETag is when the object was put in one part without KMS:
/// 32 hex digits in quotes (a multipart ETag ends in `-<parts>`).
fn plain_md5(etag: &str) -> Option<String> {
    let hex = etag.trim_matches('"');
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Fetch the files of `listing` at once (one S3 round trip, not one per
/// file), all of them or, with `known`, the rule files alone, then parse
/// them in key order so rule order, and so priority ties, do not depend on
/// which answer came first. Rule errors name the S3 URI, line and column.
async fn fetch(
    s3: &aws_sdk_s3::Client,
    at: &S3Location,
    listing: Listing,
    known: Option<Known>,
) -> anyhow::Result<RuleFiles> {
    let wanted: Vec<&String> = listing
        .keys()
        .filter(|key| known.is_none() || is_rule_file(at.file_name(key)))
        .collect();
    let texts =
        futures_util::future::try_join_all(wanted.iter().map(|key| get_text(s3, &at.bucket, key)))
            .await?;
    let (mut config, mut artifact) = match known {
        Some(Known { config, artifact }) => (config, artifact),
        None => (None, None),
    };
    let mut sources = Vec::new();
    for (key, text) in wanted.into_iter().zip(texts) {
        let uri = at.uri(key);
        let name = at.file_name(key);
        if name == CONFIG_FILE {
            config = Some((uri, text));
        } else if name == switchyard_rules::ARTIFACT_FILE {
            artifact = Some(switchyard_rules::read_artifact(&text, |name| {
                at.name_uri(name)
            }));
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
    let (rules, used) = switchyard_rules::load_compiled_sources(&sources, artifact)?;
    if let switchyard_rules::ArtifactUse::Stale(reason) = &used {
        tracing::warn!(rules = %at, %reason, "compiled rules ignored: the YAML was loaded instead (run `switchyard rules compile` and upload its output)");
    }
    let origin = match used {
        switchyard_rules::ArtifactUse::Used => RulesOrigin::Artifact,
        _ => RulesOrigin::Yaml,
    };
    Ok(RuleFiles {
        config,
        rules,
        listing,
        origin,
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
        // Read as a cold start reads: the artifact alone while it matches.
        let files = match load(&self.s3, &self.at).await {
            Ok(files) => files,
            Err(err) => {
                // Retried at the next check: the cause may be passing.
                tracing::error!(error = %err, "changed rule files do not load; keeping the current rules");
                return None;
            }
        };
        state.1 = files.listing;
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
    fn only_a_single_part_etag_is_an_md5() {
        let md5 = "21d1df84c53adeea86ecd80921117ad4";
        assert_eq!(plain_md5(&format!("\"{md5}\"")).as_deref(), Some(md5));
        assert_eq!(
            plain_md5(&format!("\"{}\"", md5.to_uppercase())).as_deref(),
            Some(md5)
        );
        assert_eq!(plain_md5(&format!("\"{md5}-2\"")), None, "multipart");
        assert_eq!(plain_md5("\"not-an-md5\""), None);
        assert_eq!(plain_md5(""), None);
    }

    #[test]
    fn a_prefetched_object_counts_only_as_listed() {
        let listing = Listing::from([("p/rules.compiled.json".to_string(), "\"e1\"".to_string())]);
        let read = |etag: Option<&str>| Prefetched::<String> {
            key: "p/rules.compiled.json".into(),
            object: Some(("{}".into(), etag.map(str::to_string))),
        };
        assert!(read(Some("\"e1\"")).as_listed(&listing));
        assert!(
            !read(Some("\"e2\"")).as_listed(&listing),
            "replaced meanwhile"
        );
        assert!(!read(None).as_listed(&listing), "no ETag to compare");
        let absent = |key: &str| Prefetched::<String> {
            key: key.into(),
            object: None,
        };
        assert!(absent("p/gateway.toml").as_listed(&listing));
        assert!(
            !absent("p/rules.compiled.json").as_listed(&listing),
            "deleted meanwhile"
        );
    }

    #[test]
    fn the_artifact_alone_serves_when_the_listing_matches_it() {
        let at: S3Location = "s3://rules-bucket/p/".parse().expect("uri");
        let yaml = "rules:\n  - name: stop\n    condition:\n      field: action.tenant\n      eq: x\n    action:\n      type: deny\n";
        let (_, artifact) = switchyard_rules::compile_artifact(&[switchyard_rules::RuleSource {
            name: "a.yaml".into(),
            label: "a.yaml".into(),
            text: yaml.into(),
        }])
        .expect("compile");
        let recorded: serde_json::Value = serde_json::from_str(&artifact).expect("json");
        let md5 = recorded["files"][0]["md5"]
            .as_str()
            .expect("md5")
            .to_string();
        let listing = |yaml_etag: &str, config: bool| {
            let mut listing = Listing::from([
                ("p/a.yaml".to_string(), format!("\"{yaml_etag}\"")),
                ("p/rules.compiled.json".to_string(), "\"art\"".to_string()),
            ]);
            if config {
                listing.insert("p/gateway.toml".into(), "\"cfg\"".into());
            }
            listing
        };
        let prefetched = |config: Option<&str>| {
            let compiled = switchyard_rules::read_artifact(&artifact, |name| {
                format!("s3://rules-bucket/p/{name}")
            });
            (
                Prefetched {
                    key: "p/rules.compiled.json".into(),
                    object: Some((compiled, Some("\"art\"".into()))),
                },
                Prefetched {
                    key: "p/gateway.toml".into(),
                    object: config.map(|text| (text.to_string(), Some("\"cfg\"".to_string()))),
                },
            )
        };

        let (art, cfg) = prefetched(Some("[rules]\n"));
        let FirstRead::Done(files) = settle(&at, &listing(&md5, true), art, cfg) else {
            panic!("served from the artifact");
        };
        assert_eq!(files.origin, RulesOrigin::ArtifactByEtag);
        assert_eq!(files.rules.len(), 1);
        assert_eq!(&*files.rules[0].source.file, "s3://rules-bucket/p/a.yaml");
        assert_eq!(
            files.config,
            Some((
                "s3://rules-bucket/p/gateway.toml".into(),
                "[rules]\n".into()
            ))
        );

        let (art, cfg) = prefetched(None);
        assert!(
            matches!(
                settle(&at, &listing(&md5, false), art, cfg),
                FirstRead::Done(_)
            ),
            "no config"
        );
        let (art, cfg) = prefetched(None);
        assert!(
            matches!(
                settle(&at, &listing(&md5, true), art, cfg),
                FirstRead::Raced
            ),
            "a configuration listed but not read"
        );
        // An edited rule file: only the YAML is read next; the artifact as
        // compiled and the configuration are kept for the SHA-256 check.
        let (art, cfg) = prefetched(Some("[rules]\n"));
        let FirstRead::NeedsYaml { config, artifact } = settle(
            &at,
            &listing("0123456789abcdef0123456789abcdef", true),
            art,
            cfg,
        ) else {
            panic!("an edited rule file needs the YAML");
        };
        assert!(config.is_some(), "the configuration as read");
        assert!(matches!(artifact, Some(Ok(_))), "the artifact as compiled");
    }

    #[test]
    fn refuses_what_is_not_an_s3_uri() {
        assert!("https://my-rules/x".parse::<S3Location>().is_err());
        assert!("s3://My_Rules/x".parse::<S3Location>().is_err());
        assert!("s3://ab".parse::<S3Location>().is_err());
    }
}
