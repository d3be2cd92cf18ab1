//! Compiled conditions and their evaluation.

use std::cmp::Ordering;

use regex::Regex;

use crate::path::{FieldPath, Resolved};
use crate::value::{self, Literal};

#[derive(Debug, Clone)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// A field predicate: every operator must hold.
    Field {
        path: FieldPath,
        operators: Vec<Operator>,
    },
}

#[derive(Debug, Clone)]
pub enum Operator {
    Eq(Literal),
    Ne(Literal),
    Gt(Literal),
    Gte(Literal),
    Lt(Literal),
    Lte(Literal),
    Contains(Literal),
    StartsWith(String),
    EndsWith(String),
    Matches(Regex),
    InList(Vec<Literal>),
    NotInList(Vec<Literal>),
    Exists(bool),
}

/// Where a condition reads its fields from.
pub trait Fields {
    fn resolve(&self, path: &FieldPath) -> Option<Resolved<'_>>;
}

impl Condition {
    pub fn evaluate(&self, fields: &impl Fields) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.evaluate(fields)),
            Condition::Any(items) => items.iter().any(|c| c.evaluate(fields)),
            Condition::Not(inner) => !inner.evaluate(fields),
            Condition::Field { path, operators } => {
                let value = fields.resolve(path);
                operators.iter().all(|op| op.holds(value))
            }
        }
    }

    /// Whether any predicate reads `time.*` (such rules cannot be pre-filtered by time).
    pub fn uses_time(&self) -> bool {
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().any(Condition::uses_time),
            Condition::Not(inner) => inner.uses_time(),
            Condition::Field { path, .. } => path.is_time(),
        }
    }
}

impl Operator {
    /// A missing field reads as null (Acteon's engine): `eq`, `ne`,
    /// `in_list` and `not_in_list` compare it like any value, so `ne: true`
    /// holds and "unless attested" rules do not fail open; `exists` tests for
    /// non-null; every other operator is false on it.
    pub fn holds(&self, value: Option<Resolved<'_>>) -> bool {
        let Some(value) = value else {
            return match self {
                Operator::Eq(lit) => lit.is_null(),
                Operator::Ne(lit) => !lit.is_null(),
                Operator::InList(items) => items.iter().any(Literal::is_null),
                Operator::NotInList(items) => !items.iter().any(Literal::is_null),
                Operator::Exists(expected) => !expected,
                _ => false,
            };
        };
        match self {
            Operator::Eq(lit) => value::equals(value, lit),
            Operator::Ne(lit) => !value::equals(value, lit),
            Operator::Gt(lit) => value::compare(value, lit) == Some(Ordering::Greater),
            Operator::Gte(lit) => matches!(
                value::compare(value, lit),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            Operator::Lt(lit) => value::compare(value, lit) == Some(Ordering::Less),
            Operator::Lte(lit) => matches!(
                value::compare(value, lit),
                Some(Ordering::Less | Ordering::Equal)
            ),
            Operator::Contains(lit) => value::contains(value, lit),
            Operator::StartsWith(prefix) => {
                value::as_str(value).is_some_and(|s| s.starts_with(prefix.as_str()))
            }
            Operator::EndsWith(suffix) => {
                value::as_str(value).is_some_and(|s| s.ends_with(suffix.as_str()))
            }
            Operator::Matches(regex) => value::as_str(value).is_some_and(|s| regex.is_match(s)),
            Operator::InList(items) => items.iter().any(|lit| value::equals(value, lit)),
            Operator::NotInList(items) => !items.iter().any(|lit| value::equals(value, lit)),
            Operator::Exists(expected) => *expected != value::is_null(value),
        }
    }
}
