//! The atomic gate on DynamoDB: every op of a dispatch (dedup claim,
//! throttle window, quota counters) as one `TransactWriteItems`, all
//! conditions checked and all writes applied together, or none. A gate of
//! one op is that op's conditional `PutItem` or `UpdateItem` alone: the
//! same condition and write, atomic by itself, at half a transaction's
//! write units.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use switchyard_store::state::MAX_GATE_OPS;
use switchyard_store::{GateOp, GateResult, StateKey, StoreError};

use crate::attr::{Item, get_n, key_of, live, n, s, unavailable};
use crate::contention::{self, CONFLICT_ATTEMPTS, retry_on_conflict};
use crate::state::{DynamoStateStore, expiry_attrs, is_condition_failure};

/// A claim passes when the key is absent or expired.
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR exp_ms <= :now";
/// A window counter: add one, keep the window's expiry once set.
const COUNT_UPDATE: &str = "ADD c :one, ver :one SET exp_ms = if_not_exists(exp_ms, :exp), #ttl = if_not_exists(#ttl, :ttl)";
/// A live counter below the limit, or none yet. An expired one fails the
/// condition too: see `run_gate` for the retry.
const COUNT_CONDITION: &str = "attribute_not_exists(pk) OR (c < :limit AND exp_ms > :now)";

fn count_values(
    limit: u64,
    now_ms: i64,
    expires_at: DateTime<Utc>,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (":one".to_string(), n(1)),
        (":limit".to_string(), n(limit)),
        (":now".to_string(), n(now_ms)),
        (":exp".to_string(), n(expires_at.timestamp_millis())),
        (":ttl".to_string(), n(expires_at.timestamp() + 86_400)),
    ])
}

impl DynamoStateStore {
    fn claim_item(&self, key: &StateKey, expires_at: Option<DateTime<Utc>>) -> Item {
        let mut item = key_of(key, self.shards);
        item.insert("v".into(), s("1"));
        item.insert("ver".into(), n(1));
        expiry_attrs(&mut item, expires_at);
        item
    }

    fn gate_item(&self, op: &GateOp, now_ms: i64) -> Result<TransactWriteItem, StoreError> {
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        match op {
            GateOp::Claim { key, expires_at } => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(self.claim_item(key, *expires_at)))
                    .condition_expression(CLAIM_CONDITION)
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
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_of(key, self.shards)))
                    .update_expression(COUNT_UPDATE)
                    .condition_expression(COUNT_CONDITION)
                    .expression_attribute_names("#ttl", "ttl")
                    .set_expression_attribute_values(Some(count_values(
                        *limit,
                        now_ms,
                        *expires_at,
                    )))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
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
        match ops {
            [] => return Ok(GateResult::Passed),
            [op] => return self.run_single(op).await,
            _ => {}
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
            return Ok(GateResult::Rejected {
                op: index,
                current: counted(&ops[index], old),
            });
        }
    }

    /// One op's write: `Some(old item)` when its condition failed (the old
    /// item as DynamoDB returned it, if any), `None` when it was applied.
    async fn write_one(
        &self,
        op: &GateOp,
        now_ms: i64,
    ) -> Result<Option<Option<Item>>, StoreError> {
        match op {
            GateOp::Claim { key, expires_at } => {
                let item = self.claim_item(key, *expires_at);
                let result = retry_on_conflict(|| {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(item.clone()))
                        .condition_expression(CLAIM_CONDITION)
                        .expression_attribute_values(":now", n(now_ms))
                        .send()
                })
                .await;
                match result {
                    Ok(_) => Ok(None),
                    Err(e) if is_condition_failure(&e) => Ok(Some(None)),
                    Err(e) => Err(unavailable(
                        "PutItem",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )),
                }
            }
            GateOp::Count {
                key,
                limit,
                expires_at,
            } => {
                let values = count_values(*limit, now_ms, *expires_at);
                let result = retry_on_conflict(|| {
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(key, self.shards)))
                        .update_expression(COUNT_UPDATE)
                        .condition_expression(COUNT_CONDITION)
                        .expression_attribute_names("#ttl", "ttl")
                        .set_expression_attribute_values(Some(values.clone()))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .send()
                })
                .await;
                match result {
                    Ok(_) => Ok(None),
                    Err(e) if is_condition_failure(&e) => {
                        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
                        let old = match e.as_service_error() {
                            Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                                c.item().cloned()
                            }
                            _ => None,
                        };
                        Ok(Some(old))
                    }
                    Err(e) => Err(unavailable(
                        "UpdateItem",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )),
                }
            }
        }
    }

    /// A gate of one op: its conditional write alone.
    async fn run_single(&self, op: &GateOp) -> Result<GateResult, StoreError> {
        let mut expired_removed = false;
        loop {
            let now = self.now_ms();
            let Some(old) = self.write_one(op, now).await? else {
                return Ok(GateResult::Passed);
            };
            if let (GateOp::Count { key, .. }, Some(item)) = (op, &old)
                && !live(item, now)
            {
                // The counter exists but expired: clear it and write again (once).
                if expired_removed {
                    return Err(StoreError::Unavailable(
                        "gate kept meeting an expired counter; retry".into(),
                    ));
                }
                expired_removed = true;
                self.delete_if_expired(key, now).await?;
                continue;
            }
            return Ok(GateResult::Rejected {
                op: 0,
                current: counted(op, old.as_ref()),
            });
        }
    }
}

/// A refused counter's value (0 when it was absent); `None` for a claim.
fn counted(op: &GateOp, old: Option<&Item>) -> Option<u64> {
    match op {
        GateOp::Count { .. } => Some(old.and_then(|o| get_n(o, "c")).unwrap_or(0) as u64),
        GateOp::Claim { .. } => None,
    }
}
