use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_core::Action;
use switchyard_gateway::DispatchOptions;
use tokio::sync::OwnedSemaphorePermit;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DispatchParams {
    #[serde(default)]
    dry_run: bool,
}

fn params(
    query: Result<Query<DispatchParams>, QueryRejection>,
) -> Result<DispatchOptions, ApiError> {
    let Query(p) =
        query.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    Ok(DispatchOptions { dry_run: p.dry_run })
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

fn parse_action(state: &AppState, value: Value) -> Result<Action, ApiError> {
    let now = state.gateway.clock().now();
    Action::from_json(value, now).map_err(|e| ApiError::invalid_field(e.field, e.message))
}

pub(crate) async fn dispatch(
    State(state): State<AppState>,
    query: Result<Query<DispatchParams>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let options = params(query)?;
    let action = parse_action(&state, body)?;
    let _permit = permits(&state, 1)?;
    let outcome = state.gateway.dispatch(action, options).await?;
    Ok(Json(json!(outcome)))
}

/// Up to this many items of a batch run at once.
const BATCH_CONCURRENCY: usize = 32;

pub(crate) async fn dispatch_batch(
    State(state): State<AppState>,
    query: Result<Query<DispatchParams>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let options = params(query)?;
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
            pending.spawn(async move {
                let result = match parse_action(&state, item) {
                    Ok(action) => state
                        .gateway
                        .dispatch(action, options)
                        .await
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
            Ok(outcome) => json!(outcome),
            Err(error) => error.body(),
        };
    }
    Ok(Json(Value::Array(results)))
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
