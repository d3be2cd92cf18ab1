//! Comparison semantics of rule predicates.
//!
//! Numbers compare numerically whatever their JSON representation (integer or
//! float). Ordering operators also accept a numeric string on either side (a
//! payload carrying `"149.99"` still compares with `gt: 100`). A comparison of
//! incompatible types is simply false, never an error.

use std::cmp::Ordering;

use serde_json::Value;

use crate::path::Resolved;

/// A literal from a rule file, with its scalar form pre-computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub json: Value,
    scalar: Scalar,
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Num(Num),
    Str(Box<str>, Option<f64>),
    Compound,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn from_json(n: &serde_json::Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

impl Literal {
    pub fn new(json: Value) -> Literal {
        let scalar = match &json {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => Scalar::Num(Num::from_json(n)),
            Value::String(s) => Scalar::Str(s.as_str().into(), s.trim().parse::<f64>().ok()),
            Value::Array(_) | Value::Object(_) => Scalar::Compound,
        };
        Literal { json, scalar }
    }

    pub fn is_null(&self) -> bool {
        self.scalar == Scalar::Null
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.scalar {
            Scalar::Str(s, _) => Some(s),
            _ => None,
        }
    }
}

/// A present field holding JSON null.
pub fn is_null(value: Resolved<'_>) -> bool {
    matches!(value, Resolved::Json(Value::Null))
}

/// A field value seen through the comparison rules.
#[derive(Debug, Clone, Copy)]
enum View<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
    Compound(&'a Value),
}

fn view(resolved: Resolved<'_>) -> View<'_> {
    match resolved {
        Resolved::Str(s) => View::Str(s),
        Resolved::Int(i) => View::Num(Num::Int(i)),
        Resolved::Json(value) => match value {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Num(Num::from_json(n)),
            Value::String(s) => View::Str(s),
            Value::Array(_) | Value::Object(_) => View::Compound(value),
        },
    }
}

pub fn equals(field: Resolved<'_>, literal: &Literal) -> bool {
    match (view(field), &literal.scalar) {
        (View::Null, Scalar::Null) => true,
        (View::Bool(a), Scalar::Bool(b)) => a == *b,
        (View::Num(a), Scalar::Num(b)) => a.cmp(*b) == Some(Ordering::Equal),
        (View::Str(a), Scalar::Str(b, _)) => a == &**b,
        (View::Compound(a), Scalar::Compound) => json_equal(a, &literal.json),
        _ => false,
    }
}

/// The JSON type of a field's value, for error messages.
pub fn type_name(field: Resolved<'_>) -> &'static str {
    match view(field) {
        View::Null => "null",
        View::Bool(_) => "a boolean",
        View::Num(_) => "a number",
        View::Str(_) => "a string",
        View::Compound(Value::Array(_)) => "an array",
        View::Compound(_) => "an object",
    }
}

/// Ordering of field against literal, when the two are comparable.
pub fn compare(field: Resolved<'_>, literal: &Literal) -> Option<Ordering> {
    match (view(field), &literal.scalar) {
        (View::Num(a), Scalar::Num(b)) => a.cmp(*b),
        (View::Str(a), Scalar::Str(b, _)) => {
            match (a.trim().parse::<f64>().ok(), literal_num(literal)) {
                // Two numeric strings compare as numbers ("10" > "9").
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => Some(a.cmp(b)),
            }
        }
        (View::Num(a), Scalar::Str(_, Some(b))) => a.as_f64().partial_cmp(b),
        (View::Str(a), Scalar::Num(b)) => a.trim().parse::<f64>().ok()?.partial_cmp(&b.as_f64()),
        _ => None,
    }
}

fn literal_num(literal: &Literal) -> Option<f64> {
    match &literal.scalar {
        Scalar::Num(n) => Some(n.as_f64()),
        Scalar::Str(_, n) => *n,
        _ => None,
    }
}

/// `contains`: substring for strings, element membership for lists.
pub fn contains(field: Resolved<'_>, literal: &Literal) -> bool {
    match view(field) {
        View::Str(haystack) => literal
            .as_str()
            .is_some_and(|needle| haystack.contains(needle)),
        View::Compound(Value::Array(items)) => items
            .iter()
            .any(|item| equals(Resolved::Json(item), literal)),
        _ => false,
    }
}

pub fn as_str(field: Resolved<'_>) -> Option<&str> {
    match view(field) {
        View::Str(s) => Some(s),
        _ => None,
    }
}

/// Structural equality with numbers compared numerically.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            Num::from_json(x).cmp(Num::from_json(y)) == Some(Ordering::Equal)
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| json_equal(x, y)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lit(v: Value) -> Literal {
        Literal::new(v)
    }

    #[test]
    fn numbers_compare_numerically_across_representations() {
        let field = json!(50000.0);
        assert!(equals(Resolved::Json(&field), &lit(json!(50000))));
        assert_eq!(
            compare(Resolved::Json(&json!(86)), &lit(json!(85.5))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(Resolved::Json(&json!("149.99")), &lit(json!(100))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(Resolved::Int(9), &lit(json!(9))),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn equality_is_typed() {
        assert!(!equals(Resolved::Json(&json!("50000")), &lit(json!(50000))));
        assert!(!equals(Resolved::Json(&json!("true")), &lit(json!(true))));
        assert!(equals(Resolved::Json(&json!(false)), &lit(json!(false))));
        assert!(equals(Resolved::Json(&json!(null)), &lit(json!(null))));
        assert!(equals(
            Resolved::Json(&json!({"a": [1, 2.0]})),
            &lit(json!({"a": [1.0, 2]}))
        ));
    }

    #[test]
    fn incomparable_types_are_not_an_error() {
        assert_eq!(compare(Resolved::Json(&json!(true)), &lit(json!(1))), None);
        assert_eq!(compare(Resolved::Json(&json!("abc")), &lit(json!(1))), None);
        assert_eq!(compare(Resolved::Json(&json!(null)), &lit(json!(1))), None);
    }

    #[test]
    fn contains_strings_and_lists() {
        assert!(contains(Resolved::Str("hello world"), &lit(json!("lo w"))));
        assert!(contains(Resolved::Json(&json!(["a", 2])), &lit(json!(2.0))));
        assert!(!contains(Resolved::Json(&json!(5)), &lit(json!(5))));
    }
}
