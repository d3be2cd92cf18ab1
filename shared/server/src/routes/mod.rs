pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod dead_letters;
pub(crate) mod dispatch;
mod health;
pub(crate) mod orchestration;
pub(crate) mod quotas;
pub(crate) mod recurring;
pub(crate) mod retention;
pub(crate) mod rules;

use std::any::Any;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use serde_json::Value;

use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;

pub(crate) fn build(state: AppState) -> Router {
    Router::new()
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/ui", get(crate::ui::page))
        .route("/ui/console.js", get(crate::ui::script))
        .route("/ui/console.css", get(crate::ui::style))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/metrics/prometheus", get(health::prometheus))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/keys", get(auth::list_keys).post(auth::create_key))
        .route("/v1/auth/keys/{id}", delete(auth::revoke_key))
        .route("/v1/circuit-breakers", get(health::circuit_breakers))
        .route("/v1/providers/health", get(health::provider_health))
        .route("/v1/dead-letters", get(dead_letters::list))
        .route("/v1/dead-letters/drain", post(dead_letters::drain))
        .route("/v1/dead-letters/{id}/replay", post(dead_letters::replay))
        .route("/v1/dlq/stats", get(dead_letters::stats))
        .route("/v1/dlq/drain", post(dead_letters::drain))
        .route("/v1/dispatch", post(dispatch::dispatch))
        .route("/v1/dispatch/batch", post(dispatch::dispatch_batch))
        .route("/v1/rules", get(rules::list))
        .route("/v1/rules/reload", post(rules::reload))
        .route("/v1/rules/evaluate", post(rules::evaluate))
        .route("/v1/rules/{name}/enabled", put(rules::set_enabled))
        .route("/v1/audit", get(audit::query))
        .route("/v1/audit/{action_id}", get(audit::get))
        .route("/v1/quotas", get(quotas::list).post(quotas::create))
        .route(
            "/v1/quotas/{id}",
            get(quotas::get).put(quotas::update).delete(quotas::delete),
        )
        .route("/v1/quotas/{id}/usage", get(quotas::usage))
        .route("/v1/approvals", get(orchestration::list_approvals))
        .route(
            "/v1/approvals/{namespace}/{tenant}/{id}",
            get(orchestration::approval_status),
        )
        .route(
            "/v1/approvals/{namespace}/{tenant}/{id}/approve",
            post(orchestration::approve),
        )
        .route(
            "/v1/approvals/{namespace}/{tenant}/{id}/reject",
            post(orchestration::reject),
        )
        .route("/v1/chains", get(orchestration::list_chains))
        .route("/v1/chains/{id}", get(orchestration::get_chain))
        .route("/v1/chains/{id}/cancel", post(orchestration::cancel_chain))
        .route("/v1/groups", get(orchestration::list_groups))
        .route(
            "/v1/groups/{key}",
            get(orchestration::get_group).delete(orchestration::flush_group),
        )
        .route("/v1/events", get(orchestration::list_events))
        .route("/v1/events/{fingerprint}", get(orchestration::get_event))
        .route(
            "/v1/events/{fingerprint}/history",
            get(orchestration::event_history),
        )
        .route(
            "/v1/events/{fingerprint}/transition",
            put(orchestration::transition),
        )
        .route("/v1/stream", get(crate::stream::stream))
        .route(
            "/v1/retention",
            get(retention::list_retention).post(retention::create_retention),
        )
        .route(
            "/v1/retention/{id}",
            get(retention::get_retention)
                .put(retention::update_retention)
                .delete(retention::delete_retention),
        )
        .route(
            "/v1/recurring",
            get(recurring::list_recurring).post(recurring::create_recurring),
        )
        .route(
            "/v1/recurring/{id}",
            get(recurring::get_recurring)
                .put(recurring::update_recurring)
                .delete(recurring::delete_recurring),
        )
        .route("/v1/recurring/{id}/pause", post(recurring::pause_recurring))
        .route(
            "/v1/recurring/{id}/resume",
            post(recurring::resume_recurring),
        )
        // Runs on matched routes only, where the route's pattern is known.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authorize,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::deadline::bound_request,
        ))
        .layer(axum::middleware::from_fn(crate::error::json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Audit an administrative change in the tenant it concerns.
pub(crate) async fn audit_change(
    state: &AppState,
    authed: &Authed,
    namespace: &str,
    tenant: &str,
    change: &str,
    details: Value,
) {
    state
        .gateway
        .audit_admin(&authed.caller(), Some((namespace, tenant)), change, details)
        .await;
}

/// Audit an administrative change that concerns every tenant (rules, keys).
pub(crate) async fn audit_global(state: &AppState, authed: &Authed, change: &str, details: Value) {
    state
        .gateway
        .audit_admin(&authed.caller(), None, change, details)
        .await;
}

/// A query string as `T`, or a 400 saying what is wrong with it.
/// An update that names the record's owner (as Acteon's clients do) must
/// name the owner it has.
pub(crate) fn same_owner(
    id: &str,
    (namespace, tenant): (&Option<String>, &Option<String>),
    (owner_namespace, owner_tenant): (&str, &str),
) -> Result<(), ApiError> {
    for (field, given, stored) in [
        ("namespace", namespace, owner_namespace),
        ("tenant", tenant, owner_tenant),
    ] {
        if given.as_ref().is_some_and(|g| g != stored) {
            return Err(ApiError::invalid_field(
                field,
                format!("'{id}' belongs to another {field}"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn query<T>(
    q: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|axum::extract::Query(v)| v)
        .map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("method not allowed on {}", uri.path()),
    )
}

/// A bug must not take the process down or leak a plain-text 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error",
    )
    .into_response()
}
