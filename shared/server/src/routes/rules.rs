use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::ReloadError;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, OptionalJsonBody, from_value};

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.gateway.rule_summaries()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReloadRequest {
    directory: Option<PathBuf>,
}

/// Reload from `{"directory": ...}` or, without a body, from the directory
/// loaded last. A bad file keeps the current rules serving.
pub(crate) async fn reload(
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<Json<Value>, ApiError> {
    let request: ReloadRequest = match body {
        Some(value) => from_value(value)?,
        None => ReloadRequest::default(),
    };
    let count = state
        .gateway
        .reload_rules(request.directory.as_deref())
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
    Ok(Json(
        json!({"reloaded": count, "directory": request.directory}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnabledRequest {
    enabled: bool,
}

pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request: EnabledRequest = from_value(body)?;
    if !state.gateway.set_rule_enabled(&name, request.enabled) {
        return Err(ApiError::not_found(format!("no rule named '{name}'")));
    }
    Ok(Json(json!({
        "name": name,
        "enabled": request.enabled,
        "status": if request.enabled { "enabled" } else { "disabled" },
    })))
}
