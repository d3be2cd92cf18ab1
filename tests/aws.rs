//! The AWS providers against the emulator, verified by reading the emulator
//! (messages in queues, the object in the bucket) rather than by trusting the
//! provider's answer; and the IoT routes (seed 003) through real SNS,
//! EventBridge and SQS.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::aws::{drain, queue, send, suffix};
use switchyard_tests::{
    at, aws_client as client, dynamodb_endpoint as emulator, outcome_kind, start,
};

struct Resources {
    topic_arn: String,
    alerts_queue: String,
    events_bus: String,
    events_queue: String,
    metrics_queue: String,
    dead_letter_queue: String,
    fifo_queue: String,
    bucket: String,
}

async fn setup(endpoint: &str) -> Resources {
    let id = suffix();
    let sqs = client!(aws_sdk_sqs, endpoint);
    let sns = client!(aws_sdk_sns, endpoint);
    let events = client!(aws_sdk_eventbridge, endpoint);
    let s3 = client!(aws_sdk_s3, endpoint);
    let (alerts_queue, alerts_arn) = queue(&sqs, &format!("alerts-{id}"), false).await;
    let topic_arn = sns
        .create_topic()
        .name(format!("building-alerts-{id}"))
        .send()
        .await
        .expect("topic")
        .topic_arn()
        .expect("arn")
        .to_string();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&alerts_arn)
        .send()
        .await
        .expect("subscribe");
    let (events_queue, events_arn) = queue(&sqs, &format!("events-{id}"), false).await;
    let events_bus = format!("building-events-{id}");
    events
        .create_event_bus()
        .name(&events_bus)
        .send()
        .await
        .expect("bus");
    events
        .put_rule()
        .name(format!("to-queue-{id}"))
        .event_bus_name(&events_bus)
        .event_pattern(json!({"source": ["switchyard"]}).to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule(format!("to-queue-{id}"))
        .event_bus_name(&events_bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&events_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    // The metrics queue redrives to its DLQ after one failed receive.
    let (dead_letter_queue, dlq_arn) = queue(&sqs, &format!("telemetry-dlq-{id}"), false).await;
    let (metrics_queue, _) = queue(&sqs, &format!("telemetry-metrics-{id}"), false).await;
    sqs.set_queue_attributes()
        .queue_url(&metrics_queue)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}).to_string(),
        )
        .send()
        .await
        .expect("redrive policy");
    let (fifo_queue, _) = queue(&sqs, &format!("orders-{id}.fifo"), true).await;
    let bucket = format!("archive-{id}");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    Resources {
        topic_arn,
        alerts_queue,
        events_bus,
        events_queue,
        metrics_queue,
        dead_letter_queue,
        fifo_queue,
        bucket,
    }
}

fn iot_config(endpoint: &str, r: &Resources) -> Config {
    let text = std::fs::read_to_string(switchyard_tests::repo_path("rules/iot/gateway.toml"))
        .expect("config");
    let text = text
        .replace("http://127.0.0.1:4566", endpoint)
        .replace(
            "arn:aws:sns:us-east-1:000000000000:building-alerts",
            &r.topic_arn,
        )
        .replace("\"building-events\"", &format!("\"{}\"", r.events_bus))
        .replace(
            &format!("{endpoint}/000000000000/telemetry-metrics"),
            &r.metrics_queue,
        );
    let mut config = Config::parse("gateway.toml", &text).expect("IoT config on the emulator");
    config.base_dir = Some(switchyard_tests::repo_path("rules/iot"));
    config
}

