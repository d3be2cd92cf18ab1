//! Seed 001 in full: approvals, scheduled after-hours orders, the
//! order-processing chain (both branch paths, the fraud-review sub-chain) and
//! the order lifecycle, over HTTP with a clock the test moves.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::{TestServer, at, outcome_kind, repo_path, start, start_ecommerce};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";
const MONDAY_EVENING_ET: &str = "2026-01-06T01:00:00Z";

fn order(n: u32, total_cents: u64) -> Value {
    json!({
        "id": format!("act-{n}"),
        "namespace": "ecommerce", "tenant": "acme-store", "provider": "payment-gateway",
        "action_type": "place_order", "dedup_key": format!("order-{n}"),
        "payload": {"order_id": format!("ORD-{n}"), "total_cents": total_cents, "currency": "USD",
                    "shipping_country": "US", "customer_email": "c@example.com", "card_last4": "4242",
                    "items": [{"sku": "SKU-1", "qty": 2}]}
    })
}

/// The path and query of a link (the host in it is the configured external URL).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_string())
}

async fn audit_for(server: &TestServer, action_id: &str) -> Value {
    let (status, record) = server.get(&format!("/v1/audit/{action_id}")).await;
    assert_eq!(status, 200, "audit for {action_id}: {record}");
    record
}

#[tokio::test]
async fn approval_approve_reject_timeout_and_bad_links() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let pending = |v: &Value| v["PendingApproval"].clone();

    // Approve: the original order executes (resuming after the approval rule).
    let (_, first) = server.post("/v1/dispatch", &order(1, 75_000)).await;
    let approve = path_of(pending(&first)["approve_url"].as_str().expect("url"));
    let reject = path_of(pending(&first)["reject_url"].as_str().expect("url"));
    let (status, body) = server.post_raw(&approve, None, Vec::new()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("approved"));
    assert_eq!(outcome_kind(&body["outcome"]), "Executed");
    assert_eq!(
        audit_for(&server, "act-1").await["outcome"],
        json!("executed")
    );
    // Single use: a second decision on the same approval is a conflict.
    let (status, body) = server.post_raw(&reject, None, Vec::new()).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().expect("msg").contains("approved"));

    // Reject: nothing executes; the rejection is the final audited outcome.
    let (_, second) = server.post("/v1/dispatch", &order(2, 80_000)).await;
    let reject = path_of(pending(&second)["reject_url"].as_str().expect("url"));
    let (status, body) = server.post_raw(&reject, None, Vec::new()).await;
    assert_eq!((status, body["status"].clone()), (200, json!("rejected")));
    assert_eq!(
        audit_for(&server, "act-2").await["outcome"],
        json!("approval_rejected")
    );

    // A tampered signature is refused; a missing one too.
    let (_, third) = server.post("/v1/dispatch", &order(3, 90_000)).await;
    let approve = path_of(pending(&third)["approve_url"].as_str().expect("url"));
    let tampered = approve.replacen("sig=", "sig=00", 1);
    let (status, _) = server.post_raw(&tampered, None, Vec::new()).await;
    assert_eq!(status, 403);
    let unsigned = approve.split('?').next().expect("path").to_string();
    let (status, _) = server.post_raw(&unsigned, None, Vec::new()).await;
    assert_eq!(status, 403);

    // Timeout (60 s): the expiry message marks it expired; the link is gone.
    let (_, listed) = server
        .get("/v1/approvals?namespace=ecommerce&tenant=acme-store&status=pending")
        .await;
    assert_eq!(listed["count"], json!(1));
    server.advance(61).await;
    let (status, body) = server.post_raw(&approve, None, Vec::new()).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(
        audit_for(&server, "act-3").await["outcome"],
        json!("approval_expired")
    );
    let (_, listed) = server
        .get("/v1/approvals?namespace=ecommerce&tenant=acme-store&status=expired")
        .await;
    assert_eq!(listed["count"], json!(1));
}

