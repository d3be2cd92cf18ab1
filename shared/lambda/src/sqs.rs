//! A batch of SQS messages (chain steps or delayed messages) → partial batch
//! failures: only the messages that failed are reported, so SQS redelivers
//! them alone and their batch mates are deleted (`ReportBatchItemFailures`).

use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use switchyard_gateway::{GatewayError, Handled};
use switchyard_store::DelayedMessage;

use crate::init::Runtime;

/// Handle every record of `event` concurrently. `max_receive_count` is the
/// source queue's redrive limit: a record failing its last delivery is
/// recorded in the audit trail before SQS moves it to the DLQ.
pub async fn handle_batch(
    runtime: &Runtime,
    event: SqsEvent,
    max_receive_count: u32,
) -> SqsBatchResponse {
    runtime.refresh_rules().await;
    let results = futures_util::future::join_all(
        event
            .records
            .iter()
            .map(|record| handle_record(runtime, record, max_receive_count)),
    )
    .await;
    let mut response = SqsBatchResponse::default();
    for (record, delivered) in event.records.iter().zip(results) {
        if delivered {
            continue;
        }
        match &record.message_id {
            Some(id) => response.add_failure(id.clone()),
            None => {
                tracing::error!("a failed SQS record has no message id; it cannot be redelivered")
            }
        }
    }
    response
}

/// True when the record is done with (delete it), false to have it redelivered.
async fn handle_record(runtime: &Runtime, record: &SqsMessage, max_receive_count: u32) -> bool {
    let raw = record.body.as_deref().unwrap_or_default();
    let id = record.message_id.as_deref().unwrap_or("?");
    let attempts = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let last_delivery = attempts >= max_receive_count;
    match DelayedMessage::parse(raw) {
        Ok(message) => {
            let Err(error) = handle_message(runtime, &message).await else {
                return true;
            };
            if last_delivery {
                runtime
                    .gateway
                    .audit_dead_letter(&message, &error, attempts)
                    .await;
            } else {
                tracing::warn!(sqs_message_id = id, message_id = %message.id, kind = message.work.kind(), attempts, error, "message failed; SQS will redeliver it");
            }
        }
        Err(error) => {
            if last_delivery {
                runtime
                    .gateway
                    .audit_unreadable(id, raw, &error, attempts)
                    .await;
            } else {
                tracing::warn!(
                    sqs_message_id = id,
                    attempts,
                    error,
                    "unreadable message; SQS will redeliver it"
                );
            }
        }
    }
    false
}

/// Hand one message to the gateway. Work that must wait (another worker holds
/// the record, or it is not due yet) goes back on the delay queue as a new
/// message, so waiting never counts against the redrive limit.
pub async fn handle_message(runtime: &Runtime, message: &DelayedMessage) -> Result<(), String> {
    let gateway = &runtime.gateway;
    match gateway.handle_isolated(message).await {
        Ok(Handled::Done) => Ok(()),
        Ok(Handled::RetryLater(after)) => requeue(runtime, message, after).await,
        Err(GatewayError::Invalid { message: why, .. }) => Err(format!("malformed message: {why}")),
        Err(err) => Err(err.to_string()),
    }
}

async fn requeue(
    runtime: &Runtime,
    message: &DelayedMessage,
    after: Duration,
) -> Result<(), String> {
    let ports = runtime.gateway.ports();
    let at = switchyard_core::after(ports.clock.now(), after);
    ports
        .queue
        .send(message.clone(), at)
        .await
        .map_err(|e| format!("cannot requeue for later: {e}"))
}
