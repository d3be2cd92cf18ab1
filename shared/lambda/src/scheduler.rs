//! The scheduler function's events: an SQS batch from the delay queue, or one
//! message delivered directly by an EventBridge Scheduler one-time schedule
//! (the schedule's input is the message itself).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::{Value, json};
use switchyard_store::DelayedMessage;

use crate::init::Runtime;

pub enum SchedulerEvent {
    Sqs(SqsEvent),
    Schedule(DelayedMessage),
}

impl SchedulerEvent {
    /// Tell the two shapes apart: SQS batches carry `Records`.
    pub fn parse(event: Value) -> Result<Self, String> {
        if event.get("Records").is_some() {
            serde_json::from_value(event)
                .map(Self::Sqs)
                .map_err(|e| format!("malformed SQS event: {e}"))
        } else {
            serde_json::from_value(event)
                .map(Self::Schedule)
                .map_err(|e| {
                    format!("schedule input is not a Switchyard message (id, kind, body): {e}")
                })
        }
    }
}

/// The function's answer: partial batch failures for SQS, a status for a
/// schedule. A failed schedule invocation is an error, so Lambda retries it
/// and then sends it to the delay DLQ (the function's on-failure destination).
pub async fn handle(runtime: &Runtime, event: SchedulerEvent) -> Result<Value, String> {
    match event {
        SchedulerEvent::Sqs(batch) => {
            let response: SqsBatchResponse =
                crate::sqs::handle_batch(runtime, batch, runtime.settings.delay_max_receive_count)
                    .await;
            serde_json::to_value(response).map_err(|e| e.to_string())
        }
        SchedulerEvent::Schedule(message) => {
            runtime.refresh_rules().await;
            crate::sqs::handle_message(runtime, &message).await?;
            Ok(json!({"message_id": message.id, "kind": message.work.kind(), "status": "done"}))
        }
    }
}
