//! The item an audit record is stored as, and what each of its copies (the
//! table's and every index's) weighs: the store writes the first, the
//! key-distribution simulator (`bench/keys`) bills the second.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use switchyard_core::AuditRecord;
use switchyard_store::StoreError;

use crate::attr::{Item, n, s};
use crate::audit_entry::{RECORD, SUMMARY, summary_of};
use crate::layout::audit_index_keys;

/// (index, attribute, partition value), as `audit_index_keys` gives them.
type IndexKey = (&'static str, &'static str, String);

/// The bytes DynamoDB adds to every index entry.
const INDEX_ENTRY_OVERHEAD: usize = 100;

/// The table item of `record`: its keys, every index key it has, the
/// summary the indexes project and the record itself.
pub(crate) fn audit_item(record: &AuditRecord, shards: u32) -> Result<Item, StoreError> {
    item_with_keys(record, &audit_index_keys(record, shards))
}

/// The table item of `record` with its index keys already computed.
fn item_with_keys(record: &AuditRecord, keys: &[IndexKey]) -> Result<Item, StoreError> {
    let body = serde_json::to_string(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut item: Item = keys
        .iter()
        .map(|(_, attribute, value)| (attribute.to_string(), s(value)))
        .collect();
    item.insert("id".to_string(), s(&record.id));
    item.insert(SUMMARY.to_string(), s(summary_of(record)?));
    item.insert(RECORD.to_string(), s(body));
    if let Some(at) = record.expires_at {
        item.insert("ttl".into(), n(at.timestamp()));
    }
    Ok(item)
}

/// One stored copy of a record: where it goes and its billed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCopy {
    /// `table` or the index's name.
    pub index: &'static str,
    /// The partition key value it is written under.
    pub partition: String,
    /// Its size as DynamoDB bills it (names and values, plus the index
    /// entry overhead): one write unit per started KB.
    pub bytes: usize,
}

/// Every copy `record` is written as, the table's first.
pub fn audit_item_copies(record: &AuditRecord, shards: u32) -> Result<Vec<AuditCopy>, StoreError> {
    let keys = audit_index_keys(record, shards);
    let item = item_with_keys(record, &keys)?;
    let projections = index_projections()?;
    keys.into_iter()
        .map(|(index, _, partition)| {
            let bytes = if index == "table" {
                item_bytes(item.iter())
            } else {
                let kept = projections.get(index).ok_or_else(|| {
                    StoreError::Invalid(format!("infra/template.yaml has no audit index {index}"))
                })?;
                let projected = item.iter().filter(|(name, _)| match kept {
                    Some(kept) => kept.contains(name),
                    None => true,
                });
                item_bytes(projected) + INDEX_ENTRY_OVERHEAD
            };
            Ok(AuditCopy {
                index,
                partition,
                bytes,
            })
        })
        .collect()
}

/// The attributes each audit index holds (`None`: all), from the template.
type Projections = BTreeMap<String, Option<Vec<String>>>;

fn index_projections() -> Result<&'static Projections, StoreError> {
    static PROJECTIONS: OnceLock<Result<Projections, String>> = OnceLock::new();
    PROJECTIONS
        .get_or_init(|| {
            let table = crate::schema::table("AuditTable")?;
            let table_keys = table.key_schema.iter().map(|k| k.attribute_name.clone());
            let table_keys: Vec<String> = table_keys.collect();
            Ok(table
                .global_secondary_indexes
                .iter()
                .map(|index| {
                    let kept = (index.projection.projection_type != "ALL").then(|| {
                        let keys = index.key_schema.iter().map(|k| k.attribute_name.clone());
                        let extra = index.projection.non_key_attributes.iter().cloned();
                        table_keys
                            .iter()
                            .cloned()
                            .chain(keys)
                            .chain(extra)
                            .collect()
                    });
                    (index.index_name.clone(), kept)
                })
                .collect())
        })
        .as_ref()
        .map_err(|e| StoreError::Invalid(e.clone()))
}

/// DynamoDB's size of some attributes: name and value bytes (a number is
/// billed about one byte per two digits, plus one).
fn item_bytes<'a>(attributes: impl Iterator<Item = (&'a String, &'a AttributeValue)>) -> usize {
    attributes
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(text) => text.len(),
                    AttributeValue::N(number) => number.len().div_ceil(2) + 1,
                    _ => 1,
                }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_record(payload_bytes: usize) -> AuditRecord {
        serde_json::from_value(serde_json::json!({
            "id": "0193a1b2-0000-7000-8000-000000000001", "action_id": "act-1",
            "chain_id": "ch-1", "namespace": "shop", "tenant": "acme",
            "provider": "email", "action_type": "send", "verdict": "allow",
            "outcome": "executed", "action_payload": {"body": "x".repeat(payload_bytes)},
            "verdict_details": {}, "outcome_details": {},
            "dispatched_at": "2026-12-07T00:00:00Z", "completed_at": "2026-12-07T00:00:00Z",
            "duration_ms": 1
        }))
        .expect("record")
    }

    #[test]
    fn index_copies_weigh_one_unit_whatever_the_payload() {
        let copies = audit_item_copies(&step_record(3_000), 32).expect("copies");
        let names: Vec<&str> = copies.iter().map(|c| c.index).collect();
        assert_eq!(names, ["table", "by_tenant", "by_time", "by_chain"]);
        assert!(copies[0].bytes > 3_000, "the table holds the record");
        for copy in &copies[1..] {
            assert!(
                copy.bytes < 1024,
                "{} holds the summary alone: {} bytes",
                copy.index,
                copy.bytes
            );
        }
        let item = audit_item(&step_record(10), 32).expect("item");
        assert!(item.contains_key(RECORD) && item.contains_key(SUMMARY));
    }
}
