//! `POST /v1/auth/login` and key management (`/v1/auth/keys`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_auth::{AuthError, Authenticator, Grant, KeyError, NewKey, Role};

use super::audit_global;
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::extract::{JsonBody, from_value};

fn authenticator(state: &AppState) -> Result<&Authenticator, ApiError> {
    state.security.authenticator.as_ref().ok_or_else(|| {
        ApiError::not_found("authentication is not enabled ([auth] enabled = false)")
    })
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unavailable(message) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", message)
            },
            AuthError::NoLogin => ApiError::not_found(err.to_string()),
            other => ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", other.to_string()),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let auth = authenticator(&state)?;
    let request: LoginRequest = from_value(body)?;
    if request.username.len() > 256 || request.password.len() > 1024 {
        return Err(ApiError::invalid_field(
            "password",
            "username at most 256 bytes, password at most 1024",
        ));
    }
    if let Some(limiter) = &state.security.limiter
        && let Err(wait) = limiter.check_login(&request.username)
    {
        return Err(crate::auth::rate_limited(
            wait,
            &format!("logins of '{}'", request.username),
        ));
    }
    let (token, expires_in) = auth.login(&request.username, &request.password).await?;
    Ok(Json(
        json!({"token": token, "token_type": "Bearer", "expires_in": expires_in}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyRequest {
    name: String,
    role: Role,
    grants: Vec<Grant>,
    description: Option<String>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(crate) async fn create_key(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let auth = authenticator(&state)?;
    let request: CreateKeyRequest = from_value(body)?;
    let (key, raw) = auth
        .create_key(
            &authed.0,
            NewKey {
                name: request.name,
                role: request.role,
                grants: request.grants,
                description: request.description,
                expires_at: request.expires_at,
            },
        )
        .await
        .map_err(|e| match e {
            KeyError::Invalid { field, message } => ApiError::invalid_field(field, message),
            KeyError::Escalation => ApiError::forbidden(e.to_string()),
            KeyError::Auth(e) => e.into(),
        })?;
    audit_global(
        &state,
        &authed,
        "api_key_created",
        json!({"key_id": key.id, "name": key.name, "role": key.role, "grants": key.grants}),
    )
    .await;
    let mut view = key.view();
    // The only time the raw key is ever shown.
    view["key"] = json!(raw);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(crate) async fn list_keys(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = authenticator(&state)?.list_keys().await?;
    Ok(Json(json!({"count": keys.len(), "keys": keys})))
}

pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let auth = authenticator(&state)?;
    if !auth.revoke_key(&id).await? {
        return Err(ApiError::not_found(format!(
            "no stored key '{id}' (keys of the auth file are revoked by editing the file)"
        )));
    }
    audit_global(&state, &authed, "api_key_revoked", json!({"key_id": id})).await;
    Ok(StatusCode::NO_CONTENT)
}
