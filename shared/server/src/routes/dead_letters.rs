//! Dead letters: messages that failed every delivery, kept by the delivery
//! policy on every transport. Listed, replayed one by one, or drained; also
//! under Acteon's paths (`/v1/dlq/stats`, `/v1/dlq/drain`) for its clients.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::{DeadLetter, MAX_DEAD_LETTER_PAGE};

use super::{audit_global, query};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;

const DEFAULT_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match limit.unwrap_or(default) {
        n @ 1..=MAX_DEAD_LETTER_PAGE => Ok(n),
        _ => Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_DEAD_LETTER_PAGE}"),
        )),
    }
}

fn entries(letters: &[DeadLetter]) -> Vec<Value> {
    letters.iter().map(DeadLetter::to_json).collect()
}

pub(crate) async fn list(
    State(state): State<AppState>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let limit = page_limit(params.limit, DEFAULT_PAGE)?;
    if params.cursor.as_ref().is_some_and(|c| c.len() > 1_024) {
        return Err(ApiError::invalid_field("cursor", "longer than 1024 bytes"));
    }
    let (letters, next_cursor) = state
        .gateway
        .dead_letters(params.cursor.as_deref(), limit)
        .await?;
    Ok(Json(json!({
        "entries": entries(&letters),
        "count": letters.len(),
        "next_cursor": next_cursor,
    })))
}

/// Acteon's `GET /v1/dlq/stats`: the dead letters are always kept.
pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let count = state.gateway.count_dead_letters().await?;
    Ok(Json(json!({"enabled": true, "count": count})))
}

pub(crate) async fn replay(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(dead) = state.gateway.replay_dead_letter(&id).await? else {
        return Err(ApiError::not_found(format!("no dead letter '{id}'")));
    };
    audit_global(
        &state,
        &authed,
        "dead_letter_replayed",
        json!({"id": dead.id, "kind": dead.kind, "namespace": dead.namespace, "tenant": dead.tenant}),
    )
    .await;
    Ok(Json(json!({"replayed": dead.to_json()})))
}

/// Remove dead letters (up to `limit`, default and most 1,000) and return
/// them (Acteon's `POST /v1/dlq/drain` answer, plus `more`).
pub(crate) async fn drain(
    State(state): State<AppState>,
    authed: Authed,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    if params.cursor.is_some() {
        return Err(ApiError::invalid_field(
            "cursor",
            "a drain always starts at the oldest dead letter",
        ));
    }
    let limit = page_limit(params.limit, MAX_DEAD_LETTER_PAGE)?;
    let (letters, more) = state.gateway.drain_dead_letters(limit).await?;
    if !letters.is_empty() {
        // The first ids name what went; an audit record stays small.
        let ids: Vec<&str> = letters.iter().take(100).map(|d| d.id.as_str()).collect();
        audit_global(
            &state,
            &authed,
            "dead_letters_drained",
            json!({"count": letters.len(), "ids": ids}),
        )
        .await;
    }
    Ok(Json(json!({
        "entries": entries(&letters),
        "count": letters.len(),
        "more": more,
    })))
}
