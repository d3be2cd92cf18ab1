use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

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
        crate::http::send_expecting_success(call, &format!("{} {}", self.method, self.url)).await
    }
}
