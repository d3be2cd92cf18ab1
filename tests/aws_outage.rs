//! AWS providers when AWS is not there: an unreachable endpoint fails fast
//! and retryably, an outage of a second emulator opens the breaker and falls
//! back, then recovers; and credentials from an assumed role.

use std::time::Duration;

use serde_json::json;
use switchyard_config::Config;
use switchyard_tests::aws::{drain, queue, send, suffix};
use switchyard_tests::{
    at, aws_client as client, dynamodb_endpoint as emulator, outcome_kind, start,
};

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
