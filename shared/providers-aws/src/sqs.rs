//! `aws-sqs`: send a message. The body is `payload.message_body` or the whole
//! payload as JSON. FIFO queues get a group id and, as deduplication id, a
//! digest of the idempotency key, so a retried send is delivered once.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use serde_json::json;
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, dedup_id, missing, str_field, text};

pub(crate) struct SqsProvider {
    name: String,
    queue_url: String,
    client: Client,
}

impl SqsProvider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let queue_url = config
            .queue_url
            .clone()
            .ok_or_else(|| missing("queue_url"))?;
        if !(queue_url.starts_with("http://") || queue_url.starts_with("https://")) {
            return Err(format!(
                "`queue_url` must be a queue URL, got '{queue_url}'"
            ));
        }
        let mut builder = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            name: config.name.clone(),
            queue_url,
            client: Client::from_conf(builder.build()),
        })
    }
}

#[async_trait]
impl Provider for SqsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "aws-sqs"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let queue = str_field(payload, "queue_url")
            .unwrap_or(&self.queue_url)
            .to_string();
        let body = payload
            .get("message_body")
            .map(text)
            .unwrap_or_else(|| payload.to_string());
        let mut call = self
            .client
            .send_message()
            .queue_url(&queue)
            .message_body(body);
        if let Some(delay) = payload.get("delay_seconds").and_then(|v| v.as_i64()) {
            call = call.delay_seconds(delay.clamp(0, 900) as i32);
        }
        if queue.ends_with(".fifo") {
            call = call
                .message_group_id(str_field(payload, "message_group_id").unwrap_or("default"))
                .message_deduplication_id(
                    str_field(payload, "message_dedup_id")
                        .map_or_else(|| dedup_id(request.idempotency_key), str::to_string),
                );
        }
        let out = call
            .send()
            .await
            .map_err(|e| classify("SQS SendMessage", e))?;
        Ok(ProviderResponse::success(json!({
            "message_id": out.message_id(),
            "queue_url": queue,
            "status": "sent",
        })))
    }
}
