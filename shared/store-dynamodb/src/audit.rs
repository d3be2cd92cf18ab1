//! The audit store on one DynamoDB table with an index per query shape.
//! Records are stored redacted (the gateway redacts before calling us).
//! The indexes hold summaries, not records (see [`crate::audit_entry`]).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};
use switchyard_store::{AuditStore, StoreError};

use crate::attr::{Item, s, unavailable};
use crate::audit_entry::{IndexEntry, RecentRecords, decode_record, fetch_records, recent_records};
use crate::audit_item::audit_item;
use crate::layout::{DEFAULT_AUDIT_SHARDS, FEED, MAX_AUDIT_SHARDS, audit_partition, audit_scope};

#[derive(Clone)]
pub struct DynamoAuditStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    shards: u32,
    recent: RecentRecords,
}

impl std::fmt::Debug for DynamoAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoAuditStore")
            .field("table", &self.table)
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

/// Which index answers a query (`None`: the table itself), and its
/// partition values (one, or one per shard for the sharded indexes).
/// A namespace without a tenant reads the whole feed and keeps that
/// namespace's records: a `by_namespace` index would cost a write unit on
/// every record to serve a rare administrative query.
fn index_for(query: &AuditQuery, shards: u32) -> (Option<&'static str>, &'static str, Vec<String>) {
    let every_shard = |value: &str| {
        (0..shards)
            .map(|k| audit_partition(value, k, shards))
            .collect()
    };
    if let Some(id) = &query.action_id {
        (None, "action_id", vec![id.clone()])
    } else if let Some(id) = &query.chain_id {
        (Some("by_chain"), "chain_id", vec![id.clone()])
    } else {
        match (&query.namespace, &query.tenant) {
            (Some(ns), Some(tenant)) => (
                Some("by_tenant"),
                "scope",
                every_shard(&audit_scope(ns, tenant)),
            ),
            _ => (Some("by_time"), "feed", every_shard(FEED)),
        }
    }
}

impl DynamoAuditStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            shards: DEFAULT_AUDIT_SHARDS,
            recent: recent_records(),
        }
    }

    /// The store on `settings`' audit table and shard count.
    pub fn from_settings(
        client: Client,
        settings: &crate::DynamoSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::new(client, &settings.audit_table, clock).with_shards(settings.audit_shards)
    }

    /// Spread busy index keys over `shards` partitions (1..=256).
    pub fn with_shards(mut self, shards: u32) -> Self {
        self.shards = shards.clamp(1, MAX_AUDIT_SHARDS);
        self
    }

    fn live(&self, record: &AuditRecord, now: DateTime<Utc>) -> bool {
        record.expires_at.is_none_or(|at| at > now)
    }

    /// One index partition, newest first: its first `keep` matches, and how
    /// many match in all.
    async fn read_partition(
        &self,
        (index, attribute, value): (Option<&str>, &str, &str),
        query: &AuditQuery,
        keep: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<IndexEntry>, u64), StoreError> {
        let mut start: Option<Item> = None;
        let mut total = 0u64;
        let mut records = Vec::new();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", attribute)
                .expression_attribute_values(":v", s(value))
                .scan_index_forward(false)
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    unavailable(
                        "Query (audit)",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )
                })?;
            // The remaining filters are exact matches checked here (cheap
            // next to the read).
            for item in out.items() {
                let entry = IndexEntry::decode(item)?;
                if !entry.live(now) || !query.matches_fields(&entry.fields()) {
                    continue;
                }
                if records.len() < keep {
                    records.push(entry);
                }
                total += 1;
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok((records, total)),
            }
        }
    }

    /// One feed shard's entries after `after`, oldest first, at most `limit`.
    async fn feed_since(
        &self,
        shard: u32,
        after: &str,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_time")
            .key_condition_expression("feed = :f AND id > :after")
            .expression_attribute_values(":f", s(audit_partition(FEED, shard, self.shards)))
            .expression_attribute_values(":after", s(after))
            .scan_index_forward(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "Query (audit feed)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        out.items().iter().map(IndexEntry::decode).collect()
    }
}

#[async_trait]
impl AuditStore for DynamoAuditStore {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let item = audit_item(&record, self.shards)?;
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
        let (index, attribute, values) = index_for(query, self.shards);
        // Every partition at once, each read in full (the total counts every
        // match) keeping its newest `offset + limit`; merged newest first.
        let keep = query.offset.saturating_add(limit);
        let reads = values
            .iter()
            .map(|value| self.read_partition((index, attribute, value), query, keep, now));
        let mut matched: Vec<IndexEntry> = Vec::new();
        let mut total = 0u64;
        for part in futures_util::future::join_all(reads).await {
            let (newest, count) = part?;
            matched.extend(newest);
            total += count;
        }
        matched.sort_by(|a, b| b.id.cmp(&a.id));
        let page = matched.into_iter().skip(query.offset).take(limit).collect();
        let records = fetch_records(&self.client, &self.table, &self.recent, page).await?;
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
            .key_condition_expression("action_id = :a")
            .expression_attribute_values(":a", s(action_id))
            .scan_index_forward(false)
            // A record just written is read back at once (GET /v1/audit/{id}
            // after a dispatch): only the table offers consistent reads.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    "Query (audit)",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        for item in out.items() {
            let record = decode_record(item)?;
            if self.live(&record, now) && accept(&record) {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// The change feed across every shard. Each shard gives its oldest few
    /// after the cursor (about twice its share of `limit`, not `limit`: a
    /// replay would otherwise read `shards` times what it returns). A shard that
    /// filled its share may hold more, newer than its last: the page stops
    /// at the smallest such last id, so it is exactly the feed's next
    /// records (possibly fewer than `limit`, never none while any remain).
    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = limit.max(1);
        let share = limit
            .div_ceil(self.shards as usize)
            .saturating_mul(2)
            .max(4);
        let reads = (0..self.shards).map(|shard| self.feed_since(shard, after, share));
        let mut merged = Vec::new();
        let mut bound: Option<String> = None;
        for part in futures_util::future::join_all(reads).await {
            let part = part?;
            if part.len() >= share
                && let Some(last) = part.last()
                && bound.as_ref().is_none_or(|b| last.id < *b)
            {
                bound = Some(last.id.clone());
            }
            merged.extend(part);
        }
        if let Some(bound) = &bound {
            merged.retain(|r| r.id <= *bound);
        }
        merged.sort_by(|a, b| a.id.cmp(&b.id));
        merged.truncate(limit);
        fetch_records(&self.client, &self.table, &self.recent, merged).await
    }

    /// Native TTL deletes expired records (lazily); reads already skip them.
    async fn purge_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
