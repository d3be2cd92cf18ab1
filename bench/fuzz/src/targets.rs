//! The synchronous targets. Each case returns `Err` with what went wrong;
//! panics are caught by the runner.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use switchyard_core::Action;
use switchyard_rules::{EvalContext, OnTypeError, RuleSet, load_str};

use crate::inputs::{json_value, mutate_json, mutate_text, nasty_string};

const RULE_SEEDS: &[&str] = &[
    include_str!("../../../rules/ecommerce/fraud.yaml"),
    include_str!("../../../rules/ecommerce/processing.yaml"),
    include_str!("../../../rules/ecommerce/safety.yaml"),
    include_str!("../../../rules/iot/processing.yaml"),
    include_str!("../../../rules/iot/routing.yaml"),
    include_str!("../../../rules/iot/safety.yaml"),
];

fn random_action(rng: &mut StdRng) -> Action {
    let payload = if rng.random_bool(0.5) {
        json!({"total_cents": json_value(rng, 1), "shipping_country": json_value(rng, 1),
               "a": json_value(rng, 2), "b": json_value(rng, 1)})
    } else {
        json_value(rng, 3)
    };
    let action_type = *["place_order", "sensor_reading", "alert", "x"]
        .choose(rng)
        .unwrap_or(&"x");
    Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        action_type,
        payload,
    )
}

fn random_instant(rng: &mut StdRng) -> DateTime<Utc> {
    // Clients never send "now"; the clock does: any instant of five centuries.
    let seconds = rng.random_range(-2_208_988_800i64..13_569_465_600);
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// Evaluate `action` both ways; under the strict mode a match must be the
/// lenient match (the property that keeps the two modes one engine).
fn evaluate_both(set: &RuleSet, action: &Action, now: DateTime<Utc>) -> Result<(), String> {
    let ctx = EvalContext::new(action, now, set.default_timezone());
    let lenient = set.first_match(&ctx).map(|(pos, _)| pos);
    let ctx = EvalContext::new(action, now, set.default_timezone());
    if let Ok(strict) = set.next_match(&ctx, None, OnTypeError::Reject) {
        let strict = strict.map(|(pos, _)| pos);
        if strict != lenient {
            return Err(format!(
                "strict evaluation matched {strict:?}, lenient {lenient:?} for payload {}",
                action.payload
            ));
        }
    }
    Ok(())
}

/// The rule loader on mutated rule files; what loads is evaluated.
pub fn rule_loader(rng: &mut StdRng) -> Result<(), String> {
    let seed = *RULE_SEEDS.choose(rng).unwrap_or(&"");
    let text = mutate_text(rng, seed);
    let Ok(rules) = load_str("fuzz.yaml", &text) else {
        return Ok(()); // refused with an error: what we want
    };
    let Ok(set) = RuleSet::new(rules, chrono_tz::UTC) else {
        return Ok(());
    };
    let action = random_action(rng);
    evaluate_both(&set, &action, random_instant(rng))
}

const PATHS: &[&str] = &[
    "action.payload.a",
    "action.payload.b",
    "action.payload.a.b",
    "action.payload.total_cents",
    "action.payload.missing",
    "action.metadata.k",
    "action.tenant",
    "action.action_type",
    "action.dedup_key",
    "time.hour",
    "time.weekday",
    "time.timestamp",
];
const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "in_list",
    "not_in_list",
    "exists",
];

fn literal(rng: &mut StdRng, operator: &str) -> String {
    match operator {
        "exists" => rng.random_bool(0.5).to_string(),
        "matches" => format!(
            "{:?}",
            ["^a", "(", "a{2,}", "[0-9]+", ".*"]
                .choose(rng)
                .unwrap_or(&".")
        ),
        "in_list" | "not_in_list" => {
            let items: Vec<Value> = (0..rng.random_range(0..3))
                .map(|_| json_value(rng, 0))
                .collect();
            Value::Array(items).to_string()
        }
        _ => json_value(rng, 1).to_string(),
    }
}

fn condition(rng: &mut StdRng, depth: u32, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match if depth == 0 {
        0
    } else {
        rng.random_range(0..5)
    } {
        0 | 1 => {
            let op = *OPERATORS.choose(rng).unwrap_or(&"eq");
            let path = *PATHS.choose(rng).unwrap_or(&"action.payload.a");
            let value = literal(rng, op);
            format!("{pad}field: {path}\n{pad}{op}: {value}\n")
        }
        2 => format!("{pad}not:\n{}", condition(rng, depth - 1, indent + 2)),
        k => {
            let combinator = if k == 3 { "all" } else { "any" };
            let items: String = (0..rng.random_range(1..4))
                .map(|_| {
                    let inner = condition(rng, depth - 1, indent + 4);
                    format!("{pad}  - {}", inner.trim_start())
                })
                .collect();
            format!("{pad}{combinator}:\n{items}")
        }
    }
}

