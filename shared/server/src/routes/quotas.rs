use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::quotas::{OverageBehavior, QuotaPolicy, QuotaWindow};

use super::audit_change;
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateQuota {
    namespace: String,
    tenant: String,
    provider: Option<String>,
    max_actions: u64,
    window: QuotaWindow,
    #[serde(default = "block")]
    overage_behavior: OverageBehavior,
    description: Option<String>,
    labels: Option<BTreeMap<String, String>>,
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

/// `degrade` and `notify` send to a provider: it must be configured (and,
/// since the caller's actions will go there, within the caller's grants).
fn check_overage(
    state: &AppState,
    authed: &Authed,
    namespace: &str,
    tenant: &str,
    behavior: &OverageBehavior,
) -> Result<(), ApiError> {
    let Some(provider) = behavior.provider() else {
        return Ok(());
    };
    let field = match behavior {
        OverageBehavior::Degrade { .. } => "overage_behavior.degrade.fallback_provider",
        _ => "overage_behavior.notify.target",
    };
    if !state.gateway.providers().contains(provider) {
        return Err(ApiError::invalid_field(
            field,
            format!("no provider named '{provider}' is configured"),
        ));
    }
    authed.action(namespace, tenant, provider, "*")?;
    Ok(())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateQuota = from_value(body)?;
    check_identifier("namespace", &req.namespace)?;
    check_identifier("tenant", &req.tenant)?;
    authed.tenant(&req.namespace, &req.tenant)?;
    if let Some(p) = &req.provider {
        check_identifier("provider", p)?;
    }
    check_overage(
        &state,
        &authed,
        &req.namespace,
        &req.tenant,
        &req.overage_behavior,
    )?;
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
        labels: req.labels.unwrap_or_default(),
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
    audit_change(
        &state,
        &authed,
        &created.namespace,
        &created.tenant,
        "quota_created",
        json!(created),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    namespace: Option<String>,
    tenant: Option<String>,
    provider: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    authed: Authed,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    // One tenant's, or (Acteon's clients may send no scope) every policy
    // the caller may see, optionally of one namespace or tenant.
    let mut quotas = match (&p.namespace, &p.tenant) {
        (Some(namespace), Some(tenant)) => {
            authed.tenant(namespace, tenant)?;
            state.gateway.quotas.list(namespace, tenant).await?
        }
        _ => state.gateway.quotas.list_all().await?,
    };
    quotas.retain(|q| {
        authed.sees(&q.namespace, &q.tenant)
            && p.namespace.as_ref().is_none_or(|n| *n == q.namespace)
            && p.tenant.as_ref().is_none_or(|t| *t == q.tenant)
            && p.provider
                .as_ref()
                .is_none_or(|pr| q.provider.as_ref() == Some(pr))
    });
    Ok(Json(json!({"count": quotas.len(), "quotas": quotas})))
}

/// A quota the caller may see (another tenant's reads as absent).
async fn find(state: &AppState, authed: &Authed, id: &str) -> Result<QuotaPolicy, ApiError> {
    state
        .gateway
        .quotas
        .get(id)
        .await?
        .filter(|q| authed.sees(&q.namespace, &q.tenant))
        .ok_or_else(|| ApiError::not_found(format!("no quota with id '{id}'")))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(find(&state, &authed, &id).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateQuota {
    /// Acteon's clients name the owner; it must be the policy's.
    namespace: Option<String>,
    tenant: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    max_actions: Option<u64>,
    window: Option<QuotaWindow>,
    overage_behavior: Option<OverageBehavior>,
    enabled: Option<bool>,
    description: Option<String>,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateQuota = from_value(body)?;
    let mut policy = find(&state, &authed, &id).await?;
    super::same_owner(
        &id,
        (&req.namespace, &req.tenant),
        (&policy.namespace, &policy.tenant),
    )?;
    if let Some(labels) = req.labels {
        policy.labels = labels;
    }
    if let Some(behavior) = &req.overage_behavior {
        check_overage(&state, &authed, &policy.namespace, &policy.tenant, behavior)?;
    }
    if req.max_actions == Some(0) {
        return Err(ApiError::invalid_field("max_actions", "must be at least 1"));
    }
    policy.max_actions = req.max_actions.unwrap_or(policy.max_actions);
    policy.window = req.window.unwrap_or(policy.window);
    policy.overage_behavior = req.overage_behavior.unwrap_or(policy.overage_behavior);
    policy.enabled = req.enabled.unwrap_or(policy.enabled);
    policy.description = req.description.or(policy.description);
    policy.updated_at = state.gateway.clock().now();
    let updated = state.gateway.quotas.update(policy).await?;
    audit_change(
        &state,
        &authed,
        &updated.namespace,
        &updated.tenant,
        "quota_updated",
        json!(updated),
    )
    .await;
    Ok(Json(json!(updated)))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let policy = find(&state, &authed, &id).await?;
    if state.gateway.quotas.delete(&id).await? {
        audit_change(
            &state,
            &authed,
            &policy.namespace,
            &policy.tenant,
            "quota_deleted",
            json!({"id": id}),
        )
        .await;
        // What Acteon's clients expect of a delete: no content.
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no quota with id '{id}'")))
    }
}

pub(crate) async fn usage(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let policy = find(&state, &authed, &id).await?;
    Ok(Json(json!(state.gateway.quotas.usage(&policy).await?)))
}
