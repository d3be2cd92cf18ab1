//! The state store on PostgreSQL: one row per record, one statement per
//! operation, every condition checked by the statement that writes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::Clock;
use switchyard_store::{GateOp, GateResult, ListPage, StateKey, StateStore, StoreError, Versioned};
use tokio_postgres::Row;

use crate::connect::Postgres;

/// "Live" in SQL: not expired at `$now` (the gateway's clock).
const LIVE: &str = "(expires_at IS NULL OR expires_at > $now)";

/// The statements, with this deployment's table names, built once.
#[derive(Debug)]
pub(crate) struct StateSql {
    get: String,
    put: String,
    insert_if_vacant: String,
    update_if_version: String,
    delete: String,
    counter: String,
    list: String,
    list_first: String,
    try_lock: String,
    unlock: String,
    purge_records: String,
    purge_leases: String,
    pub(crate) gate: String,
}

impl StateSql {
    fn new(pg: &Postgres) -> Self {
        let state = pg.settings.table("state");
        let leases = pg.settings.table("leases");
        let key = "namespace = $1 AND tenant = $2 AND kind = $3 AND id = $4";
        // `$now` is spliced as a numbered parameter per statement.
        let live = |n: u8| LIVE.replace("$now", &format!("${n}"));
        let live_s = |n: u8| format!("(s.expires_at IS NULL OR s.expires_at > ${n})");
        Self {
            get: format!(
                "SELECT value, version, expires_at FROM {state} WHERE {key} AND {}",
                live(5)
            ),
            put: format!(
                "INSERT INTO {state} AS s (namespace, tenant, kind, id, value, version, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6) \
                 ON CONFLICT (namespace, tenant, kind, id) DO UPDATE SET value = EXCLUDED.value, \
                 counter = NULL, expires_at = EXCLUDED.expires_at, \
                 version = CASE WHEN {} THEN s.version + 1 ELSE 1 END RETURNING version",
                live_s(7)
            ),
            insert_if_vacant: format!(
                "INSERT INTO {state} AS s (namespace, tenant, kind, id, value, version, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6) \
                 ON CONFLICT (namespace, tenant, kind, id) DO UPDATE SET value = EXCLUDED.value, \
                 counter = NULL, expires_at = EXCLUDED.expires_at, version = 1 \
                 WHERE NOT {} RETURNING version",
                live_s(7)
            ),
            update_if_version: format!(
                "UPDATE {state} SET value = $5, counter = NULL, expires_at = $6, version = version + 1 \
                 WHERE {key} AND {} AND version = $8 RETURNING version",
                live(7)
            ),
            delete: format!("DELETE FROM {state} WHERE {key} RETURNING {}", live(5)),
            counter: format!(
                "SELECT coalesce(counter, 0) FROM {state} WHERE {key} AND {}",
                live(5)
            ),
            list: format!(
                "SELECT id, value, version, expires_at FROM {state} \
                 WHERE namespace = $1 AND tenant = $2 AND kind = $3 AND id > $4 AND {} \
                 ORDER BY id LIMIT $6",
                live(5)
            ),
            list_first: format!(
                "SELECT id, value, version, expires_at FROM {state} \
                 WHERE namespace = $1 AND tenant = $2 AND kind = $3 AND id >= $4 AND {} \
                 ORDER BY id LIMIT $6",
                live(5)
            ),
            try_lock: format!(
                "INSERT INTO {leases} AS l (name, owner, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at \
                 WHERE l.expires_at <= $4 OR l.owner = EXCLUDED.owner RETURNING 1"
            ),
            unlock: format!("DELETE FROM {leases} WHERE name = $1 AND owner = $2 RETURNING 1"),
            purge_records: format!(
                "WITH gone AS (DELETE FROM {state} WHERE ctid IN (SELECT ctid FROM {state} \
                 WHERE expires_at <= $1 LIMIT $2) RETURNING 1) SELECT count(*) FROM gone"
            ),
            purge_leases: format!(
                "WITH gone AS (DELETE FROM {leases} WHERE expires_at <= $1 RETURNING 1) \
                 SELECT count(*) FROM gone"
            ),
            gate: format!(
                "SELECT failed, current FROM {}($1::text::jsonb, $2)",
                pg.settings.table("gate")
            ),
        }
    }
}

/// Expired rows are deleted this many at a time (each batch is one short
/// statement, so the sweep never holds many row locks at once).
pub(crate) const PURGE_BATCH: i64 = 5_000;

#[derive(Clone)]
pub struct PostgresStateStore {
    pub(crate) pg: Postgres,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sql: Arc<StateSql>,
}

impl std::fmt::Debug for PostgresStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStateStore")
            .field("pg", &self.pg)
            .finish_non_exhaustive()
    }
}

