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

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReloadRequest {}

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
    // `reloaded` is what Acteon's server answers, `loaded` and `errors` what
    // its clients read (a failed reload is an error answer, so `errors` is
    // always empty here).
    Ok(Json(json!({
        "reloaded": count,
        "loaded": count,
        "errors": [],
        "directory": state.gateway.rules_directory().map(|d| d.display().to_string()),
        "runtime_state_kept": kept,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnabledRequest {
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

/// `POST /v1/rules/evaluate` options; every other field is the action.
const OPTION_FIELDS: [&str; 4] = [
    "include_disabled",
    "evaluate_all",
    "evaluate_at",
    "mock_state",
];

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvaluateOptions {
    #[serde(default)]
    include_disabled: bool,
    #[serde(default)]
    evaluate_all: bool,
    /// RFC 3339: evaluate time conditions at this instant instead of now.
    evaluate_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Acteon's state mocks: our conditions read no state, so only an empty
    /// map is meaningful.
    mock_state: Option<serde_json::Map<String, Value>>,
}

/// The rule playground (Acteon's `evaluate_rules`): the verdict for an
/// action with the loaded rules at a chosen instant, and a per-rule trace.
/// Nothing is stored, audited or executed.
pub(crate) async fn evaluate(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(ApiError::invalid_field("$", "expected an object"));
    };
    let options: Map = OPTION_FIELDS
        .iter()
        .filter_map(|k| fields.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    let options: EvaluateOptions = from_value(Value::Object(options))?;
    if options.mock_state.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(ApiError::invalid_field(
            "mock_state",
            "Switchyard's rule conditions read no stored state, so there is nothing to mock; send {} or leave it out",
        ));
    }
    let now = options
        .evaluate_at
        .unwrap_or_else(|| state.gateway.clock().now());
    let action = switchyard_core::Action::from_json(Value::Object(fields), now)
        .map_err(|e| ApiError::invalid_field(e.field.clone(), e.message.clone()))?;
    authed.tenant(&action.namespace, &action.tenant)?;
    let explained = state.gateway.explain(
        action,
        now,
        switchyard_gateway::rule_trace::TraceOptions {
            include_disabled: options.include_disabled,
            evaluate_all: options.evaluate_all,
        },
    )?;
    let evaluated = explained
        .trace
        .iter()
        .filter(|t| t.result != "skipped")
        .count();
    Ok(Json(json!({
        "verdict": explained.verdict,
        "matched_rule": explained.matched_rule,
        "has_errors": false,
        "total_rules_evaluated": evaluated,
        "total_rules_skipped": explained.trace.len() - evaluated,
        "evaluation_duration_us": explained.evaluation_duration_us,
        "trace": explained.trace,
        "context": {
            "time": explained.time,
            "environment_keys": [],
            "accessed_state_keys": [],
            "effective_timezone": explained.timezone,
        },
        "modified_payload": explained.payload_modified.then_some(&explained.payload),
        "evaluated_at": now,
        "outcome": explained.outcome,
        "would_be_provider": explained.would_be_provider,
        "passed_through": explained.passed_through,
    })))
}

type Map = serde_json::Map<String, Value>;
