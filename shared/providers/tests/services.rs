//! Slack, Teams, Discord, PagerDuty, Opsgenie and Twilio, each built from
//! its configuration keys and sent to a local stub that records the exact
//! request (method, path, query, headers, body) and answers as told.

#![cfg(all(
    feature = "chat",
    feature = "paging",
    feature = "sms",
    feature = "smtp"
))]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use switchyard_config::{OpsgenieConfig, ProviderConfig};
use switchyard_providers::ProviderRegistry;

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A server answering every request with `status`, `headers` and `body`.
async fn stub(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: Value,
) -> (String, Log) {
    let log: Log = Arc::default();
    let record = log.clone();
    let router = Router::new().fallback(
        move |method: Method, uri: Uri, request_headers: HeaderMap, bytes: Bytes| {
            let record = record.clone();
            let body = body.clone();
            async move {
                record.lock().expect("log").push(Seen {
                    method,
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    headers: request_headers,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                let status = StatusCode::from_u16(status).expect("status");
                let mut response = (status, axum::Json(body)).into_response();
                for (name, value) in headers {
                    response
                        .headers_mut()
                        .insert(*name, value.parse().expect("header value"));
                }
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (format!("http://{addr}"), log)
}

fn config(kind: &str, fill: impl FnOnce(&mut ProviderConfig)) -> ProviderConfig {
    let mut config = ProviderConfig {
        name: format!("my-{kind}"),
        kind: kind.into(),
        ..ProviderConfig::default()
    };
    fill(&mut config);
    config
}

use common::execute as send;

fn only(log: &Log) -> Seen {
    let log = log.lock().expect("log");
    assert_eq!(log.len(), 1, "{log:?}");
    log[0].clone()
}

#[tokio::test]
async fn slack_incoming_webhook_posts_the_message() {
    let (base, log) = stub(200, &[], json!("ok")).await;
    let slack = config("slack", |c| {
        c.webhook_url = Some(format!("{base}/services/T1/B2/secret"))
    });
    let payload = json!({"text": "Order shipped", "blocks": [{"type": "divider"}], "unused": 1});
    let response = send(slack, payload).await.expect("sent");
    assert_eq!(response.body, json!({"status": "sent"}));
    let seen = only(&log);
    assert_eq!(
        (seen.method.clone(), seen.path.as_str()),
        (Method::POST, "/services/T1/B2/secret")
    );
    assert_eq!(seen.header("content-type"), "application/json");
    assert_eq!(
        seen.json(),
        json!({"text": "Order shipped", "blocks": [{"type": "divider"}]})
    );
}

#[tokio::test]
async fn slack_bot_token_calls_chat_post_message_and_reads_ok_false() {
    let (base, log) = stub(200, &[], json!({"ok": true, "channel": "C1", "ts": "1.2"})).await;
    let bot = |base: &str| {
        config("slack", |c| {
            c.token = Some("xoxb-test-token".into());
            c.default_channel = Some("#orders".into());
            c.api_base_url = Some(base.to_string());
        })
    };
    let response = send(bot(&base), json!({"text": "hi"})).await.expect("sent");
    assert_eq!(
        response.body,
        json!({"status": "sent", "channel": "C1", "ts": "1.2"})
    );
    let seen = only(&log);
    assert_eq!(seen.path, "/chat.postMessage");
    assert_eq!(seen.header("authorization"), "Bearer xoxb-test-token");
    assert_eq!(seen.json(), json!({"text": "hi", "channel": "#orders"}));

    let (base, _) = stub(200, &[], json!({"ok": false, "error": "channel_not_found"})).await;
    let refused = send(bot(&base), json!({"text": "hi"})).await.unwrap_err();
    assert_eq!(
        (refused.code.as_str(), refused.retryable),
        ("SLACK_CHANNEL_NOT_FOUND", false)
    );
    let (base, _) = stub(200, &[], json!({"ok": false, "error": "internal_error"})).await;
    assert!(
        send(bot(&base), json!({"text": "hi"}))
            .await
            .unwrap_err()
            .retryable
    );
    let missing = send(bot(&base), json!({"title": "no text"}))
        .await
        .unwrap_err();
    assert_eq!(missing.code, "INVALID_PAYLOAD");
}

#[tokio::test]
async fn teams_gets_a_message_card() {
    let (base, log) = stub(200, &[], json!(1)).await;
    let teams = config("teams", |c| {
        c.webhook_url = Some(format!("{base}/webhookb2/x"))
    });
    let payload = json!({"title": "Deploy", "text": "v2 is live", "theme_color": "2E9E5B"});
    send(teams, payload).await.expect("sent");
    assert_eq!(
        only(&log).json(),
        json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": "Deploy",
            "title": "Deploy",
            "text": "v2 is live",
            "themeColor": "2E9E5B",
        })
    );
}

#[tokio::test]
async fn discord_waits_for_the_message_and_honours_retry_after() {
    let (base, log) = stub(200, &[], json!({"id": "991"})).await;
    let discord = |base: &str| {
        config("discord", |c| {
            c.webhook_url = Some(format!("{base}/api/webhooks/1/tok"))
        })
    };
    let response = send(discord(&base), json!({"text": "hello", "username": "bot"}))
        .await
        .expect("sent");
    assert_eq!(response.body["message_id"], "991");
    let seen = only(&log);
    assert_eq!(
        (seen.path.as_str(), seen.query.as_deref()),
        ("/api/webhooks/1/tok", Some("wait=true"))
    );
    assert_eq!(seen.json(), json!({"content": "hello", "username": "bot"}));

    let (base, _) = stub(429, &[("retry-after", "2")], json!({"retry_after": 2.0})).await;
    let limited = send(discord(&base), json!({"content": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        (limited.code.as_str(), limited.retryable),
        ("HTTP_429", true)
    );
    assert_eq!(limited.retry_after, Some(Duration::from_secs(2)));
    let too_long = send(discord(&base), json!({"content": "x".repeat(2_001)}))
        .await
        .unwrap_err();
    assert_eq!(too_long.code, "INVALID_PAYLOAD");
}

#[tokio::test]
async fn pagerduty_enqueues_an_event_deduplicated_on_the_idempotency_key() {
    let (base, log) = stub(
        202,
        &[],
        json!({"status": "success", "dedup_key": "shop/acme/a-1"}),
    )
    .await;
    let pagerduty = |base: &str| {
        config("pagerduty", |c| {
            c.routing_key = Some("R0UT1NG".into());
            c.api_base_url = Some(base.to_string());
        })
    };
    let payload =
        json!({"summary": "Payment gateway down", "severity": "critical", "component": "payments"});
    let response = send(pagerduty(&base), payload).await.expect("sent");
    assert_eq!(response.body["dedup_key"], "shop/acme/a-1");
    let seen = only(&log);
    assert_eq!(seen.path, "/v2/enqueue");
    assert_eq!(
        seen.json(),
        json!({
            "routing_key": "R0UT1NG",
            "event_action": "trigger",
            "dedup_key": "shop/acme/a-1",
            "client": "Switchyard",
            "payload": {
                "summary": "Payment gateway down",
                "severity": "critical",
                "source": "switchyard",
                "component": "payments",
            },
        })
    );
    let bad = send(
        pagerduty(&base),
        json!({"summary": "x", "severity": "sev1"}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code, "INVALID_PAYLOAD");
    let (base, _) = stub(503, &[], json!({})).await;
    assert!(
        send(pagerduty(&base), json!({"summary": "x"}))
            .await
            .unwrap_err()
            .retryable
    );
}

#[tokio::test]
async fn opsgenie_creates_and_closes_alerts_with_tenant_scoped_aliases() {
    let (base, log) = stub(
        202,
        &[],
        json!({"result": "Request will be processed", "requestId": "r-1"}),
    )
    .await;
    let opsgenie = config("opsgenie", |c| {
        c.opsgenie = Some(OpsgenieConfig {
            api_key: Some("genie-key".into()),
            default_team: Some("platform".into()),
            default_priority: Some("P2".into()),
            api_base_url: Some(base.clone()),
            message_max_length: Some(10),
            ..OpsgenieConfig::default()
        })
    });
    let created = send(
        opsgenie.clone(),
        json!({"message": "Disk almost full", "alias": "disk-1"}),
    )
    .await
    .expect("created");
    assert_eq!(created.body["request_id"], "r-1");
    send(opsgenie, json!({"action": "close", "alias": "disk-1"}))
        .await
        .expect("closed");
    let log = log.lock().expect("log").clone();
    assert_eq!(log[0].path, "/v2/alerts");
    assert_eq!(log[0].header("authorization"), "GenieKey genie-key");
    assert_eq!(
        log[0].json(),
        json!({
            "message": "Disk almos",
            "alias": "shop:acme:disk-1",
            "source": "switchyard",
            "priority": "P2",
            "responders": [{"type": "team", "name": "platform"}],
        })
    );
    assert_eq!(log[1].path, "/v2/alerts/shop:acme:disk-1/close");
    assert_eq!(log[1].query.as_deref(), Some("identifierType=alias"));
    assert_eq!(log[1].json(), json!({"source": "switchyard"}));
}

#[tokio::test]
async fn twilio_posts_a_form_with_basic_credentials() {
    let (base, log) = stub(201, &[], json!({"sid": "SM1", "status": "queued"})).await;
    let twilio = |base: &str| {
        config("twilio", |c| {
            c.account_sid = Some("AC123".into());
            c.auth_token = Some("tw-token".into());
            c.from_number = Some("+15550001111".into());
            c.api_base_url = Some(base.to_string());
        })
    };
    let response = send(
        twilio(&base),
        json!({"to": "+15559998888", "body": "Your order shipped"}),
    )
    .await
    .expect("sent");
    assert_eq!(
        response.body,
        json!({"status": "queued", "sid": "SM1", "to": "+15559998888"})
    );
    let seen = only(&log);
    assert_eq!(seen.path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_eq!(
        seen.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    // base64("AC123:tw-token")
    assert_eq!(seen.header("authorization"), "Basic QUMxMjM6dHctdG9rZW4=");
    assert_eq!(
        seen.body,
        "To=%2B15559998888&From=%2B15550001111&Body=Your+order+shipped"
    );
    let (base, _) = stub(
        400,
        &[],
        json!({"code": 21211, "message": "Invalid 'To' Phone Number"}),
    )
    .await;
    let refused = send(twilio(&base), json!({"to": "x", "body": "y"}))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code.as_str(), refused.retryable),
        ("HTTP_400", false)
    );
    assert!(
        refused.message.contains("Invalid 'To' Phone Number"),
        "{}",
        refused.message
    );
}

/// An Acteon configuration naming each of these types loads and builds.
#[test]
fn an_acteon_config_naming_each_type_starts() {
    let text = r##"
[[providers]]
name = "alerts-slack"
type = "slack"
webhook_url = "https://hooks.slack.example/services/T/B/x"

[[providers]]
name = "bot-slack"
type = "slack"
token = "xoxb-not-real"
default_channel = "#ops"

[[providers]]
name = "teams"
type = "teams"
webhook_url = "https://outlook.example/webhookb2/x"

[[providers]]
name = "discord"
type = "discord"
webhook_url = "https://discord.example/api/webhooks/1/x"

[[providers]]
name = "pagerduty"
type = "pagerduty"
routing_key = "not-a-real-key"

[[providers]]
name = "opsgenie-prod"
type = "opsgenie"
opsgenie.api_key = "not-a-real-key"
opsgenie.region = "eu"
opsgenie.default_team = "platform-oncall"

[[providers]]
name = "sms"
type = "twilio"
account_sid = "AC0"
auth_token = "not-a-real-token"
from_number = "+15550001111"

[[providers]]
name = "email"
type = "email"
email_backend = "smtp"
smtp_host = "smtp.example.com"
smtp_port = 587
username = "mailer"
smtp_password = "not-a-real-password"
from_address = "alerts@example.com"
"##;
    let config = switchyard_config::Config::parse("acteon.toml", text).expect("the config loads");
    let registry = ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
        .expect("every provider builds");
    assert_eq!(
        registry.names(),
        [
            "alerts-slack",
            "bot-slack",
            "discord",
            "email",
            "opsgenie-prod",
            "pagerduty",
            "sms",
            "teams"
        ]
    );
    for (bad, expected) in [
        (
            "[[providers]]\nname = \"s\"\ntype = \"slack\"\nwebhook_url = \"https://x.example\"\ntoken = \"t\"\n",
            "exactly one of",
        ),
        (
            "[[providers]]\nname = \"o\"\ntype = \"opsgenie\"\nopsgenie.api_key = \"k\"\nopsgenie.region = \"ap\"\n",
            "opsgenie.region",
        ),
        (
            "[[providers]]\nname = \"e\"\ntype = \"email\"\nemail_backend = \"smtp\"\nfrom_address = \"a@example.com\"\n",
            "smtp_host",
        ),
        (
            "[[providers]]\nname = \"t\"\ntype = \"teams\"\nwebhook_url = \"ftp://x\"\n",
            "webhook_url",
        ),
        (
            "[[providers]]\nname = \"p\"\ntype = \"pagerduty\"\n",
            "routing_key",
        ),
    ] {
        let error = switchyard_config::Config::parse("bad.toml", bad)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{expected:?} not in {error}");
    }
}
