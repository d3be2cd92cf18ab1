//! Why a condition holds or not, for people: the rule playground
//! (`POST /v1/rules/evaluate`) and `switchyard rules test`. Evaluation order
//! and short-circuits are those of [`Condition::evaluate`]; this walk only
//! remembers the first predicate that decided a `false`.

use serde_json::Value;

use crate::condition::{Condition, Fields, Operator};
use crate::engine::{EvalContext, Rule};
use crate::path::Resolved;
use crate::value::Literal;

/// A condition's result and, when false, the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionTrace {
    pub holds: bool,
    /// Why it is false: the first predicate that failed, in words.
    pub reason: Option<String>,
    /// That predicate's field as the rule names it.
    pub field: Option<String>,
}

impl ConditionTrace {
    fn held() -> Self {
        Self {
            holds: true,
            reason: None,
            field: None,
        }
    }

    fn failed(reason: String, field: Option<String>) -> Self {
        Self {
            holds: false,
            reason: Some(reason),
            field,
        }
    }
}

impl Rule {
    /// [`Rule::condition_holds`] with the reason when it does not.
    pub fn trace_condition(&self, ctx: &EvalContext<'_>) -> ConditionTrace {
        trace(&self.condition, &ctx.fields_for(self))
    }
}

fn trace(condition: &Condition, fields: &impl Fields) -> ConditionTrace {
    match condition {
        Condition::All(items) => {
            for item in items {
                let t = trace(item, fields);
                if !t.holds {
                    return t;
                }
            }
            ConditionTrace::held()
        }
        Condition::Any(items) => {
            let mut first: Option<ConditionTrace> = None;
            for item in items {
                let t = trace(item, fields);
                if t.holds {
                    return t;
                }
                first.get_or_insert(t);
            }
            match first {
                Some(t) => ConditionTrace::failed(
                    format!(
                        "none of the {} `any` alternatives held (the first: {})",
                        items.len(),
                        t.reason.unwrap_or_default()
                    ),
                    t.field,
                ),
                None => ConditionTrace::failed("`any` of nothing never holds".into(), None),
            }
        }
        Condition::Not(inner) => {
            if trace(inner, fields).holds {
                ConditionTrace::failed(
                    format!("`not`: its condition ({}) held", display(inner)),
                    None,
                )
            } else {
                ConditionTrace::held()
            }
        }
        Condition::Field {
            name,
            path,
            operators,
        } => {
            let value = fields.resolve(path);
            for op in operators {
                if !op.holds(value) {
                    return ConditionTrace::failed(
                        format!(
                            "{name} is {}, so `{} {}` is false",
                            found(value),
                            op.keyword(),
                            operand(op)
                        ),
                        Some(name.clone()),
                    );
                }
            }
            ConditionTrace::held()
        }
    }
}

/// What the action holds at a field, as JSON text (`missing` when absent).
fn found(value: Option<Resolved<'_>>) -> String {
    match value {
        None => "missing".into(),
        Some(Resolved::Str(s)) => Value::String(s.to_string()).to_string(),
        Some(Resolved::Int(i)) => i.to_string(),
        Some(Resolved::Json(v)) => {
            let text = v.to_string();
            // Keep traces readable when a whole object sits at the field.
            if text.chars().count() > 80 {
                format!("{}…", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn literal(l: &Literal) -> String {
    l.json.to_string()
}

fn operand(op: &Operator) -> String {
    match op {
        Operator::Eq(l)
        | Operator::Ne(l)
        | Operator::Gt(l)
        | Operator::Gte(l)
        | Operator::Lt(l)
        | Operator::Lte(l)
        | Operator::Contains(l) => literal(l),
        Operator::StartsWith(s) | Operator::EndsWith(s) => Value::String(s.clone()).to_string(),
        Operator::Matches(r) => Value::String(r.as_str().to_string()).to_string(),
        Operator::InList(items) | Operator::NotInList(items) => format!(
            "[{}]",
            items.iter().map(literal).collect::<Vec<_>>().join(", ")
        ),
        Operator::Exists(b) => b.to_string(),
    }
}

/// The condition in one line: `all(action.tenant eq "a", any(…))`.
pub fn display(condition: &Condition) -> String {
    let list = |items: &[Condition]| items.iter().map(display).collect::<Vec<_>>().join(", ");
    match condition {
        Condition::All(items) => format!("all({})", list(items)),
        Condition::Any(items) => format!("any({})", list(items)),
        Condition::Not(inner) => format!("not({})", display(inner)),
        Condition::Field {
            name, operators, ..
        } => operators
            .iter()
            .map(|op| format!("{name} {} {}", op.keyword(), operand(op)))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::load_str;

    fn rules(yaml: &str) -> Vec<Rule> {
        load_str("t.yaml", yaml).expect("rules")
    }

    #[test]
    fn the_failing_predicate_is_named_with_what_the_action_holds() {
        let set = rules(
            r#"
rules:
  - name: big
    condition:
      all:
        - field: action.tenant
          eq: "acme"
        - field: action.payload.total
          gt: 500
    action: { type: deny }
  - name: either
    condition:
      any:
        - field: action.payload.country
          in_list: ["KP", "IR"]
        - field: action.payload.flag
          exists: true
    action: { type: deny }
  - name: unless
    condition:
      not:
        field: action.tenant
        eq: "acme"
    action: { type: deny }
"#,
        );
        let action = switchyard_core::Action::builder(
            "ns",
            "acme",
            "p",
            "t",
            serde_json::json!({"total": 100, "country": "US"}),
        );
        let now: DateTime<Utc> = "2026-01-05T12:00:00Z".parse().expect("ts");
        let ctx = EvalContext::new(&action, now, chrono_tz::UTC);
        let big = set[0].trace_condition(&ctx);
        assert!(!big.holds);
        assert_eq!(
            big.reason.as_deref(),
            Some("action.payload.total is 100, so `gt 500` is false")
        );
        assert_eq!(big.field.as_deref(), Some("action.payload.total"));
        let either = set[1].trace_condition(&ctx);
        assert_eq!(
            either.reason.as_deref(),
            Some(
                "none of the 2 `any` alternatives held (the first: action.payload.country is \"US\", so `in_list [\"KP\", \"IR\"]` is false)"
            )
        );
        let unless = set[2].trace_condition(&ctx);
        assert_eq!(
            unless.reason.as_deref(),
            Some("`not`: its condition (action.tenant eq \"acme\") held")
        );
        // The trace agrees with the evaluation itself.
        for rule in &set {
            assert_eq!(rule.trace_condition(&ctx).holds, rule.condition_holds(&ctx));
        }
        assert_eq!(
            display(&set[1].condition),
            "any(action.payload.country in_list [\"KP\", \"IR\"], action.payload.flag exists true)"
        );
    }
}
