//! SMS through Twilio's Messages API: a form POST with the account's SID
//! and auth token as basic credentials.

use async_trait::async_trait;
use serde_json::json;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::http::{Transport, invalid_payload, send_expecting_success, text};
use crate::secret::Secret;

pub const TWILIO_API: &str = "https://api.twilio.com";

/// Twilio refuses a body longer than this (characters).
const BODY_MAX: usize = 1_600;

#[derive(Debug, Clone)]
pub struct TwilioProvider {
    pub name: String,
    pub account_sid: String,
    pub auth_token: Secret,
    pub from_number: Option<String>,
    pub api: String,
    pub transport: Transport,
}

#[async_trait]
impl Provider for TwilioProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "twilio"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let to = text(payload, "to")
            .ok_or_else(|| invalid_payload("payload.to (a phone number) is required"))?;
        let body = text(payload, "body")
            .or_else(|| text(payload, "message"))
            .ok_or_else(|| invalid_payload("payload.body (or payload.message) is required"))?;
        if body.chars().count() > BODY_MAX {
            return Err(invalid_payload(format!(
                "payload.body is longer than Twilio's {BODY_MAX} characters"
            )));
        }
        let from = text(payload, "from")
            .or(self.from_number.as_deref())
            .ok_or_else(|| {
                invalid_payload("payload.from is required (no from_number is configured)")
            })?;
        let mut form = vec![("To", to), ("From", from), ("Body", body)];
        if let Some(media) = text(payload, "media_url") {
            form.push(("MediaUrl", media));
        }
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api, self.account_sid
        );
        let call = self
            .transport
            .post(&url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form);
        let response = send_expecting_success(call, "Twilio Messages API").await?;
        Ok(ProviderResponse::success(json!({
            "status": response.body["status"],
            "sid": response.body["sid"],
            "to": to,
        })))
    }
}
