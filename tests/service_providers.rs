//! An Acteon configuration naming the chat, paging and SMS types starts
//! Switchyard, and a dispatched action reaches the service (a local stub
//! that records what it receives) through the rules, the breaker and the
//! executor.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::{at, outcome_kind, start};

type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// Answers 200 `{"ok": true, ...}` to everything, keeping each request.
async fn stub() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let record = record.clone();
        async move {
            record.lock().expect("seen").push((
                uri.to_string(),
                headers,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            axum::Json(json!({"ok": true, "channel": "C1", "ts": "1.0", "id": "m-1", "sid": "SM1", "status": "queued"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn an_acteon_config_with_service_providers_starts_and_delivers() {
    let (base, seen) = stub().await;
    let text = format!(
        r##"
[[providers]]
name = "slack"
type = "slack"
token = "xoxb-not-real"
default_channel = "#orders"
api_base_url = "{base}/slack"

[[providers]]
name = "discord"
type = "discord"
webhook_url = "{base}/discord/hook"

[[providers]]
name = "pagerduty"
type = "pagerduty"
routing_key = "not-a-real-key"
api_base_url = "{base}/pd"

[[providers]]
name = "sms"
type = "twilio"
account_sid = "AC1"
auth_token = "not-a-real-token"
from_number = "+15550001111"
api_base_url = "{base}/twilio"
"##
    );
    let config = Config::parse("acteon.toml", &text).expect("the config loads");
    let server = start(config, at("2026-03-02T15:00:00Z")).await;
    for (provider, payload) in [
        ("slack", json!({"text": "Order ORD-1 shipped"})),
        ("discord", json!({"content": "Order ORD-1 shipped"})),
        ("pagerduty", json!({"summary": "Payments down"})),
        ("sms", json!({"to": "+15559998888", "body": "Shipped"})),
    ] {
        let (status, body) = server
            .post(
                "/v1/dispatch",
                &json!({"namespace": "shop", "tenant": "acme", "provider": provider,
                        "action_type": "notify", "payload": payload}),
            )
            .await;
        assert_eq!(status, 200, "{provider}: {body}");
        assert_eq!(outcome_kind(&body), "Executed", "{provider}: {body}");
    }
    let seen = seen.lock().expect("seen").clone();
    let paths: Vec<&str> = seen.iter().map(|(uri, _, _)| uri.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/slack/chat.postMessage",
            "/discord/hook?wait=true",
            "/pd/v2/enqueue",
            "/twilio/2010-04-01/Accounts/AC1/Messages.json",
        ]
    );
    let slack: Value = serde_json::from_str(&seen[0].2).expect("json");
    assert_eq!(
        slack,
        json!({"text": "Order ORD-1 shipped", "channel": "#orders"})
    );
    let pagerduty: Value = serde_json::from_str(&seen[2].2).expect("json");
    // The incident is deduplicated on the action's idempotency key.
    let dedup = pagerduty["dedup_key"].as_str().expect("dedup key");
    assert!(dedup.starts_with("shop/acme/"), "{dedup}");
    // The audit keeps the action, never the provider's credentials.
    let (_, audit) = server.get("/v1/audit?namespace=shop&tenant=acme").await;
    assert_eq!(
        audit["records"].as_array().map(Vec::len),
        Some(4),
        "{audit}"
    );
    let text = audit.to_string();
    assert!(!text.contains("xoxb-not-real") && !text.contains("not-a-real-token"));
}
