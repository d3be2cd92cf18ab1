//! Calling a provider: per-attempt timeout, retries with exponential backoff
//! and full jitter for retryable errors, one idempotency key for all attempts.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use switchyard_config::ExecutorConfig;
use switchyard_core::{Action, ActionOutcome, Backoff, ProviderRequest, ProviderResponse};
use switchyard_providers::ProviderRegistry;

use crate::provider_stats::ProviderStats;

/// Waits between attempts (tokio's timer; a recorder in tests).
pub(crate) type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;
/// The jitter's random fraction (0.0–1.0) of each ceiling.
pub(crate) type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Executor {
    max_retries: u32,
    attempt_timeout: Duration,
    backoff: Backoff,
    sleeper: Sleeper,
    jitter: Jitter,
    /// Every call's result and latency, per provider.
    pub stats: Arc<ProviderStats>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("max_retries", &self.max_retries)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
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
        Self::with_timing(
            config,
            Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            Arc::new(rand::random::<f64>),
        )
    }

    pub fn with_timing(config: &ExecutorConfig, sleeper: Sleeper, jitter: Jitter) -> Self {
        Self {
            max_retries: config.max_retries,
            attempt_timeout: Duration::from_secs(config.timeout_seconds.max(1)),
            backoff: Backoff::new(
                Duration::from_millis(config.backoff_base_ms),
                Duration::from_millis(config.backoff_max_ms.max(config.backoff_base_ms)),
            ),
            sleeper,
            jitter,
            stats: Arc::default(),
        }
    }

    /// Call the provider (with retries) and record the call's figures.
    pub async fn execute(
        &self,
        providers: &ProviderRegistry,
        provider_name: &str,
        action: &Action,
        idempotency_key: &str,
    ) -> Result<ProviderResponse, ExecutionFailure> {
        let started = std::time::Instant::now();
        let result = self
            .call(providers, provider_name, action, idempotency_key)
            .await;
        if providers.contains(provider_name) {
            let at_ms = chrono::Utc::now().timestamp_millis();
            let error = result.as_ref().err().map(|f| f.message.as_str());
            self.stats
                .record(provider_name, started.elapsed(), at_ms, error);
        }
        result
    }

    async fn call(
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
            // A provider's Retry-After is honoured up to the longest backoff,
            // so an answer cannot park the call for longer than configured.
            let asked = error.retry_after.unwrap_or_default().min(self.backoff.max);
            let wait = self
                .backoff
                .jittered(attempt - 1, (self.jitter)())
                .max(asked);
            (self.sleeper)(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use serde_json::json;
    use switchyard_core::{Provider, ProviderError};

    use super::*;

    /// Fails retryably `failures` times, then succeeds; keeps every key it was given.
    struct Flaky {
        failures: u32,
        calls: AtomicU32,
        keys: Mutex<Vec<String>>,
        /// The `Retry-After` its failures carry.
        asks: Option<Duration>,
    }

    #[async_trait]
    impl Provider for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn kind(&self) -> &str {
            "log"
        }
        async fn execute(
            &self,
            request: ProviderRequest<'_>,
        ) -> Result<ProviderResponse, ProviderError> {
            self.keys
                .lock()
                .expect("keys")
                .push(request.idempotency_key.to_string());
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err(ProviderError::retryable("UNAVAILABLE", "try again")
                    .with_retry_after(self.asks));
            }
            Ok(ProviderResponse::success(json!({"ok": true})))
        }
    }

    /// Runs the executor against `Flaky` with the default schedule and
    /// `max_retries`; returns the waits it asked for and the provider.
    async fn run(
        failures: u32,
        max_retries: u32,
        fraction: f64,
    ) -> (Vec<Duration>, Arc<Flaky>, bool) {
        run_asking(failures, max_retries, fraction, None).await
    }

    async fn run_asking(
        failures: u32,
        max_retries: u32,
        fraction: f64,
        asks: Option<Duration>,
    ) -> (Vec<Duration>, Arc<Flaky>, bool) {
        let flaky = Arc::new(Flaky {
            failures,
            calls: AtomicU32::new(0),
            keys: Mutex::new(Vec::new()),
            asks,
        });
        let mut providers = ProviderRegistry::default();
        providers.insert(flaky.clone());
        let waits = Arc::new(Mutex::new(Vec::new()));
        let recorder = waits.clone();
        let config = ExecutorConfig {
            max_retries,
            ..ExecutorConfig::default()
        };
        let executor = Executor::with_timing(
            &config,
            Arc::new(move |d| {
                recorder.lock().expect("waits").push(d);
                Box::pin(async {})
            }),
            Arc::new(move || fraction),
        );
        let action = Action::builder("shop", "acme", "flaky", "t", json!({})).with_id("o-1");
        let ok = executor
            .execute(&providers, "flaky", &action, &action.idempotency_key())
            .await
            .is_ok();
        let waits = waits.lock().expect("waits").clone();
        (waits, flaky, ok)
    }

    fn secs(waits: &[Duration]) -> Vec<f64> {
        waits.iter().map(Duration::as_secs_f64).collect()
    }

    #[tokio::test]
    async fn retries_wait_one_two_four_eight_seconds_at_most() {
        // At the top of the jitter range, the waits are the ceilings.
        let (waits, flaky, ok) = run(5, 5, 1.0).await;
        assert!(ok, "the sixth attempt succeeds");
        assert_eq!(secs(&waits), [1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 6);
        // Full jitter scales each ceiling by the random fraction.
        let (waits, _, _) = run(4, 4, 0.25).await;
        assert_eq!(secs(&waits), [0.25, 0.5, 1.0, 2.0]);
    }

    #[tokio::test]
    async fn a_providers_retry_after_is_waited_up_to_the_longest_backoff() {
        // Asked for 3 s: each wait is at least that, or the backoff if longer.
        let (waits, _, ok) = run_asking(4, 4, 1.0, Some(Duration::from_secs(3))).await;
        assert!(ok);
        assert_eq!(secs(&waits), [3.0, 3.0, 4.0, 8.0]);
        // Asked for an hour: held to the longest backoff (8 s).
        let (waits, _, _) = run_asking(2, 2, 0.0, Some(Duration::from_secs(3_600))).await;
        assert_eq!(secs(&waits), [8.0, 8.0]);
    }

    #[tokio::test]
    async fn retries_stop_at_max_retries() {
        let (waits, flaky, ok) = run(10, 3, 1.0).await;
        assert!(!ok, "three retries are not enough for ten failures");
        assert_eq!(secs(&waits), [1.0, 2.0, 4.0]);
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn every_attempt_carries_the_same_idempotency_key() {
        let (_, flaky, ok) = run(3, 3, 0.0).await;
        assert!(ok);
        let keys = flaky.keys.lock().expect("keys").clone();
        assert_eq!(keys, ["shop/acme/o-1"; 4]);
    }
}