#[tokio::test]
async fn after_hours_orders_execute_when_due() {
    let server = start_ecommerce(at(MONDAY_EVENING_ET)).await;
    let (_, outcome) = server.post("/v1/dispatch", &order(10, 4_999)).await;
    assert_eq!(outcome_kind(&outcome), "Scheduled");
    assert_eq!(server.advance(29).await, 0, "not due before 30 s");
    assert!(
        server
            .gateway
            .audit_for_action("act-10")
            .await
            .expect("q")
            .expect("scheduled record")
            .outcome
            == "scheduled"
    );
    server.advance(1).await;
    // Released: evaluation resumes after schedule-after-hours, so the dedup rule
    // decides and the order executes (Acteon would re-schedule it forever).
    let record = audit_for(&server, "act-10").await;
    assert_eq!(record["outcome"], json!("executed"));
    assert_eq!(record["matched_rule"], json!("dedup-double-submit"));
    assert!(record["verdict_details"]["released_from"].is_string());
    // Executed orders start the order-processing chain.
    server.run_due().await;
    let chain = chain_for(&server, "act-10").await;
    assert_eq!(chain["status"], json!("completed"));
}

/// Every audit record says which event it is, and the name fits what the
/// record shows (the outcome and verdict an earlier version inferred it from).
#[tokio::test]
async fn every_audit_record_names_its_event() {
    // After hours: scheduled, released, executed, its chain run to the end.
    let evening = start_ecommerce(at(MONDAY_EVENING_ET)).await;
    let (_, outcome) = evening.post("/v1/dispatch", &order(40, 4_999)).await;
    assert_eq!(outcome_kind(&outcome), "Scheduled");
    evening.advance(30).await;
    evening.run_due().await;
    assert_eq!(
        chain_for(&evening, "act-40").await["status"],
        json!("completed")
    );
    // At noon: an order waiting for approval, rejected; a rule switched off.
    let noon = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let (_, pending) = noon.post("/v1/dispatch", &order(41, 80_000)).await;
    let reject = path_of(
        pending["PendingApproval"]["reject_url"]
            .as_str()
            .expect("url"),
    );
    let (status, _) = noon.post_raw(&reject, None, Vec::new()).await;
    assert_eq!(status, 200);
    let (status, _) = noon
        .put(
            "/v1/rules/dedup-double-submit/enabled",
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 200);

    let mut seen = std::collections::BTreeSet::new();
    for (server, query) in [
        (&evening, "namespace=ecommerce&tenant=acme-store"),
        (&noon, "namespace=ecommerce&tenant=acme-store"),
        (&noon, "namespace=~switchyard&tenant=~admin"),
    ] {
        let (_, page) = server.get(&format!("/v1/audit?{query}&limit=100")).await;
        for record in page["records"].as_array().expect("records") {
            let event = record["event"]
                .as_str()
                .unwrap_or_else(|| panic!("no event: {record}"));
            let outcome = record["outcome"].as_str().unwrap_or_default();
            let fits = match event {
                "chain_completed" => record["verdict"] == "chain" && outcome.starts_with("chain_"),
                "chain_step_completed" => {
                    record["verdict"] == "chain" && !outcome.starts_with("chain_")
                }
                "approval_resolved" => outcome.starts_with("approval_"),
                "scheduled_action_due" => record["verdict_details"]["released_from"].is_string(),
                "admin_change" => record["verdict"] == "admin",
                "action_dispatched" => {
                    record["verdict"] != "chain" && !outcome.starts_with("approval_")
                }
                other => panic!("unexpected event {other}: {record}"),
            };
            assert!(fits, "{event} does not fit {record}");
            seen.insert(event.to_string());
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "action_dispatched",
            "admin_change",
            "approval_resolved",
            "chain_completed",
            "chain_step_completed",
            "scheduled_action_due"
        ]
    );
}

