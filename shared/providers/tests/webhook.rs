//! The webhook provider against a real local HTTP server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use switchyard_core::{Action, Provider, ProviderRequest};
use switchyard_providers::WebhookProvider;

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Value)>>>;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{addr}")
}

fn provider(url: String, timeout: Duration) -> WebhookProvider {
    let headers = BTreeMap::from([("X-Api-Key".to_string(), "k1".to_string())]);
    WebhookProvider::new(
        "hook",
        url,
        "POST",
        headers,
        timeout,
        reqwest::Client::new(),
    )
    .expect("valid")
}

#[tokio::test]
async fn posts_the_action_with_headers_and_idempotency_key() {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let router = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::Json<Value>| {
            let record = record.clone();
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                record.lock().expect("lock").push((
                    header("x-api-key"),
                    header("idempotency-key"),
                    body.0,
                ));
                axum::Json(json!({"accepted": true, "id": 7}))
            }
        }),
    );
    let base = serve(router).await;
    let hook = provider(format!("{base}/hook"), Duration::from_secs(5));
    let action = Action::builder("ns", "t", "hook", "notify", json!({"order": 1}));
    let response = hook
        .execute(ProviderRequest {
            action: &action,
            idempotency_key: "idem-1",
        })
        .await
        .expect("success");
    assert_eq!(response.body, json!({"accepted": true, "id": 7}));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0.as_deref(), Some("k1"));
    assert_eq!(seen[0].1.as_deref(), Some("idem-1"));
    assert_eq!(seen[0].2["payload"], json!({"order": 1}));
    assert_eq!(seen[0].2["action_type"], json!("notify"));
}

#[tokio::test]
async fn classifies_failures() {
    let router = Router::new()
        .route(
            "/busy",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route(
            "/bad",
            post(|| async { (StatusCode::UNPROCESSABLE_ENTITY, "no") }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let base = serve(router).await;
    let action = Action::builder("ns", "t", "hook", "notify", json!({}));
    let call = |path: &str, timeout: Duration| {
        let hook = provider(format!("{base}{path}"), timeout);
        let action = action.clone();
        async move {
            hook.execute(ProviderRequest {
                action: &action,
                idempotency_key: "k",
            })
            .await
        }
    };
    let busy = call("/busy", Duration::from_secs(5))
        .await
        .expect_err("503");
    assert_eq!((busy.code.as_str(), busy.retryable), ("HTTP_503", true));
    let bad = call("/bad", Duration::from_secs(5)).await.expect_err("422");
    assert_eq!((bad.code.as_str(), bad.retryable), ("HTTP_422", false));
    let slow = call("/slow", Duration::from_millis(200))
        .await
        .expect_err("timeout");
    assert_eq!((slow.code.as_str(), slow.retryable), ("TIMEOUT", true));
    let refused = provider("http://127.0.0.1:9/none".into(), Duration::from_secs(2));
    let err = refused
        .execute(ProviderRequest {
            action: &action,
            idempotency_key: "k",
        })
        .await
        .expect_err("connection refused");
    assert!(err.retryable);
}