#[tokio::test]
async fn iot_routes_reach_sns_eventbridge_and_sqs() {
    let Some(endpoint) = emulator() else { return };
    let r = setup(&endpoint).await;
    let server = start(iot_config(&endpoint, &r), at("2026-01-05T10:00:00Z")).await;
    let event = |id: &str, provider: &str, action_type: &str, payload: Value| {
        json!({"id": id, "namespace": "iot", "tenant": "smartbuilding-hq", "provider": provider,
               "action_type": action_type, "dedup_key": id, "payload": payload})
    };
    // Critical temperature → SNS topic → its SQS subscription.
    let outcome = send(&server, event("t1", "telemetry-normalizer", "sensor_reading",
        json!({"device_id": "dev-1", "sensor_type": "temperature", "value": 91, "environment": "production"}))).await;
    assert_eq!(
        outcome["Rerouted"]["new_provider"],
        json!("alert-fanout"),
        "{outcome}"
    );
    assert!(outcome["Rerouted"]["response"]["body"]["message_id"].is_string());
    let alerts = drain(&endpoint, &r.alerts_queue, 1).await;
    assert_eq!(
        alerts.len(),
        1,
        "the alert arrived through the subscription"
    );
    assert!(
        alerts[0].contains("dev-1") && alerts[0].contains("temperature"),
        "{}",
        alerts[0]
    );
    // Device lifecycle → EventBridge bus → rule → SQS.
    let outcome = send(
        &server,
        event(
            "l1",
            "event-bus",
            "device_lifecycle",
            json!({"device_id": "dev-9", "event": "provisioned"}),
        ),
    )
    .await;
    assert_eq!(outcome_kind(&outcome), "Rerouted", "{outcome}");
    let events = drain(&endpoint, &r.events_queue, 1).await;
    assert_eq!(events.len(), 1, "the event reached the rule's target");
    let envelope: Value = serde_json::from_str(&events[0]).expect("event JSON");
    assert_eq!(envelope["detail-type"], json!("device_lifecycle"));
    assert_eq!(envelope["detail"]["device_id"], json!("dev-9"));
    // Signed firmware → the metrics queue.
    let outcome = send(
        &server,
        event(
            "f1",
            "metrics-queue",
            "firmware_update",
            json!({"device_id": "dev-3", "version": "2.2", "signed": true}),
        ),
    )
    .await;
    assert_eq!(
        outcome["Rerouted"]["new_provider"],
        json!("metrics-queue"),
        "{outcome}"
    );
    // A consumer that cannot process it (receives, never deletes): after
    // maxReceiveCount the queue moves it to the DLQ.
    let sqs = client!(aws_sdk_sqs, &endpoint);
    let mut body = String::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&r.metrics_queue)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        if let Some(message) = out.messages().first() {
            body = message.body().unwrap_or_default().to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body: Value = serde_json::from_str(&body).expect("body JSON");
    assert_eq!(body["version"], json!("2.2"));
    let _ = sqs
        .receive_message()
        .queue_url(&r.metrics_queue)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive");
    let dead = drain(&endpoint, &r.dead_letter_queue, 1).await;
    assert_eq!(
        dead.len(),
        1,
        "the unprocessed firmware message is in the DLQ"
    );
    assert!(dead[0].contains("\"version\":\"2.2\""), "{}", dead[0]);
    // The rest of seed 003's table, on the AWS configuration.
    let reading =
        |id: &str, payload: Value| event(id, "telemetry-normalizer", "sensor_reading", payload);
    let normal = send(&server, reading("n1", json!({"device_id": "dev-4", "sensor_type": "temperature", "value": 21, "environment": "production"}))).await;
    assert_eq!(
        normal["ChainStarted"]["chain_name"],
        json!("telemetry-processing"),
        "{normal}"
    );
    let humidity = send(&server, reading("h1", json!({"device_id": "dev-5", "sensor_type": "humidity", "value": 40, "floor": 2, "environment": "production"}))).await;
    assert_eq!(outcome_kind(&humidity), "Grouped");
    let energy = send(&server, reading("e1", json!({"device_id": "dev-6", "sensor_type": "energy", "value": 120, "environment": "production"}))).await;
    assert_eq!(outcome_kind(&energy), "Scheduled");
    let duplicate = send(&server, reading("n1", json!({"device_id": "dev-4", "sensor_type": "temperature", "value": 21, "environment": "production"}))).await;
    assert_eq!(duplicate, json!("Deduplicated"));
    let test_device = send(&server, reading("x1", json!({"device_id": "dev-7", "sensor_type": "temperature", "value": 21, "environment": "test"}))).await;
    assert_eq!(
        test_device,
        json!({"Suppressed": {"rule": "suppress-test-devices"}})
    );
    // Unsigned firmware never leaves the gateway.
    let outcome = send(
        &server,
        event(
            "f2",
            "metrics-queue",
            "firmware_update",
            json!({"device_id": "dev-3", "signed": false}),
        ),
    )
    .await;
    assert_eq!(
        outcome,
        json!({"Suppressed": {"rule": "deny-unsigned-firmware"}})
    );
    assert!(drain(&endpoint, &r.metrics_queue, 0).await.is_empty());
}

