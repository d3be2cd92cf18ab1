//! Rule loading, error reporting and evaluation semantics.

use std::path::PathBuf;

use serde_json::{Value, json};
use switchyard_core::Action;
use switchyard_rules::{EvalContext, RuleAction, RuleSet, load_dir, load_str, parse_timezone};

mod common;
use common::{BUSINESS_HOURS, at, matches, single};

fn ecommerce_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce")
}

fn ecommerce() -> RuleSet {
    let rules = load_dir(&ecommerce_dir()).expect("ecommerce rules load");
    RuleSet::new(rules, parse_timezone("US/Eastern").expect("tz")).expect("valid set")
}

/// Monday 2026-01-05 20:00 EST.
const EVENING: &str = "2026-01-06T01:00:00Z";
/// Saturday 2026-01-10 12:00 EST.
const SATURDAY: &str = "2026-01-10T17:00:00Z";

fn order(payload: Value) -> Action {
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        payload,
    )
}

fn decide(set: &RuleSet, action: &Action, now: &str) -> Option<String> {
    let ctx = EvalContext::new(action, at(now), set.default_timezone());
    set.first_match(&ctx).map(|(_, r)| r.name.clone())
}

#[test]
fn ecommerce_rules_load_in_priority_order() {
    let set = ecommerce();
    let names: Vec<_> = set.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "deny-sanctioned-regions",
            "approve-high-value",
            "schedule-after-hours",
            "dedup-double-submit",
            "throttle-merchant-orders",
            "deny-unmatched"
        ]
    );
    assert_eq!(
        set.rules()[1].action,
        RuleAction::RequestApproval {
            notify_provider: "email-service".into(),
            timeout_seconds: 60,
            message: Some("High-value order requires manager approval".into())
        }
    );
}

#[test]
fn ecommerce_outcomes_follow_first_match() {
    let set = ecommerce();
    let standard =
        order(json!({"order_id": "ORD-1", "total_cents": 4999, "shipping_country": "US"}));
    assert_eq!(
        decide(&set, &standard, BUSINESS_HOURS).as_deref(),
        Some("dedup-double-submit")
    );
    assert_eq!(
        decide(&set, &standard, EVENING).as_deref(),
        Some("schedule-after-hours")
    );
    assert_eq!(
        decide(&set, &standard, SATURDAY).as_deref(),
        Some("schedule-after-hours")
    );
    let sanctioned = order(json!({"total_cents": 4999, "shipping_country": "NK"}));
    assert_eq!(
        decide(&set, &sanctioned, EVENING).as_deref(),
        Some("deny-sanctioned-regions")
    );
    let high = order(json!({"total_cents": 75000.0, "shipping_country": "US"}));
    assert_eq!(
        decide(&set, &high, BUSINESS_HOURS).as_deref(),
        Some("approve-high-value")
    );
    let other_type = Action::builder("ecommerce", "acme-store", "warehouse", "restock", json!({}));
    assert_eq!(
        decide(&set, &other_type, BUSINESS_HOURS).as_deref(),
        Some("deny-unmatched")
    );
    let other_tenant = Action::builder("ecommerce", "other", "warehouse", "restock", json!({}));
    assert_eq!(decide(&set, &other_tenant, BUSINESS_HOURS), None);
}

#[test]
fn business_hours_boundaries_in_us_eastern() {
    let set = ecommerce();
    let standard = order(json!({"total_cents": 100}));
    // 08:59 and 17:00 EST are after hours; 09:00 and 16:59 are not.
    assert_eq!(
        decide(&set, &standard, "2026-01-05T13:59:00Z").as_deref(),
        Some("schedule-after-hours")
    );
    assert_eq!(
        decide(&set, &standard, "2026-01-05T14:00:00Z").as_deref(),
        Some("dedup-double-submit")
    );
    assert_eq!(
        decide(&set, &standard, "2026-01-05T21:59:00Z").as_deref(),
        Some("dedup-double-submit")
    );
    assert_eq!(
        decide(&set, &standard, "2026-01-05T22:00:00Z").as_deref(),
        Some("schedule-after-hours")
    );
    // In July, Eastern is UTC-4: 13:00 UTC is 09:00 EDT.
    assert_eq!(
        decide(&set, &standard, "2026-07-06T13:00:00Z").as_deref(),
        Some("dedup-double-submit")
    );
}

