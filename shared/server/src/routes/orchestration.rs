//! Approvals, chains, groups and events.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_gateway::chains::ChainError;
use switchyard_gateway::state_machines::TransitionError;
use switchyard_gateway::{ApprovalDecision, ApprovalError, ApprovalLink, Decider};

use super::query;
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Scope {
    namespace: String,
    tenant: String,
    status: Option<String>,
}

impl From<ApprovalError> for ApiError {
    fn from(err: ApprovalError) -> Self {
        match err {
            ApprovalError::BadSignature => {
                ApiError::new(StatusCode::FORBIDDEN, "BAD_SIGNATURE", err.to_string())
            }
            ApprovalError::SelfApproval => {
                ApiError::new(StatusCode::FORBIDDEN, "SELF_APPROVAL", err.to_string())
            }
            ApprovalError::Expired => ApiError::new(StatusCode::GONE, "EXPIRED", err.to_string()),
            ApprovalError::NotFound => ApiError::not_found(err.to_string()),
            ApprovalError::AlreadyDecided(_) => ApiError::conflict(err.to_string()),
            ApprovalError::Gateway(e) => e.into(),
        }
    }
}

/// Only an authenticated caller decides without a link: with auth disabled
/// (everyone anonymous) the signed link stays the credential.
fn authenticated(authed: Option<Authed>) -> Option<Authed> {
    authed.filter(|a| a.0.method != switchyard_auth::AuthMethod::Anonymous)
}

/// A signed link decides on its own; without one, the authenticated caller
/// (an operator whose grants cover the tenant) decides.
async fn decide(
    state: AppState,
    path: (String, String, String),
    authed: Option<Authed>,
    link: Result<Query<ApprovalLink>, QueryRejection>,
    decision: ApprovalDecision,
) -> Result<Json<Value>, ApiError> {
    let (namespace, tenant, id) = path;
    let authed = authenticated(authed);
    let link = match (&authed, link) {
        (Some(authed), _) => {
            authed.tenant(&namespace, &tenant)?;
            None
        }
        (None, link) => Some(query(link).map_err(forbidden)?),
    };
    let caller = authed.as_ref().map(Authed::caller);
    let by = match (&link, &caller) {
        (Some(link), _) => Decider::Link(link),
        (None, Some(caller)) => Decider::Caller(caller),
        (None, None) => return Err(ApiError::forbidden("an approval link or a key is required")),
    };
    Ok(Json(
        state
            .gateway
            .decide_approval(&namespace, &tenant, &id, by, decision)
            .await?,
    ))
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    authed: Option<Authed>,
    link: Result<Query<ApprovalLink>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(state, path, authed, link, ApprovalDecision::Approve).await
}

pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    authed: Option<Authed>,
    link: Result<Query<ApprovalLink>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(state, path, authed, link, ApprovalDecision::Reject).await
}

/// A link without its signature is not a valid credential.
fn forbidden(e: ApiError) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "BAD_SIGNATURE",
        format!("approval links need sig and expires_at: {}", e.message),
    )
}

pub(crate) async fn approval_status(
    State(state): State<AppState>,
    Path((namespace, tenant, id)): Path<(String, String, String)>,
    authed: Option<Authed>,
    link: Result<Query<ApprovalLink>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let authed = authenticated(authed);
    let link = match &authed {
        Some(authed) => {
            authed.tenant(&namespace, &tenant)?;
            None
        }
        None => Some(query(link).map_err(forbidden)?),
    };
    Ok(Json(
        state
            .gateway
            .approval_status(&namespace, &tenant, &id, link.as_ref())
            .await?,
    ))
}

pub(crate) async fn list_approvals(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    let approvals: Vec<Value> = state
        .gateway
        .list_approvals(&scope.namespace, &scope.tenant)
        .await?
        .into_iter()
        .filter(|a| scope.status.as_deref().is_none_or(|s| a["status"] == s))
        .collect();
    Ok(Json(
        json!({"count": approvals.len(), "approvals": approvals}),
    ))
}

impl From<ChainError> for ApiError {
    fn from(err: ChainError) -> Self {
        match err {
            ChainError::NotFound => ApiError::not_found(err.to_string()),
            ChainError::AlreadyTerminal(_) => ApiError::conflict(err.to_string()),
            ChainError::Gateway(e) => e.into(),
        }
    }
}

pub(crate) async fn list_chains(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    let chains = state
        .gateway
        .list_chains(&scope.namespace, &scope.tenant, scope.status.as_deref())
        .await?;
    let summaries: Vec<Value> = chains.iter().map(|c| c.summary()).collect();
    Ok(Json(json!({"count": summaries.len(), "chains": summaries})))
}

