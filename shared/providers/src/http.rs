//! Sending one HTTP request for a provider and classifying the answer the
//! same way for every HTTP-based provider: connection trouble, timeouts,
//! 408, 429 and 5xx may succeed later (with the server's `Retry-After`
//! kept); other answers are final.

// Some helpers serve only the optional provider families.
#![cfg_attr(
    not(all(
        feature = "chat",
        feature = "paging",
        feature = "sms",
        feature = "smtp"
    )),
    allow(dead_code)
)]

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use switchyard_core::{ProviderError, ProviderResponse, ResponseStatus};

/// The longest `Retry-After` we keep (the executor bounds it again).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The HTTP client and per-call timeout every service provider shares.
#[derive(Debug, Clone)]
pub struct Transport {
    pub client: reqwest::Client,
    pub timeout: Duration,
}

impl Transport {
    pub(crate) fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url).timeout(self.timeout)
    }
}

/// The payload's string field `name`, if it is a non-empty string.
pub(crate) fn text<'a>(payload: &'a Value, name: &str) -> Option<&'a str> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An answer that arrived, successful or not.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl Answer {
    pub fn into_response(self) -> ProviderResponse {
        ProviderResponse {
            status: ResponseStatus::Success,
            body: self.body,
            headers: self.headers,
        }
    }

    /// The error for an answer the provider refused; `what` names the call
    /// (never its URL when the URL carries a secret).
    pub fn refused(&self, what: &str) -> ProviderError {
        let message = format!("{what} answered {}: {}", self.status, truncate(&self.body));
        let code = format!("HTTP_{}", self.status.as_u16());
        if is_retryable(self.status) {
            ProviderError::retryable(code, message).with_retry_after(self.retry_after())
        } else {
            ProviderError::permanent(code, message)
        }
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by the
    /// services we call), at most [`MAX_RETRY_AFTER`].
    fn retry_after(&self) -> Option<Duration> {
        let seconds: f64 = self.headers.get("retry-after")?.trim().parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())))
    }
}

/// Send `call`; a transport failure is retryable. The body is parsed as
/// JSON when it is JSON, else kept as text.
pub(crate) async fn send(call: RequestBuilder, what: &str) -> Result<Answer, ProviderError> {
    let response = call.send().await.map_err(|e| {
        let code = if e.is_timeout() {
            "TIMEOUT"
        } else {
            "CONNECTION"
        };
        // reqwest's error text names the URL: keep it out (it may hold a token).
        ProviderError::retryable(code, format!("{what}: {}", e.without_url()))
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
            format!("reading the answer of {what}: {}", e.without_url()),
        )
    })?;
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Send and accept any 2xx.
pub(crate) async fn send_expecting_success(
    call: RequestBuilder,
    what: &str,
) -> Result<ProviderResponse, ProviderError> {
    let answer = send(call, what).await?;
    if answer.status.is_success() {
        Ok(answer.into_response())
    } else {
        Err(answer.refused(what))
    }
}

/// 408, 429 and 5xx may succeed later; other 4xx will not.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// A payload in the action that the provider cannot use: never retried.
pub(crate) fn invalid_payload(message: impl Into<String>) -> ProviderError {
    ProviderError::permanent("INVALID_PAYLOAD", message)
}

pub(crate) fn truncate(body: &Value) -> String {
    let mut text = match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
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
