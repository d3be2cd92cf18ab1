//! `aws-eventbridge`: put one event. `source`, `detail_type` and `detail` come
//! from the payload (defaults: `switchyard`, the action type, the payload).

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::{BehaviorVersion, Region};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, missing, str_field, text};

pub(crate) struct EventBridgeProvider {
    name: String,
    bus: String,
    client: Client,
}

impl EventBridgeProvider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let bus = config
            .event_bus_name
            .clone()
            .ok_or_else(|| missing("event_bus_name"))?;
        let mut builder = aws_sdk_eventbridge::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            name: config.name.clone(),
            bus,
            client: Client::from_conf(builder.build()),
        })
    }
}

#[async_trait]
impl Provider for EventBridgeProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "aws-eventbridge"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let action = request.action;
        let payload = &action.payload;
        let bus = str_field(payload, "event_bus_name")
            .unwrap_or(&self.bus)
            .to_string();
        let detail = payload
            .get("detail")
            .cloned()
            .unwrap_or_else(|| payload.clone());
        let detail = if detail.is_object() {
            detail.to_string()
        } else {
            json!({"value": detail}).to_string()
        };
        let mut entry = PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source(str_field(payload, "source").unwrap_or("switchyard"))
            .detail_type(str_field(payload, "detail_type").unwrap_or(&action.action_type))
            .detail(detail);
        if let Some(resources) = payload.get("resources").and_then(|r| r.as_array()) {
            for resource in resources {
                entry = entry.resources(text(resource));
            }
        }
        let out = self
            .client
            .put_events()
            .entries(entry.build())
            .send()
            .await
            .map_err(|e| classify("EventBridge PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            let first = out.entries().first();
            let code = first.and_then(|e| e.error_code()).unwrap_or("Failed");
            let message = first
                .and_then(|e| e.error_message())
                .unwrap_or("entry rejected");
            let retryable = code.contains("Throttl") || code.contains("Internal");
            return Err(ProviderError {
                code: format!("AWS_{code}"),
                message: message.to_string(),
                retryable,
                retry_after: None,
            });
        }
        Ok(ProviderResponse::success(json!({
            "event_id": out.entries().first().and_then(|e| e.event_id()),
            "event_bus_name": bus,
            "status": "published",
        })))
    }
}
