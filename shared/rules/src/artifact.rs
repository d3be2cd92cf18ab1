//! A compiled rule set: the rule files as parsed, saved as JSON beside them
//! (`rules.compiled.json`, written by `switchyard rules compile`). Reading it
//! skips the YAML parser, most of a large rule set's start-up. The YAML stays
//! the source of truth: the artifact names each file's SHA-256 and MD5 and
//! the version that wrote it, and anything else (an edited, added or removed
//! file, another version, an unreadable artifact) falls back to the YAML.
//! The MD5 is what S3 lists as the ETag of a file put in one part, so a
//! cold start from S3 can check the files without reading them.

use std::sync::Arc;

use md5::Md5;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use crate::compile::Compiler;
use crate::engine::Rule;
use crate::error::{RuleError, SourceLocation};
use crate::loader::{load_str, parse_str};
use crate::raw::RawRule;

/// The artifact's file name, next to the rule files.
pub const ARTIFACT_FILE: &str = "rules.compiled.json";
/// Raised when the artifact's shape changes.
const FORMAT: u32 = 2;
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One rule file: `name` (its file name, or the last part of its S3 key) is
/// what the artifact records; `label` is what errors and rules call it.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub name: String,
    pub label: String,
    pub text: String,
}

/// What loading made of the artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactUse {
    Used,
    Absent,
    /// Present but not for these files or this version: why.
    Stale(String),
}

#[derive(Serialize, Deserialize)]
struct Artifact<R> {
    format: u32,
    version: String,
    files: Vec<ArtifactFile<R>>,
}

#[derive(Serialize, Deserialize)]
struct ArtifactFile<R> {
    name: String,
    sha256: String,
    /// Hex, as an S3 ETag without its quotes.
    md5: String,
    rules: Vec<ArtifactRule<R>>,
}

/// A rule as parsed, and where it starts (the artifact keeps no other
/// location: a file that compiled has no error left to point at).
#[derive(Serialize, Deserialize)]
struct ArtifactRule<R> {
    line: u64,
    column: u64,
    rule: R,
}

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

