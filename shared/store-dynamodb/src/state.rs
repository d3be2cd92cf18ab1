//! The state store on one DynamoDB table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, TimeZone, Utc};
use switchyard_core::Clock;
use switchyard_store::{GateOp, GateResult, ListPage, StateKey, StateStore, StoreError, Versioned};

use crate::attr::{Item, get_n, get_s, key_item, key_of, live, n, s, unavailable};
use crate::contention::retry_on_conflict;
use crate::layout::{
    DEFAULT_STATE_SHARDS, MAX_STATE_SHARDS, kind_partition, kind_shards, lease_item_key, sort_key,
};

#[derive(Clone)]
pub struct DynamoStateStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) clock: Arc<dyn Clock>,
    /// How many partitions each tenant's items are spread over (fixed for
    /// a table's life: an item's shard is part of its key).
    pub(crate) shards: u32,
}

impl std::fmt::Debug for DynamoStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStateStore")
            .field("table", &self.table)
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

/// Was the failure a condition check (a normal "no"), or something else?
pub(crate) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// A conditional write's answer: applied (true), condition failed (false), or unavailable.
fn conditional<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &str,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(unavailable(
            operation,
            aws_sdk_dynamodb::error::DisplayErrorContext(e),
        )),
    }
}

pub(crate) fn expiry_attrs(item: &mut Item, expires_at: Option<DateTime<Utc>>) {
    if let Some(at) = expires_at {
        item.insert("exp_ms".into(), n(at.timestamp_millis()));
        // Native TTL, a day late on purpose: logical expiry decides, this only cleans up.
        item.insert("ttl".into(), n(at.timestamp() + 86_400));
    }
}

fn versioned(item: &Item) -> Option<Versioned> {
    Some(Versioned {
        value: get_s(item, "v")
            .map(str::to_string)
            .or_else(|| get_n(item, "c").map(|c| c.to_string()))?,
        version: get_n(item, "ver").unwrap_or(1) as u64,
        expires_at: get_n(item, "exp_ms").and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
    })
}