#[tokio::test]
async fn sqs_fifo_s3_ses_and_lambda_providers() {
    let Some(endpoint) = emulator() else { return };
    let r = setup(&endpoint).await;
    let ses = client!(aws_sdk_sesv2, &endpoint);
    ses.create_email_identity()
        .email_identity("alerts@example.com")
        .send()
        .await
        .expect("identity");
    let text = format!(
        r#"
[executor]
max_retries = 0
[[providers]]
name = "orders-fifo"
type = "aws-sqs"
aws_endpoint_url = "{endpoint}"
queue_url = "{fifo}"
[[providers]]
name = "archive"
type = "aws-s3"
aws_endpoint_url = "{endpoint}"
bucket_name = "{bucket}"
object_prefix = "telemetry/"
[[providers]]
name = "mail"
type = "email"
backend = "ses"
aws_endpoint_url = "{endpoint}"
from_address = "alerts@example.com"
[[providers]]
name = "detector"
type = "aws-lambda"
aws_endpoint_url = "{endpoint}"
function_name = "no-such-function"
"#,
        fifo = r.fifo_queue,
        bucket = r.bucket
    );
    let server = start(
        Config::parse("aws.toml", &text).expect("config"),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let action = |id: &str, provider: &str, payload: Value| json!({"id": id, "namespace": "n", "tenant": "t", "provider": provider, "action_type": "x", "payload": payload});
    // FIFO: the same action twice (a retry) is delivered once: the dedup id is the idempotency key.
    for _ in 0..2 {
        let outcome = send(
            &server,
            action(
                "order-1",
                "orders-fifo",
                json!({"message_body": "order 1", "message_group_id": "shop"}),
            ),
        )
        .await;
        assert_eq!(outcome_kind(&outcome), "Executed", "{outcome}");
    }
    let delivered = drain(&endpoint, &r.fifo_queue, 2).await;
    assert_eq!(delivered, ["order 1"], "deduplicated by the FIFO queue");
    // S3: the object exists with the body, under the prefix.
    let outcome = send(&server, action("arch-1", "archive", json!({"key": "2026/01/reading.json", "body": {"v": 42}, "metadata": {"device": "dev-1"}}))).await;
    assert_eq!(
        outcome["Executed"]["body"]["key"],
        json!("telemetry/2026/01/reading.json"),
        "{outcome}"
    );
    let s3 = client!(aws_sdk_s3, &endpoint);
    let s3 = aws_sdk_s3::Client::from_conf(s3.config().to_builder().force_path_style(true).build());
    let object = s3
        .get_object()
        .bucket(&r.bucket)
        .key("telemetry/2026/01/reading.json")
        .send()
        .await
        .expect("object exists");
    assert_eq!(
        object
            .metadata()
            .and_then(|m| m.get("device"))
            .map(String::as_str),
        Some("dev-1")
    );
    let bytes = object.body.collect().await.expect("body").into_bytes();
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).expect("json"),
        json!({"v": 42})
    );
    // SES: sent from the verified identity.
    let outcome = send(
        &server,
        action(
            "mail-1",
            "mail",
            json!({"to": ["ops@example.com"], "subject": "Alert", "body": "Floor 3 is hot"}),
        ),
    )
    .await;
    assert!(
        outcome["Executed"]["body"]["message_id"].is_string(),
        "{outcome}"
    );
    // SES refuses a message without recipients before calling AWS.
    let outcome = send(
        &server,
        action("mail-2", "mail", json!({"subject": "no one"})),
    )
    .await;
    assert_eq!(
        outcome["Failed"]["code"],
        json!("INVALID_PAYLOAD"),
        "{outcome}"
    );
    // Lambda: an unknown function is a permanent failure, with AWS's error code.
    let outcome = send(&server, action("fn-1", "detector", json!({"value": 1}))).await;
    assert_eq!(outcome["Failed"]["retryable"], json!(false), "{outcome}");
    assert!(
        outcome["Failed"]["code"]
            .as_str()
            .expect("code")
            .starts_with("AWS_"),
        "{outcome}"
    );
}
