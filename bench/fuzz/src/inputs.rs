//! Random inputs: mutations of valid seeds (most findings sit one edit away
//! from a valid input) and values from small grammars.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

/// Tokens that tend to break parsers and arithmetic.
const TOKENS: &[&str] = &[
    "gte: ",
    "1e400",
    "-1",
    "99999999999999999999",
    "1e17",
    "1e13",
    "NaN",
    "null",
    "~",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "\n  - ",
    "\n    ",
    "all:",
    "any:",
    "not:",
    "field: action.payload.",
    "ttl_seconds: ",
    "delay_seconds: ",
    "timeout_seconds: ",
    "\t",
    "\u{0}",
    "&a ",
    "*a",
    "!!binary ",
    "'",
    "\"",
    "\\",
    "é",
    "\u{202e}",
    "{{",
    "}}",
    "time.hour",
    "matches: \"(\"",
    "matches: \"a{99999}\"",
    "in_list: []",
    "timezone: \"Mars/Phobos\"",
    "<<: *a",
    "---\n",
    "%YAML 1.2\n",
    "0x7fffffffffffffff",
    "-0",
    ".inf",
    "18446744073709551616",
    "\r\n",
    "#",
];

/// Strings for identifiers, path segments and header values.
pub const NASTY: &[&str] = &[
    "acme-store",
    "ecommerce",
    "",
    "a",
    "..",
    "%00",
    "%FF%FE",
    "%2F",
    "a%0Ab",
    "\u{0}",
    "é",
    "\u{202e}evil",
    "~switchyard",
    " ",
    "null",
    "-1",
    "1e13",
    "../../etc/passwd",
    "*",
    "%",
    "{id}",
    "0192-abc",
    "00000000-0000-0000-0000-000000000000",
];

pub fn nasty_string(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => "x".repeat(rng.random_range(200..2_000)),
        1 => (0..rng.random_range(1..20))
            .map(|_| char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('?'))
            .collect(),
        _ => (*NASTY.choose(rng).unwrap_or(&"a")).to_string(),
    }
}

/// Apply one to four byte-level edits to `seed` (on char boundaries).
pub fn mutate_text(rng: &mut StdRng, seed: &str) -> String {
    let mut text: Vec<char> = seed.chars().collect();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=text.len());
        match rng.random_range(0..6) {
            0 if !text.is_empty() => {
                let end = (at + rng.random_range(1..20)).min(text.len());
                let start = at.min(end);
                text.drain(start..end);
            }
            1 if !text.is_empty() => {
                let end = (at + rng.random_range(1..40)).min(text.len());
                let start = at.min(end);
                let copy: Vec<char> = text[start..end].to_vec();
                let to = rng.random_range(0..=text.len());
                text.splice(to..to, copy);
            }
            2 if at < text.len() => {
                text[at] = char::from_u32(rng.random_range(0..0x80)).unwrap_or(' ');
            }
            _ => {
                let token = TOKENS.choose(rng).unwrap_or(&" ");
                text.splice(at..at, token.chars());
            }
        }
    }
    text.into_iter().collect()
}

/// A JSON value from a small grammar, nesting at most `depth` deep.
pub fn json_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth == 0 { 8 } else { 11 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random_range(-100i64..100_000)),
        3 => json!(
            *[i64::MIN, i64::MAX, -1, 0, 10_000_000_000_000]
                .choose(rng)
                .unwrap_or(&0)
        ),
        4 => json!(
            *[1e308, -1e308, 0.5, 1e13, 1e17, -0.0]
                .choose(rng)
                .unwrap_or(&0.0)
        ),
        5 => json!(u64::MAX),
        6 | 7 => json!(nasty_string(rng)),
        8 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| json_value(rng, depth - 1))
                .collect(),
        ),
        9 => json!([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.random_range(0..4) {
                map.insert(nasty_string(rng), json_value(rng, depth - 1));
            }
            Value::Object(map)
        }
    }
}

/// Replace, delete or add one node somewhere in `value`.
pub fn mutate_json(rng: &mut StdRng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.random_bool(0.75) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys.choose(rng).cloned().unwrap_or_default();
            match rng.random_range(0..4) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(nasty_string(rng), json_value(rng, 2));
                }
                _ => {
                    if let Some(child) = map.get_mut(&key) {
                        mutate_json(rng, child);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.random_bool(0.75) => {
            let i = rng.random_range(0..items.len());
            mutate_json(rng, &mut items[i]);
        }
        other => *other = json_value(rng, 2),
    }
}
