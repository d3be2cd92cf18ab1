//! Authentication and route authorization, as one middleware on every
//! matched route; and [`Authed`], the caller a handler sees.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use switchyard_auth::{AuthError, Credential, Denied, Principal, Resource, retry_after_seconds};
use switchyard_core::Caller;

use crate::AppState;
use crate::access::{Access, lookup};
use crate::error::ApiError;

/// The authenticated caller of a request (an anonymous admin when auth is
/// disabled).
#[derive(Debug, Clone)]
pub struct Authed(pub Arc<Principal>);

impl Authed {
    pub fn caller(&self) -> Caller {
        Caller::new(self.0.id.clone(), self.0.method.as_str())
    }

    /// Admit a tenant scope a client named: 400 unless both names are
    /// identifiers, 403 unless a grant covers the tenant's data.
    pub fn tenant(&self, namespace: &str, tenant: &str) -> Result<(), ApiError> {
        check_identifier("namespace", namespace)?;
        check_identifier("tenant", tenant)?;
        self.0
            .authorize(&Resource::tenant(namespace, tenant))
            .map_err(forbidden)
    }

    /// The same for an action: its four routing names, then the grants.
    pub fn action(
        &self,
        namespace: &str,
        tenant: &str,
        provider: &str,
        action_type: &str,
    ) -> Result<(), ApiError> {
        check_identifier("namespace", namespace)?;
        check_identifier("tenant", tenant)?;
        check_identifier("provider", provider)?;
        check_identifier("action_type", action_type)?;
        self.0
            .authorize(&Resource::action(namespace, tenant, provider, action_type))
            .map_err(forbidden)
    }

    /// Whether the caller may see a tenant's record (a miss reads as 404).
    pub fn sees(&self, namespace: &str, tenant: &str) -> bool {
        self.0.covers(&Resource::tenant(namespace, tenant))
    }

    pub fn sees_action(
        &self,
        namespace: &str,
        tenant: &str,
        provider: &str,
        action_type: &str,
    ) -> bool {
        self.0
            .covers(&Resource::action(namespace, tenant, provider, action_type))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Authed>().cloned().ok_or_else(|| {
            // A route reached without the middleware: refuse, never guess.
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "missing authentication credentials",
            )
        })
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, ApiError> {
        Ok(parts.extensions.get::<Authed>().cloned())
    }
}

/// Longest name or id a route accepts (the dispatch rule for routing fields).
pub const MAX_IDENTIFIER_LEN: usize = 256;

/// A name or id from a path, query or body: 1 to 256 bytes, no control
/// characters (they would make records that no route can name again).
pub fn check_identifier(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    if value.len() > MAX_IDENTIFIER_LEN {
        return Err(ApiError::invalid_field(
            field,
            format!("longer than {MAX_IDENTIFIER_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Every path parameter of a matched route is an identifier; a path that is
/// not UTF-8 once decoded is a JSON 400 too.
async fn check_path(request: &mut Request) -> Result<(), ApiError> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &()).await;
    *request = Request::from_parts(parts, body);
    let params = params.map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
    for (name, value) in &params {
        check_identifier(name, value)?;
    }
    Ok(())
}

pub(crate) fn forbidden(denied: Denied) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", denied.to_string())
}

fn unauthorized(err: &AuthError) -> Response {
    if let AuthError::Unavailable(message) = err {
        return ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                format!("cannot check the key right now: {message}"),
            )
        }
        .into_response();
    }
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", err.to_string()).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"switchyard\""),
    );
    response
}

/// `X-API-Key` when present (so a key still reaches us when API Gateway's
/// IAM or JWT authorizer owns `Authorization`), else `Authorization: Bearer`
/// (what Acteon's clients send).
fn credential(headers: &HeaderMap) -> Result<Option<Credential>, AuthError> {
    if let Some(value) = headers.get("x-api-key") {
        let text = value.to_str().map_err(|_| AuthError::InvalidKey)?;
        return Ok(Some(Credential::ApiKey(text.trim().to_string())));
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| AuthError::InvalidKey)?;
        let (scheme, token) = text.split_once(' ').ok_or(AuthError::InvalidKey)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::InvalidToken(
                "the Authorization header must use the Bearer scheme (or send X-API-Key)".into(),
            ));
        }
        return Ok(Some(Credential::Bearer(token.trim().to_string())));
    }
    Ok(None)
}

fn has_signed_link(request: &Request) -> bool {
    request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("sig=")))
}

fn what(request: &Request, path: &str) -> String {
    format!("{} {path}", request.method())
}

/// Check the caller against the route's [`Access`], then its request rate,
/// and hand the handler an [`Authed`].
pub(crate) async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    if let Err(bad) = check_path(&mut request).await {
        return bad.into_response();
    }
    let Some(access) = lookup(request.method().as_str(), &path) else {
        return forbidden(Denied::Global(format!(
            "{} (no access policy)",
            what(&request, &path)
        )))
        .into_response();
    };
    let needed = match access {
        Access::Public => return next.run(request).await,
        Access::LinkOrRole(_) if has_signed_link(&request) => return next.run(request).await,
        Access::LinkOrRole(role) | Access::Role(role) | Access::Global(role) => role,
    };
    let principal = match &state.security.authenticator {
        None => Arc::new(Principal::anonymous()),
        Some(auth) => {
            let found = match credential(request.headers()) {
                Ok(Some(cred)) => auth.authenticate(&cred).await,
                Ok(None) => Err(AuthError::Missing),
                Err(e) => Err(e),
            };
            match found {
                Ok(principal) => principal,
                Err(err) => return unauthorized(&err),
            }
        }
    };
    let target = what(&request, &path);
    if let Err(denied) = principal.require_role(needed, &target) {
        return forbidden(denied).into_response();
    }
    if matches!(access, Access::Global(_))
        && let Err(denied) = principal.require_unrestricted(&target)
    {
        return forbidden(denied).into_response();
    }
    if let Some(limiter) = &state.security.limiter
        && let Err(wait) = limiter.check_caller(&principal)
    {
        return rate_limited(wait, &format!("caller '{}'", principal.id)).into_response();
    }
    request.extensions_mut().insert(Authed(principal));
    next.run(request).await
}

/// 429 with `Retry-After`.
pub(crate) fn rate_limited(wait: std::time::Duration, who: &str) -> ApiError {
    ApiError {
        retry_after: Some(retry_after_seconds(wait)),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("rate limit exceeded for {who}"),
        )
    }
}
