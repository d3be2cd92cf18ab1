//! Rule evaluation cost: the e-commerce rules vs. a 1,000-rule set.
//!
//! The large set is the e-commerce rules plus 994 generated rules of the
//! shapes real rule sets have (per tenant, per action type, and 5 global
//! payload-only rules that cannot be indexed). The order is the same in both runs, so the
//! ratio shows what the extra rules cost.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard_core::Action;
use switchyard_rules::{
    ArtifactUse, EvalContext, RuleSet, RuleSource, compile_artifact, load_dir, load_sources,
    load_str, parse_timezone,
};

fn ecommerce_rules() -> Vec<switchyard_rules::Rule> {
    load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce"))
        .expect("rules")
}

/// Generated rules: 60% keyed on tenant, the rest on action type, and one
/// global (payload-only, unindexable) rule in every 200.
pub fn generated_rules(count: usize) -> String {
    let mut yaml = String::from("rules:\n");
    for i in 0..count {
        let condition = match i % 100 {
            0 if i % 200 == 0 => format!(
                "      field: action.payload.amount\n      gt: {}\n",
                1_000_000 + i
            ),
            n if n < 61 => format!(
                "      all:\n        - field: action.tenant\n          eq: tenant-{}\n        - field: action.payload.amount\n          gte: {}\n",
                i % 250,
                i
            ),
            _ => format!(
                "      all:\n        - field: action.action_type\n          in_list: [type-{}, type-{}]\n        - field: action.payload.region\n          eq: region-{}\n",
                i % 40,
                (i + 1) % 40,
                i % 7
            ),
        };
        let action = match i % 3 {
            0 => "      type: deny\n".to_string(),
            1 => {
                "      type: throttle\n      max_count: 10\n      window_seconds: 60\n".to_string()
            }
            _ => "      type: reroute\n      target_provider: alt\n".to_string(),
        };
        yaml.push_str(&format!(
            "  - name: generated-{i}\n    priority: {}\n    condition:\n{condition}    action:\n{action}",
            (i % 200) as i32 - 50
        ));
    }
    yaml
}

fn bench(c: &mut Criterion) {
    let tz = parse_timezone("US/Eastern").expect("tz");
    let small = RuleSet::new(ecommerce_rules(), tz).expect("set");
    let mut rules = ecommerce_rules();
    rules.extend(load_str("generated.yaml", &generated_rules(994)).expect("generated"));
    let large = RuleSet::new(rules, tz).expect("set");
    assert_eq!(large.len(), 1000);
    let order = Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": "ORD-1", "total_cents": 4999, "shipping_country": "US", "amount": 10}),
    );
    // Monday noon in New York: the order reaches the dedup rule.
    let now = "2026-01-05T17:00:00Z".parse().expect("ts");
    let decide = |set: &RuleSet| {
        let ctx = EvalContext::new(black_box(&order), now, tz);
        set.first_match(&ctx).map(|(p, _)| p)
    };
    assert_eq!(
        small
            .get(decide(&small).expect("match"))
            .map(|r| r.name.as_str()),
        large
            .get(decide(&large).expect("match"))
            .map(|r| r.name.as_str()),
        "both sets decide the same"
    );
    let mut group = c.benchmark_group("rule_evaluation");
    group.bench_function("ecommerce_6_rules", |b| b.iter(|| decide(&small)));
    group.bench_function("generated_1000_rules", |b| b.iter(|| decide(&large)));
    group.finish();

    // Start-up cost (a Lambda cold start pays it): YAML parse, compile and
    // index, from the same text the functions read from S3.
    let ecommerce_text: Vec<(String, String)> = ecommerce_files();
    let generated_text = generated_rules(994);
    let load = |extra: Option<&str>| {
        let mut rules = Vec::new();
        for (name, text) in &ecommerce_text {
            rules.extend(load_str(name, black_box(text)).expect("ecommerce"));
        }
        if let Some(text) = extra {
            rules.extend(load_str("generated.yaml", black_box(text)).expect("generated"));
        }
        RuleSet::new(rules, tz).expect("set")
    };
    let mut group = c.benchmark_group("rule_loading");
    group.bench_function("ecommerce_6_rules", |b| b.iter(|| load(None)));
    group.bench_function("generated_1000_rules", |b| {
        b.iter(|| load(Some(&generated_text)))
    });
    // The same 1,000 rules from their compiled artifact (`switchyard rules
    // compile`): digests checked, JSON read, compiled and indexed.
    let mut sources: Vec<RuleSource> = ecommerce_text
        .iter()
        .map(|(name, text)| RuleSource {
            name: name.clone(),
            label: name.clone(),
            text: text.clone(),
        })
        .collect();
    sources.push(RuleSource {
        name: "generated.yaml".into(),
        label: "generated.yaml".into(),
        text: generated_text.clone(),
    });
    let (_, artifact) = compile_artifact(&sources).expect("artifact");
    group.bench_function("generated_1000_rules_from_artifact", |b| {
        b.iter(|| {
            let (rules, used) = load_sources(&sources, Some(black_box(&artifact))).expect("load");
            assert_eq!(used, ArtifactUse::Used);
            RuleSet::new(rules, tz).expect("set")
        })
    });
    group.finish();
}

fn ecommerce_files() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("rules dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            (p.display().to_string(), text)
        })
        .collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