impl DynamoStateStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            shards: DEFAULT_STATE_SHARDS,
        }
    }

    /// The store on `settings`' state table and shard count.
    pub fn from_settings(
        client: Client,
        settings: &crate::DynamoSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::new(client, &settings.state_table, clock).with_shards(settings.state_shards)
    }

    /// Spread each tenant's items over `shards` partitions (1..=64; 1 is the
    /// layout before sharding). Never change it on a table holding data.
    pub fn with_shards(mut self, shards: u32) -> Self {
        self.shards = shards.clamp(1, MAX_STATE_SHARDS);
        self
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    pub(crate) async fn get_item(&self, key: &StateKey) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(key, self.shards)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(out.item)
    }

    /// Write a whole item at `version` when the key is absent or expired.
    async fn put_fresh(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut item = key_of(key, self.shards);
        item.insert("v".into(), s(value));
        item.insert("ver".into(), n(1));
        expiry_attrs(&mut item, expires_at);
        let result = retry_on_conflict(|| {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(pk) OR exp_ms <= :now")
                .expression_attribute_values(":now", n(self.now_ms()))
                .send()
        })
        .await;
        conditional(result, "PutItem")
    }

    /// Update a live item: value, version + 1, expiry. `expected`: require that version.
    async fn update_live(
        &self,
        key: &StateKey,
        expected: Option<u64>,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError> {
        let mut set = "SET v = :v, ver = ver + :one".to_string();
        let mut values: Item = HashMap::from([
            (":v".into(), s(value)),
            (":one".into(), n(1)),
            (":now".into(), n(self.now_ms())),
        ]);
        let mut remove = "";
        match expires_at {
            Some(at) => {
                set.push_str(", exp_ms = :exp, #ttl = :ttl");
                values.insert(":exp".into(), n(at.timestamp_millis()));
                values.insert(":ttl".into(), n(at.timestamp() + 86_400));
            }
            None => remove = " REMOVE exp_ms, #ttl",
        }
        let mut condition =
            "attribute_exists(pk) AND (attribute_not_exists(exp_ms) OR exp_ms > :now)".to_string();
        if let Some(version) = expected {
            condition.push_str(" AND ver = :expected");
            values.insert(":expected".into(), n(version));
        }
        let update = format!("{set}{remove}");
        let result = retry_on_conflict(|| {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_of(key, self.shards)))
                .update_expression(&update)
                .condition_expression(&condition)
                .expression_attribute_names("#ttl", "ttl")
                .set_expression_attribute_values(Some(values.clone()))
                .return_values(ReturnValue::UpdatedNew)
                .send()
        })
        .await;
        match result {
            Ok(out) => Ok(Some(
                out.attributes
                    .as_ref()
                    .and_then(|a| get_n(a, "ver"))
                    .unwrap_or(1) as u64,
            )),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(
                "UpdateItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    /// Delete an item only if it is expired (so a live one is never lost).
    pub(crate) async fn delete_if_expired(
        &self,
        key: &StateKey,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let result = retry_on_conflict(|| {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_of(key, self.shards)))
                .condition_expression("exp_ms <= :now")
                .expression_attribute_values(":now", n(now_ms))
                .send()
        })
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(
                "DeleteItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    /// One partition's live items of `kind` after `cursor`, in id order: at
    /// most `limit`, and whether more follow.
    async fn list_partition(
        &self,
        partition: String,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Versioned)>, bool), StoreError> {
        let now = self.now_ms();
        let prefix = sort_key(kind, "");
        let mut start: Option<Item> =
            cursor.map(|c| key_item((partition.clone(), sort_key(kind, c))));
        let mut items = Vec::new();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(partition.clone()))
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| {
                    unavailable("Query", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                })?;
            for item in out.items() {
                if !live(item, now) {
                    continue;
                }
                let (Some(sk_value), Some(value)) = (get_s(item, "sk"), versioned(item)) else {
                    continue;
                };
                if items.len() == limit {
                    return Ok((items, true));
                }
                let id = sk_value.strip_prefix(&prefix).unwrap_or(sk_value);
                items.push((id.to_string(), value));
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok((items, false)),
            }
        }
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn get(&self, key: &StateKey) -> Result<Option<Versioned>, StoreError> {
        let now = self.now_ms();
        Ok(self
            .get_item(key)
            .await?
            .filter(|i| live(i, now))
            .as_ref()
            .and_then(versioned))
    }

    async fn put(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        // Usually the record is live or absent; an expired one restarts at version 1.
        loop {
            if let Some(version) = self.update_live(key, None, value, expires_at).await? {
                return Ok(version);
            }
            if self.put_fresh(key, value, expires_at).await? {
                return Ok(1);
            }
        }
    }

    async fn compare_and_swap(
        &self,
        key: &StateKey,
        expected: u64,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError> {
        if expected == 0 {
            return Ok(self.put_fresh(key, value, expires_at).await?.then_some(1));
        }
        self.update_live(key, Some(expected), value, expires_at)
            .await
    }

    async fn delete(&self, key: &StateKey) -> Result<bool, StoreError> {
        let out = retry_on_conflict(|| {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_of(key, self.shards)))
                .return_values(ReturnValue::AllOld)
                .send()
        })
        .await
        .map_err(|e| {
            unavailable(
                "DeleteItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )
        })?;
        let now = self.now_ms();
        Ok(out.attributes.is_some_and(|old| live(&old, now)))
    }

    async fn gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError> {
        self.run_gate(ops).await
    }

    async fn counter(&self, key: &StateKey) -> Result<u64, StoreError> {
        let now = self.now_ms();
        Ok(self
            .get_item(key)
            .await?
            .filter(|i| live(i, now))
            .and_then(|i| get_n(&i, "c"))
            .unwrap_or(0) as u64)
    }

    /// Every shard of the tenant at once, merged in id order: each gives
    /// its first `limit` live items after the cursor, so the first `limit`
    /// of the merge are the kind's next page.
    async fn list(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let limit = limit.max(1);
        let reads = (0..kind_shards(kind, self.shards)).map(|shard| {
            let partition = kind_partition(namespace, tenant, kind, shard, self.shards);
            self.list_partition(partition, kind, cursor, limit)
        });
        let mut merged = Vec::new();
        let mut more = false;
        for part in futures_util::future::join_all(reads).await {
            let (items, partition_has_more) = part?;
            more |= partition_has_more;
            merged.extend(items);
        }
        merged.sort_by(|a: &(String, Versioned), b| a.0.cmp(&b.0));
        if merged.len() > limit {
            merged.truncate(limit);
            more = true;
        }
        let next_cursor = if more {
            merged.last().map(|(id, _)| id.clone())
        } else {
            None
        };
        Ok(ListPage {
            items: merged
                .into_iter()
                .map(|(id, value)| (StateKey::new(namespace, tenant, kind, id), value))
                .collect(),
            next_cursor,
        })
    }

    async fn try_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let until = now + ttl.as_millis() as i64;
        let mut item = key_item(lease_item_key(name, self.shards));
        item.extend([
            ("owner".to_string(), s(owner)),
            ("exp_ms".to_string(), n(until)),
            ("ttl".to_string(), n(until / 1000 + 86_400)),
        ]);
        let result = retry_on_conflict(|| {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression(
                    "attribute_not_exists(pk) OR exp_ms <= :now OR #owner = :owner",
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":owner", s(owner))
                .send()
        })
        .await;
        conditional(result, "PutItem")
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let result = retry_on_conflict(|| {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_item(lease_item_key(name, self.shards))))
                .condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", s(owner))
                .send()
        })
        .await;
        conditional(result, "DeleteItem")
    }
}
