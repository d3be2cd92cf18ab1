//! Rule-loading errors that point at the file, line and column.

use std::fmt;
use std::sync::Arc;

/// Where something was written: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: Arc<str>,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A rule file that cannot be loaded. Displays as
/// `rules/x.yaml:12:9: rule 'name': message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    pub location: SourceLocation,
    pub rule: Option<String>,
    pub message: String,
}

impl RuleError {
    /// An error about a whole file or directory, with no line to point at.
    pub fn whole_file(file: &str, message: String) -> Self {
        RuleError {
            location: SourceLocation {
                file: Arc::from(file),
                line: 0,
                column: 0,
            },
            rule: None,
            message,
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule '{rule}': ")?;
        }
        f.write_str(&self.message)
    }
}