pub(crate) async fn get_chain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    match state
        .gateway
        .get_chain(&scope.namespace, &scope.tenant, &id)
        .await?
    {
        Some(chain) => Ok(Json(chain.detail())),
        None => Err(ApiError::not_found(format!(
            "no chain '{id}' in {}/{}",
            scope.namespace, scope.tenant
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRequest {
    namespace: String,
    tenant: String,
    reason: Option<String>,
    cancelled_by: Option<String>,
}

pub(crate) async fn cancel_chain(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: CancelRequest = from_value(body)?;
    authed.tenant(&req.namespace, &req.tenant)?;
    let chain = state
        .gateway
        .cancel_chain(
            &req.namespace,
            &req.tenant,
            &id,
            req.reason,
            req.cancelled_by,
        )
        .await?;
    Ok(Json(chain.detail()))
}

/// Groups are found by key alone (their key hashes the tenant in), so the
/// scope is optional: Acteon's clients send none.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupScope {
    namespace: Option<String>,
    tenant: Option<String>,
}

impl GroupScope {
    /// The named tenant, checked against the caller's grants; `None` when unscoped.
    fn tenant(&self, authed: &Authed) -> Result<Option<(&str, &str)>, ApiError> {
        match (&self.namespace, &self.tenant) {
            (Some(namespace), Some(tenant)) => {
                authed.tenant(namespace, tenant)?;
                Ok(Some((namespace, tenant)))
            }
            (None, None) => Ok(None),
            (None, Some(_)) => Err(ApiError::invalid_field(
                "namespace",
                "give namespace with tenant",
            )),
            (Some(_), None) => Err(ApiError::invalid_field(
                "tenant",
                "give tenant with namespace",
            )),
        }
    }
}

pub(crate) async fn list_groups(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<GroupScope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    let groups = match scope.tenant(&authed)? {
        Some((namespace, tenant)) => state.gateway.list_groups(namespace, tenant).await?,
        None => state
            .gateway
            .list_all_groups()
            .await?
            .into_iter()
            .filter(|g| authed.sees(&g.namespace, &g.tenant))
            .collect(),
    };
    let groups: Vec<Value> = groups.iter().map(|g| g.view()).collect();
    Ok(Json(json!({"total": groups.len(), "groups": groups})))
}

/// The open group `key` the caller may see (404 otherwise, without saying
/// whether another tenant has it).
async fn visible_group(
    state: &AppState,
    authed: &Authed,
    scope: &GroupScope,
    key: &str,
) -> Result<switchyard_gateway::groups::GroupState, ApiError> {
    let group = match scope.tenant(authed)? {
        Some((namespace, tenant)) => state.gateway.get_group(namespace, tenant, key).await?,
        None => state
            .gateway
            .find_group(key)
            .await?
            .filter(|g| authed.sees(&g.namespace, &g.tenant)),
    };
    group.ok_or_else(|| ApiError::not_found(format!("no open group '{key}'")))
}

pub(crate) async fn get_group(
    State(state): State<AppState>,
    Path(key): Path<String>,
    authed: Authed,
    scope: Result<Query<GroupScope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    let g = visible_group(&state, &authed, &scope, &key).await?;
    Ok(Json(
        json!({"group": g.view(), "labels": g.labels, "events": g.events}),
    ))
}

/// Flush a group now.
pub(crate) async fn flush_group(
    State(state): State<AppState>,
    Path(key): Path<String>,
    authed: Authed,
    scope: Result<Query<GroupScope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    let group = visible_group(&state, &authed, &scope, &key).await?;
    // Flushing dispatches as the group's tenant.
    authed.tenant(&group.namespace, &group.tenant)?;
    match state
        .gateway
        .flush_group(
            &group.namespace,
            &group.tenant,
            &key,
            Some(&group.group_id),
            true,
        )
        .await?
    {
        switchyard_gateway::Handled::Done => Ok(Json(json!({
            "group_id": group.group_id,
            "event_count": group.events.len(),
            "status": "flushed",
            "notified": true,
        }))),
        switchyard_gateway::Handled::RetryLater(_) => {
            Err(ApiError::conflict("the group is being flushed right now"))
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(err: TransitionError) -> Self {
        match &err {
            TransitionError::NotFound(_) => ApiError::not_found(err.to_string()),
            TransitionError::UnknownState { .. } => ApiError::invalid_field("to", err.to_string()),
            TransitionError::Illegal { .. } => {
                ApiError::new(StatusCode::CONFLICT, "ILLEGAL_TRANSITION", err.to_string())
            }
            TransitionError::Gateway(e) => e.clone().into(),
        }
    }
}

pub(crate) async fn list_events(
    State(state): State<AppState>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    let events: Vec<Value> = state
        .gateway
        .list_events(&scope.namespace, &scope.tenant)
        .await?
        .iter()
        .filter(|e| scope.status.as_deref().is_none_or(|s| e.state == s))
        .map(|e| e.view())
        .collect();
    Ok(Json(json!({"count": events.len(), "events": events})))
}

pub(crate) async fn get_event(
    State(state): State<AppState>,
    Path(fingerprint): Path<String>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    match state
        .gateway
        .get_event(&scope.namespace, &scope.tenant, &fingerprint)
        .await?
    {
        Some(e) => Ok(Json(e.view())),
        None => Err(ApiError::not_found(format!(
            "event not found: {fingerprint}"
        ))),
    }
}

pub(crate) async fn event_history(
    State(state): State<AppState>,
    Path(fingerprint): Path<String>,
    authed: Authed,
    scope: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = query(scope)?;
    authed.tenant(&scope.namespace, &scope.tenant)?;
    match state
        .gateway
        .get_event(&scope.namespace, &scope.tenant, &fingerprint)
        .await?
    {
        Some(e) => Ok(Json(
            json!({"fingerprint": e.fingerprint, "state": e.state, "history": e.history}),
        )),
        None => Err(ApiError::not_found(format!(
            "event not found: {fingerprint}"
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransitionRequest {
    to: String,
    namespace: String,
    tenant: String,
}

pub(crate) async fn transition(
    State(state): State<AppState>,
    authed: Authed,
    Path(fingerprint): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: TransitionRequest = from_value(body)?;
    authed.tenant(&req.namespace, &req.tenant)?;
    let by = format!("api:{}", authed.0.id);
    Ok(Json(
        state
            .gateway
            .transition_event(&req.namespace, &req.tenant, &fingerprint, &req.to, &by)
            .await?,
    ))
}
