//! Reading rule files and directories.

use std::path::Path;
use std::sync::Arc;

use crate::compile::Compiler;
use crate::engine::Rule;
use crate::error::{RuleError, SourceLocation};
use crate::raw::RawFile;

/// Parse and compile the rules of one YAML document; `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let file: Arc<str> = Arc::from(file);
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
    let mut compiler = Compiler::new(&file);
    raw.rules
        .into_iter()
        .map(|rule| compiler.rule(rule))
        .collect()
}

/// Load every `*.yaml` / `*.yml` file directly in `dir`, in file-name order (so
/// ties in priority are broken the same way on every machine).
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    let dir_error = |message: String| RuleError {
        location: SourceLocation {
            file: Arc::from(dir.display().to_string()),
            line: 0,
            column: 0,
        },
        rule: None,
        message,
    };
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
    let mut rules = Vec::new();
    for path in files {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| RuleError {
            location: SourceLocation {
                file: Arc::from(label.as_str()),
                line: 0,
                column: 0,
            },
            rule: None,
            message: format!("cannot read file: {e}"),
        })?;
        rules.extend(load_str(&label, &text)?);
    }
    Ok(rules)
}

/// serde-saphyr appends a source snippet on later lines; our error already
/// carries file, line and column.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}