async fn chain_for(server: &TestServer, action_id: &str) -> Value {
    let (status, chain) = server
        .get(&format!(
            "/v1/chains/order-processing-{action_id}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!(status, 200, "{chain}");
    chain
}

#[tokio::test]
async fn order_processing_chain_branches_on_body_logged() {
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let (_, outcome) = server.post("/v1/dispatch", &order(20, 4_999)).await;
    assert_eq!(outcome_kind(&outcome), "Executed");
    let running = chain_for(&server, "act-20").await;
    assert_eq!(
        (running["status"].clone(), running["total_steps"].clone()),
        (json!("running"), json!(5))
    );
    let handled = server.run_due().await;
    assert_eq!(handled, 4, "one message per executed step");
    let chain = chain_for(&server, "act-20").await;
    assert_eq!(chain["status"], json!("completed"));
    assert_eq!(
        chain["execution_path"],
        json!(["validate", "charge", "fulfill", "notify-customer"])
    );
    assert_eq!(
        chain["steps"][1]["status"],
        json!("pending"),
        "fraud-review-step never ran"
    );
    // Templates kept the JSON types: the shipped items are an array, totals numbers.
    let (_, steps) = server
        .get("/v1/audit?chain_id=order-processing-act-20&limit=10")
        .await;
    let fulfil = steps["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action_type"] == "ship_order")
        .expect("ship step");
    assert_eq!(
        fulfil["action_payload"]["items"],
        json!([{"sku": "SKU-1", "qty": 2}])
    );
    assert_eq!(fulfil["provider"], json!("warehouse"));
    let charge = steps["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action_type"] == "charge_card")
        .expect("charge step");
    assert_eq!(charge["action_payload"]["total_cents"], json!(4999));
    assert_eq!(charge["action_payload"]["card_last4"], json!("[REDACTED]"));
    let (_, listed) = server
        .get("/v1/chains?namespace=ecommerce&tenant=acme-store&status=completed")
        .await;
    assert_eq!(listed["count"], json!(1));
}

/// A payment gateway that does not answer `logged: true` sends validation
/// through the fraud-review sub-chain before charging.
#[tokio::test]
async fn unexpected_validation_goes_through_fraud_review() {
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = calls.clone();
    let router = Router::new().route(
        "/pay",
        post(move |body: axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .expect("lock")
                    .push(body["action_type"].as_str().unwrap_or_default().to_string());
                axum::Json(json!({"approved": "maybe"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let text = std::fs::read_to_string(repo_path("rules/ecommerce/gateway.toml")).expect("config");
    let text = text.replace(
        "name = \"payment-gateway\"\ntype = \"log\"",
        &format!("name = \"payment-gateway\"\ntype = \"webhook\"\nurl = \"http://{addr}/pay\""),
    );
    let mut config = Config::parse("gateway.toml", &text).expect("config");
    config.base_dir = Some(repo_path("rules/ecommerce"));
    let server = start(config, at(MONDAY_NOON_ET)).await;
    let (_, outcome) = server.post("/v1/dispatch", &order(30, 4_999)).await;
    assert_eq!(outcome_kind(&outcome), "Executed");
    server.run_due().await;
    let chain = chain_for(&server, "act-30").await;
    assert_eq!(chain["status"], json!("completed"), "{chain}");
    assert_eq!(
        chain["execution_path"],
        json!([
            "validate",
            "fraud-review-step",
            "charge",
            "fulfill",
            "notify-customer"
        ])
    );
    let child_id = chain["steps"][1]["child_chain_id"]
        .as_str()
        .expect("sub-chain id");
    let (_, child) = server
        .get(&format!(
            "/v1/chains/{child_id}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!(
        child["execution_path"],
        json!(["analyze", "flag-compliance", "notify-merchant"])
    );
    assert_eq!(child["parent_chain_id"], chain["chain_id"]);
    let (_, notify) = server
        .get(&format!(
            "/v1/audit?chain_id={child_id}&action_type=fraud_alert"
        ))
        .await;
    assert_eq!(
        notify["records"][0]["action_payload"]["merchant"],
        json!("acme-store")
    );
    // place_order itself, then validate and charge: the webhook saw all three.
    assert_eq!(
        *calls.lock().expect("lock"),
        ["place_order", "validate_order", "charge_card"]
    );
}

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
