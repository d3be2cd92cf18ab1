//! Calling a provider: per-attempt timeout, retries with exponential backoff
//! and full jitter for retryable errors, one idempotency key for all attempts.

use std::time::Duration;

use rand::Rng;
use switchyard_config::ExecutorConfig;
use switchyard_core::{Action, ActionOutcome, ProviderRequest, ProviderResponse};
use switchyard_providers::ProviderRegistry;

#[derive(Debug, Clone)]
pub(crate) struct Executor {
    max_retries: u32,
    attempt_timeout: Duration,
    backoff_base: Duration,
    backoff_max: Duration,
}

/// Why a provider call ended without a response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExecutionFailure {
    pub code: String,
    pub message: String,
    pub retryable: bool,
    pub attempts: u32,
}

impl ExecutionFailure {
    pub fn into_outcome(self) -> ActionOutcome {
        ActionOutcome::Failed {
            code: self.code,
            message: self.message,
            retryable: self.retryable,
            attempts: self.attempts,
        }
    }
}

impl Executor {
    pub fn new(config: &ExecutorConfig) -> Self {
        Self {
            max_retries: config.max_retries,
            attempt_timeout: Duration::from_secs(config.timeout_seconds.max(1)),
            backoff_base: Duration::from_millis(config.backoff_base_ms),
            backoff_max: Duration::from_millis(config.backoff_max_ms.max(config.backoff_base_ms)),
        }
    }

    pub async fn execute(
        &self,
        providers: &ProviderRegistry,
        provider_name: &str,
        action: &Action,
        idempotency_key: &str,
    ) -> Result<ProviderResponse, ExecutionFailure> {
        let Some(provider) = providers.get(provider_name) else {
            return Err(ExecutionFailure {
                code: "PROVIDER_NOT_FOUND".into(),
                message: format!("no provider named '{provider_name}' is configured"),
                retryable: false,
                attempts: 0,
            });
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = ProviderRequest {
                action,
                idempotency_key,
            };
            let error =
                match tokio::time::timeout(self.attempt_timeout, provider.execute(request)).await {
                    Ok(Ok(response)) => return Ok(response),
                    Ok(Err(error)) => error,
                    Err(_) => switchyard_core::ProviderError::retryable(
                        "TIMEOUT",
                        format!(
                            "provider '{provider_name}' did not answer within {:?}",
                            self.attempt_timeout
                        ),
                    ),
                };
            if !error.retryable || attempt > self.max_retries {
                tracing::warn!(provider = provider_name, action_id = %action.id, attempt, code = %error.code, "provider call failed");
                return Err(ExecutionFailure {
                    code: error.code,
                    message: error.message,
                    retryable: error.retryable,
                    attempts: attempt,
                });
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    /// Full jitter: uniform in [0, min(max, base * 2^(attempt-1))].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .backoff_base
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.backoff_max);
        let millis = ceiling.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}
