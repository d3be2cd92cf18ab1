use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse, ResponseStatus};

/// The header carrying the idempotency key, so receivers can drop retries.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Sends the action as JSON to a URL.
#[derive(Debug, Clone)]
pub struct WebhookProvider {
    name: String,
    url: String,
    method: Method,
    headers: BTreeMap<String, String>,
    timeout: Duration,
    client: reqwest::Client,
}

impl WebhookProvider {
    /// `client` is shared by every webhook provider (one connection pool).
    pub fn new(
        name: impl Into<String>,
        url: impl Into<String>,
        method: &str,
        headers: BTreeMap<String, String>,
        timeout: Duration,
        client: reqwest::Client,
    ) -> Result<Self, String> {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| format!("invalid method '{method}': {e}"))?;
        let url = url.into();
        reqwest::Url::parse(&url).map_err(|e| format!("invalid url '{url}': {e}"))?;
        for (key, value) in &headers {
            reqwest::header::HeaderName::from_bytes(key.as_bytes())
                .map_err(|e| format!("invalid header name '{key}': {e}"))?;
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| format!("invalid value for header '{key}': {e}"))?;
        }
        Ok(Self {
            name: name.into(),
            url,
            method,
            headers,
            timeout,
            client,
        })
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "webhook"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let mut call = self
            .client
            .request(self.method.clone(), &self.url)
            .timeout(self.timeout)
            .header(IDEMPOTENCY_HEADER, request.idempotency_key)
            .json(request.action);
        for (key, value) in &self.headers {
            call = call.header(key, value);
        }
        let response = call.send().await.map_err(|e| {
            let code = if e.is_timeout() {
                "TIMEOUT"
            } else {
                "CONNECTION"
            };
            ProviderError::retryable(code, format!("{} {}: {e}", self.method, self.url))
        })?;
        let status = response.status();
        let headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_string(), v.to_string()))
            })
            .collect();
        let text = response.text().await.map_err(|e| {
            ProviderError::retryable(
                "CONNECTION",
                format!("reading the response of {}: {e}", self.url),
            )
        })?;
        let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(ProviderResponse {
                status: ResponseStatus::Success,
                body,
                headers,
            });
        }
        let message = format!(
            "{} {} answered {status}: {}",
            self.method,
            self.url,
            truncate(&body)
        );
        let code = format!("HTTP_{}", status.as_u16());
        if is_retryable(status) {
            Err(ProviderError::retryable(code, message))
        } else {
            Err(ProviderError::permanent(code, message))
        }
    }
}

/// 408, 429 and 5xx may succeed later; other 4xx will not.
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

fn truncate(body: &Value) -> String {
    let mut text = body.to_string();
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}
