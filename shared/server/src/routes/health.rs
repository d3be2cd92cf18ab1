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

pub(crate) async fn metrics(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.gateway.metrics()))
}
