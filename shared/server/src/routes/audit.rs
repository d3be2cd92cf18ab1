use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_core::{AuditQuery, AuditRecord};

use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
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

/// Narrow a query to what the caller may read: a dimension the query leaves
/// open is pinned to the caller's one value for it; a tenant-restricted
/// caller with several tenants must name one.
fn scope_query(authed: &Authed, query: &mut AuditQuery) -> Result<(), ApiError> {
    if authed.0.is_unrestricted() {
        return Ok(());
    }
    let principal = &authed.0;
    if query.tenant.is_none() {
        query.tenant = principal.only_value(|g| &g.tenants).map(str::to_string);
    }
    if query.namespace.is_none() {
        query.namespace = principal.only_value(|g| &g.namespaces).map(str::to_string);
    }
    match (&query.namespace, &query.tenant) {
        (Some(namespace), Some(tenant)) => authed.tenant(namespace, tenant),
        _ => Err(ApiError::invalid_field(
            if query.tenant.is_none() {
                "tenant"
            } else {
                "namespace"
            },
            "this key is granted several tenants or namespaces: name one (namespace=…&tenant=…)",
        )),
    }
}

pub(crate) async fn query(
    State(state): State<AppState>,
    authed: Authed,
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
    let mut query = AuditQuery {
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
    scope_query(&authed, &mut query)?;
    let mut page = state.gateway.audit_query(&query).await?;
    // Grants may also limit providers and action types.
    let before = page.records.len();
    page.records
        .retain(|r| authed.sees_action(&r.namespace, &r.tenant, &r.provider, &r.action_type));
    page.total = page
        .total
        .saturating_sub((before - page.records.len()) as u64);
    Ok(Json(json!(page)))
}

/// Which tenant's record `GET /v1/audit/{action_id}` means (action ids are
/// the clients' own, so two tenants may share one).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordScope {
    namespace: Option<String>,
    tenant: Option<String>,
}

pub(crate) async fn get(
    State(state): State<AppState>,
    authed: Authed,
    Path(action_id): Path<String>,
    scope: Result<Query<RecordScope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = super::query(scope)?;
    for (field, value) in [("namespace", &scope.namespace), ("tenant", &scope.tenant)] {
        if let Some(value) = value {
            crate::auth::check_identifier(field, value)?;
        }
    }
    // Only records this caller may see, in the scope it names: another
    // tenant's record with the same id neither shows nor hides this one.
    let accept = |r: &AuditRecord| {
        scope.namespace.as_deref().is_none_or(|n| n == r.namespace)
            && scope.tenant.as_deref().is_none_or(|t| t == r.tenant)
            && authed.sees_action(&r.namespace, &r.tenant, &r.provider, &r.action_type)
    };
    match state
        .gateway
        .audit_for_action_where(&action_id, &accept)
        .await?
    {
        Some(record) => Ok(Json(json!(record))),
        None => Err(ApiError::not_found(format!(
            "no audit record for action '{action_id}'"
        ))),
    }
}
