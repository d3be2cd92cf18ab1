//! The HTTP API. [`router`] is the one entry point: the local server serves it
//! on a TCP listener and the `dispatch` Lambda wraps the very same router.

pub mod access;
mod auth;
mod deadline;
mod error;
pub mod example;
mod extract;
pub mod listen;
pub mod openapi;
mod routes;
mod security;
mod stream;
mod ui;

use std::sync::Arc;

use axum::Router;
use switchyard_gateway::Gateway;
use tokio::sync::Semaphore;

pub use auth::Authed;
pub use error::ApiError;
pub use security::Security;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub security: Arc<Security>,
    /// Bounds concurrent dispatches (`[server] max_concurrent_dispatch`).
    dispatch_permits: Arc<Semaphore>,
    /// The process's reader of the audit feed for `GET /v1/stream`.
    pub(crate) streams: Arc<stream::StreamHub>,
}

impl AppState {
    /// With the security the gateway's configuration asks for (`[auth]`,
    /// `[rate_limit]`): fails when the auth file cannot be read.
    pub fn new(gateway: Arc<Gateway>) -> Result<Self, String> {
        let security = Security::from_gateway(&gateway)?;
        Ok(Self::with_security(gateway, security.shared()))
    }

    pub fn with_security(gateway: Arc<Gateway>, security: Arc<Security>) -> Self {
        let server = &gateway.config().server;
        let permits = server.max_concurrent_dispatch;
        let streams = stream::StreamHub::new(
            gateway.ports().audit.clone(),
            stream::hub::StreamLimits {
                per_scope: server.max_sse_connections_per_tenant,
                total: server.max_sse_connections,
                buffer: server.sse_buffer_events,
            },
        );
        Self {
            gateway,
            security,
            dispatch_permits: Arc::new(Semaphore::new(permits)),
            streams,
        }
    }
}

/// The complete API with its middleware.
pub fn router(state: AppState) -> Router {
    routes::build(state)
}
