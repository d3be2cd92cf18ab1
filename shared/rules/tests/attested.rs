//! Guard rules that block unless the client attests (`ne: true`) never fail
//! open: for every such rule of the fixtures (each file, each rule with an
//! `ne` predicate), an action without the attesting field is caught by it.

use std::path::PathBuf;

use serde_json::Value;
use switchyard_core::Action;
use switchyard_rules::condition::Operator;
use switchyard_rules::{Condition, EvalContext, OnTypeError, RuleSet, load_dir};

/// Whether a condition has an `ne` predicate anywhere.
fn has_ne(condition: &Condition) -> bool {
    match condition {
        Condition::All(items) | Condition::Any(items) => items.iter().any(has_ne),
        Condition::Not(inner) => has_ne(inner),
        Condition::Field { operators, .. } => {
            operators.iter().any(|op| matches!(op, Operator::Ne(_)))
        }
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attested")
}

#[test]
fn every_attestation_guard_catches_an_action_without_the_attestation() {
    let rules = load_dir(&fixtures()).expect("fixtures load");
    let guards: Vec<String> = rules
        .iter()
        .filter(|r| has_ne(&r.condition))
        .map(|r| r.name.clone())
        .collect();
    let set = RuleSet::new(rules, chrono_tz::UTC).expect("set");
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("cases.json")).expect("cases"),
    )
    .expect("cases parse");
    let covered: Vec<&str> = cases.iter().filter_map(|c| c["rule"].as_str()).collect();
    for guard in &guards {
        assert!(
            covered.contains(&guard.as_str()),
            "no case for guard '{guard}'"
        );
    }
    for case in &cases {
        let a = &case["action"];
        let field = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        let action = Action::builder(
            "examples",
            field("tenant"),
            field("provider"),
            field("action_type"),
            a["payload"].clone(),
        );
        let now = chrono::Utc::now();
        for mode in [OnTypeError::False, OnTypeError::Reject] {
            let ctx = EvalContext::new(&action, now, chrono_tz::UTC);
            let matched = set
                .next_match(&ctx, None, mode)
                .expect("no type error")
                .map(|(_, rule)| rule.name.clone());
            assert_eq!(
                matched.as_deref(),
                case["rule"].as_str(),
                "{mode:?}: the guard must catch {a}"
            );
        }
    }
}
