//! Helpers shared by the rules engine's test files (each file uses some).
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use switchyard_core::Action;
use switchyard_rules::{EvalContext, RuleSet, load_str};

/// Monday 2026-01-05 12:00 EST.
pub const BUSINESS_HOURS: &str = "2026-01-05T17:00:00Z";

pub fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().expect("timestamp")
}

pub fn single(condition: &str) -> RuleSet {
    let yaml =
        format!("rules:\n  - name: r\n    condition:\n{condition}    action:\n      type: deny\n");
    RuleSet::new(load_str("t.yaml", &yaml).expect("loads"), chrono_tz::UTC).expect("set")
}

pub fn matches(set: &RuleSet, action: &Action) -> bool {
    let ctx = EvalContext::new(action, at(BUSINESS_HOURS), chrono_tz::UTC);
    set.first_match(&ctx).is_some()
}
