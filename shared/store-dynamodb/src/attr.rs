//! Attribute helpers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use switchyard_store::{StateKey, StoreError};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The key attributes of a state item (see [`crate::layout`]).
pub(crate) fn key_of(key: &StateKey, shards: u32) -> Item {
    key_item(crate::layout::state_item_key(key, shards))
}

pub(crate) fn key_item((pk, sk): (String, String)) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Whether an item is live at `now_ms` (no expiry, or expiry in the future).
pub(crate) fn live(item: &Item, now_ms: i64) -> bool {
    get_n(item, "exp_ms").is_none_or(|exp| exp > now_ms)
}

pub(crate) fn unavailable(context: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{context}: {err}"))
}
