//! The HTTP API. [`router`] is the one entry point: the local server serves it
//! on a TCP listener and the `dispatch` Lambda wraps the very same router.

mod error;
pub mod example;
mod extract;
mod routes;

use std::sync::Arc;

use axum::Router;
use switchyard_gateway::Gateway;
use tokio::sync::Semaphore;

pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// Bounds concurrent dispatches (`[server] max_concurrent_dispatch`).
    dispatch_permits: Arc<Semaphore>,
}

impl AppState {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        let permits = gateway.config().server.max_concurrent_dispatch;
        Self {
            gateway,
            dispatch_permits: Arc::new(Semaphore::new(permits)),
        }
    }
}

/// The complete API with its middleware.
pub fn router(state: AppState) -> Router {
    routes::build(state)
}

/// Assemble a gateway from configuration on the given ports: build every
/// provider, then load rules (the configured directory, or `rules` when given).
pub fn build_gateway(
    config: switchyard_config::Config,
    ports: switchyard_gateway::GatewayPorts,
    rules: Option<Vec<switchyard_rules::Rule>>,
) -> Result<Gateway, String> {
    let timeout = std::time::Duration::from_secs(config.executor.timeout_seconds.max(1));
    let providers = switchyard_providers::ProviderRegistry::from_config(
        &config.providers,
        timeout,
        Some(&switchyard_providers_aws::AwsProviders),
    )?;
    match rules {
        Some(rules) => Gateway::with_rules(config, ports, providers, rules),
        None => Gateway::new(config, ports, providers),
    }
}
