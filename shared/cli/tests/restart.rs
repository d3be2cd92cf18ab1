//! Durability on PostgreSQL: what `switchyard serve` accepted before it was
//! killed is there when it starts again: the audit, a scheduled action
//! (released by the new process) and a pending approval (still approvable).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{announced, get_json, post_json, serve};
use serde_json::{Value, json};

const RULES: &str = r#"rules:
  - name: remind-later
    priority: 1
    condition:
      field: action.action_type
      eq: send_reminder
    action:
      type: schedule
      delay_seconds: 8
  - name: approve-refunds
    priority: 2
    condition:
      field: action.action_type
      eq: refund
    action:
      type: request_approval
      notify_provider: email
      timeout_seconds: 3600
      message: "Refunds need a manager"
"#;

fn postgres_url() -> Option<String> {
    match std::env::var("SWITCHYARD_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("SWITCHYARD_SKIP_POSTGRES").is_none() => panic!(
            "SWITCHYARD_POSTGRES_URL is not set: run the tests with tests/run, which starts PostgreSQL (or set SWITCHYARD_SKIP_POSTGRES=1 to skip them, knowingly)"
        ),
        Err(_) => None,
    }
}

fn action(id: &str, action_type: &str) -> Value {
    json!({"id": id, "namespace": "shop", "tenant": "acme", "provider": "shop",
           "action_type": action_type, "payload": {"order_id": id}})
}

/// The path and query of a link (its host is the process that made it).
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/", |at| &rest[at..])
}

async fn audit_of(base: &str, action_id: &str) -> Vec<Value> {
    let page = get_json(&format!("{base}/v1/audit?action_id={action_id}&limit=50")).await;
    page["records"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn nothing_is_lost_when_the_server_is_killed_and_started_again() {
    let Some(url) = postgres_url() else { return };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("switchyard-restart-{run}"));
    std::fs::create_dir_all(dir.join("rules")).expect("dir");
    std::fs::write(dir.join("rules/durable.yaml"), RULES).expect("rules");
    // Approval links must outlive the process: a key made for this run only.
    let secret = format!("{run}{}", uuid::Uuid::new_v4().simple());
    let config = format!(
        "[server]\napproval_secret = \"{secret}\"\n\n[state]\nbackend = \"postgres\"\nurl = \"{url}\"\nprefix = \"restart_{}_\"\npool_size = 4\n\n[audit]\nbackend = \"postgres\"\n\n[rules]\ndirectory = \"{}\"\n\n[background]\nenabled = true\n\n[[providers]]\nname = \"shop\"\ntype = \"log\"\n\n[[providers]]\nname = \"email\"\ntype = \"log\"\n",
        &run[..12],
        dir.join("rules").display()
    );
    std::fs::write(dir.join("gateway.toml"), config).expect("config");
    let config_path = dir.join("gateway.toml");
    let args = [
        "serve",
        "--port",
        "0",
        "-c",
        config_path.to_str().expect("utf-8"),
    ];

    let (first, line) = serve(&args, Stdio::null()).await;
    let base = announced(&line);
    let executed = post_json(
        &format!("{base}/v1/dispatch"),
        &action("order-1", "place_order"),
    )
    .await;
    assert!(executed.get("Executed").is_some(), "{executed}");
    let scheduled = post_json(
        &format!("{base}/v1/dispatch"),
        &action("reminder-1", "send_reminder"),
    )
    .await;
    assert!(scheduled.get("Scheduled").is_some(), "{scheduled}");
    let pending = post_json(
        &format!("{base}/v1/dispatch"),
        &action("refund-1", "refund"),
    )
    .await;
    let approve = pending["PendingApproval"]["approve_url"]
        .as_str()
        .unwrap_or_else(|| panic!("pending approval: {pending}"))
        .to_string();
    // Killed (SIGKILL) well before the reminder is due (8 s): nothing is
    // flushed on the way out.
    drop(first);
    let restarted_at = chrono::Utc::now();

    let (_second, line) = serve(&args, Stdio::null()).await;
    let base = announced(&line);
    let order = audit_of(&base, "order-1").await;
    assert_eq!(order.len(), 1, "the audit survived: {order:?}");
    assert_eq!(order[0]["outcome"], "executed");

    // The release message survived in the queue; the new process delivers it.
    let mut released = Vec::new();
    for _ in 0..200 {
        released = audit_of(&base, "reminder-1")
            .await
            .into_iter()
            .filter(|r| r["outcome"] == "executed")
            .collect();
        if !released.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(released.len(), 1, "released once, after the restart");
    let released_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(released[0]["completed_at"].clone()).expect("completed_at");
    assert!(released_at > restarted_at, "released by the new process");

    let decided = post_json(&format!("{base}{}", path_of(&approve)), &json!({})).await;
    assert_eq!(decided["status"], "approved", "{decided}");
    let refund = audit_of(&base, "refund-1").await;
    assert!(
        refund.iter().any(|r| r["outcome"] == "executed"),
        "the approval made before the restart executes after it: {refund:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A PostgreSQL backend that cannot be used stops the start with the reason
/// (and never prints the URL's password).
#[test]
fn an_unusable_postgres_backend_stops_the_start_and_says_why() {
    let dir = std::env::temp_dir().join(format!("switchyard-pg-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (state, says) in [
        // Nothing listens on port 9.
        (
            "backend = \"postgres\"\nurl = \"postgres://gateway:hunter2@127.0.0.1:9/x\"",
            "[state] PostgreSQL backend",
        ),
        ("backend = \"postgres\"", "DATABASE_URL"),
        (
            "backend = \"postgres\"\nurl = \"postgres://h/db\"\nprefix = \"x; DROP\"",
            "[state] prefix",
        ),
        (
            "backend = \"postgres\"\nurl = \"postgres://h/db\"\npool_size = 0",
            "pool_size",
        ),
    ] {
        let path = dir.join("gateway.toml");
        std::fs::write(&path, format!("[state]\n{state}\n")).expect("config");
        let output = common::switchyard()
            .args(["serve", "--port", "0", "-c", path.to_str().expect("utf-8")])
            .env_remove("DATABASE_URL")
            .output()
            .expect("run");
        assert!(!output.status.success(), "{state}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{state}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "the password is never printed: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
