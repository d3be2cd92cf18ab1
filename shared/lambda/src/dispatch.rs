//! The HTTP API: the local server's router, with the rule files re-checked
//! (at most every `RULES_REFRESH_SECONDS`) before a request is served.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use switchyard_server::{AppState, Security, router};

use crate::init::Runtime;

/// The router, with authentication as configured. Refuses to start with
/// authentication disabled unless the stack allows anonymous access.
pub fn app(runtime: Arc<Runtime>) -> anyhow::Result<Router> {
    let gateway = runtime.gateway.clone();
    let mut security = Security::from_gateway(&gateway).map_err(anyhow::Error::msg)?;
    if let Some(hash) = &runtime.admin_key_hash {
        security
            .add_admin_key_hash("admin", hash)
            .map_err(anyhow::Error::msg)?;
    }
    if !security.enabled() {
        if !runtime.settings.allow_anonymous {
            anyhow::bail!(
                "dispatch refuses to start with authentication disabled: set ADMIN_KEY_HASH_PARAMETER \
                 (stack parameter AdminKeyHashParameter) or [auth] in gateway.toml, or deploy with \
                 AllowAnonymous=true to serve an open API on purpose"
            );
        }
        tracing::warn!(
            "AllowAnonymous=true: the API serves without authentication; every caller is an admin"
        );
    }
    let state = AppState::with_security(gateway, security.shared());
    Ok(router(state).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let runtime = runtime.clone();
            async move {
                runtime.refresh_rules().await;
                let response: Response = next.run(request).await;
                response
            }
        },
    )))
}
