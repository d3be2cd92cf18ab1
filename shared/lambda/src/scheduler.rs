//! The scheduler function's events: an SQS batch from the delay queue, or one
//! message delivered directly by an EventBridge Scheduler one-time schedule
//! (the schedule's input is the message itself).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::{Value, json};
use switchyard_gateway::{Incoming, RETRY_DELAY, Settled};
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
/// schedule. Both go through the gateway's delivery policy; a schedule that
/// fails is handed to the delay queue for its further deliveries. Only when
/// even that fails is the invocation an error (Lambda retries it, then sends
/// it to the function's on-failure destination).
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
            let gateway = &runtime.gateway;
            let max = runtime.settings.delay_max_receive_count;
            match gateway.deliver(Incoming::Message(&message), 1, max).await {
                Settled::Ack => Ok(
                    json!({"message_id": message.id, "kind": message.work.kind(), "status": "done"}),
                ),
                // A schedule delivers once: its retries go through the delay
                // queue, where the same policy counts them.
                Settled::Redeliver => {
                    let ports = gateway.ports();
                    let at = switchyard_core::after(ports.clock.now(), RETRY_DELAY);
                    ports.queue.send(message.clone(), at).await.map_err(|e| {
                        format!("cannot hand a failed schedule to the delay queue: {e}")
                    })?;
                    Ok(
                        json!({"message_id": message.id, "kind": message.work.kind(), "status": "retrying"}),
                    )
                }
            }
        }
    }
}
