//! What the audit indexes hold of a record, and how a page's full records
//! are fetched from the table.
//!
//! The indexes project only the keys and `f`, a short JSON of the fields a
//! query filters on (and the expiry): an index copy is then one write unit
//! whatever the record's payload and details weigh, where a full copy
//! costs one unit per KB in every index. A query filters and counts on the
//! index alone and reads from the table only the records of its page.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{AuditFields, AuditRecord};
use switchyard_store::StoreError;

use crate::attr::{Item, get_s, s, unavailable};

/// The attribute holding the redacted record as JSON (table only).
pub(crate) const RECORD: &str = "r";
/// The attribute holding the [`Summary`] (table and indexes).
pub(crate) const SUMMARY: &str = "f";

/// Keys a `BatchGetItem` takes at most.
const BATCH_GET_MAX: usize = 100;
/// Rounds of unprocessed keys retried before the read gives up.
const BATCH_GET_ROUNDS: u32 = 8;

/// The filtered fields that are not already index or table keys, under
/// one-letter names (the names are billed bytes in every index copy).
#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    #[serde(rename = "n")]
    namespace: String,
    #[serde(rename = "t")]
    tenant: String,
    #[serde(rename = "p")]
    provider: String,
    #[serde(rename = "a")]
    action_type: String,
    #[serde(rename = "v")]
    verdict: String,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    matched_rule: Option<String>,
    #[serde(rename = "o")]
    outcome: String,
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

impl Summary {
    fn of(record: &AuditRecord) -> Self {
        Self {
            namespace: record.namespace.clone(),
            tenant: record.tenant.clone(),
            provider: record.provider.clone(),
            action_type: record.action_type.clone(),
            verdict: record.verdict.clone(),
            matched_rule: record.matched_rule.clone(),
            outcome: record.outcome.clone(),
            expires_at: record.expires_at,
        }
    }
}

/// The `f` attribute of `record`.
pub(crate) fn summary_of(record: &AuditRecord) -> Result<String, StoreError> {
    serde_json::to_string(&Summary::of(record)).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// An item read from an index: its keys and summary, and the whole record
/// when the index projects it (a table created with `ALL` projections by an
/// earlier version still answers).
#[derive(Debug)]
pub(crate) struct IndexEntry {
    pub id: String,
    pub action_id: String,
    chain_id: Option<String>,
    summary: Summary,
    pub record: Option<AuditRecord>,
}

fn corrupt(item: &Item, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: get_s(item, "id").unwrap_or("?").into(),
        message: message.into(),
    }
}

/// The whole record in a table item.
pub(crate) fn decode_record(item: &Item) -> Result<AuditRecord, StoreError> {
    serde_json::from_str(record_json(item)?).map_err(|e| corrupt(item, e.to_string()))
}

fn record_json(item: &Item) -> Result<&str, StoreError> {
    get_s(item, RECORD).ok_or_else(|| corrupt(item, "no record"))
}

fn decode_recent(item: &Item) -> Result<RecentRecord, StoreError> {
    Ok(RecentRecord {
        record: Arc::new(decode_record(item)?),
        json_bytes: record_json(item)?.len(),
    })
}

impl IndexEntry {
    pub(crate) fn decode(item: &Item) -> Result<Self, StoreError> {
        if get_s(item, RECORD).is_some() {
            return Ok(Self::from_record(decode_record(item)?));
        }
        let field = |name: &str| {
            get_s(item, name)
                .map(str::to_string)
                .ok_or_else(|| corrupt(item, format!("no {name}")))
        };
        let summary = serde_json::from_str(&field(SUMMARY)?)
            .map_err(|e| corrupt(item, format!("summary: {e}")))?;
        Ok(Self {
            id: field("id")?,
            action_id: field("action_id")?,
            chain_id: get_s(item, "chain_id").map(str::to_string),
            summary,
            record: None,
        })
    }

    fn from_record(record: AuditRecord) -> Self {
        Self {
            id: record.id.clone(),
            action_id: record.action_id.clone(),
            chain_id: record.chain_id.clone(),
            summary: Summary::of(&record),
            record: Some(record),
        }
    }

    pub(crate) fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            action_id: &self.action_id,
            chain_id: self.chain_id.as_deref(),
            namespace: &self.summary.namespace,
            tenant: &self.summary.tenant,
            provider: &self.summary.provider,
            action_type: &self.summary.action_type,
            verdict: &self.summary.verdict,
            matched_rule: self.summary.matched_rule.as_deref(),
            outcome: &self.summary.outcome,
        }
    }

    pub(crate) fn live(&self, now: DateTime<Utc>) -> bool {
        self.summary.expires_at.is_none_or(|at| at > now)
    }
}

/// Records read from the table lately, by id. Records never change once
/// written, and the change feed reads its last two seconds again every
/// second (for late writers): without this each of those re-reads would be
/// a table read again.
pub(crate) type RecentRecords = moka::sync::Cache<String, RecentRecord>;

/// A record read from the table, and the length of the JSON it was read
/// from: about what it holds on the heap, known without serializing again.
#[derive(Clone)]
pub(crate) struct RecentRecord {
    record: Arc<AuditRecord>,
    json_bytes: usize,
}

/// Bytes of recent records kept per process.
const RECENT_BYTES: u64 = 16 * 1024 * 1024;
/// How long a recent record is kept (the feed's look-back is 2 s).
const RECENT_FOR: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) fn recent_records() -> RecentRecords {
    moka::sync::Cache::builder()
        .max_capacity(RECENT_BYTES)
        .weigher(|id: &String, recent: &RecentRecord| recent_weight(id, recent))
        .time_to_live(RECENT_FOR)
        .build()
}

