//! Seed 001 after the order: the order lifecycle state machine and its timeouts, chains that time out, are cancelled or fail by policy, and the live stream of dispatches.

use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::ecommerce::{MONDAY_NOON_ET, chain_for, order};
use switchyard_tests::{at, outcome_kind, start, start_ecommerce};

#[tokio::test]
async fn order_lifecycle_transitions() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    server.post("/v1/dispatch", &order(40, 4_999)).await;
    let (status, event) = server
        .get("/v1/events/ORD-40?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!((status, event["state"].clone()), (200, json!("placed")));
    let transition = |to: &str| json!({"to": to, "namespace": "ecommerce", "tenant": "acme-store"});
    let (status, body) = server
        .put("/v1/events/ORD-40/transition", &transition("delivered"))
        .await;
    assert_eq!(status, 409);
    assert!(
        body["error"]
            .as_str()
            .expect("msg")
            .contains("allowed from placed: confirmed, cancelled"),
        "{body}"
    );
    for (to, notify) in [("confirmed", false), ("shipped", true), ("delivered", true)] {
        let (status, body) = server
            .put("/v1/events/ORD-40/transition", &transition(to))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["new_state"], json!(to));
        assert_eq!(body["notify"], json!(notify));
    }
    let (_, history) = server
        .get("/v1/events/ORD-40/history?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!(history["history"].as_array().map(Vec::len), Some(3));
    let (status, body) = server
        .put("/v1/events/ORD-40/transition", &transition("confirmed"))
        .await;
    assert_eq!(status, 409);
    assert!(
        body["error"].as_str().expect("msg").contains("final state"),
        "{body}"
    );
    let (status, _) = server
        .put("/v1/events/ORD-999/transition", &transition("confirmed"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .put("/v1/events/ORD-40/transition", &transition("teleported"))
        .await;
    assert_eq!(status, 400);
    let (_, events) = server
        .get("/v1/events?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!(events["count"], json!(1));
}

#[tokio::test]
async fn chains_time_out_and_cancel() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    server.post("/v1/dispatch", &order(50, 4_999)).await;
    // Cancel before any step ran.
    let (status, body) = server
        .post(
            "/v1/chains/order-processing-act-50/cancel",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "reason": "customer cancelled", "cancelled_by": "support"}),
        )
        .await;
    assert_eq!((status, body["status"].clone()), (200, json!("cancelled")));
    let (status, _) = server
        .post(
            "/v1/chains/order-processing-act-50/cancel",
            &json!({"namespace": "ecommerce", "tenant": "acme-store"}),
        )
        .await;
    assert_eq!(status, 409, "already terminal");
    server.run_due().await;
    assert_eq!(
        chain_for(&server, "act-50").await["execution_path"],
        json!(["validate"]),
        "no step ran after cancel"
    );

    // A chain whose steps do not run in time ends timed out (120 s).
    server.post("/v1/dispatch", &order(51, 4_999)).await;
    server.clock.advance(chrono::Duration::seconds(121));
    server.run_due().await;
    let chain = chain_for(&server, "act-51").await;
    assert_eq!(chain["status"], json!("timed_out"));
    let (_, records) = server
        .get("/v1/audit?chain_id=order-processing-act-51&outcome=chain_timed_out")
        .await;
    assert_eq!(records["total"], json!(1));
}

/// SSE: a listener sees the events of three orders (two standard, one
/// sanctioned) as they are dispatched, with sanitized outcomes.
#[tokio::test]
async fn stream_delivers_dispatch_events() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let mut response = server
        .http
        .get(server.url("/v1/stream?namespace=ecommerce&event_type=action_dispatched"))
        .send()
        .await
        .expect("connect");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream")
    );
    let mut sanctioned = order(62, 4_999);
    sanctioned["payload"]["shipping_country"] = json!("NK");
    for body in [order(60, 4_999), order(61, 12_000), sanctioned] {
        server.post("/v1/dispatch", &body).await;
    }
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while text.matches("event: action_dispatched").count() < 3 {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events in time")
            .expect("read");
        text.push_str(&String::from_utf8_lossy(&chunk.expect("stream open")));
    }
    let data: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect();
    let ids: Vec<&str> = data
        .iter()
        .filter_map(|d| d["action_id"].as_str())
        .collect();
    assert_eq!(ids, ["act-60", "act-61", "act-62"]);
    assert_eq!(data[2]["outcome"], json!("suppressed"));
    assert_eq!(
        data[0]["outcome_details"],
        json!({"status": "success"}),
        "no provider body"
    );
    assert!(text.contains("id: "), "events carry ids for Last-Event-ID");
}

