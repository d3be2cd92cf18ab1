use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::ReloadError;

use super::audit_global;
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, OptionalJsonBody, from_value};

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.gateway.rule_summaries()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReloadRequest {}

/// Reload the configured rule source (never a path from the request: that
/// would let a caller probe the server's files). A bad file keeps the
/// current rules serving.
pub(crate) async fn reload(
    State(state): State<AppState>,
    authed: Authed,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<Json<Value>, ApiError> {
    if let Some(value) = body {
        if value.get("directory").is_some() {
            return Err(ApiError::invalid_field(
                "directory",
                "reload takes no directory: it re-reads the configured rule source",
            ));
        }
        let _: ReloadRequest = from_value(value)?;
    }
    let gateway = state.gateway.clone();
    // Reading and compiling rule files is blocking work.
    let count = tokio::task::spawn_blocking(move || gateway.reload_rules(None))
        .await
        .map_err(|e| ApiError::from(switchyard_gateway::GatewayError::Internal(e.to_string())))?
        .map_err(|e| match e {
            ReloadError::Rules(err) => ApiError {
                field: Some(err.location.to_string()),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "RULE_ERROR",
                    err.to_string(),
                )
            },
            other => ApiError::bad_request(other.to_string()),
        })?;
    // Rules switched on or off through the API keep that state; say which.
    let kept: Vec<Value> = state
        .gateway
        .runtime_toggles()
        .into_iter()
        .map(|(rule, enabled)| json!({"rule": rule, "enabled": enabled}))
        .collect();
    audit_global(
        &state,
        &authed,
        "rules_reloaded",
        json!({"rules": count, "runtime_state_kept": kept}),
    )
    .await;
    Ok(Json(json!({"reloaded": count, "runtime_state_kept": kept})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnabledRequest {
    enabled: bool,
}

pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    authed: Authed,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request: EnabledRequest = from_value(body)?;
    if !state.gateway.set_rule_enabled(&name, request.enabled) {
        return Err(ApiError::not_found(format!("no rule named '{name}'")));
    }
    let change = if request.enabled {
        "rule_enabled"
    } else {
        "rule_disabled"
    };
    audit_global(&state, &authed, change, json!({"rule": name})).await;
    Ok(Json(json!({
        "name": name,
        "enabled": request.enabled,
        "status": if request.enabled { "enabled" } else { "disabled" },
    })))
}
