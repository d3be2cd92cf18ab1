//! The delay queue on PostgreSQL, drained by the local worker: messages
//! survive a restart, and several processes on one database share them
//! (`FOR UPDATE SKIP LOCKED`: each due message goes to one taker).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchyard_core::Clock;
use switchyard_store::{DelayQueue, DelayedMessage, PolledQueue, StoreError, Taken};

use crate::connect::Postgres;
use crate::error::corrupt;

/// How long a taken message stays hidden: a process that dies while
/// handling it leaves it to be delivered again after this (handlers are
/// idempotent by message id). Longer than a handler's longest provider call
/// with its retries.
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct PostgresDelayQueue {
    pg: Postgres,
    clock: Arc<dyn Clock>,
    sql: Arc<QueueSql>,
}

struct QueueSql {
    send: String,
    take: String,
    ack: String,
    retry: String,
}

impl std::fmt::Debug for PostgresDelayQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresDelayQueue").finish_non_exhaustive()
    }
}

impl PostgresDelayQueue {
    pub fn new(pg: Postgres, clock: Arc<dyn Clock>) -> Self {
        let queue = pg.settings.table("queue");
        let sql = QueueSql {
            send: format!(
                "INSERT INTO {queue} (message_id, kind, message, deliver_at) \
                 VALUES ($1, $2, $3::text::jsonb, $4)"
            ),
            // Taking moves deliver_at past the visibility timeout and counts
            // the delivery, in the statement that picks the rows.
            take: format!(
                "WITH picked AS (SELECT seq, deliver_at FROM {queue} WHERE deliver_at <= $1 \
                 ORDER BY deliver_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE {queue} q SET deliver_at = $2, deliveries = q.deliveries + 1 \
                 FROM picked WHERE q.seq = picked.seq \
                 RETURNING q.seq, q.message::text, q.deliveries, picked.deliver_at"
            ),
            ack: format!("DELETE FROM {queue} WHERE seq = $1"),
            retry: format!("UPDATE {queue} SET deliver_at = $2 WHERE seq = $1"),
        };
        Self {
            pg,
            clock,
            sql: Arc::new(sql),
        }
    }
}

#[async_trait]
impl DelayQueue for PostgresDelayQueue {
    async fn send(
        &self,
        message: DelayedMessage,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&message).map_err(|e| corrupt(&message.id, e))?;
        self.pg
            .query(
                "queue send",
                &self.sql.send,
                &[&message.id, &message.work.kind(), &json, &deliver_at],
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl PolledQueue for PostgresDelayQueue {
    async fn take(&self, max: usize) -> Result<Vec<Taken>, StoreError> {
        let now = self.clock.now();
        let hidden_until = switchyard_core::after(now, VISIBILITY_TIMEOUT);
        let max = max.clamp(1, 1_000) as i64;
        let rows = self
            .pg
            .query("queue take", &self.sql.take, &[&now, &hidden_until, &max])
            .await?;
        let mut taken: Vec<Taken> = rows
            .iter()
            .map(|row| {
                let raw: String = row.get(1);
                let message = DelayedMessage::parse(&raw)
                    .map_err(|e| corrupt(format!("queue message {}", row.get::<_, i64>(0)), e))?;
                let taken = Taken {
                    message,
                    attempt: u32::try_from(row.get::<_, i32>(2)).unwrap_or(1),
                    due_at: row.get(3),
                    receipt: row.get(0),
                };
                Ok(taken)
            })
            .collect::<Result<_, StoreError>>()?;
        // RETURNING does not keep the subquery's order: due order, then sent order.
        taken.sort_by_key(|t| (t.due_at, t.receipt));
        Ok(taken)
    }

    async fn ack(&self, taken: &Taken) -> Result<(), StoreError> {
        self.pg
            .query("queue ack", &self.sql.ack, &[&taken.receipt])
            .await?;
        Ok(())
    }

    async fn retry(&self, taken: Taken, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.pg
            .query("queue retry", &self.sql.retry, &[&taken.receipt, &at])
            .await?;
        Ok(())
    }
}
