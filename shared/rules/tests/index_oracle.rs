//! The rule index against an oracle: random rule sets (routing equalities
//! and lists, negations, `any`, payload comparisons, non-string literals on
//! routing fields), each action's matches found through the index and by
//! evaluating every rule's condition directly.

use serde_json::json;
use switchyard_core::Action;
use switchyard_rules::{EvalContext, RuleSet, load_str};

mod common;
use common::{BUSINESS_HOURS, at};

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const ROUTING: [&str; 4] = [
    "action.action_type",
    "action.tenant",
    "action.provider",
    "action.namespace",
];
/// Values of routing fields, including strings that look like numbers and
/// booleans (the index keys on strings; a rule may compare with a number).
const VALUES: [&str; 6] = ["a", "b", "c", "5", "true", "x-y"];

/// A literal for a routing comparison: mostly strings, sometimes a number
/// or a boolean (which an index on strings must not mistake for "5"/"true").
fn literal(g: &mut Gen) -> String {
    match g.below(6) {
        0 => "5".into(),
        1 => "true".into(),
        _ => format!("\"{}\"", g.pick(&VALUES)),
    }
}

/// One predicate, YAML at `indent`: routing equalities and lists (the
/// indexable shapes), their negations, and payload comparisons.
fn predicate(g: &mut Gen, indent: usize, depth: u32) -> String {
    let pad = " ".repeat(indent);
    let shape = if depth >= 2 { g.below(6) } else { g.below(9) };
    match shape {
        0 | 1 => format!(
            "{pad}field: {}\n{pad}eq: {}\n",
            g.pick(&ROUTING),
            literal(g)
        ),
        2 => {
            let items: Vec<String> = (0..1 + g.below(3)).map(|_| literal(g)).collect();
            format!(
                "{pad}field: {}\n{pad}in_list: [{}]\n",
                g.pick(&ROUTING),
                items.join(", ")
            )
        }
        3 => format!(
            "{pad}field: {}\n{pad}ne: {}\n",
            g.pick(&ROUTING),
            literal(g)
        ),
        4 => format!("{pad}field: action.payload.n\n{pad}gte: {}\n", g.below(10)),
        5 => format!(
            "{pad}field: action.payload.k\n{pad}eq: \"{}\"\n",
            g.pick(&VALUES)
        ),
        6 => format!("{pad}not:\n{}", predicate(g, indent + 2, depth + 1)),
        kind => {
            let key = if kind == 7 { "any" } else { "all" };
            let mut out = format!("{pad}{key}:\n");
            for _ in 0..1 + g.below(3) {
                let item = predicate(g, indent + 4, depth + 1);
                out.push_str(&format!("{pad}  - {}", &item[indent + 4..]));
            }
            out
        }
    }
}

/// The index must never change which rule decides: for generated rule sets
/// (`in_list` keys, `any`, `not`, `ne`, numbers and booleans compared with
/// routing fields) and generated actions, the rules it yields are exactly
/// those whose condition, evaluated on its own, holds, in evaluation order.
#[test]
fn index_agrees_with_direct_evaluation() {
    for seed in 1..=20u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut yaml = String::from("rules:\n");
        for i in 0..150 {
            yaml.push_str(&format!(
                "  - name: r{i}\n    priority: {}\n    condition:\n{}    action:\n      type: deny\n",
                g.below(20),
                predicate(&mut g, 6, 0)
            ));
        }
        let set =
            RuleSet::new(load_str("gen.yaml", &yaml).expect("loads"), chrono_tz::UTC).expect("set");
        for k in 0..200 {
            let mut payload = json!({"k": g.pick(&VALUES)});
            if g.below(4) > 0 {
                payload["n"] = json!(g.below(12));
            }
            let action = Action::builder(
                g.pick(&VALUES),
                g.pick(&VALUES),
                g.pick(&VALUES),
                g.pick(&VALUES),
                payload,
            );
            let ctx = EvalContext::new(&action, at(BUSINESS_HOURS), chrono_tz::UTC);
            let indexed: Vec<&str> = set
                .matches(&ctx, None)
                .map(|(_, r)| r.name.as_str())
                .collect();
            let direct: Vec<&str> = set
                .rules()
                .iter()
                .filter(|r| r.condition_holds(&ctx))
                .map(|r| r.name.as_str())
                .collect();
            assert_eq!(indexed, direct, "seed {seed}, action {k}: {action:?}");
        }
    }
}
