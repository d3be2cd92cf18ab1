//! AWS resources on the emulator for provider tests: clients, queues,
//! reading what arrived, and dispatching through a test server.

use std::time::Duration;

use serde_json::Value;

use crate::TestServer;

pub fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// An SDK client of crate `$sdk` for the emulator at `$endpoint`.
#[macro_export]
macro_rules! aws_client {
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

/// The SDK configuration every client of the emulator uses.
pub async fn emulator_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .load()
        .await
}

pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> (String, String) {
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

/// Every message waiting in a queue (bodies), polled briefly.
pub async fn drain(endpoint: &str, queue_url: &str, expect: usize) -> Vec<String> {
    let sqs = crate::aws_client!(aws_sdk_sqs, endpoint);
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

pub async fn send(server: &TestServer, body: Value) -> Value {
    let (status, outcome) = server.post("/v1/dispatch", &body).await;
    assert_eq!(status, 200, "{outcome}");
    outcome
}
