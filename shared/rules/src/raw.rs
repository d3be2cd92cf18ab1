//! The YAML shapes, exactly as written, with source locations.
//!
//! Every struct denies unknown keys so that a typo (`eqq:`) is an error at its
//! line and column instead of a silently ignored predicate. Conditions and
//! actions are flat structs (not serde enums) because untagged/internally tagged
//! enums lose the locations we want to report.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub condition: Spanned<RawCondition>,
    pub action: Spanned<RawAction>,
}

fn enabled_by_default() -> bool {
    true
}

/// One predicate or a combinator. Exactly one of `field` / `all` / `any` / `not`
/// must be present; operators only go with `field`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub field: Option<Spanned<String>>,
    pub all: Option<RawItems>,
    pub any: Option<RawItems>,
    pub not: Option<Box<Spanned<RawCondition>>>,
    pub eq: Option<Spanned<Value>>,
    pub ne: Option<Spanned<Value>>,
    pub gt: Option<Spanned<Value>>,
    pub gte: Option<Spanned<Value>>,
    pub lt: Option<Spanned<Value>>,
    pub lte: Option<Spanned<Value>>,
    pub contains: Option<Spanned<Value>>,
    pub starts_with: Option<Spanned<Value>>,
    pub ends_with: Option<Spanned<Value>>,
    pub matches: Option<Spanned<Value>>,
    pub in_list: Option<Spanned<Value>>,
    pub not_in_list: Option<Spanned<Value>>,
    pub exists: Option<Spanned<Value>>,
}

/// The operand of `all` / `any`: a list of conditions, or (beyond Acteon,
/// whose loader refuses it, yet one of its example files writes `any: true`
/// for a catch-all) a constant: `true` always holds, `false` never does.
#[derive(Debug)]
pub enum RawItems {
    List(Vec<Spanned<RawCondition>>),
    Constant(bool),
}

impl<'de> Deserialize<'de> for RawItems {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> serde::de::Visitor<'de> for Items {
            type Value = RawItems;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of conditions (or true / false)")
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<RawItems, E> {
                Ok(RawItems::Constant(value))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawItems, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawItems::List(items))
            }
        }
        deserializer.deserialize_any(Items)
    }
}

/// `action:` with its `type` and every parameter any type takes; which ones
/// are allowed and required is checked per type when compiling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub target_provider: Option<Spanned<String>>,
    pub max_count: Option<Spanned<Value>>,
    pub window_seconds: Option<Spanned<Value>>,
    pub ttl_seconds: Option<Spanned<Value>>,
    pub changes: Option<Spanned<Value>>,
    pub delay_seconds: Option<Spanned<Value>>,
    pub group_by: Option<Spanned<Vec<String>>>,
    pub group_wait_seconds: Option<Spanned<Value>>,
    pub group_interval_seconds: Option<Spanned<Value>>,
    pub repeat_interval_seconds: Option<Spanned<Value>>,
    pub max_group_size: Option<Spanned<Value>>,
    pub template: Option<Spanned<String>>,
    pub notify_provider: Option<Spanned<String>>,
    pub timeout_seconds: Option<Spanned<Value>>,
    pub message: Option<Spanned<String>>,
    pub chain: Option<Spanned<String>>,
    pub state_machine: Option<Spanned<String>>,
    pub fingerprint_fields: Option<Spanned<Vec<String>>>,
}