fn recent_weight(id: &str, recent: &RecentRecord) -> u32 {
    let bytes = id.len() + std::mem::size_of::<AuditRecord>() + recent.json_bytes;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The records of `entries`, in their order: those the index carried, those
/// read lately, and the rest read from the table (strongly consistent reads,
/// so an index entry's record is always there). A record deleted since the
/// index was read (expired and removed by TTL) is left out.
pub(crate) async fn fetch_records(
    client: &Client,
    table: &str,
    recent: &RecentRecords,
    entries: Vec<IndexEntry>,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut found: HashMap<String, Arc<AuditRecord>> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for entry in entries.iter().filter(|e| e.record.is_none()) {
        match recent.get(&entry.id) {
            Some(hit) => {
                found.insert(entry.id.clone(), hit.record);
            }
            None => missing.push((entry.action_id.clone(), entry.id.clone())),
        }
    }
    for chunk in missing.chunks(BATCH_GET_MAX) {
        for item in batch_get(client, table, chunk).await? {
            let read = decode_recent(&item)?;
            let record = read.record.clone();
            recent.insert(record.id.clone(), read);
            found.insert(record.id.clone(), record);
        }
    }
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            e.record
                .or_else(|| found.remove(&e.id).map(Arc::unwrap_or_clone))
        })
        .collect())
}

/// One `BatchGetItem` of at most 100 keys, retrying what DynamoDB leaves
/// unprocessed (it may, under throttling or past 16 MB).
async fn batch_get(
    client: &Client,
    table: &str,
    keys: &[(String, String)],
) -> Result<Vec<Item>, StoreError> {
    let key_items: Vec<Item> = keys
        .iter()
        .map(|(action_id, id)| {
            HashMap::from([
                ("action_id".to_string(), s(action_id)),
                ("id".to_string(), s(id)),
            ])
        })
        .collect();
    let mut request = Some(
        KeysAndAttributes::builder()
            .set_keys(Some(key_items))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?,
    );
    let mut items = Vec::new();
    let mut round = 0;
    while let Some(keys) = request.take() {
        if round > 0 {
            let pause = 20u64.saturating_mul(1 << round.min(6));
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        round += 1;
        let out = client
            .batch_get_item()
            .request_items(table, keys)
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "BatchGetItem (audit)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        if let Some(mut got) = out.responses
            && let Some(got) = got.remove(table)
        {
            items.extend(got);
        }
        request = out
            .unprocessed_keys
            .and_then(|mut left| left.remove(table))
            .filter(|left| !left.keys().is_empty());
        if request.is_some() && round >= BATCH_GET_ROUNDS {
            return Err(StoreError::Unavailable(format!(
                "BatchGetItem (audit): keys still unprocessed after {BATCH_GET_ROUNDS} rounds"
            )));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        serde_json::from_value(serde_json::json!({
            "id": "0190-a", "action_id": "act-1", "chain_id": "ch-1",
            "namespace": "shop", "tenant": "acme", "provider": "email",
            "action_type": "send", "verdict": "allow", "matched_rule": "r1",
            "outcome": "executed", "action_payload": {"big": "x".repeat(4000)},
            "verdict_details": {}, "outcome_details": {},
            "dispatched_at": "2026-12-07T00:00:00Z", "completed_at": "2026-12-07T00:00:00Z",
            "duration_ms": 1, "expires_at": "2026-12-08T00:00:00Z"
        }))
        .expect("record")
    }

    #[test]
    fn an_index_entry_filters_as_its_record_does() {
        let record = record();
        let summary = summary_of(&record).expect("summary");
        assert!(
            summary.len() < 200,
            "a summary leaves out the payload: {summary}"
        );
        let item: Item = HashMap::from([
            ("id".to_string(), s(&record.id)),
            ("action_id".to_string(), s(&record.action_id)),
            ("chain_id".to_string(), s("ch-1")),
            (SUMMARY.to_string(), s(summary)),
        ]);
        let entry = IndexEntry::decode(&item).expect("entry");
        assert_eq!(entry.fields(), record.fields());
        assert!(entry.record.is_none());
        let day_after = "2026-12-08T00:00:01Z".parse().expect("time");
        assert!(!entry.live(day_after));
        assert!(entry.live("2026-12-07T23:59:59Z".parse().expect("time")));
    }

    #[test]
    fn an_index_that_projects_everything_gives_the_record_itself() {
        let record = record();
        let item: Item = HashMap::from([
            ("id".to_string(), s(&record.id)),
            (
                RECORD.to_string(),
                s(serde_json::to_string(&record).expect("json")),
            ),
        ]);
        let entry = IndexEntry::decode(&item).expect("entry");
        assert_eq!(entry.record.as_ref(), Some(&record));
        assert_eq!(entry.fields(), record.fields());
    }

    #[test]
    fn a_recent_record_weighs_the_json_it_was_read_from() {
        let record = record();
        let json = serde_json::to_string(&record).expect("json");
        let item: Item = HashMap::from([
            ("id".to_string(), s(&record.id)),
            (RECORD.to_string(), s(&json)),
        ]);
        let recent = decode_recent(&item).expect("record");
        assert_eq!(*recent.record, record);
        let weight = recent_weight(&record.id, &recent) as usize;
        assert!(weight > json.len(), "{weight} counts the 4 KB payload");
        assert!(
            weight < json.len() + 1024,
            "{weight} is about the JSON's size"
        );
    }

    #[test]
    fn an_item_without_summary_or_record_is_corrupt() {
        let item: Item = HashMap::from([("id".to_string(), s("x"))]);
        assert!(matches!(
            IndexEntry::decode(&item),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
