//! Switchyard's rules engine.
//!
//! Rule files use Acteon's YAML format unchanged. They are parsed with source
//! locations ([`raw`]), compiled once into typed conditions with pre-parsed field
//! paths, literals and regexes ([`compile`]), and evaluated through an index on
//! the fields rules require to be equal ([`engine`]), so that a large rule set
//! costs little more than a small one.

pub mod action;
pub mod artifact;
pub mod compile;
pub mod condition;
pub mod engine;
pub mod error;
pub mod loader;
pub mod path;
pub mod raw;
pub mod time;
pub mod trace;
pub mod value;

pub use action::RuleAction;
pub use artifact::{
    ARTIFACT_FILE, ArtifactUse, CompiledArtifact, RuleSource, SourceDigest, compile_artifact,
    load_compiled_sources, load_sources, read_artifact,
};
pub use condition::{Condition, OnTypeError, TypeMismatch};
pub use engine::{EvalContext, EvaluationMode, Rule, RuleSet, RuleSummary, RuleTypeError};
pub use error::{RuleError, SourceLocation};
pub use loader::{load_dir, load_str, read_dir};
pub use path::FieldPath;
pub use time::parse_timezone;
pub use trace::ConditionTrace;
