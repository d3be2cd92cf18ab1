//! The audit store on one DynamoDB table with an index per query shape.
//! Records are stored redacted (the gateway redacts before calling us).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};
use switchyard_store::{AuditStore, StoreError};

use crate::attr::{Item, SEP, get_s, n, s, unavailable};

#[derive(Clone)]
pub struct DynamoAuditStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoAuditStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Every record is also in the `by_time` index under this one partition (the
/// change feed and unscoped queries). One hot partition: fine for thousands of
/// writes a second; shard it by a suffix beyond that.
const FEED: &str = "all";

/// Which index answers a query, and its partition value.
fn index_for(query: &AuditQuery) -> (&'static str, &'static str, String) {
    if let Some(id) = &query.action_id {
        ("by_action", "action_id", id.clone())
    } else if let Some(id) = &query.chain_id {
        ("by_chain", "chain_id", id.clone())
    } else {
        match (&query.namespace, &query.tenant) {
            (Some(ns), Some(tenant)) => ("by_tenant", "scope", format!("{ns}{SEP}{tenant}")),
            (Some(ns), None) => ("by_namespace", "ns", ns.clone()),
            _ => ("by_time", "feed", FEED.to_string()),
        }
    }
}

fn decode(item: &Item) -> Result<AuditRecord, StoreError> {
    let raw = get_s(item, "r").ok_or_else(|| StoreError::Corrupt {
        key: get_s(item, "id").unwrap_or("?").into(),
        message: "no record".into(),
    })?;
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        key: get_s(item, "id").unwrap_or("?").into(),
        message: e.to_string(),
    })
}

impl DynamoAuditStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    fn live(&self, record: &AuditRecord, now: DateTime<Utc>) -> bool {
        record.expires_at.is_none_or(|at| at > now)
    }
}

#[async_trait]
impl AuditStore for DynamoAuditStore {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(&record).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut item: Item = HashMap::from([
            ("id".to_string(), s(&record.id)),
            ("r".to_string(), s(body)),
            (
                "scope".to_string(),
                s(format!("{}{SEP}{}", record.namespace, record.tenant)),
            ),
            ("ns".to_string(), s(&record.namespace)),
            ("feed".to_string(), s(FEED)),
            ("action_id".to_string(), s(&record.action_id)),
        ]);
        if let Some(chain) = &record.chain_id {
            item.insert("chain_id".into(), s(chain));
        }
        if let Some(at) = record.expires_at {
            item.insert("ttl".into(), n(at.timestamp()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "PutItem (audit)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let now = self.clock.now();
        let limit = query.limit.clamp(1, AuditQuery::MAX_LIMIT);
        let (index, attribute, value) = index_for(query);
        let mut start: Option<Item> = None;
        let mut total = 0u64;
        let mut records = Vec::new();
        // Newest first through the index; the remaining filters are exact
        // matches checked here (they are cheap next to the read).
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", attribute)
                .expression_attribute_values(":v", s(value.clone()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    unavailable(
                        "Query (audit)",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )
                })?;
            for item in out.items() {
                let record = decode(item)?;
                if !self.live(&record, now) || !query.matches(&record) {
                    continue;
                }
                if total as usize >= query.offset && records.len() < limit {
                    records.push(record);
                }
                total += 1;
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        Ok(AuditPage {
            records,
            total,
            limit,
            offset: query.offset,
        })
    }

    async fn latest_for_action(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<AuditRecord>, StoreError> {
        let now = self.clock.now();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_action")
            .key_condition_expression("action_id = :a")
            .expression_attribute_values(":a", s(action_id))
            .scan_index_forward(false)
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "Query (audit)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        for item in out.items() {
            let record = decode(item)?;
            if self.live(&record, now) && accept(&record) {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_time")
            .key_condition_expression("feed = :f AND id > :after")
            .expression_attribute_values(":f", s(FEED))
            .expression_attribute_values(":after", s(after))
            .scan_index_forward(true)
            .limit(limit.max(1) as i32)
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "Query (audit feed)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        out.items().iter().map(decode).collect()
    }

    /// Native TTL deletes expired records (lazily); reads already skip them.
    async fn purge_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
