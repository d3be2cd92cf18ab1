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
        /// The path as written (`action.payload.total_cents`), for errors.
        name: String,
        path: FieldPath,
        operators: Vec<Operator>,
    },
}

/// A comparison whose field has the wrong type for its operator (Acteon's
/// engine fails the evaluation there; see [`OnTypeError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The field as the rule names it.
    pub field: String,
    pub operator: &'static str,
    /// What the action holds there: `null` (missing), `string`, `array`…
    pub found: &'static str,
}

impl std::fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "'{}' is {} here, which `{}` cannot compare",
            self.field, self.found, self.operator
        )
    }
}

/// What a comparison on a value of the wrong type does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTypeError {
    /// The predicate is false and evaluation goes on (the default).
    #[default]
    False,
    /// The evaluation fails: the action is refused and nothing executes.
    Reject,
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
            Condition::Field {
                path, operators, ..
            } => {
                let value = fields.resolve(path);
                operators.iter().all(|op| op.holds(value))
            }
        }
    }

    /// Evaluate in the same order as [`Condition::evaluate`] (and with the
    /// same short-circuits), but fail at the first comparison whose field
    /// has the wrong type for its operator.
    pub fn evaluate_strict(&self, fields: &impl Fields) -> Result<bool, TypeMismatch> {
        match self {
            Condition::All(items) => {
                for item in items {
                    if !item.evaluate_strict(fields)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Any(items) => {
                for item in items {
                    if item.evaluate_strict(fields)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(inner) => Ok(!inner.evaluate_strict(fields)?),
            Condition::Field {
                name,
                path,
                operators,
            } => {
                let value = fields.resolve(path);
                for op in operators {
                    if let Some(found) = op.type_error(value) {
                        return Err(TypeMismatch {
                            field: name.clone(),
                            operator: op.keyword(),
                            found,
                        });
                    }
                    if !op.holds(value) {
                        return Ok(false);
                    }
                }
                Ok(true)
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
    /// The operator's keyword in rule files.
    pub fn keyword(&self) -> &'static str {
        match self {
            Operator::Eq(_) => "eq",
            Operator::Ne(_) => "ne",
            Operator::Gt(_) => "gt",
            Operator::Gte(_) => "gte",
            Operator::Lt(_) => "lt",
            Operator::Lte(_) => "lte",
            Operator::Contains(_) => "contains",
            Operator::StartsWith(_) => "starts_with",
            Operator::EndsWith(_) => "ends_with",
            Operator::Matches(_) => "matches",
            Operator::InList(_) => "in_list",
            Operator::NotInList(_) => "not_in_list",
            Operator::Exists(_) => "exists",
        }
    }

    /// The type found, when this operator cannot compare the field's value
    /// (where Acteon's engine raises a type error): ordering operators on
    /// null or on values that do not order against the literal, string
    /// operators on non-strings. Equality, lists and `exists` take any type.
    pub fn type_error(&self, value: Option<Resolved<'_>>) -> Option<&'static str> {
        let found = || value.map_or("null (missing)", value::type_name);
        match self {
            Operator::Gt(lit) | Operator::Gte(lit) | Operator::Lt(lit) | Operator::Lte(lit) => {
                match value {
                    Some(v) if value::compare(v, lit).is_some() => None,
                    _ => Some(found()),
                }
            }
            Operator::StartsWith(_) | Operator::EndsWith(_) | Operator::Matches(_) => match value {
                Some(v) if value::as_str(v).is_some() => None,
                _ => Some(found()),
            },
            _ => None,
        }
    }

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
