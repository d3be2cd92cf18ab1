//! Request extraction with JSON errors that say what is wrong and where.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;

/// A JSON body, read up to `[server] max_body_bytes`.
pub struct JsonBody(pub Value);

/// A JSON body that may be absent (empty).
pub struct OptionalJsonBody(pub Option<Value>);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, ApiError> {
        match read_json(req, state).await? {
            Some(value) => Ok(JsonBody(value)),
            None => Err(ApiError::bad_request(
                "request body is empty; expected JSON",
            )),
        }
    }
}

impl FromRequest<AppState> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, ApiError> {
        read_json(req, state).await.map(OptionalJsonBody)
    }
}

async fn read_json(req: Request<Body>, state: &AppState) -> Result<Option<Value>, ApiError> {
    {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
            let content_type = content_type
                .to_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let is_json = content_type.starts_with("application/json")
                || (content_type.starts_with("application/") && content_type.contains("+json"));
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    format!("expected Content-Type: application/json, got '{content_type}'"),
                ));
            }
        }
        let limit = state.gateway.config().server.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|err| match crate::deadline::timed_out(&err) {
                Some(after) => ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    format!(
                        "the request body did not arrive within {} s ([server] request_timeout_seconds)",
                        after.as_secs()
                    ),
                ),
                None => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("request body exceeds the limit of {limit} bytes"),
                ),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "MALFORMED_JSON",
                format!(
                    "malformed JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })
    }
}

/// Deserialize a JSON value into `T`; the error's `field` is the JSON path
/// of the offending field (`payload.items[2].qty`; a missing or unknown
/// field is named inside its object), `$` for the body itself.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        // A missing or unknown field is reported at its parent: name it.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        if let Some(name) = named {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
        }
        let field = if path.is_empty() {
            "$".to_string()
        } else {
            path
        };
        ApiError::invalid_field(field, message)
    })
}
