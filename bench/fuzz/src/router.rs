//! The HTTP router in process: random requests on every route of the access
//! table (mutated valid bodies, hostile path parameters, query strings and
//! headers). No answer may be a 5xx, and every error must be the JSON error
//! body.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use switchyard_assembly::MemoryPorts;
use switchyard_assembly::build_gateway;
use switchyard_core::{Clock, SystemClock};
use switchyard_server::access::ROUTES;
use switchyard_server::{AppState, example, router};
use tower::ServiceExt;

use crate::inputs::{mutate_json, mutate_text, nasty_string};

/// The bundled example (what `cargo run` serves), auth off, in memory.
pub fn app() -> anyhow::Result<Router> {
    let config = example::config().map_err(anyhow::Error::msg)?;
    let rules = example::rules().map_err(anyhow::Error::msg)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let memory = MemoryPorts::new(clock, 20_000);
    memory.audit.set_max_bytes(64 * 1024 * 1024);
    let gateway =
        build_gateway(config, memory.ports.clone(), Some(rules)).map_err(anyhow::Error::msg)?;
    let state = AppState::new(Arc::new(gateway)).map_err(anyhow::Error::msg)?;
    Ok(router(state))
}

fn order() -> Value {
    json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "payment-gateway",
           "action_type": "place_order", "dedup_key": "d-1",
           "payload": {"order_id": "ORD-1", "total_cents": 4999, "shipping_country": "US"}})
}

fn seed_body(path: &str) -> Value {
    let scope = json!({"namespace": "ecommerce", "tenant": "acme-store"});
    let with = |extra: Value| {
        let mut body = scope.clone();
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        body
    };
    match path {
        "/v1/dispatch" => order(),
        "/v1/dispatch/batch" => json!([order(), order()]),
        "/v1/auth/login" => json!({"username": "alice", "password": "secret"}),
        "/v1/auth/keys" => json!({"name": "k", "role": "viewer",
            "grants": [{"namespaces": ["ecommerce"], "tenants": ["acme-store"]}]}),
        "/v1/rules/{name}/enabled" => json!({"enabled": false}),
        "/v1/quotas" | "/v1/quotas/{id}" => with(json!({"max_actions": 10,
            "window": "hourly", "overage_behavior": "block"})),
        "/v1/retention" | "/v1/retention/{id}" => with(json!({"audit_ttl_seconds": 86_400,
            "state_ttl_seconds": 3_600})),
        "/v1/recurring" | "/v1/recurring/{id}" => with(json!({"cron_expression": "*/5 * * * *",
            "timezone": "UTC", "action_template": {"provider": "payment-gateway",
            "action_type": "place_order", "payload": {"a": 1}}})),
        "/v1/events/{fingerprint}/transition" => with(json!({"to": "shipped"})),
        _ => scope,
    }
}

fn path_param(rng: &mut StdRng) -> String {
    let raw = match rng.random_range(0..4) {
        0 => "acme-store".to_string(),
        1 => "ecommerce".to_string(),
        _ => nasty_string(rng),
    };
    // Keep it a valid URI: percent-encode what a URI cannot carry.
    raw.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'%' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn query(rng: &mut StdRng) -> String {
    const KEYS: &[&str] = &[
        "namespace",
        "tenant",
        "limit",
        "offset",
        "outcome",
        "action_type",
        "provider",
        "chain_id",
        "event_type",
        "sig",
        "expires_at",
        "kid",
        "bogus",
        "status",
    ];
    let pairs: Vec<String> = (0..rng.random_range(0..4))
        .map(|_| {
            let key = KEYS.choose(rng).unwrap_or(&"namespace");
            let value = match rng.random_range(0..4) {
                0 => "ecommerce".to_string(),
                1 => "acme-store".to_string(),
                2 => rng.random_range(-5i64..100_000).to_string(),
                _ => path_param(rng),
            };
            format!("{key}={value}")
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// One random request: its status, or what contract it broke.
pub async fn request(app: &Router, rng: &mut StdRng) -> Result<u16, String> {
    let route = ROUTES.choose(rng).ok_or("no routes")?;
    let mut path = String::new();
    for segment in route.path.split('/').skip(1) {
        path.push('/');
        if segment.starts_with('{') {
            path.push_str(&path_param(rng));
        } else {
            path.push_str(segment);
        }
    }
    let uri = format!("{path}{}", query(rng));
    let method = if rng.random_bool(0.05) {
        *["PATCH", "GET", "DELETE", "OPTIONS"]
            .choose(rng)
            .unwrap_or(&"PATCH")
    } else {
        route.method
    };
    let mut builder = Request::builder().method(method).uri(&uri);
    let content_type: &str = [
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x+json",
        "",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("application/json");
    if !content_type.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    if rng.random_bool(0.05) {
        builder = builder.header("last-event-id", path_param(rng));
    }
    if rng.random_bool(0.05) {
        builder = builder.header("x-api-key", path_param(rng));
    }
    let body = if method == "GET" && rng.random_bool(0.9) {
        Vec::new()
    } else {
        let mut value = seed_body(route.path);
        for _ in 0..rng.random_range(0..4) {
            mutate_json(rng, &mut value);
        }
        let text = value.to_string();
        if rng.random_bool(0.15) {
            mutate_text(rng, &text).into_bytes()
        } else {
            text.into_bytes()
        }
    };
    let request = builder
        .body(Body::from(body))
        .map_err(|e| format!("building {method} {uri}: {e}"))?;
    let response = tokio::time::timeout(Duration::from_secs(10), app.clone().oneshot(request))
        .await
        .map_err(|_| format!("{method} {uri}: no answer within 10 s"))?
        .map_err(|e| format!("{method} {uri}: {e}"))?;
    let status = response.status();
    if status.is_server_error() {
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        return Err(format!(
            "{method} {uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    if !status.is_client_error() {
        return Ok(status.as_u16()); // streams stay unread: dropping closes them
    }
    let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
        .await
        .map_err(|e| format!("{method} {uri}: reading the error body: {e}"))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| {
        format!(
            "{method} {uri}: {status} is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    if !(body["error"].is_string() && body["code"].is_string()) {
        return Err(format!("{method} {uri}: {status} lacks error/code: {body}"));
    }
    Ok(status.as_u16())
}
