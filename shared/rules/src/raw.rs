//! The YAML shapes, exactly as written, with source locations.
//!
//! Every struct denies unknown keys so that a typo (`eqq:`) is an error at its
//! line and column instead of a silently ignored predicate. Conditions and
//! actions are flat structs (not serde enums) because untagged/internally tagged
//! enums lose the locations we want to report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<RawItems>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<RawItems>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Spanned<RawCondition>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eq: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gt: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gte: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lte: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_list: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_in_list: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// Written back as it was read: the list, or the constant.
impl Serialize for RawItems {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RawItems::List(items) => items.serialize(serializer),
            RawItems::Constant(value) => serializer.serialize_bool(*value),
        }
    }
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
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_provider: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Spanned<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_group_size: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_provider: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<Spanned<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_fields: Option<Spanned<Vec<String>>>,
}
