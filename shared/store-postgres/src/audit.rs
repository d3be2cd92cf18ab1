//! The audit store on PostgreSQL: one row per record; every query filter is
//! a column, and id order (UUIDv7) is time order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::{AuditPage, AuditQuery, AuditRecord, Clock};
use switchyard_store::{AuditStore, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::connect::Postgres;
use crate::error::corrupt;
use crate::state::{PURGE_BATCH, first_u64};

/// Records read per round trip while looking for an action's latest record.
const ACTION_PAGE: i64 = 50;

#[derive(Clone)]
pub struct PostgresAuditStore {
    pg: Postgres,
    clock: Arc<dyn Clock>,
    table: Arc<str>,
}

impl std::fmt::Debug for PostgresAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAuditStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn decode(row: &Row) -> Result<AuditRecord, StoreError> {
    let json: String = row.get(0);
    serde_json::from_str(&json).map_err(|e| corrupt("audit record", e))
}

impl PostgresAuditStore {
    pub fn new(pg: Postgres, clock: Arc<dyn Clock>) -> Self {
        let table = pg.settings.table("audit").into();
        Self { pg, clock, table }
    }
}

/// The WHERE clause of a query: each filter it sets is one bound parameter.
struct Filter<'q> {
    clauses: Vec<String>,
    params: Vec<&'q (dyn ToSql + Sync)>,
}

impl<'q> Filter<'q> {
    fn new(query: &'q AuditQuery, now: &'q DateTime<Utc>) -> Self {
        let mut filter = Self {
            clauses: Vec::new(),
            params: Vec::new(),
        };
        filter.push("(expires_at IS NULL OR expires_at > $)", now);
        for (column, value) in [
            ("namespace", &query.namespace),
            ("tenant", &query.tenant),
            ("provider", &query.provider),
            ("action_type", &query.action_type),
            ("outcome", &query.outcome),
            ("verdict", &query.verdict),
            ("matched_rule", &query.matched_rule),
            ("chain_id", &query.chain_id),
            ("action_id", &query.action_id),
        ] {
            if let Some(value) = value {
                filter.push(&format!("{column} = $"), value);
            }
        }
        filter
    }

    /// Add a clause whose `$` is the next parameter.
    fn push(&mut self, clause: &str, value: &'q (dyn ToSql + Sync)) {
        self.params.push(value);
        self.clauses
            .push(clause.replace('$', &format!("${}", self.params.len())));
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

#[async_trait]
impl AuditStore for PostgresAuditStore {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(&record).map_err(|e| corrupt(&record.id, e))?;
        // A record written again after an unanswered call stays one record.
        let sql = format!(
            "INSERT INTO {} (id, namespace, tenant, provider, action_type, outcome, verdict, \
             matched_rule, chain_id, action_id, expires_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb) \
             ON CONFLICT (id) DO NOTHING",
            self.table
        );
        self.pg
            .query(
                "audit append",
                &sql,
                &[
                    &record.id,
                    &record.namespace,
                    &record.tenant,
                    &record.provider,
                    &record.action_type,
                    &record.outcome,
                    &record.verdict,
                    &record.matched_rule,
                    &record.chain_id,
                    &record.action_id,
                    &record.expires_at,
                    &json,
                ],
            )
            .await?;
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let now = self.clock.now();
        let limit = query.limit.clamp(1, AuditQuery::MAX_LIMIT);
        let (limit_param, offset_param) = (
            limit as i64,
            i64::try_from(query.offset).unwrap_or(i64::MAX),
        );
        let filter = Filter::new(query, &now);
        let mut page_params = filter.params.clone();
        page_params.push(&limit_param);
        page_params.push(&offset_param);
        let n = filter.params.len();
        let page_sql = format!(
            "SELECT record::text FROM {} WHERE {} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            self.table,
            filter.sql(),
            n + 1,
            n + 2
        );
        let count_sql = format!("SELECT count(*) FROM {} WHERE {}", self.table, filter.sql());
        // Both on the wire at once.
        let (rows, count) = tokio::try_join!(
            self.pg.query("audit query", &page_sql, &page_params),
            self.pg.query("audit count", &count_sql, &filter.params),
        )?;
        Ok(AuditPage {
            records: rows.iter().map(decode).collect::<Result<_, _>>()?,
            total: first_u64(&count).unwrap_or(0),
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
        let sql = format!(
            "SELECT record::text, id FROM {} WHERE action_id = $1 AND ($2::text IS NULL OR id < $2) \
             AND (expires_at IS NULL OR expires_at > $3) ORDER BY id DESC LIMIT $4",
            self.table
        );
        // Newest first, a page at a time, until a record is the caller's.
        let mut before: Option<String> = None;
        loop {
            let rows = self
                .pg
                .query(
                    "audit by action",
                    &sql,
                    &[&action_id, &before, &now, &ACTION_PAGE],
                )
                .await?;
            for row in &rows {
                let record = decode(row)?;
                if accept(&record) {
                    return Ok(Some(record));
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == ACTION_PAGE => before = Some(last.get(1)),
                _ => return Ok(None),
            }
        }
    }

    async fn since(&self, after: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT record::text FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
            self.table
        );
        let limit = limit.clamp(1, 10_000) as i64;
        let rows = self.pg.query("audit feed", &sql, &[&after, &limit]).await?;
        rows.iter().map(decode).collect()
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = format!(
            "WITH gone AS (DELETE FROM {t} WHERE ctid IN (SELECT ctid FROM {t} \
             WHERE expires_at <= $1 LIMIT $2) RETURNING 1) SELECT count(*) FROM gone",
            t = self.table
        );
        let mut removed = 0;
        loop {
            let rows = self
                .pg
                .query("audit purge", &sql, &[&now, &PURGE_BATCH])
                .await?;
            let batch = first_u64(&rows).unwrap_or(0);
            removed += batch;
            if batch < PURGE_BATCH as u64 {
                return Ok(removed);
            }
        }
    }
}
