use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::quotas::{OverageBehavior, QuotaPolicy, QuotaWindow};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

#[derive(Debug, Deserialize)]
pub(crate) struct CreateQuota {
    namespace: String,
    tenant: String,
    provider: Option<String>,
    max_actions: u64,
    window: QuotaWindow,
    #[serde(default = "block")]
    overage_behavior: OverageBehavior,
    description: Option<String>,
    /// Accepted and ignored, as Acteon does: new policies start enabled.
    #[serde(default)]
    #[allow(dead_code)]
    enabled: Option<bool>,
}

fn block() -> OverageBehavior {
    OverageBehavior::Block
}

fn check_identifier(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.contains(':') || value.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must be non-empty, without ':' or control characters",
        ));
    }
    Ok(())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateQuota = from_value(body)?;
    check_identifier("namespace", &req.namespace)?;
    check_identifier("tenant", &req.tenant)?;
    if let Some(p) = &req.provider {
        check_identifier("provider", p)?;
    }
    if req.max_actions == 0 {
        return Err(ApiError::invalid_field("max_actions", "must be at least 1"));
    }
    let now = state.gateway.clock().now();
    let policy = QuotaPolicy {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: req.namespace,
        tenant: req.tenant,
        provider: req.provider,
        max_actions: req.max_actions,
        window: req.window,
        overage_behavior: req.overage_behavior,
        enabled: true,
        description: req.description,
        created_at: now,
        updated_at: now,
    };
    let created = state
        .gateway
        .quotas
        .create(policy)
        .await
        .map_err(|e| match e {
            switchyard_gateway::GatewayError::Invalid { message, .. } => {
                ApiError::conflict(message)
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    namespace: String,
    tenant: String,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    let quotas = state.gateway.quotas.list(&p.namespace, &p.tenant).await?;
    Ok(Json(json!({"count": quotas.len(), "quotas": quotas})))
}

async fn find(state: &AppState, id: &str) -> Result<QuotaPolicy, ApiError> {
    state
        .gateway
        .quotas
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no quota with id '{id}'")))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(find(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateQuota {
    max_actions: Option<u64>,
    window: Option<QuotaWindow>,
    overage_behavior: Option<OverageBehavior>,
    enabled: Option<bool>,
    description: Option<String>,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateQuota = from_value(body)?;
    let mut policy = find(&state, &id).await?;
    if req.max_actions == Some(0) {
        return Err(ApiError::invalid_field("max_actions", "must be at least 1"));
    }
    policy.max_actions = req.max_actions.unwrap_or(policy.max_actions);
    policy.window = req.window.unwrap_or(policy.window);
    policy.overage_behavior = req.overage_behavior.unwrap_or(policy.overage_behavior);
    policy.enabled = req.enabled.unwrap_or(policy.enabled);
    policy.description = req.description.or(policy.description);
    policy.updated_at = state.gateway.clock().now();
    Ok(Json(json!(state.gateway.quotas.update(policy).await?)))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.gateway.quotas.delete(&id).await? {
        Ok(Json(json!({"deleted": true, "id": id})))
    } else {
        Err(ApiError::not_found(format!("no quota with id '{id}'")))
    }
}

pub(crate) async fn usage(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let policy = find(&state, &id).await?;
    Ok(Json(json!(state.gateway.quotas.usage(&policy).await?)))
}
