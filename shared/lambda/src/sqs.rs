//! A batch of SQS messages (chain steps or delayed messages) → partial batch
//! failures: only the messages that failed are reported, so SQS redelivers
//! them alone and their batch mates are deleted (`ReportBatchItemFailures`).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use switchyard_gateway::{Incoming, Settled};
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

/// True when the record is done with (delete it), false to have SQS deliver
/// it again. The gateway's delivery policy decides; on the last delivery a
/// failing message is kept as a dead letter and audited, then deleted, so
/// the queue's own DLQ only catches what the function could not settle.
async fn handle_record(runtime: &Runtime, record: &SqsMessage, max_receive_count: u32) -> bool {
    let raw = record.body.as_deref().unwrap_or_default();
    let id = record.message_id.as_deref().unwrap_or("?");
    let attempt = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let parsed = DelayedMessage::parse(raw);
    let settled = runtime
        .gateway
        .deliver(Incoming::read(id, raw, &parsed), attempt, max_receive_count)
        .await;
    settled == Settled::Ack
}

#[cfg(test)]
mod tests {
    //! One delivery policy: the same poison message, delivered by the local
    //! worker and by SQS to this function, ends the same way.

    use std::sync::Arc;

    use aws_lambda_events::sqs::SqsEvent;
    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};
    use switchyard_assembly::MemoryPorts;
    use switchyard_core::{AuditQuery, ManualClock};
    use switchyard_gateway::{Gateway, MAX_DELIVERIES, RETRY_DELAY};
    use switchyard_store::{Deferred, DelayQueue, DelayedMessage, RecordRef, StateKey};

    use super::handle_batch;
    use crate::init::Runtime;

    fn start() -> DateTime<Utc> {
        "2026-03-02T12:00:00Z".parse().expect("time")
    }

    /// A gateway on memory ports whose approval `poison` is a corrupt
    /// record: expiring it fails on every delivery.
    async fn poisoned() -> (Arc<Gateway>, Arc<ManualClock>, MemoryPorts, DelayedMessage) {
        let clock = Arc::new(ManualClock::new(start()));
        let memory = MemoryPorts::new(clock.clone(), 1_000);
        let gateway = switchyard_assembly::build_gateway(
            switchyard_server::example::config().expect("config"),
            memory.ports.clone(),
            Some(switchyard_server::example::rules().expect("rules")),
        )
        .expect("gateway");
        memory
            .ports
            .state
            .put(
                &StateKey::new("shop", "acme", "approval", "poison"),
                "{half a record",
                None,
            )
            .await
            .expect("put");
        let message = DelayedMessage::new(
            "approval-expiry:poison",
            Deferred::ApprovalExpiry(RecordRef {
                namespace: "shop".into(),
                tenant: "acme".into(),
                id: "poison".into(),
            }),
        );
        (Arc::new(gateway), clock, memory, message)
    }

    /// A function runtime around `gateway`, with the test environment's settings.
    fn runtime(gateway: Arc<Gateway>) -> Runtime {
        let env = crate::settings::complete_test_env();
        let settings =
            crate::Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect("settings");
        Runtime::for_tests(gateway, settings, None)
    }

    fn sqs_event(message: &DelayedMessage, receive_count: u32) -> SqsEvent {
        serde_json::from_value(json!({"Records": [{
            "messageId": "sqs-1",
            "body": serde_json::to_string(message).expect("wire"),
            "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        }]}))
        .expect("event")
    }

    /// Everything a reader of the audit trail sees, but the record's own id.
    async fn trail(gateway: &Gateway) -> Vec<Value> {
        let page = gateway
            .audit_query(&AuditQuery {
                namespace: Some("shop".into()),
                tenant: Some("acme".into()),
                limit: 100,
                ..AuditQuery::default()
            })
            .await
            .expect("audit");
        page.records
            .iter()
            .map(|r| {
                let mut shown = serde_json::to_value(r).expect("record");
                shown["id"] = Value::Null;
                shown
            })
            .collect()
    }

    async fn dead_letters(gateway: &Gateway) -> Vec<Value> {
        let (letters, _) = gateway.dead_letters(None, 100).await.expect("list");
        letters.iter().map(|d| d.to_json()).collect()
    }

    #[tokio::test]
    async fn a_poison_message_ends_the_same_locally_and_on_lambda() {
        // Locally: the worker delivers it every RETRY_DELAY.
        let (local, local_clock, memory, message) = poisoned().await;
        memory
            .queue
            .send(message.clone(), start())
            .await
            .expect("send");
        let mut deliveries = 0;
        while !memory.queue.is_empty() {
            deliveries += local.process_due(&memory.queue).await;
            local_clock.advance(chrono::Duration::from_std(RETRY_DELAY).expect("delay"));
            assert!(deliveries <= 10, "the worker must give up");
        }
        assert_eq!(deliveries, MAX_DELIVERIES as usize);

        // On Lambda: SQS delivers it with a growing receive count, the same
        // time apart; every failed delivery but the last is reported back.
        let (lambda, lambda_clock, _, message) = poisoned().await;
        let runtime = runtime(lambda.clone());
        let mut reported = Vec::new();
        for receive_count in 1..=MAX_DELIVERIES {
            let response =
                handle_batch(&runtime, sqs_event(&message, receive_count), MAX_DELIVERIES).await;
            reported.push(response.batch_item_failures.len());
            lambda_clock.advance(chrono::Duration::from_std(RETRY_DELAY).expect("delay"));
        }
        assert_eq!(reported, [1, 1, 1, 1, 0], "the last delivery is settled");

        let local_trail = trail(&local).await;
        assert_eq!(
            local_trail.len(),
            1,
            "one dead-letter record: {local_trail:?}"
        );
        assert_eq!(local_trail[0]["verdict"], json!("dead_letter"));
        assert_eq!(
            local_trail[0]["outcome_details"]["attempts"],
            json!(MAX_DELIVERIES)
        );
        assert!(
            local_trail[0]["outcome_details"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("corrupt record")),
            "{local_trail:?}"
        );
        assert_eq!(local_trail, trail(&lambda).await, "the same audit trail");

        let kept = dead_letters(&local).await;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["id"], json!("approval-expiry:poison"));
        assert_eq!(kept[0]["replayable"], json!(true));
        assert_eq!(kept, dead_letters(&lambda).await, "the same dead letter");
        assert_eq!(local.metrics().dead_lettered, 1);
        assert_eq!(lambda.metrics().dead_lettered, 1);
    }

    #[tokio::test]
    async fn an_unreadable_message_is_kept_verbatim_on_its_last_delivery() {
        let (lambda, _, _, _) = poisoned().await;
        let runtime = runtime(lambda.clone());
        let event = |count: u32| -> SqsEvent {
            serde_json::from_value(json!({"Records": [{
                "messageId": "sqs-2", "body": "not a message at all",
                "attributes": {"ApproximateReceiveCount": count.to_string()},
            }]}))
            .expect("event")
        };
        let first = handle_batch(&runtime, event(1), 3).await;
        assert_eq!(first.batch_item_failures.len(), 1, "retried first");
        assert!(dead_letters(&lambda).await.is_empty());
        let last = handle_batch(&runtime, event(3), 3).await;
        assert!(last.batch_item_failures.is_empty(), "settled");
        let kept = dead_letters(&lambda).await;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["id"], json!("sqs-2"));
        assert_eq!(kept[0]["message"], json!("not a message at all"));
        assert_eq!(kept[0]["replayable"], json!(false));
    }
}
