//! Reading rule files and directories.

use std::path::Path;
use std::sync::Arc;

use crate::artifact::{ARTIFACT_FILE, ArtifactUse, RuleSource, load_sources};
use crate::compile::Compiler;
use crate::engine::Rule;
use crate::error::{RuleError, SourceLocation};
use crate::raw::{RawFile, RawRule};
use serde_saphyr::Spanned;

/// Parse and compile the rules of one YAML document; `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let file: Arc<str> = Arc::from(file);
    let mut compiler = Compiler::new(&file);
    parse_str(&file, text)?
        .into_iter()
        .map(|rule| compiler.rule(rule))
        .collect()
}

/// The rules of one YAML document as written, with their locations.
pub(crate) fn parse_str(file: &Arc<str>, text: &str) -> Result<Vec<Spanned<RawRule>>, RuleError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Vec::new());
    }
    let raw: RawFile = serde_saphyr::from_str(text).map_err(|err| {
        let (line, column) = err
            .location()
            .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
        RuleError {
            location: SourceLocation {
                file: file.clone(),
                line,
                column,
            },
            rule: None,
            message: first_line(&err.to_string()),
        }
    })?;
    Ok(raw.rules)
}

/// Load every `*.yaml` / `*.yml` file directly in `dir`, in file-name order (so
/// ties in priority are broken the same way on every machine). A compiled
/// artifact beside them (`switchyard rules compile`) is used when it was made
/// from exactly these files by this version; otherwise the YAML is parsed
/// and a stale artifact is named in a warning.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    let (sources, artifact) = read_dir(dir)?;
    let (rules, used) = load_sources(&sources, artifact.as_deref())?;
    if let ArtifactUse::Stale(reason) = used {
        tracing::warn!(directory = %dir.display(), %reason, "compiled rules ignored: the YAML was loaded instead (run `switchyard rules compile`)");
    }
    Ok(rules)
}

/// The rule files of `dir`, in file-name order, and the compiled artifact's
/// text if there is one.
pub fn read_dir(dir: &Path) -> Result<(Vec<RuleSource>, Option<String>), RuleError> {
    let dir_error = |message: String| RuleError::whole_file(&dir.display().to_string(), message);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| dir_error(format!("cannot read rules directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| dir_error(format!("cannot read rules directory: {e}")))?
            .path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| {
            RuleError::whole_file(
                &path.display().to_string(),
                format!("cannot read file: {e}"),
            )
        })
    };
    let mut sources = Vec::new();
    for path in files {
        sources.push(RuleSource {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            label: path.display().to_string(),
            text: read(&path)?,
        });
    }
    let artifact_path = dir.join(ARTIFACT_FILE);
    let artifact = if artifact_path.is_file() {
        Some(read(&artifact_path)?)
    } else {
        None
    };
    Ok((sources, artifact))
}

/// serde-saphyr appends a source snippet on later lines; our error already
/// carries file, line and column.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}
