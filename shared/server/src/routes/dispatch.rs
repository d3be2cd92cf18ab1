use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_core::Action;
use switchyard_gateway::DispatchOptions;
use tokio::sync::OwnedSemaphorePermit;

use crate::AppState;
use crate::auth::{Authed, rate_limited};
use crate::error::ApiError;
use crate::extract::JsonBody;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DispatchParams {
    #[serde(default)]
    dry_run: bool,
}

fn params(
    query: Result<Query<DispatchParams>, QueryRejection>,
    authed: &Authed,
) -> Result<DispatchOptions, ApiError> {
    let Query(p) =
        query.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    Ok(DispatchOptions {
        dry_run: p.dry_run,
        caller: authed.caller(),
    })
}

fn permits(state: &AppState, n: u32) -> Result<OwnedSemaphorePermit, ApiError> {
    state
        .dispatch_permits
        .clone()
        .try_acquire_many_owned(n)
        .map_err(|_| ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                "too many concurrent dispatches",
            )
        })
}

/// Parse an action, then check the caller's grants and its tenant's rate.
fn admit_action(state: &AppState, authed: &Authed, value: Value) -> Result<Action, ApiError> {
    let now = state.gateway.clock().now();
    let action =
        Action::from_json(value, now).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    authed.action(
        &action.namespace,
        &action.tenant,
        &action.provider,
        &action.action_type,
    )?;
    if let Some(limiter) = &state.security.limiter
        && let Err(wait) = limiter.check_tenant(&action.tenant)
    {
        return Err(rate_limited(wait, &format!("tenant '{}'", action.tenant)));
    }
    Ok(action)
}

/// The outcome as JSON; without the signed approval links unless
/// configured to show them (they then reach the approver only).
fn outcome_json(state: &AppState, outcome: &switchyard_core::ActionOutcome) -> Value {
    let mut value = json!(outcome);
    if !state.security.links_in_response
        && let Some(pending) = value
            .get_mut("PendingApproval")
            .and_then(Value::as_object_mut)
    {
        pending.remove("approve_url");
        pending.remove("reject_url");
    }
    value
}

pub(crate) async fn dispatch(
    State(state): State<AppState>,
    authed: Authed,
    query: Result<Query<DispatchParams>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let options = params(query, &authed)?;
    let action = admit_action(&state, &authed, body)?;
    let _permit = permits(&state, 1)?;
    // Acteon's outcome shapes mostly carry no id: the header tells the
    // caller which action id to look its audit record up by.
    let action_id = HeaderValue::from_str(&action.id).ok();
    let outcome = state.gateway.dispatch(action, options).await?;
    let mut response = Json(outcome_json(&state, &outcome)).into_response();
    if let Some(id) = action_id {
        response.headers_mut().insert(ACTION_ID_HEADER, id);
    }
    Ok(response)
}

/// The id of the dispatched action, on every single-dispatch answer.
pub const ACTION_ID_HEADER: &str = "x-action-id";

/// Up to this many items of a batch run at once.
const BATCH_CONCURRENCY: usize = 32;

pub(crate) async fn dispatch_batch(
    State(state): State<AppState>,
    authed: Authed,
    query: Result<Query<DispatchParams>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let options = params(query, &authed)?;
    let Value::Array(items) = body else {
        return Err(ApiError::invalid_field(
            "$",
            "expected a JSON array of actions",
        ));
    };
    let max = state.gateway.config().server.max_batch_size;
    if items.len() > max {
        return Err(ApiError::invalid_field(
            "$",
            format!("batch size {} exceeds maximum of {max}", items.len()),
        ));
    }
    let width = items.len().clamp(1, BATCH_CONCURRENCY);
    let _permits = permits(&state, width as u32)?;
    // Results keep input order; each item fails or succeeds on its own.
    let mut results: Vec<Value> = vec![Value::Null; items.len()];
    let mut pending = tokio::task::JoinSet::new();
    let mut queue = items.into_iter().enumerate();
    loop {
        while pending.len() < width {
            let Some((index, item)) = queue.next() else {
                break;
            };
            let state = state.clone();
            let authed = authed.clone();
            let options = options.clone();
            pending.spawn(async move {
                // Each item is authorized on its own: a 403 item, the rest proceed.
                let result = match admit_action(&state, &authed, item) {
                    Ok(action) => state
                        .gateway
                        .dispatch(action, options)
                        .await
                        .map(|outcome| outcome_json(&state, &outcome))
                        .map_err(ApiError::from),
                    Err(e) => Err(e.with_prefix(&format!("[{index}]"))),
                };
                (index, result)
            });
        }
        let Some(joined) = pending.join_next().await else {
            break;
        };
        let (index, result) = joined.map_err(|e| {
            ApiError::from(switchyard_gateway::GatewayError::Internal(e.to_string()))
        })?;
        results[index] = match result {
            Ok(outcome) => outcome,
            Err(error) => batch_error(&error),
        };
    }
    Ok(Json(Value::Array(results)))
}

/// A failed item of a batch: Acteon's clients read `error` as an object
/// (`code`, `message`, `retryable`); the same fields also stand at the top,
/// as in every other error body.
fn batch_error(error: &ApiError) -> Value {
    let mut body = error.body();
    let mut inner = body.clone();
    if let Some(fields) = inner.as_object_mut() {
        fields.remove("error");
    }
    body["error"] = inner;
    body
}

impl ApiError {
    /// Point a field path into a batch element (`[3].payload`).
    fn with_prefix(mut self, prefix: &str) -> Self {
        if let Some(field) = &self.field {
            let full = format!("{prefix}.{field}");
            self.message = self.message.replacen(field.as_str(), &full, 1);
            self.field = Some(full);
        }
        self
    }
}
