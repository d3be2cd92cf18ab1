//! Retention policies and recurring actions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::recurring::RecurringAction;
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

fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRetention {
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

/// `POST /v1/recurring`: the action to repeat either as flat fields
/// (`provider`, `action_type`, `payload`, `metadata`) or as one
/// `action_template` object with those fields (the shape Acteon's example
/// scripts send), never both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRecurring {
    namespace: String,
    tenant: String,
    #[serde(alias = "cron_expr", alias = "cron")]
    cron_expression: String,
    #[serde(default = "utc")]
    timezone: String,
    provider: Option<String>,
    action_type: Option<String>,
    payload: Option<Value>,
    metadata: Option<BTreeMap<String, String>>,
    action_template: Option<ActionTemplate>,
    #[serde(default = "yes")]
    enabled: bool,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionTemplate {
    provider: String,
    action_type: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

impl CreateRecurring {
    /// The action to repeat, from whichever shape the request used.
    fn template(&mut self) -> Result<ActionTemplate, ApiError> {
        let flat = self.provider.is_some()
            || self.action_type.is_some()
            || self.payload.is_some()
            || self.metadata.is_some();
        match self.action_template.take() {
            Some(_) if flat => Err(ApiError::invalid_field(
                "action_template",
                "give either action_template or provider/action_type/payload/metadata, not both",
            )),
            Some(template) => Ok(template),
            None => Ok(ActionTemplate {
                provider: self.provider.take().ok_or_else(|| {
                    ApiError::invalid_field("provider", "missing field `provider`")
                })?,
                action_type: self.action_type.take().ok_or_else(|| {
                    ApiError::invalid_field("action_type", "missing field `action_type`")
                })?,
                payload: self.payload.take().unwrap_or_default(),
                metadata: self.metadata.take().unwrap_or_default(),
            }),
        }
    }
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

pub(crate) async fn create_recurring(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut req: CreateRecurring = from_value(body)?;
    let template = req.template()?;
    for (field, value) in [
        ("namespace", &req.namespace),
        ("tenant", &req.tenant),
        ("action_type", &template.action_type),
    ] {
        non_empty(field, value)?;
    }
    // It dispatches as this tenant: the caller must be allowed to.
    authed.action(
        &req.namespace,
        &req.tenant,
        &template.provider,
        &template.action_type,
    )?;
    let now = state.gateway.clock().now();
    let created = state
        .gateway
        .create_recurring(RecurringAction {
            id: uuid::Uuid::new_v4().to_string(),
            namespace: req.namespace,
            tenant: req.tenant,
            cron_expression: req.cron_expression,
            timezone: req.timezone,
            provider: template.provider,
            action_type: template.action_type,
            payload: template.payload,
            metadata: template.metadata,
            enabled: req.enabled,
            description: req.description,
            next_fire_at: None,
            last_fired_at: None,
            fire_count: 0,
            created_at: now,
            updated_at: now,
        })
        .await?;
    audit_change(
        &state,
        &authed,
        &created.namespace,
        &created.tenant,
        "recurring_created",
        json!(created),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scope {
    namespace: String,
    tenant: String,
}

pub(crate) async fn list_recurring(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    let items = state
        .gateway
        .list_recurring(&scope.namespace, &scope.tenant)
        .await?;
    Ok(Json(
        json!({"count": items.len(), "recurring_actions": items}),
    ))
}

async fn find_recurring(
    state: &AppState,
    authed: &Authed,
    id: &str,
) -> Result<RecurringAction, ApiError> {
    state
        .gateway
        .get_recurring(id)
        .await?
        .filter(|r| authed.sees(&r.namespace, &r.tenant))
        .ok_or_else(|| ApiError::not_found(format!("no recurring action '{id}'")))
}

pub(crate) async fn get_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(find_recurring(&state, &authed, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRecurring {
    #[serde(alias = "cron_expr", alias = "cron")]
    cron_expression: Option<String>,
    timezone: Option<String>,
    payload: Option<Value>,
    enabled: Option<bool>,
    description: Option<String>,
}

pub(crate) async fn update_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateRecurring = from_value(body)?;
    let mut item = find_recurring(&state, &authed, &id).await?;
    item.cron_expression = req.cron_expression.unwrap_or(item.cron_expression);
    item.timezone = req.timezone.unwrap_or(item.timezone);
    item.payload = req.payload.unwrap_or(item.payload);
    item.enabled = req.enabled.unwrap_or(item.enabled);
    item.description = req.description.or(item.description);
    save_recurring(&state, &authed, item, "recurring_updated").await
}

async fn save_recurring(
    state: &AppState,
    authed: &Authed,
    item: RecurringAction,
    change: &str,
) -> Result<Json<Value>, ApiError> {
    let saved = state.gateway.update_recurring(item).await?;
    audit_change(
        state,
        authed,
        &saved.namespace,
        &saved.tenant,
        change,
        json!(saved),
    )
    .await;
    Ok(Json(json!(saved)))
}

async fn set_enabled(
    state: AppState,
    authed: Authed,
    id: String,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    let mut item = find_recurring(&state, &authed, &id).await?;
    item.enabled = enabled;
    let change = if enabled {
        "recurring_resumed"
    } else {
        "recurring_paused"
    };
    save_recurring(&state, &authed, item, change).await
}

pub(crate) async fn pause_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, authed, id, false).await
}

pub(crate) async fn resume_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, authed, id, true).await
}

pub(crate) async fn delete_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let item = find_recurring(&state, &authed, &id).await?;
    if state.gateway.delete_recurring(&id).await? {
        audit_change(
            &state,
            &authed,
            &item.namespace,
            &item.tenant,
            "recurring_deleted",
            json!({"id": id}),
        )
        .await;
        // What Acteon's clients expect of a delete: no content.
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no recurring action '{id}'")))
    }
}
