use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_core::AuditQuery;

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    namespace: Option<String>,
    tenant: Option<String>,
    provider: Option<String>,
    action_type: Option<String>,
    outcome: Option<String>,
    verdict: Option<String>,
    matched_rule: Option<String>,
    chain_id: Option<String>,
    action_id: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub(crate) async fn query(
    State(state): State<AppState>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    let limit = p.limit.unwrap_or(AuditQuery::DEFAULT_LIMIT);
    if limit == 0 || limit > AuditQuery::MAX_LIMIT {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {}", AuditQuery::MAX_LIMIT),
        ));
    }
    let query = AuditQuery {
        namespace: p.namespace,
        tenant: p.tenant,
        provider: p.provider,
        action_type: p.action_type,
        outcome: p.outcome,
        verdict: p.verdict,
        matched_rule: p.matched_rule,
        chain_id: p.chain_id,
        action_id: p.action_id,
        limit,
        offset: p.offset.unwrap_or(0),
    };
    let page = state.gateway.audit_query(&query).await?;
    Ok(Json(json!(page)))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(action_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.gateway.audit_for_action(&action_id).await? {
        Some(record) => Ok(Json(json!(record))),
        None => Err(ApiError::not_found(format!(
            "no audit record for action '{action_id}'"
        ))),
    }
}