/// A provider failing mid-chain: `abort` ends the chain failed with the reason
/// recorded; `skip` carries on. Every step's outcome is audited.
#[tokio::test]
async fn failing_steps_follow_the_failure_policy() {
    let text = r#"
[executor]
max_retries = 1
backoff_base_ms = 1
backoff_max_ms = 2

[[providers]]
name = "log"
type = "log"

[[providers]]
name = "dead"
type = "webhook"
url = "http://127.0.0.1:9/down"
timeout_seconds = 1

[[chains.definitions]]
name = "strict"
[[chains.definitions.steps]]
name = "first"
provider = "log"
action_type = "a"
[[chains.definitions.steps]]
name = "broken"
provider = "dead"
action_type = "b"
[[chains.definitions.steps]]
name = "never"
provider = "log"
action_type = "c"

[[chains.definitions]]
name = "lenient"
[[chains.definitions.steps]]
name = "broken"
provider = "dead"
action_type = "b"
on_failure = "skip"
[[chains.definitions.steps]]
name = "after"
provider = "log"
action_type = "c"

[[chains.on_executed]]
action_type = "start-strict"
chain = "strict"

[[chains.on_executed]]
action_type = "start-lenient"
chain = "lenient"
"#;
    let server = start(
        Config::parse("chains.toml", text).expect("config"),
        at(MONDAY_NOON_ET),
    )
    .await;
    for kind in ["start-strict", "start-lenient"] {
        let body = json!({"id": kind, "namespace": "ns", "tenant": "t", "provider": "log", "action_type": kind, "payload": {}});
        let (_, outcome) = server.post("/v1/dispatch", &body).await;
        assert_eq!(outcome_kind(&outcome), "Executed");
    }
    server.run_due().await;
    let (_, strict) = server
        .get("/v1/chains/strict-start-strict?namespace=ns&tenant=t")
        .await;
    assert_eq!(strict["status"], json!("failed"));
    assert_eq!(strict["execution_path"], json!(["first", "broken"]));
    let reason = strict["failure_reason"].as_str().expect("reason");
    assert!(
        reason.contains("step 'broken' failed") && reason.contains("CONNECTION"),
        "{reason}"
    );
    assert_eq!(strict["steps"][1]["attempts"], json!(1));
    let (_, failed) = server
        .get("/v1/audit?chain_id=strict-start-strict&outcome=failed")
        .await;
    assert_eq!(
        failed["records"][0]["outcome_details"]["attempts"],
        json!(2),
        "executor retried once"
    );
    let (_, ended) = server
        .get("/v1/audit?chain_id=strict-start-strict&outcome=chain_failed")
        .await;
    assert_eq!(ended["total"], json!(1));

    let (_, lenient) = server
        .get("/v1/chains/lenient-start-lenient?namespace=ns&tenant=t")
        .await;
    assert_eq!(lenient["status"], json!("completed"));
    assert_eq!(lenient["steps"][0]["status"], json!("skipped"));
    assert_eq!(lenient["execution_path"], json!(["broken", "after"]));
}

/// State-machine rules move events along allowed transitions only, and a
/// timeout moves an event left alone.
#[tokio::test]
async fn state_machine_rules_and_timeouts() {
    let text = r#"
[[providers]]
name = "log"
type = "log"

[[state_machines]]
name = "incident"
initial_state = "open"
states = ["open", "acknowledged", "resolved", "escalated"]
[[state_machines.transitions]]
from = "open"
to = "acknowledged"
notify = true
[[state_machines.transitions]]
from = "acknowledged"
to = "resolved"
[[state_machines.transitions]]
from = "open"
to = "escalated"
[[state_machines.timeouts]]
in_state = "open"
after_seconds = 300
transition_to = "escalated"
"#;
    let dir = std::env::temp_dir().join(format!("switchyard-sm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("incidents.yaml"),
        "rules:\n  - name: track-incidents\n    condition:\n      field: action.action_type\n      eq: incident\n    action:\n      type: state_machine\n      state_machine: incident\n      fingerprint_fields: [payload.incident_id]\n",
    )
    .expect("write");
    let mut config = Config::parse("sm.toml", text).expect("config");
    config.rules.directory = Some(dir.clone());
    let server = start(config, at(MONDAY_NOON_ET)).await;
    let incident = |id: &str, status: Option<&str>| {
        let mut body = json!({"namespace": "ops", "tenant": "t", "provider": "log", "action_type": "incident",
                              "payload": {"incident_id": id}});
        if let Some(s) = status {
            body["status"] = json!(s);
        }
        body
    };
    let (_, opened) = server.post("/v1/dispatch", &incident("INC-1", None)).await;
    assert_eq!(opened["StateChanged"]["new_state"], json!("open"));
    let fingerprint = opened["StateChanged"]["fingerprint"]
        .as_str()
        .expect("fp")
        .to_string();
    let (_, skipped) = server
        .post("/v1/dispatch", &incident("INC-1", Some("resolved")))
        .await;
    assert_eq!(
        skipped["StateChanged"]["new_state"],
        json!("open"),
        "open -> resolved is not allowed"
    );
    let (_, acked) = server
        .post("/v1/dispatch", &incident("INC-1", Some("acknowledged")))
        .await;
    assert_eq!(
        acked["StateChanged"],
        json!({"fingerprint": fingerprint, "previous_state": "open", "new_state": "acknowledged", "notify": true})
    );
    // A second incident is left open: after 300 s it escalates.
    let (_, other) = server.post("/v1/dispatch", &incident("INC-2", None)).await;
    let other_fp = other["StateChanged"]["fingerprint"]
        .as_str()
        .expect("fp")
        .to_string();
    server.advance(301).await;
    let (_, escalated) = server
        .get(&format!("/v1/events/{other_fp}?namespace=ops&tenant=t"))
        .await;
    assert_eq!(escalated["state"], json!("escalated"));
    let (_, still) = server
        .get(&format!("/v1/events/{fingerprint}?namespace=ops&tenant=t"))
        .await;
    assert_eq!(
        still["state"],
        json!("acknowledged"),
        "the acknowledged one did not time out"
    );
    std::fs::remove_dir_all(&dir).ok();
}
