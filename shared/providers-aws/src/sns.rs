//! `aws-sns`: publish to a topic. The message is `payload.message` or, when
//! absent, the whole payload as JSON (so reroutes of arbitrary actions work).

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::config::{BehaviorVersion, Region};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Value, json};
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, dedup_id, missing, str_field, text};

pub(crate) struct SnsProvider {
    name: String,
    topic_arn: String,
    client: Client,
}

impl SnsProvider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let topic_arn = config
            .topic_arn
            .clone()
            .ok_or_else(|| missing("topic_arn"))?;
        let mut builder = aws_sdk_sns::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            name: config.name.clone(),
            topic_arn,
            client: Client::from_conf(builder.build()),
        })
    }
}

#[async_trait]
impl Provider for SnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "aws-sns"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let topic = str_field(payload, "topic_arn")
            .unwrap_or(&self.topic_arn)
            .to_string();
        let message = payload
            .get("message")
            .map(text)
            .unwrap_or_else(|| payload.to_string());
        let mut call = self.client.publish().topic_arn(&topic).message(message);
        if let Some(subject) = str_field(payload, "subject") {
            call = call.subject(subject);
        }
        if let Some(Value::Object(attributes)) = payload.get("message_attributes") {
            for (key, value) in attributes {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(text(value))
                    .build()
                    .map_err(|e| ProviderError::permanent("INVALID_PAYLOAD", e.to_string()))?;
                call = call.message_attributes(key, attribute);
            }
        }
        if topic.ends_with(".fifo") {
            // FIFO topics drop a repeated deduplication id: retries publish once.
            call = call
                .message_group_id(str_field(payload, "message_group_id").unwrap_or("default"))
                .message_deduplication_id(dedup_id(request.idempotency_key));
        }
        let out = call.send().await.map_err(|e| classify("SNS Publish", e))?;
        Ok(ProviderResponse::success(json!({
            "message_id": out.message_id(),
            "topic_arn": topic,
            "status": "published",
        })))
    }
}
