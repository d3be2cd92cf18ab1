//! The atomic gate on PostgreSQL: one call of the `gate` function (see
//! `schema_v1.sql`), one round trip, every op applied or none.

use serde_json::{Value, json};
use switchyard_store::state::MAX_GATE_OPS;
use switchyard_store::{GateOp, GateResult, StoreError};

use crate::state::PostgresStateStore;

/// An op as the function reads it.
fn encode(op: &GateOp) -> Value {
    match op {
        GateOp::Claim { key, expires_at } => json!({
            "op": "claim", "ns": key.namespace, "tenant": key.tenant,
            "kind": key.kind, "id": key.id, "exp": expires_at,
        }),
        GateOp::Count {
            key,
            limit,
            expires_at,
        } => json!({
            "op": "count", "ns": key.namespace, "tenant": key.tenant,
            "kind": key.kind, "id": key.id, "exp": expires_at,
            // Past i64 a limit is unlimited in practice.
            "limit": (*limit).min(i64::MAX as u64),
        }),
    }
}

impl PostgresStateStore {
    pub(crate) async fn run_gate(&self, ops: &[GateOp]) -> Result<GateResult, StoreError> {
        if ops.len() > MAX_GATE_OPS {
            return Err(StoreError::Invalid(format!(
                "{} gate operations (at most {MAX_GATE_OPS})",
                ops.len()
            )));
        }
        if ops.is_empty() {
            return Ok(GateResult::Passed);
        }
        let encoded = Value::Array(ops.iter().map(encode).collect()).to_string();
        let now = self.clock.now();
        let rows = self
            .pg
            .query("gate", &self.sql.gate, &[&encoded, &now])
            .await?;
        let Some(row) = rows.first() else {
            return Err(StoreError::Unavailable("gate answered no row".into()));
        };
        let failed: Option<i32> = row.get(0);
        let current: Option<i64> = row.get(1);
        Ok(match failed {
            None => GateResult::Passed,
            Some(op) => GateResult::Rejected {
                op: usize::try_from(op).unwrap_or(0),
                current: current.map(|c| u64::try_from(c).unwrap_or(0)),
            },
        })
    }
}
