use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": state.gateway.rules().len(),
        "metrics": state.gateway.metrics(),
    }))
}

pub(crate) async fn circuit_breakers(
    State(state): State<AppState>,
) -> Result<Json<Value>, crate::ApiError> {
    let breakers = state.gateway.circuit_breakers().await?;
    Ok(Json(
        json!({"count": breakers.len(), "circuit_breakers": breakers}),
    ))
}

pub(crate) async fn provider_health(
    State(state): State<AppState>,
) -> Result<Json<Value>, crate::ApiError> {
    Ok(Json(
        json!({"providers": state.gateway.provider_health().await?}),
    ))
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Json<Value> {
    let mut counters = json!(state.gateway.metrics());
    counters["sse_connections"] = json!(state.streams.connections());
    counters["sse_lagged"] = json!(
        state
            .streams
            .lagged_total
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    Json(counters)
}

/// `GET /metrics/prometheus`: the OpenMetrics text format, which Prometheus
/// scrapes (see `switchyard_gateway::telemetry` for what it carries).
pub(crate) async fn prometheus(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.gateway.prometheus().await,
    )
}