fn versioned(row: &Row, offset: usize) -> Versioned {
    Versioned {
        value: row.get(offset),
        version: u64::try_from(row.get::<_, i64>(offset + 1)).unwrap_or(0),
        expires_at: row.get(offset + 2),
    }
}

impl PostgresStateStore {
    pub fn new(pg: Postgres, clock: Arc<dyn Clock>) -> Self {
        let sql = Arc::new(StateSql::new(&pg));
        Self { pg, clock, sql }
    }

    /// A statement on one record: `$1`–`$4` its key, `$5` the clock's now.
    async fn at_key(
        &self,
        operation: &str,
        sql: &str,
        key: &StateKey,
    ) -> Result<Vec<Row>, StoreError> {
        let now = self.clock.now();
        self.pg
            .query(
                operation,
                sql,
                &[&key.namespace, &key.tenant, &key.kind, &key.id, &now],
            )
            .await
    }
}

/// The first column of the first row as a count or version.
pub(crate) fn first_u64(rows: &[Row]) -> Option<u64> {
    rows.first()
        .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
}

#[async_trait]
impl StateStore for PostgresStateStore {
    async fn get(&self, key: &StateKey) -> Result<Option<Versioned>, StoreError> {
        let rows = self.at_key("get", &self.sql.get, key).await?;
        Ok(rows.first().map(|r| versioned(r, 0)))
    }

    async fn put(
        &self,
        key: &StateKey,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let rows = self
            .pg
            .query(
                "put",
                &self.sql.put,
                &[
                    &key.namespace,
                    &key.tenant,
                    &key.kind,
                    &key.id,
                    &value,
                    &expires_at,
                    &now,
                ],
            )
            .await?;
        first_u64(&rows).ok_or_else(|| StoreError::Unavailable("put wrote no row".into()))
    }

    async fn compare_and_swap(
        &self,
        key: &StateKey,
        expected: u64,
        value: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, StoreError> {
        let now = self.clock.now();
        let base: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &key.namespace,
            &key.tenant,
            &key.kind,
            &key.id,
            &value,
            &expires_at,
            &now,
        ];
        let rows = if expected == 0 {
            self.pg
                .query("compare_and_swap", &self.sql.insert_if_vacant, &base)
                .await?
        } else {
            let Ok(expected) = i64::try_from(expected) else {
                return Ok(None);
            };
            let mut params = base.to_vec();
            params.push(&expected);
            self.pg
                .query("compare_and_swap", &self.sql.update_if_version, &params)
                .await?
        };
        Ok(first_u64(&rows))
    }

    async fn delete(&self, key: &StateKey) -> Result<bool, StoreError> {
        let rows = self.at_key("delete", &self.sql.delete, key).await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0)))
    }

    async fn gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError> {
        self.run_gate(ops).await
    }

    async fn counter(&self, key: &StateKey) -> Result<u64, StoreError> {
        let rows = self.at_key("counter", &self.sql.counter, key).await?;
        Ok(first_u64(&rows).unwrap_or(0))
    }

    async fn list(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let now = self.clock.now();
        let limit = limit.clamp(1, 10_000);
        // One more than asked: its presence says another page exists.
        let fetch = (limit + 1) as i64;
        // The first page starts at "" inclusive (an id may be empty).
        let rows = match cursor {
            Some(after) => {
                self.pg
                    .query(
                        "list",
                        &self.sql.list,
                        &[&namespace, &tenant, &kind, &after, &now, &fetch],
                    )
                    .await?
            }
            None => {
                self.pg
                    .query(
                        "list",
                        &self.sql.list_first,
                        &[&namespace, &tenant, &kind, &"", &now, &fetch],
                    )
                    .await?
            }
        };
        let mut items: Vec<(StateKey, Versioned)> = rows
            .iter()
            .map(|r| {
                (
                    StateKey::new(namespace, tenant, kind, r.get::<_, String>(0)),
                    versioned(r, 1),
                )
            })
            .collect();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|(k, _)| k.id.clone())
        } else {
            None
        };
        Ok(ListPage { items, next_cursor })
    }

    async fn try_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let until = switchyard_core::after(now, ttl);
        let rows = self
            .pg
            .query(
                "try_lock",
                &self.sql.try_lock,
                &[&name, &owner, &until, &now],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let rows = self
            .pg
            .query("unlock", &self.sql.unlock, &[&name, &owner])
            .await?;
        Ok(!rows.is_empty())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        loop {
            let rows = self
                .pg
                .query("purge", &self.sql.purge_records, &[&now, &PURGE_BATCH])
                .await?;
            let batch = first_u64(&rows).unwrap_or(0);
            removed += batch;
            if batch < PURGE_BATCH as u64 {
                break;
            }
        }
        self.pg
            .query("purge", &self.sql.purge_leases, &[&now])
            .await?;
        Ok(removed)
    }
}
