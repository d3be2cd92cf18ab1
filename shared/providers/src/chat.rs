//! Chat services: Slack (incoming webhook or `chat.postMessage`), Microsoft
//! Teams and Discord (incoming webhooks). Each builds the service's
//! documented message from the action's payload; README's provider table
//! lists the fields.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::http::{Transport, invalid_payload, send, send_expecting_success, text};
use crate::secret::Secret;

/// Copy the payload's fields named in `keys` (when present) into `out`.
fn copy(payload: &Value, keys: &[&str], out: &mut Map<String, Value>) {
    for key in keys {
        if let Some(value) = payload.get(*key) {
            out.insert((*key).to_string(), value.clone());
        }
    }
}

#[derive(Debug, Clone)]
pub enum SlackTarget {
    /// An incoming webhook URL (it is the credential).
    Webhook(Secret),
    /// A bot token for `chat.postMessage` at `api` (`https://slack.com/api`).
    Bot { token: Secret, api: String },
}

#[derive(Debug, Clone)]
pub struct SlackProvider {
    pub name: String,
    pub target: SlackTarget,
    pub default_channel: Option<String>,
    pub transport: Transport,
}

/// Slack answers 200 with `ok: false` for errors of `chat.postMessage`;
/// these are the ones worth another try.
const SLACK_RETRYABLE: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

#[async_trait]
impl Provider for SlackProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "slack"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        if text(payload, "text").is_none() && payload.get("blocks").is_none() {
            return Err(invalid_payload(
                "payload.text (or payload.blocks) is required",
            ));
        }
        let mut message = Map::new();
        copy(
            payload,
            &[
                "text",
                "blocks",
                "attachments",
                "thread_ts",
                "username",
                "icon_emoji",
                "icon_url",
                "mrkdwn",
                "unfurl_links",
            ],
            &mut message,
        );
        match &self.target {
            SlackTarget::Webhook(url) => {
                let call = self.transport.post(url.expose()).json(&message);
                send_expecting_success(call, "the Slack incoming webhook").await?;
                Ok(ProviderResponse::success(json!({"status": "sent"})))
            }
            SlackTarget::Bot { token, api } => {
                let channel = text(payload, "channel")
                    .or(self.default_channel.as_deref())
                    .ok_or_else(|| {
                        invalid_payload(
                            "payload.channel is required (no default_channel is configured)",
                        )
                    })?;
                message.insert("channel".into(), json!(channel));
                let call = self
                    .transport
                    .post(&format!("{api}/chat.postMessage"))
                    .bearer_auth(token.expose())
                    .json(&message);
                let what = "Slack chat.postMessage";
                let answer = send(call, what).await?;
                if !answer.status.is_success() {
                    return Err(answer.refused(what));
                }
                if answer.body["ok"] != json!(true) {
                    let error = answer.body["error"]
                        .as_str()
                        .unwrap_or("unknown_error")
                        .to_string();
                    let code = format!("SLACK_{}", error.to_ascii_uppercase());
                    let message = format!("{what} refused the message: {error}");
                    return Err(if SLACK_RETRYABLE.contains(&error.as_str()) {
                        ProviderError::retryable(code, message)
                    } else {
                        ProviderError::permanent(code, message)
                    });
                }
                Ok(ProviderResponse::success(json!({
                    "status": "sent",
                    "channel": answer.body["channel"],
                    "ts": answer.body["ts"],
                })))
            }
        }
    }
}

/// Microsoft Teams through an incoming webhook (the URL is the credential).
#[derive(Debug, Clone)]
pub struct TeamsProvider {
    pub name: String,
    pub webhook_url: Secret,
    pub transport: Transport,
}

#[async_trait]
impl Provider for TeamsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "teams"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        // A payload that already is a Teams message (an Adaptive Card
        // envelope) goes as it is; else a MessageCard from text and title.
        let message = if payload.get("attachments").is_some() || payload.get("type").is_some() {
            payload.clone()
        } else {
            let body = text(payload, "text").ok_or_else(|| {
                invalid_payload("payload.text is required (or a Teams message with `attachments`)")
            })?;
            let title = text(payload, "title");
            let mut card = json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": title.unwrap_or(body),
                "text": body,
            });
            if let Some(title) = title {
                card["title"] = json!(title);
            }
            if let Some(color) = text(payload, "theme_color") {
                card["themeColor"] = json!(color);
            }
            card
        };
        let call = self
            .transport
            .post(self.webhook_url.expose())
            .json(&message);
        send_expecting_success(call, "the Teams incoming webhook").await?;
        Ok(ProviderResponse::success(json!({"status": "sent"})))
    }
}

/// Discord through a channel webhook (the URL is the credential).
#[derive(Debug, Clone)]
pub struct DiscordProvider {
    pub name: String,
    pub webhook_url: Secret,
    pub transport: Transport,
}

/// Discord refuses longer `content`.
const DISCORD_CONTENT_MAX: usize = 2_000;

#[async_trait]
impl Provider for DiscordProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "discord"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let content = text(payload, "content").or_else(|| text(payload, "text"));
        if content.is_none() && payload.get("embeds").is_none() {
            return Err(invalid_payload(
                "payload.content (or payload.text, or payload.embeds) is required",
            ));
        }
        let mut message = Map::new();
        if let Some(content) = content {
            if content.chars().count() > DISCORD_CONTENT_MAX {
                return Err(invalid_payload(format!(
                    "payload.content is longer than Discord's {DISCORD_CONTENT_MAX} characters"
                )));
            }
            message.insert("content".into(), json!(content));
        }
        copy(
            payload,
            &[
                "embeds",
                "username",
                "avatar_url",
                "tts",
                "allowed_mentions",
            ],
            &mut message,
        );
        // `wait=true`: Discord answers with the message it created.
        let mut url = reqwest::Url::parse(self.webhook_url.expose()).map_err(|_| {
            ProviderError::permanent("CONFIGURATION", "the Discord webhook_url is not a URL")
        })?;
        url.query_pairs_mut().append_pair("wait", "true");
        let call = self.transport.post(url.as_str()).json(&message);
        let response = send_expecting_success(call, "the Discord webhook").await?;
        Ok(ProviderResponse::success(json!({
            "status": "sent",
            "message_id": response.body["id"],
        })))
    }
}
