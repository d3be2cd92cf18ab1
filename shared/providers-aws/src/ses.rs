//! `email` with `backend = "ses"`: one message through SESv2 from
//! `from_address` to `payload.to` (a string or a list), with `subject` and a
//! text (`body`) and/or `html` body.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::{BehaviorVersion, Region};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use serde_json::{Value, json};
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, missing, str_field, text};

pub(crate) struct SesProvider {
    name: String,
    from: String,
    client: Client,
}

impl SesProvider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let from = config
            .from_address
            .clone()
            .ok_or_else(|| missing("from_address"))?;
        if !from.contains('@') {
            return Err(format!("`from_address` '{from}' is not an e-mail address"));
        }
        let mut builder = aws_sdk_sesv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            name: config.name.clone(),
            from,
            client: Client::from_conf(builder.build()),
        })
    }
}

fn content(data: String) -> Result<Content, ProviderError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| ProviderError::permanent("INVALID_PAYLOAD", e.to_string()))
}

#[async_trait]
impl Provider for SesProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "email"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let to: Vec<String> = match payload.get("to") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().map(text).collect(),
            _ => {
                return Err(ProviderError::permanent(
                    "INVALID_PAYLOAD",
                    "payload.to (an address or a list) is required",
                ));
            }
        };
        let subject = str_field(payload, "subject")
            .unwrap_or(&request.action.action_type)
            .to_string();
        let mut body = Body::builder();
        match (payload.get("body"), str_field(payload, "html")) {
            (None, None) => body = body.text(content(payload.to_string())?),
            (text_body, html) => {
                if let Some(t) = text_body {
                    body = body.text(content(text(t))?);
                }
                if let Some(h) = html {
                    body = body.html(content(h.to_string())?);
                }
            }
        }
        let message = Message::builder()
            .subject(content(subject)?)
            .body(body.build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| classify("SES SendEmail", e))?;
        Ok(ProviderResponse::success(json!({
            "message_id": out.message_id(),
            "to": to,
            "status": "sent",
        })))
    }
}
