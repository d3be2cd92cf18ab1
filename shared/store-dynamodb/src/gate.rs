//! The atomic gate on DynamoDB: every op of a dispatch (dedup claim,
//! throttle window, quota counters) as one `TransactWriteItems`, all
//! conditions checked and all writes applied together, or none.

use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use switchyard_store::state::MAX_GATE_OPS;
use switchyard_store::{GateOp, GateResult, StoreError};

use crate::attr::{get_n, key_of, live, n, s, unavailable};
use crate::contention::{self, CONFLICT_ATTEMPTS};
use crate::state::{DynamoStateStore, expiry_attrs};

impl DynamoStateStore {
    fn gate_item(&self, op: &GateOp, now_ms: i64) -> Result<TransactWriteItem, StoreError> {
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        match op {
            GateOp::Claim { key, expires_at } => {
                let mut item = key_of(key, self.shards);
                item.insert("v".into(), s("1"));
                item.insert("ver".into(), n(1));
                expiry_attrs(&mut item, *expires_at);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk) OR exp_ms <= :now")
                    .expression_attribute_values(":now", n(now_ms))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(build_err)?;
                Ok(TransactWriteItem::builder().put(put).build())
            }
            GateOp::Count {
                key,
                limit,
                expires_at,
            } => {
                // A live counter below the limit, or none yet. An expired one
                // fails the condition too: see `gate` for the retry.
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_of(key, self.shards)))
                    .update_expression("ADD c :one, ver :one SET exp_ms = if_not_exists(exp_ms, :exp), #ttl = if_not_exists(#ttl, :ttl)")
                    .condition_expression("attribute_not_exists(pk) OR (c < :limit AND exp_ms > :now)")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":limit", n(*limit))
                    .expression_attribute_values(":now", n(now_ms))
                    .expression_attribute_values(":exp", n(expires_at.timestamp_millis()))
                    .expression_attribute_values(":ttl", n(expires_at.timestamp() + 86_400))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(build_err)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
        }
    }

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
        // Two kinds of rounds, each bounded: a contention retry (see
        // `contention`), or the removal of an expired counter that failed
        // the condition (at most one per operation).
        let mut contention_retries = 0;
        let mut expired_removals = 0;
        loop {
            let now = self.now_ms();
            let items = ops
                .iter()
                .map(|op| self.gate_item(op, now))
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(GateResult::Passed),
                Err(err) => err,
            };
            let Some(reasons) = err
                .as_service_error()
                .and_then(|e| match e {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().to_vec())
                    }
                    _ => None,
                })
            else {
                return Err(unavailable("TransactWriteItems", aws_sdk_dynamodb::error::DisplayErrorContext(err)));
            };
            let Some((index, reason)) = reasons
                .iter()
                .enumerate()
                .find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            else {
                let transient = reasons
                    .iter()
                    .filter_map(|r| r.code())
                    .any(contention::is_transient_reason);
                if !transient {
                    return Err(unavailable(
                        "TransactWriteItems",
                        aws_sdk_dynamodb::error::DisplayErrorContext(err),
                    ));
                }
                // Cancelled by contention: nothing was written, send it again.
                contention_retries += 1;
                if contention_retries >= CONFLICT_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "gate cancelled by contention {CONFLICT_ATTEMPTS} times; retry"
                    )));
                }
                contention::back_off(contention_retries - 1).await;
                continue;
            };
            let old = reason.item();
            if let (GateOp::Count { key, .. }, Some(old)) = (&ops[index], old)
                && !live(old, now)
            {
                // The counter exists but expired: clear it and retry.
                expired_removals += 1;
                if expired_removals > ops.len() {
                    return Err(StoreError::Unavailable(
                        "gate kept meeting expired counters; retry".into(),
                    ));
                }
                self.delete_if_expired(key, now).await?;
                continue;
            }
            let current = match &ops[index] {
                GateOp::Count { .. } => Some(old.and_then(|o| get_n(o, "c")).unwrap_or(0) as u64),
                GateOp::Claim { .. } => None,
            };
            return Ok(GateResult::Rejected { op: index, current });
        }
    }
}