fn md5(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// A rule file known by name and MD5 (its S3 ETag), without its text.
#[derive(Debug, Clone)]
pub struct SourceDigest {
    pub name: String,
    /// Lowercase hex.
    pub md5: String,
}

/// An artifact read and compiled, not yet checked against the files it was
/// made from: reading can start before the files are known (a cold start
/// compiles it while its S3 listing is on the way).
pub struct CompiledArtifact {
    files: Vec<FileDigests>,
    rules: Vec<Rule>,
}

/// What the artifact recorded of one file.
struct FileDigests {
    name: String,
    sha256: String,
    md5: String,
}

/// Parse and compile `sources` from their YAML, and write the artifact for
/// them. The artifact is read back before it is returned and must compile to
/// exactly the same rules; if it does not, no artifact is made.
pub fn compile_artifact(sources: &[RuleSource]) -> Result<(Vec<Rule>, String), RuleError> {
    let mut rules = Vec::new();
    let mut files = Vec::new();
    for source in sources {
        let label: Arc<str> = Arc::from(source.label.as_str());
        let mut compiler = Compiler::new(&label);
        let mut written = Vec::new();
        for raw in parse_str(&label, &source.text)? {
            let rule = serde_json::to_value(&raw.value).map_err(|e| {
                RuleError::whole_file(
                    &source.label,
                    format!("cannot write the compiled form: {e}"),
                )
            })?;
            written.push(ArtifactRule {
                line: raw.referenced.line(),
                column: raw.referenced.column(),
                rule,
            });
            rules.push(compiler.rule(raw)?);
        }
        files.push(ArtifactFile {
            name: source.name.clone(),
            sha256: sha256(&source.text),
            md5: md5(&source.text),
            rules: written,
        });
    }
    let artifact = Artifact::<Value> {
        format: FORMAT,
        version: VERSION.to_string(),
        files,
    };
    let text = serde_json::to_string(&artifact).map_err(|e| {
        RuleError::whole_file(
            first_label(sources),
            format!("cannot write the compiled form: {e}"),
        )
    })?;
    match from_artifact(sources, &text) {
        Ok(back) if format!("{back:?}") == format!("{rules:?}") => Ok((rules, text)),
        Ok(_) => Err(not_same(sources, "its rules differ from the YAML's".into())),
        Err(reason) => Err(not_same(sources, reason)),
    }
}

/// What an error about the rule set as a whole names: its first file.
fn first_label(sources: &[RuleSource]) -> &str {
    sources.first().map_or("", |s| s.label.as_str())
}

fn not_same(sources: &[RuleSource], reason: String) -> RuleError {
    RuleError::whole_file(
        first_label(sources),
        format!(
            "the compiled form does not read back as the YAML ({reason}); no artifact written, the YAML is used as it is"
        ),
    )
}

/// The rules of `sources`: from `artifact` when it was made from exactly
/// these files by this version, else from their YAML.
pub fn load_sources(
    sources: &[RuleSource],
    artifact: Option<&str>,
) -> Result<(Vec<Rule>, ArtifactUse), RuleError> {
    let compiled = artifact.map(|text| read_artifact(text, |name| label_in(sources, name)));
    load_compiled_sources(sources, compiled)
}

/// [`load_sources`] with the artifact already read (or why it could not be).
pub fn load_compiled_sources(
    sources: &[RuleSource],
    artifact: Option<Result<CompiledArtifact, String>>,
) -> Result<(Vec<Rule>, ArtifactUse), RuleError> {
    let used = match artifact {
        None => ArtifactUse::Absent,
        Some(Err(reason)) => ArtifactUse::Stale(reason),
        Some(Ok(compiled)) => match compiled.sha256_mismatch(sources) {
            None => return Ok((compiled.into_rules(), ArtifactUse::Used)),
            Some(reason) => ArtifactUse::Stale(reason),
        },
    };
    let mut rules = Vec::new();
    for source in sources {
        rules.extend(load_str(&source.label, &source.text)?);
    }
    Ok((rules, used))
}

/// Read and compile an artifact written by this version; `label_of(name)`
/// is what a file's rules are said to come from.
pub fn read_artifact(
    text: &str,
    label_of: impl Fn(&str) -> String,
) -> Result<CompiledArtifact, String> {
    let artifact: Artifact<RawRule> =
        serde_json::from_str(text).map_err(|e| format!("{ARTIFACT_FILE} does not read: {e}"))?;
    if artifact.format != FORMAT || artifact.version != VERSION {
        return Err(format!(
            "{ARTIFACT_FILE} was written by version {} (format {}), this is {VERSION} (format {FORMAT})",
            artifact.version, artifact.format
        ));
    }
    let mut files = Vec::with_capacity(artifact.files.len());
    let mut rules = Vec::new();
    for file in artifact.files {
        let label: Arc<str> = Arc::from(label_of(&file.name));
        let mut compiler = Compiler::new(&label);
        for ArtifactRule { line, column, rule } in file.rules {
            let spanned = Spanned::new(rule, Location::UNKNOWN, Location::UNKNOWN);
            let mut compiled = compiler
                .rule(spanned)
                .map_err(|e| format!("{ARTIFACT_FILE} does not compile: {e}"))?;
            compiled.source = SourceLocation {
                file: label.clone(),
                line,
                column,
            };
            rules.push(compiled);
        }
        files.push(FileDigests {
            name: file.name,
            sha256: file.sha256,
            md5: file.md5,
        });
    }
    Ok(CompiledArtifact { files, rules })
}

impl CompiledArtifact {
    /// Why it was not made from files with exactly these names and MD5s, in
    /// this order (an S3 listing's ETags: no YAML is read); `None` when it was.
    pub fn md5_mismatch(&self, files: &[SourceDigest]) -> Option<String> {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        self.mismatch(&names, |i, file| file.md5 == files[i].md5)
    }

    /// Why it was not made from exactly these files' text; `None` when it was.
    pub fn sha256_mismatch(&self, sources: &[RuleSource]) -> Option<String> {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        self.mismatch(&names, |i, file| file.sha256 == sha256(&sources[i].text))
    }

    /// Its rules (after a check said they are the files').
    pub fn into_rules(self) -> Vec<Rule> {
        self.rules
    }

    /// Why its files are not `names` with `unchanged(index, file)` for each.
    fn mismatch(
        &self,
        names: &[&str],
        unchanged: impl Fn(usize, &FileDigests) -> bool,
    ) -> Option<String> {
        if self.files.len() != names.len()
            || self
                .files
                .iter()
                .zip(names)
                .any(|(file, name)| file.name != *name)
        {
            let compiled: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
            return Some(format!(
                "{ARTIFACT_FILE} was compiled from [{}], the rule files are [{}]",
                compiled.join(", "),
                names.join(", ")
            ));
        }
        (0..names.len())
            .find(|&i| !unchanged(i, &self.files[i]))
            .map(|index| format!("{} changed since it was compiled", names[index]))
    }
}

/// The label of the source named `name` (the name itself if there is none).
fn label_in(sources: &[RuleSource], name: &str) -> String {
    sources
        .iter()
        .find(|s| s.name == name)
        .map_or_else(|| name.to_string(), |s| s.label.clone())
}

/// The artifact's rules, or why it does not fit `sources`.
fn from_artifact(sources: &[RuleSource], text: &str) -> Result<Vec<Rule>, String> {
    let compiled = read_artifact(text, |name| label_in(sources, name))?;
    match compiled.sha256_mismatch(sources) {
        None => Ok(compiled.into_rules()),
        Some(reason) => Err(reason),
    }
}