#[test]
fn disabled_rules_are_skipped_and_resume_continues_after_a_rule() {
    let set = ecommerce();
    let standard = order(json!({"total_cents": 100}));
    assert!(set.set_enabled("schedule-after-hours", false));
    assert_eq!(
        decide(&set, &standard, EVENING).as_deref(),
        Some("dedup-double-submit")
    );
    assert!(!set.set_enabled("no-such-rule", false));
    assert!(set.set_enabled("schedule-after-hours", true));
    let resume = set.resume_position("schedule-after-hours", 10);
    let ctx = EvalContext::new(&standard, at(EVENING), set.default_timezone());
    let next = set
        .matches(&ctx, resume)
        .next()
        .map(|(_, r)| r.name.as_str());
    assert_eq!(next, Some("dedup-double-submit"));
    // A rule that vanished in a reload: resume after everything of its priority or higher.
    assert_eq!(set.resume_position("gone", 12), Some(2));
}

fn load_err(yaml: &str) -> String {
    match load_str("rules/bad.yaml", yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_file_line_column_and_rule() {
    let msg = load_err(
        "rules:\n  - name: r1\n    condition:\n      field: action.payload.x\n      eqq: 1\n    action:\n      type: allow\n",
    );
    assert!(msg.starts_with("rules/bad.yaml:5:"), "{msg}");
    assert!(msg.contains("eqq"), "{msg}");

    let msg = load_err(
        "rules:\n  - name: r2\n    condition:\n      field: action.payload.x\n      matches: \"([a-z\"\n    action:\n      type: allow\n",
    );
    assert!(
        msg.starts_with("rules/bad.yaml:5:16: rule 'r2': invalid regex"),
        "{msg}"
    );

    let msg = load_err(
        "rules:\n  - name: r3\n    timezone: Mars/Base\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: allow\n",
    );
    assert!(
        msg.starts_with("rules/bad.yaml:3:15: rule 'r3': unknown time zone"),
        "{msg}"
    );

    // Durations are bounded at load (10 years): a dispatch never overflows time arithmetic.
    for ttl in ["100000000000000000", "1e17"] {
        let msg = load_err(&format!(
            "rules:\n  - name: r9\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: deduplicate\n      ttl_seconds: {ttl}\n"
        ));
        assert!(
            msg.starts_with("rules/bad.yaml:8:20: rule 'r9'") && msg.contains("ttl_seconds"),
            "{msg}"
        );
    }

    let msg = load_err(
        "rules:\n  - name: r4\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: throttle\n      max_count: 5\n",
    );
    assert!(
        msg.contains("rule 'r4'") && msg.contains("require `window_seconds`"),
        "{msg}"
    );

    let msg = load_err(
        "rules:\n  - name: r5\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: deny\n      target_provider: x\n",
    );
    assert!(
        msg.starts_with("rules/bad.yaml:8:") && msg.contains("not a parameter of `deny`"),
        "{msg}"
    );

    let msg = load_err(
        "rules:\n  - name: r6\n    condition:\n      field: payload.x\n      eq: 1\n    action:\n      type: allow\n",
    );
    assert!(
        msg.starts_with("rules/bad.yaml:4:14: rule 'r6': unknown field path"),
        "{msg}"
    );

    let msg = load_err(
        "rules:\n  - name: r7\n    condition:\n      field: action.tenant\n    action:\n      type: allow\n",
    );
    assert!(msg.contains("has no operator"), "{msg}");

    let msg = load_err("rules:\n  - name: r8\n    condition: [\n");
    assert!(msg.starts_with("rules/bad.yaml:"), "{msg}");

    let msg = load_err(
        "rules:\n  - name: r9\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: schedule\n      delay_seconds: 0\n",
    );
    assert!(
        msg.starts_with("rules/bad.yaml:8:") && msg.contains("between 1 and"),
        "{msg}"
    );
}

#[test]
fn duplicate_names_are_rejected_with_both_places() {
    let rule = |name: &str| {
        format!(
            "  - name: {name}\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: allow\n"
        )
    };
    let mut rules = load_str("a.yaml", &format!("rules:\n{}", rule("same"))).expect("loads");
    rules.extend(load_str("b.yaml", &format!("rules:\n{}", rule("same"))).expect("loads"));
    let err = RuleSet::new(rules, chrono_tz::UTC).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "b.yaml:2:5: rule 'same': duplicate rule name (first defined at a.yaml:2:5)"
    );
}

fn with_payload(payload: Value) -> Action {
    Action::builder("ns", "t", "p", "a", payload)
}

#[test]
fn operators_and_missing_fields() {
    let gt = single("      field: action.payload.value\n      gt: 85\n");
    assert!(matches(&gt, &with_payload(json!({"value": 86}))));
    assert!(matches(&gt, &with_payload(json!({"value": 85.5}))));
    assert!(!matches(&gt, &with_payload(json!({"value": 85}))));
    assert!(!matches(&gt, &with_payload(json!({"value": "hot"}))));
    assert!(
        !matches(&gt, &with_payload(json!({}))),
        "missing never matches"
    );

    let ne = single("      field: action.payload.env\n      ne: prod\n");
    assert!(matches(&ne, &with_payload(json!({"env": "dev"}))));
    // A missing field reads as null (Acteon): null is not "prod", so `ne`
    // holds and "unless attested" rules never fail open.
    assert!(
        matches(&ne, &with_payload(json!({}))),
        "ne on a missing field is true"
    );
    let attested = single("      field: action.payload.encrypted\n      ne: true\n");
    assert!(
        matches(&attested, &with_payload(json!({}))),
        "blocks what omits it"
    );
    assert!(!matches(
        &attested,
        &with_payload(json!({"encrypted": true}))
    ));

    let exists = single("      field: action.dedup_key\n      exists: false\n");
    assert!(matches(&exists, &with_payload(json!({}))));
    assert!(!matches(
        &exists,
        &with_payload(json!({})).with_dedup_key("k")
    ));

    let not_in = single("      field: action.payload.c\n      not_in_list: [NK, SY]\n");
    assert!(matches(&not_in, &with_payload(json!({"c": "US"}))));
    assert!(!matches(&not_in, &with_payload(json!({"c": "SY"}))));
    assert!(
        matches(&not_in, &with_payload(json!({}))),
        "null is in no list"
    );
    let in_list = single("      field: action.payload.c\n      in_list: [NK, SY]\n");
    assert!(!matches(&in_list, &with_payload(json!({}))));
    let exists = single("      field: action.payload.c\n      exists: true\n");
    assert!(
        !matches(&exists, &with_payload(json!({"c": null}))),
        "exists tests for non-null"
    );
    assert!(matches(&exists, &with_payload(json!({"c": 0}))));

    let regex = single("      field: action.payload.sku\n      matches: \"^SKU-[0-9]+$\"\n");
    assert!(matches(&regex, &with_payload(json!({"sku": "SKU-12"}))));
    assert!(!matches(&regex, &with_payload(json!({"sku": "xSKU-12"}))));

    let text = single(
        "      all:\n        - field: action.payload.name\n          starts_with: ab\n          ends_with: yz\n        - field: action.payload.name\n          contains: mid\n",
    );
    assert!(matches(&text, &with_payload(json!({"name": "ab-mid-yz"}))));
    assert!(!matches(&text, &with_payload(json!({"name": "ab-yz"}))));

    let not = single("      not:\n        field: action.payload.flag\n        eq: true\n");
    assert!(matches(&not, &with_payload(json!({"flag": false}))));
    assert!(!matches(&not, &with_payload(json!({"flag": true}))));
    assert!(
        matches(&not, &with_payload(json!({}))),
        "not (missing eq true)"
    );

    let nested = single("      field: action.payload.a.b.c\n      eq: 1\n");
    assert!(matches(
        &nested,
        &with_payload(json!({"a": {"b": {"c": 1.0}}}))
    ));
    assert!(!matches(&nested, &with_payload(json!({"a": "str"}))));

    let meta = single("      field: action.metadata.env\n      in_list: [prod, staging]\n");
    let mut action = with_payload(json!({}));
    action.metadata.insert("env".into(), "staging".into());
    assert!(matches(&meta, &action));

    let weekday = single("      field: time.weekday\n      eq: Monday\n");
    assert!(matches(&weekday, &with_payload(json!({}))));
}

/// `single` for an unindented condition.
fn condition(text: &str) -> RuleSet {
    let indented: String = text.lines().map(|l| format!("      {l}\n")).collect();
    single(&indented)
}

/// `on_type_error = reject`: the first comparison that cannot compare its
/// field fails the evaluation, naming rule and field; evaluation order and
/// short-circuits are those of the lenient mode, which reads it as false.
#[test]
fn type_errors_fail_strict_evaluation_and_read_false_otherwise() {
    use switchyard_rules::OnTypeError;
    let strict = |set: &RuleSet, action: &Action| {
        let ctx = EvalContext::new(action, at(BUSINESS_HOURS), set.default_timezone());
        set.next_match(&ctx, None, OnTypeError::Reject)
            .map(|found| found.is_some())
            .map_err(|e| e.to_string())
    };
    let amount = condition("field: action.payload.total_cents\ngte: 50000");
    for (payload, found) in [
        (json!({"total_cents": [75000]}), "an array"),
        (json!({"total_cents": "NaN"}), "a string"),
        (json!({"total_cents": "many"}), "a string"),
        (json!({}), "null (missing)"),
        (json!({"total_cents": {"v": 1}}), "an object"),
    ] {
        let action = order(payload.clone());
        assert!(!matches(&amount, &action), "lenient: false for {payload}");
        let err = strict(&amount, &action).expect_err("strict refuses");
        assert!(
            err.contains("'action.payload.total_cents' is ") && err.contains(found),
            "{payload}: {err}"
        );
    }
    // Numeric strings still compare, as numbers.
    assert_eq!(
        strict(&amount, &order(json!({"total_cents": "75000"}))),
        Ok(true)
    );
    let prefix = condition("field: action.payload.sku\nstarts_with: \"SKU\"");
    assert!(strict(&prefix, &order(json!({"sku": 42}))).is_err());
    // `not` does not turn an error into a match.
    let negated = condition("not:\n  field: action.payload.total_cents\n  lt: 10");
    assert!(strict(&negated, &order(json!({"total_cents": [1]}))).is_err());
    // Short-circuit: a decided `any` never reaches the bad comparison.
    let any = condition(
        "any:\n  - field: action.action_type\n    eq: \"place_order\"\n  - field: action.payload.total_cents\n    gt: 1",
    );
    assert_eq!(strict(&any, &order(json!({"total_cents": [1]}))), Ok(true));
    // Equality and lists take any type.
    let equal = condition("field: action.payload.total_cents\nne: 5");
    assert_eq!(
        strict(&equal, &order(json!({"total_cents": [5]}))),
        Ok(true)
    );
}

/// `any: true` (one of Acteon's example files uses it for a catch-all, which
/// Acteon's own loader refuses) always holds; `all: false` never does.
#[test]
fn constant_combinators_are_catch_alls_or_never() {
    let rules = load_str(
        "constants.yaml",
        "rules:\n  - name: never\n    priority: 1\n    condition:\n      all: false\n    action: {type: deny}\n  - name: catch-all\n    priority: 2\n    condition:\n      any: true\n    action: {type: suppress}\n",
    )
    .expect("constants load");
    let set = RuleSet::new(rules, parse_timezone("UTC").expect("tz")).expect("set");
    assert_eq!(
        decide(&set, &order(json!({})), BUSINESS_HOURS),
        Some("catch-all".to_string())
    );
    let err = load_str(
        "bad.yaml",
        "rules:\n  - name: x\n    condition:\n      any: 3\n    action: {type: deny}\n",
    )
    .expect_err("a number is no condition list");
    assert!(err.to_string().contains("4:7"), "{err}");
}
