//! Building the client: one per process, shared by every store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::BoxError;

/// Where the tables are.
#[derive(Debug, Clone)]
pub struct DynamoSettings {
    pub region: String,
    /// An emulator (`http://127.0.0.1:4566`); `None` for real AWS.
    pub endpoint_url: Option<String>,
    pub state_table: String,
    pub audit_table: String,
    /// Partitions each tenant's state items are spread over (fixed for a
    /// table's life).
    pub state_shards: u32,
    /// Partitions each busy audit index key is spread over (may be raised).
    pub audit_shards: u32,
}

impl Default for DynamoSettings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            endpoint_url: None,
            state_table: "switchyard-state".into(),
            audit_table: "switchyard-audit-v3".into(),
            state_shards: crate::DEFAULT_STATE_SHARDS,
            audit_shards: crate::DEFAULT_AUDIT_SHARDS,
        }
    }
}

/// Counts HTTP requests sent to DynamoDB (retries included): the round-trip
/// budget of a dispatch is measured with it.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<AtomicU64>);

impl RoundTrips {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A client for `settings`. Against an emulator, static dummy credentials;
/// otherwise the default AWS chain (Lambda's role). Throttling and 5xx are
/// retried by the SDK's standard retry mode with backoff.
/// Bounds on every store call: an unreachable or silent store (a network
/// partition holds pooled connections open without an answer) must turn
/// into a quick 503, not a request that hangs until the client gives up.
fn store_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(12))
        .build()
}

pub async fn connect(
    settings: &DynamoSettings,
    round_trips: Option<RoundTrips>,
) -> aws_sdk_dynamodb::Client {
    let mut builder = match &settings.endpoint_url {
        Some(url) => aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(url)
            .credentials_provider(Credentials::new("test", "test", None, None, "emulator")),
        None => {
            let shared = aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(settings.region.clone()))
                .load()
                .await;
            aws_sdk_dynamodb::config::Builder::from(&shared)
        }
    }
    .region(Region::new(settings.region.clone()))
    .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(4))
    .timeout_config(store_timeouts());
    if let Some(counter) = round_trips {
        builder = builder.interceptor(counter);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}
