//! Paging services: PagerDuty (Events API v2) and Opsgenie (Alert API).
//! Both deduplicate on a key derived from the action's idempotency key, so
//! a retried or redelivered action never opens a second incident.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_config::OpsgenieConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::http::{Transport, invalid_payload, send_expecting_success, text};
use crate::secret::Secret;

pub const PAGERDUTY_API: &str = "https://events.pagerduty.com";
const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];

#[derive(Debug, Clone)]
pub struct PagerDutyProvider {
    pub name: String,
    pub routing_key: Secret,
    pub api: String,
    pub transport: Transport,
}

#[async_trait]
impl Provider for PagerDutyProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "pagerduty"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let event_action = text(payload, "event_action").unwrap_or("trigger");
        let dedup_key = text(payload, "dedup_key").unwrap_or(request.idempotency_key);
        let mut event = json!({
            "routing_key": self.routing_key.expose(),
            "event_action": event_action,
            "dedup_key": dedup_key,
        });
        match event_action {
            "trigger" => {
                let summary = text(payload, "summary").ok_or_else(|| {
                    invalid_payload("payload.summary is required to trigger an incident")
                })?;
                let severity = text(payload, "severity").unwrap_or("error");
                if !SEVERITIES.contains(&severity) {
                    return Err(invalid_payload(format!(
                        "payload.severity must be one of {}, got '{severity}'",
                        SEVERITIES.join(", ")
                    )));
                }
                let mut details = Map::new();
                details.insert("summary".into(), json!(summary));
                details.insert("severity".into(), json!(severity));
                details.insert(
                    "source".into(),
                    json!(text(payload, "source").unwrap_or("switchyard")),
                );
                for key in ["component", "group", "class", "custom_details", "timestamp"] {
                    if let Some(value) = payload.get(key) {
                        details.insert(key.into(), value.clone());
                    }
                }
                event["payload"] = Value::Object(details);
                event["client"] = json!("Switchyard");
                for key in ["links", "images"] {
                    if let Some(value) = payload.get(key) {
                        event[key] = value.clone();
                    }
                }
            }
            "acknowledge" | "resolve" => {}
            other => {
                return Err(invalid_payload(format!(
                    "payload.event_action must be trigger, acknowledge or resolve, got '{other}'"
                )));
            }
        }
        let call = self
            .transport
            .post(&format!("{}/v2/enqueue", self.api))
            .json(&event);
        let response = send_expecting_success(call, "PagerDuty Events API").await?;
        Ok(ProviderResponse::success(json!({
            "status": "accepted",
            "event_action": event_action,
            "dedup_key": response.body.get("dedup_key").cloned().unwrap_or(json!(dedup_key)),
        })))
    }
}

#[derive(Debug, Clone)]
pub struct OpsgenieProvider {
    pub name: String,
    pub api_key: Secret,
    pub api: String,
    pub settings: OpsgenieConfig,
    pub transport: Transport,
}

impl OpsgenieProvider {
    /// The API root for a region, unless the configuration names one.
    pub fn api_for(settings: &OpsgenieConfig) -> String {
        match (&settings.api_base_url, settings.region.as_deref()) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Some("eu")) => "https://api.eu.opsgenie.com".into(),
            (None, _) => "https://api.opsgenie.com".into(),
        }
    }

    /// The alert's alias: the payload's (prefixed with `namespace:tenant:`
    /// unless `scope_aliases = false`), else the idempotency key, which
    /// already names the tenant.
    fn alias(&self, request: &ProviderRequest<'_>) -> String {
        let action = request.action;
        match text(&action.payload, "alias") {
            Some(alias) if self.settings.scope_aliases != Some(false) => {
                format!("{}:{}:{alias}", action.namespace, action.tenant)
            }
            Some(alias) => alias.to_string(),
            None => request.idempotency_key.to_string(),
        }
    }
}

/// Cut `text` to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let end = (0..=max.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    &text[..end]
}

#[async_trait]
impl Provider for OpsgenieProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "opsgenie"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let alias = self.alias(&request);
        let source = text(payload, "source")
            .or(self.settings.default_source.as_deref())
            .unwrap_or("switchyard");
        let action = text(payload, "action").unwrap_or("create");
        let (url, body) = match action {
            "create" => {
                let message = text(payload, "message").ok_or_else(|| {
                    invalid_payload("payload.message is required to create an alert")
                })?;
                let max = self.settings.message_max_length.unwrap_or(130);
                let mut alert = json!({
                    "message": cut(message, max),
                    "alias": alias,
                    "source": source,
                });
                for key in [
                    "description",
                    "tags",
                    "details",
                    "entity",
                    "actions",
                    "note",
                    "user",
                ] {
                    if let Some(value) = payload.get(key) {
                        alert[key] = value.clone();
                    }
                }
                if let Some(priority) =
                    text(payload, "priority").or(self.settings.default_priority.as_deref())
                {
                    alert["priority"] = json!(priority);
                }
                match (payload.get("responders"), &self.settings.default_team) {
                    (Some(responders), _) => alert["responders"] = responders.clone(),
                    (None, Some(team)) => {
                        alert["responders"] = json!([{"type": "team", "name": team}])
                    }
                    (None, None) => {}
                }
                (format!("{}/v2/alerts", self.api), alert)
            }
            "close" | "acknowledge" => {
                let mut url =
                    reqwest::Url::parse(&format!("{}/v2/alerts/", self.api)).map_err(|_| {
                        ProviderError::permanent(
                            "CONFIGURATION",
                            "opsgenie.api_base_url is not a URL",
                        )
                    })?;
                url.path_segments_mut()
                    .map_err(|_| {
                        ProviderError::permanent(
                            "CONFIGURATION",
                            "opsgenie.api_base_url is not a URL",
                        )
                    })?
                    .pop_if_empty()
                    .push(&alias)
                    .push(action);
                url.query_pairs_mut().append_pair("identifierType", "alias");
                let mut body = json!({"source": source});
                if let Some(note) = text(payload, "note") {
                    body["note"] = json!(note);
                }
                (url.to_string(), body)
            }
            other => {
                return Err(invalid_payload(format!(
                    "payload.action must be create, close or acknowledge, got '{other}'"
                )));
            }
        };
        let call = self
            .transport
            .post(&url)
            .header(
                "Authorization",
                format!("GenieKey {}", self.api_key.expose()),
            )
            .json(&body);
        let response = send_expecting_success(call, "Opsgenie Alert API").await?;
        Ok(ProviderResponse::success(json!({
            "status": "accepted",
            "action": action,
            "alias": alias,
            "request_id": response.body["requestId"],
        })))
    }
}