/// Conditions from the operator grammar against random payloads: no panic,
/// and strict and lenient evaluation agree wherever strict answers.
pub fn conditions(rng: &mut StdRng) -> Result<(), String> {
    let rules: String = (0..rng.random_range(1..4))
        .map(|i| {
            format!(
                "  - name: r{i}\n    priority: {}\n    condition:\n{}    action:\n      type: deny\n",
                rng.random_range(-5..5),
                condition(rng, 3, 6)
            )
        })
        .collect();
    let Ok(rules) = load_str("fuzz.yaml", &format!("rules:\n{rules}")) else {
        return Ok(());
    };
    let Ok(set) = RuleSet::new(rules, chrono_tz::US::Eastern) else {
        return Ok(());
    };
    let mut action = random_action(rng);
    if rng.random_bool(0.3) {
        action.metadata.insert("k".into(), nasty_string(rng));
    }
    evaluate_both(&set, &action, random_instant(rng))
}

/// Chain payload templates with random placeholders over random results.
pub fn templates(rng: &mut StdRng) -> Result<(), String> {
    use switchyard_gateway::template::{TemplateContext, render};
    const PLACEHOLDERS: &[&str] = &[
        "{{origin.payload.a}}",
        "{{prev.body.x}}",
        "{{steps.s1.body}}",
        "{{step_result}}",
        "{{chain_id}}",
        "{{step_index}}",
        "{{",
        "}}",
        "{{origin.payload.a.b.c.d}}",
        "{{steps..body}}",
        "{{prev}}",
        "x{{prev.body.x}}y{{chain_id}}",
        "{{ origin.id }}",
    ];
    let mut template = json!({"a": "{{origin.payload.a}}", "list": ["{{prev.body}}"], "n": 1});
    for _ in 0..rng.random_range(1..4) {
        mutate_json(rng, &mut template);
        if let Value::Object(map) = &mut template {
            let placeholder = *PLACEHOLDERS.choose(rng).unwrap_or(&"{{prev}}");
            let text = mutate_text(rng, placeholder);
            map.insert(nasty_string(rng), Value::String(text));
        }
    }
    let origin = random_action(rng);
    let prev = json_value(rng, 3);
    let step = json_value(rng, 2);
    let ctx = TemplateContext {
        origin: &origin,
        prev: Some(&prev),
        steps: [("s1", &step)].into_iter().collect(),
        chain_id: "chain-1",
        step_index: rng.random_range(0..usize::MAX),
    };
    let _ = render(&template, &ctx);
    Ok(())
}

/// Cron expressions and time zones as a client sends them for recurring
/// actions, and the next occurrences from random instants.
pub fn cron_and_zones(rng: &mut StdRng) -> Result<(), String> {
    const CRONS: &[&str] = &[
        "0 9 * * 1-5",
        "*/5 * * * *",
        "0 0 1 1 *",
        "0 0 29 2 *",
        "59 23 31 12 *",
        "0 0 * * 0#3",
        "0 0 L * *",
        "0 0 ? * MON",
        "0 */15 9-17 * * *",
        "@daily",
        "0 0 31 2 *",
    ];
    const ZONES: &[&str] = &[
        "UTC",
        "US/Eastern",
        "Europe/Berlin",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "America/St_Johns",
        "Australia/Lord_Howe",
        "Etc/GMT+12",
        "Mars/Phobos",
        "",
    ];
    let expression = if rng.random_bool(0.7) {
        let seed = *CRONS.choose(rng).unwrap_or(&"* * * * *");
        mutate_text(rng, seed)
    } else {
        (*CRONS.choose(rng).unwrap_or(&"* * * * *")).to_string()
    };
    let zone = if rng.random_bool(0.2) {
        let seed = *ZONES.choose(rng).unwrap_or(&"UTC");
        mutate_text(rng, seed)
    } else {
        (*ZONES.choose(rng).unwrap_or(&"UTC")).to_string()
    };
    if let Ok(tz) = switchyard_rules::parse_timezone(&zone) {
        let _ = switchyard_rules::time::LocalTime::at(random_instant(rng), tz);
    }
    let Ok((cron, tz)) = switchyard_gateway::recurring::parse_schedule(&expression, &zone) else {
        return Ok(());
    };
    let mut at = random_instant(rng);
    for _ in 0..3 {
        match switchyard_gateway::recurring::next_after(&cron, tz, at) {
            Ok(next) if next <= at => {
                return Err(format!(
                    "'{expression}' in {zone}: next {next} is not after {at}"
                ));
            }
            Ok(next) => at = next + Duration::seconds(rng.random_range(0..120)),
            Err(_) => break,
        }
    }
    Ok(())
}
