//! Recurring actions: cron-scheduled dispatches, created, listed, changed,
//! paused, resumed and deleted.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::recurring::RecurringAction;

use super::retention::non_empty;
use super::{audit_change, query};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

/// `POST /v1/recurring`: the action to repeat either as flat fields
/// (`provider`, `action_type`, `payload`, `metadata`) or as one
/// `action_template` object with those fields (the shape Acteon's example
/// scripts send), never both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    dedup_key: Option<String>,
    /// RFC 3339: no tick fires after it.
    end_date: Option<chrono::DateTime<chrono::Utc>>,
    max_executions: Option<u64>,
}

/// Acteon's optional fields of a recurring action (create and update).
#[derive(Debug, Default)]
pub(crate) struct Extras {
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    dedup_key: Option<String>,
    /// RFC 3339: no tick fires after it.
    end_date: Option<chrono::DateTime<chrono::Utc>>,
    max_executions: Option<u64>,
}

impl Extras {
    fn apply(self, item: &mut RecurringAction) -> Result<(), ApiError> {
        if let Some(name) = &self.name {
            non_empty("name", name)?;
        }
        if self.max_executions == Some(0) {
            return Err(ApiError::invalid_field(
                "max_executions",
                "must be at least 1",
            ));
        }
        if let Some(key) = &self.dedup_key {
            non_empty("dedup_key", key)?;
        }
        item.name = self.name.or(item.name.take());
        item.labels = self.labels.unwrap_or(std::mem::take(&mut item.labels));
        item.dedup_key = self.dedup_key.or(item.dedup_key.take());
        item.ends_at = self.end_date.or(item.ends_at);
        item.max_executions = self.max_executions.or(item.max_executions);
        Ok(())
    }
}

/// A recurring action as Acteon's clients read it (`cron_expr`,
/// `execution_count`, `next_execution_at`, `status`…) next to our own names.
pub(crate) fn view(item: &RecurringAction) -> Value {
    let mut out = json!(item);
    out["cron_expr"] = json!(item.cron_expression);
    out["execution_count"] = json!(item.fire_count);
    out["next_execution_at"] = json!(item.next_fire_at);
    out["last_executed_at"] = json!(item.last_fired_at);
    out["status"] = json!(item.status());
    out
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionTemplate {
    provider: String,
    action_type: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Take Acteon's optional fields out of a request body struct.
macro_rules! extras_of {
    ($req:expr) => {
        Extras {
            name: $req.name.take(),
            labels: $req.labels.take(),
            dedup_key: $req.dedup_key.take(),
            end_date: $req.end_date.take(),
            max_executions: $req.max_executions.take(),
        }
    };
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
    let mut item = RecurringAction {
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
        name: None,
        labels: BTreeMap::new(),
        dedup_key: None,
        ends_at: None,
        max_executions: None,
    };
    extras_of!(req).apply(&mut item)?;
    let created = state.gateway.create_recurring(item).await?;
    audit_change(
        &state,
        &authed,
        &created.namespace,
        &created.tenant,
        "recurring_created",
        json!(created),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view(&created))))
}

/// `GET /v1/recurring`: one tenant's, or (as Acteon's clients may ask,
/// with no scope) every one the caller may see; `status` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    namespace: Option<String>,
    tenant: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// The most recurring actions one page lists.
const MAX_PAGE: usize = 1000;

pub(crate) async fn list_recurring(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(scope)?;
    let items = match (&q.namespace, &q.tenant) {
        (Some(namespace), Some(tenant)) => {
            authed.tenant(namespace, tenant)?;
            state.gateway.list_recurring(namespace, tenant).await?
        }
        (None, None) => state
            .gateway
            .list_all_recurring()
            .await?
            .into_iter()
            .filter(|r| authed.sees(&r.namespace, &r.tenant))
            .collect(),
        (None, Some(_)) => {
            return Err(ApiError::invalid_field(
                "namespace",
                "give namespace with tenant",
            ));
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_field(
                "tenant",
                "give tenant with namespace",
            ));
        }
    };
    if let Some(status) = &q.status
        && !["active", "paused", "completed"].contains(&status.as_str())
    {
        return Err(ApiError::invalid_field(
            "status",
            "expected active, paused or completed",
        ));
    }
    let page: Vec<Value> = items
        .iter()
        .filter(|r| q.status.as_deref().is_none_or(|s| r.status() == s))
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE))
        .map(view)
        .collect();
    Ok(Json(
        json!({"count": page.len(), "recurring_actions": page}),
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
    Ok(Json(view(&find_recurring(&state, &authed, &id).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRecurring {
    /// Acteon's clients name the owner; it must be the record's.
    namespace: Option<String>,
    tenant: Option<String>,
    #[serde(alias = "cron_expr", alias = "cron")]
    cron_expression: Option<String>,
    timezone: Option<String>,
    payload: Option<Value>,
    metadata: Option<BTreeMap<String, String>>,
    enabled: Option<bool>,
    description: Option<String>,
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    dedup_key: Option<String>,
    /// RFC 3339: no tick fires after it.
    end_date: Option<chrono::DateTime<chrono::Utc>>,
    max_executions: Option<u64>,
}

pub(crate) async fn update_recurring(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let mut req: UpdateRecurring = from_value(body)?;
    let mut item = find_recurring(&state, &authed, &id).await?;
    super::same_owner(
        &id,
        (&req.namespace, &req.tenant),
        (&item.namespace, &item.tenant),
    )?;
    extras_of!(req).apply(&mut item)?;
    item.metadata = req.metadata.unwrap_or(item.metadata);
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
    Ok(Json(view(&saved)))
}

async fn set_enabled(
    state: AppState,
    authed: Authed,
    id: String,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    let mut item = find_recurring(&state, &authed, &id).await?;
    if item.enabled == enabled {
        // What Acteon's clients expect of a pause of a paused action (and
        // a resume of an active one).
        return Err(ApiError::conflict(if enabled {
            "the recurring action is already active"
        } else {
            "the recurring action is already paused"
        }));
    }
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
