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
                runtime.report_invocation("dispatch");
                response
            }
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_assembly::MemoryPorts;
    use switchyard_core::SystemClock;

    fn runtime(allow_anonymous: bool, admin_key_hash: Option<String>) -> Arc<Runtime> {
        let mut env = crate::settings::complete_test_env();
        env.insert(
            "ALLOW_ANONYMOUS",
            if allow_anonymous { "true" } else { "false" },
        );
        let settings =
            crate::Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect("settings");
        let mut config = switchyard_server::example::config().expect("config");
        config.auth.enabled = admin_key_hash.is_some();
        let ports = MemoryPorts::new(Arc::new(SystemClock), 10).ports;
        let gateway = switchyard_assembly::build_gateway(
            config,
            ports,
            Some(switchyard_server::example::rules().expect("rules")),
        )
        .expect("gateway");
        Arc::new(Runtime::for_tests(
            Arc::new(gateway),
            settings,
            admin_key_hash,
        ))
    }

    #[test]
    fn dispatch_refuses_to_serve_anonymously_unless_allowed() {
        let err = app(runtime(false, None)).expect_err("refused");
        assert!(err.to_string().contains("AllowAnonymous=true"), "{err}");
        assert!(app(runtime(true, None)).is_ok(), "allowed on purpose");
        let hash = switchyard_auth::hash_key("bootstrap");
        assert!(app(runtime(false, Some(hash))).is_ok(), "a key source");
        let err = app(runtime(false, Some("not-a-hash".into()))).expect_err("bad hash");
        assert!(err.to_string().contains("SHA-256"), "{err}");
    }
}
