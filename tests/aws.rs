//! The AWS providers against the emulator, verified by reading the emulator
//! (messages in queues, the object in the bucket) rather than by trusting the
//! provider's answer; and the IoT routes (seed 003) through real SNS,
//! EventBridge and SQS.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::{TestServer, at, dynamodb_endpoint as emulator, outcome_kind, start};

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

macro_rules! client {
    ($sdk:ident, $endpoint:expr) => {{
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .endpoint_url($endpoint)
            .credentials_provider($sdk::config::Credentials::new(
                "test", "test", None, None, "emulator",
            ))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

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

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> (String, String) {
    let mut create = sqs.create_queue().queue_name(name);
    if fifo {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = create
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("arn");
    (url, arn)
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

/// Every message waiting in a queue (bodies), polled briefly.
async fn drain(endpoint: &str, queue_url: &str, expect: usize) -> Vec<String> {
    let sqs = client!(aws_sdk_sqs, endpoint);
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        for message in out.messages() {
            bodies.push(message.body().unwrap_or_default().to_string());
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
        }
        if bodies.len() >= expect {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bodies
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

async fn send(server: &TestServer, body: Value) -> Value {
    let (status, outcome) = server.post("/v1/dispatch", &body).await;
    assert_eq!(status, 200, "{outcome}");
    outcome
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

/// A provider that cannot be reached is a retryable failure, retried by the
/// executor, and never blocks the dispatch past its deadline.
#[tokio::test]
async fn unreachable_aws_endpoint_is_retryable_and_bounded() {
    let text = r#"
[executor]
max_retries = 2
timeout_seconds = 2
backoff_base_ms = 10
backoff_max_ms = 20
[[providers]]
name = "alerts"
type = "aws-sns"
aws_endpoint_url = "http://127.0.0.1:9"
topic_arn = "arn:aws:sns:us-east-1:123456789012:nowhere"
"#;
    let server = start(
        Config::parse("dead.toml", text).expect("config"),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let started = std::time::Instant::now();
    let outcome = send(&server, json!({"namespace": "n", "tenant": "t", "provider": "alerts", "action_type": "x", "payload": {"message": "hi"}})).await;
    assert_eq!(outcome["Failed"]["retryable"], json!(true), "{outcome}");
    assert_eq!(outcome["Failed"]["attempts"], json!(3));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded by 3 attempts × 2 s"
    );
}

/// A second emulator the test can stop and start (what an outage looks like).
struct Emulator {
    port: u16,
    child: Option<std::process::Child>,
}

impl Emulator {
    fn start(port: u16) -> Option<Emulator> {
        let python = std::env::var("SWITCHYARD_MOTO_PYTHON").ok()?;
        let script = switchyard_tests::repo_path("localstack/moto_serial.py");
        let child = std::process::Command::new(python)
            .arg(script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Emulator {
            port,
            child: Some(child),
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn ready(&self) {
        for _ in 0..100 {
            if reqwest::get(self.url()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("emulator on {} did not start", self.url());
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Topic + subscribed queue on an emulator; names are fixed so a restarted
/// emulator gets the same ARN back.
async fn alert_topic(endpoint: &str) -> (String, String) {
    let sqs = client!(aws_sdk_sqs, endpoint);
    let sns = client!(aws_sdk_sns, endpoint);
    let (queue_url, queue_arn) = queue(&sqs, "alerts-outage", false).await;
    let topic = sns
        .create_topic()
        .name("building-alerts-outage")
        .send()
        .await
        .expect("topic")
        .topic_arn()
        .expect("arn")
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .expect("subscribe");
    (topic, queue_url)
}

/// Seed 003's breaker: alert-fanout's emulator goes away → after 2 failures
/// alerts go to local-fallback; once it is back and the recovery timeout has
/// passed (injected clock), one probe closes the breaker and alerts reach SNS.
#[tokio::test]
async fn alert_fanout_outage_falls_back_and_recovers() {
    let Some(_) = emulator() else { return };
    let port = free_port();
    let Some(mut outage) = Emulator::start(port) else {
        assert!(
            std::env::var_os(switchyard_tests::SKIP_EMULATOR).is_some(),
            "SWITCHYARD_MOTO_PYTHON is not set: run tests/run (or set {}=1 to skip, knowingly)",
            switchyard_tests::SKIP_EMULATOR
        );
        eprintln!("skipped on purpose: SWITCHYARD_MOTO_PYTHON is not set");
        return;
    };
    outage.ready().await;
    let (topic, _) = alert_topic(&outage.url()).await;
    let text = format!(
        r#"
[executor]
max_retries = 0
timeout_seconds = 2
[rules]
directory = "{rules}"
evaluation = "gates"
[[providers]]
name = "alert-fanout"
type = "aws-sns"
aws_endpoint_url = "{url}"
topic_arn = "{topic}"
[[providers]]
name = "local-fallback"
type = "log"
[[providers]]
name = "telemetry-normalizer"
type = "log"
[circuit_breaker]
enabled = true
failure_threshold = 3
success_threshold = 1
[circuit_breaker.providers.alert-fanout]
failure_threshold = 2
recovery_timeout_seconds = 60
fallback_provider = "local-fallback"
"#,
        rules = switchyard_tests::repo_path("tests/fixtures/iot-alerts").display(),
        url = outage.url(),
    );
    let server = start(
        Config::parse("outage.toml", &text).expect("config"),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let alert = |n: u32| {
        json!({"id": format!("a{n}"), "namespace": "iot", "tenant": "smartbuilding-hq", "provider": "telemetry-normalizer",
                                 "action_type": "sensor_reading", "payload": {"device_id": format!("dev-{n}"), "sensor_type": "temperature", "value": 95}})
    };
    outage.stop();
    for n in 0..2 {
        let outcome = send(&server, alert(n)).await;
        assert_eq!(outcome["Failed"]["retryable"], json!(true), "{outcome}");
    }
    let outcome = send(&server, alert(2)).await;
    assert_eq!(
        outcome["Rerouted"]["new_provider"],
        json!("local-fallback"),
        "{outcome}"
    );

    // The emulator comes back (empty: recreate the topic, same ARN).
    let restarted = Emulator::start(port).expect("restart");
    restarted.ready().await;
    let (topic_again, queue_url) = alert_topic(&restarted.url()).await;
    assert_eq!(topic_again, topic);
    server.clock.advance(chrono::Duration::seconds(61));
    let outcome = send(&server, alert(3)).await;
    assert_eq!(
        outcome["Rerouted"]["new_provider"],
        json!("alert-fanout"),
        "{outcome}"
    );
    let delivered = drain(&restarted.url(), &queue_url, 1).await;
    assert_eq!(delivered.len(), 1, "the probe's alert reached SNS");
    let (_, breakers) = server.get("/v1/circuit-breakers").await;
    let fanout = breakers["circuit_breakers"]
        .as_array()
        .expect("list")
        .iter()
        .find(|b| b["provider"] == "alert-fanout")
        .expect("breaker")
        .clone();
    assert_eq!(fanout["state"], json!("closed"));
}

/// `aws_role_arn`: credentials come from STS AssumeRole (the emulator's STS
/// here), then the provider works with them.
#[tokio::test]
async fn assume_role_credentials_reach_the_service() {
    let Some(endpoint) = emulator() else { return };
    let sqs = client!(aws_sdk_sqs, &endpoint);
    let (queue_url, _) = queue(&sqs, &format!("assumed-{}", suffix()), false).await;
    let text = format!(
        r#"
[executor]
max_retries = 0
[[providers]]
name = "jobs"
type = "aws-sqs"
aws_endpoint_url = "{endpoint}"
aws_role_arn = "arn:aws:iam::123456789012:role/switchyard-dispatch"
aws_session_name = "switchyard-test"
aws_external_id = "ext-42"
queue_url = "{queue_url}"
"#
    );
    let server = start(
        Config::parse("role.toml", &text).expect("config"),
        at("2026-01-05T10:00:00Z"),
    )
    .await;
    let outcome = send(&server, json!({"namespace": "n", "tenant": "t", "provider": "jobs", "action_type": "x", "payload": {"message_body": "via role"}})).await;
    assert_eq!(outcome_kind(&outcome), "Executed", "{outcome}");
    assert_eq!(drain(&endpoint, &queue_url, 1).await, ["via role"]);
}
