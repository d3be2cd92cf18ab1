//! Retention policies: per-tenant audit and state TTLs.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::retention::RetentionPolicy;

use super::audit_change;
use super::query;
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

/// A client-sent duration: at least 1 s, at most 10 years (time arithmetic
/// on it must never overflow, here or in the reaper).
fn check_ttl(field: &str, ttl: Option<u64>) -> Result<(), ApiError> {
    let max = switchyard_rules::action::MAX_DURATION_SECONDS;
    match ttl {
        Some(n) if n == 0 || n > max => Err(ApiError::invalid_field(
            field,
            format!("must be between 1 and {max} seconds (10 years)"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRetention {
    namespace: String,
    tenant: String,
    audit_ttl_seconds: Option<u64>,
    state_ttl_seconds: Option<u64>,
    event_ttl_seconds: Option<u64>,
    #[serde(default)]
    compliance_hold: bool,
    description: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    /// Accepted and ignored (policies start enabled), as Acteon does.
    #[allow(dead_code)]
    enabled: Option<bool>,
}

pub(crate) async fn create_retention(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateRetention = from_value(body)?;
    non_empty("namespace", &req.namespace)?;
    non_empty("tenant", &req.tenant)?;
    authed.tenant(&req.namespace, &req.tenant)?;
    for (field, ttl) in [
        ("audit_ttl_seconds", req.audit_ttl_seconds),
        ("state_ttl_seconds", req.state_ttl_seconds),
        ("event_ttl_seconds", req.event_ttl_seconds),
    ] {
        check_ttl(field, ttl)?;
    }
    let now = state.gateway.clock().now();
    let policy = RetentionPolicy {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: req.namespace,
        tenant: req.tenant,
        enabled: true,
        audit_ttl_seconds: req.audit_ttl_seconds,
        state_ttl_seconds: req.state_ttl_seconds,
        event_ttl_seconds: req.event_ttl_seconds,
        compliance_hold: req.compliance_hold,
        description: req.description,
        created_at: now,
        updated_at: now,
        labels: req.labels.unwrap_or_default(),
    };
    match state.gateway.create_retention(policy).await? {
        Some(created) => {
            audit_change(
                &state,
                &authed,
                &created.namespace,
                &created.tenant,
                "retention_created",
                json!(created),
            )
            .await;
            Ok((StatusCode::CREATED, Json(json!(created))))
        }
        None => Err(ApiError::conflict(
            "a retention policy for this namespace and tenant already exists",
        )),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OptionalScope {
    namespace: Option<String>,
    tenant: Option<String>,
}

pub(crate) async fn list_retention(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<OptionalScope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    let mut policies = state
        .gateway
        .list_retention(scope.namespace.as_deref(), scope.tenant.as_deref())
        .await?;
    policies.retain(|p| authed.sees(&p.namespace, &p.tenant));
    Ok(Json(json!({"count": policies.len(), "policies": policies})))
}

/// A policy the caller may see (another tenant's reads as absent).
async fn find_retention(
    state: &AppState,
    authed: &Authed,
    id: &str,
) -> Result<RetentionPolicy, ApiError> {
    state
        .gateway
        .get_retention(id)
        .await?
        .filter(|p| authed.sees(&p.namespace, &p.tenant))
        .ok_or_else(|| ApiError::not_found(format!("no retention policy '{id}'")))
}

pub(crate) async fn get_retention(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(find_retention(&state, &authed, &id).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRetention {
    /// Acteon's clients may name the owner; it must be the policy's.
    namespace: Option<String>,
    tenant: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    enabled: Option<bool>,
    audit_ttl_seconds: Option<u64>,
    state_ttl_seconds: Option<u64>,
    event_ttl_seconds: Option<u64>,
    compliance_hold: Option<bool>,
    description: Option<String>,
}

pub(crate) async fn update_retention(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateRetention = from_value(body)?;
    for (field, ttl) in [
        ("audit_ttl_seconds", req.audit_ttl_seconds),
        ("state_ttl_seconds", req.state_ttl_seconds),
        ("event_ttl_seconds", req.event_ttl_seconds),
    ] {
        check_ttl(field, ttl)?;
    }
    let mut policy = find_retention(&state, &authed, &id).await?;
    super::same_owner(
        &id,
        (&req.namespace, &req.tenant),
        (&policy.namespace, &policy.tenant),
    )?;
    if let Some(labels) = req.labels {
        policy.labels = labels;
    }
    policy.enabled = req.enabled.unwrap_or(policy.enabled);
    policy.audit_ttl_seconds = req.audit_ttl_seconds.or(policy.audit_ttl_seconds);
    policy.state_ttl_seconds = req.state_ttl_seconds.or(policy.state_ttl_seconds);
    policy.event_ttl_seconds = req.event_ttl_seconds.or(policy.event_ttl_seconds);
    policy.compliance_hold = req.compliance_hold.unwrap_or(policy.compliance_hold);
    policy.description = req.description.or(policy.description);
    let updated = state.gateway.update_retention(policy).await?;
    audit_change(
        &state,
        &authed,
        &updated.namespace,
        &updated.tenant,
        "retention_updated",
        json!(updated),
    )
    .await;
    Ok(Json(json!(updated)))
}

pub(crate) async fn delete_retention(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let policy = find_retention(&state, &authed, &id).await?;
    if state.gateway.delete_retention(&id).await? {
        audit_change(
            &state,
            &authed,
            &policy.namespace,
            &policy.tenant,
            "retention_deleted",
            json!({"id": id}),
        )
        .await;
        // What Acteon's clients expect of a delete: no content.
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no retention policy '{id}'")))
    }
}
