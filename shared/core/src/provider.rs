//! The provider port: where executed actions go.

use async_trait::async_trait;

use crate::action::Action;
use crate::outcome::ProviderResponse;

/// One call to a provider. `idempotency_key` is stable across retries and
/// redeliveries of the same logical call, so providers that accept one can drop
/// duplicates.
#[derive(Debug, Clone)]
pub struct ProviderRequest<'a> {
    pub action: &'a Action,
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProviderError {
    /// Stable machine-readable code, e.g. `HTTP_503`, `TIMEOUT`, `CONNECTION`.
    pub code: String,
    pub message: String,
    /// Whether trying again may succeed (timeouts, 5xx, throttling).
    pub retryable: bool,
    /// How long the provider asked us to wait before trying again (its
    /// `Retry-After`); the executor waits at least this long, up to its
    /// longest backoff.
    pub retry_after: Option<std::time::Duration>,
}

impl ProviderError {
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }

    /// The same error, with the wait the provider asked for.
    pub fn with_retry_after(mut self, wait: Option<std::time::Duration>) -> Self {
        self.retry_after = wait;
        self
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured name (what actions address).
    fn name(&self) -> &str;
    /// The provider type (`log`, `webhook`, `aws-sns`…).
    fn kind(&self) -> &str;
    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError>;
}
