//! Seed 001 in full: approvals, scheduled after-hours orders, the
//! order-processing chain (both branch paths, the fraud-review sub-chain) and
//! the order lifecycle, over HTTP with a clock the test moves.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::ecommerce::{
    MONDAY_EVENING_ET, MONDAY_NOON_ET, audit_for, chain_for, order, path_of,
};
use switchyard_tests::{at, outcome_kind, repo_path, start, start_ecommerce};

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
    // The origin action is stored once, beside the chain record that every
    // step rewrites, not inside it.
    let chain_record = stored(&server, "chain", "order-processing-act-20")
        .await
        .expect("chain record");
    assert!(chain_record.get("origin").is_none(), "{chain_record}");
    let origin = stored(&server, "chain_origin", "order-processing-act-20")
        .await
        .expect("origin record");
    assert_eq!(origin["id"], json!("act-20"));
    let handled = server.run_due().await;
    assert_eq!(handled, 4, "one message per executed step");
    let chain = chain_for(&server, "act-20").await;
    assert_eq!(chain["status"], json!("completed"));
    // With a timeout (120 s) the origin expires after it and the completed
    // chain's TTL (3,600 s), at no write's cost.
    assert!(
        stored(&server, "chain_origin", "order-processing-act-20")
            .await
            .is_some()
    );

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
    let fulfil = step_record(&steps, "ship_order");
    assert_eq!(
        fulfil["action_payload"]["items"],
        json!([{"sku": "SKU-1", "qty": 2}])
    );
    assert_eq!(fulfil["provider"], json!("warehouse"));
    let charge = step_record(&steps, "charge_card");
    assert_eq!(charge["action_payload"]["total_cents"], json!(4999));
    assert_eq!(charge["action_payload"]["card_last4"], json!("[REDACTED]"));
    let (_, listed) = server
        .get("/v1/chains?namespace=ecommerce&tenant=acme-store&status=completed")
        .await;
    assert_eq!(listed["count"], json!(1));
    server.advance(120 + 3_600 + 1).await;
    assert_eq!(
        stored(&server, "chain_origin", "order-processing-act-20").await,
        None,
        "the origin expired with the chain"
    );
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

/// A raw record of the memory state store, as JSON.
async fn stored(server: &switchyard_tests::TestServer, kind: &str, id: &str) -> Option<Value> {
    let key = switchyard_store::StateKey::new("ecommerce", "acme-store", kind, id);
    let record = server.memory.ports.state.get(&key).await.expect("get")?;
    Some(serde_json::from_str(&record.value).expect("json"))
}

/// A chain record written before the origin had a record of its own (the
/// origin inside it) still runs to its end: the origin moves out on the
/// first read, and the step templates still see it. Without a timeout the
/// origin is deleted when the chain ends.
#[tokio::test]
async fn a_chain_record_of_the_old_layout_still_runs() {
    let text = std::fs::read_to_string(repo_path("rules/ecommerce/gateway.toml")).expect("config");
    let without_timeout = text.replace(
        "name = \"order-processing\"\ntimeout_seconds = 120\n",
        "name = \"order-processing\"\n",
    );
    assert_ne!(text, without_timeout);
    let mut config = Config::parse("gateway.toml", &without_timeout).expect("config");
    config.base_dir = Some(repo_path("rules/ecommerce"));
    let server = start(config, at(MONDAY_NOON_ET)).await;
    let (_, outcome) = server.post("/v1/dispatch", &order(21, 4_999)).await;
    assert_eq!(outcome_kind(&outcome), "Executed");
    let id = "order-processing-act-21";
    let origin = stored(&server, "chain_origin", id).await.expect("origin");
    let mut old = stored(&server, "chain", id).await.expect("chain");
    old["origin"] = origin;
    let state = &server.memory.ports.state;
    let chain_key = switchyard_store::StateKey::new("ecommerce", "acme-store", "chain", id);
    let version = state
        .get(&chain_key)
        .await
        .expect("get")
        .expect("chain")
        .version;
    let swapped = state
        .compare_and_swap(&chain_key, version, &old.to_string(), None)
        .await
        .expect("swap");
    assert!(swapped.is_some());
    let origin_key = switchyard_store::StateKey::new("ecommerce", "acme-store", "chain_origin", id);
    assert!(state.delete(&origin_key).await.expect("delete"));

    assert_eq!(server.run_due().await, 4);
    let chain = chain_for(&server, "act-21").await;
    assert_eq!(chain["status"], json!("completed"), "{chain}");
    let (_, steps) = server
        .get(&format!("/v1/audit?chain_id={id}&limit=10"))
        .await;
    let charge = step_record(&steps, "charge_card");
    assert_eq!(
        charge["action_payload"]["total_cents"],
        json!(4999),
        "the templates read the origin"
    );
    assert!(
        stored(&server, "chain", id)
            .await
            .expect("chain")
            .get("origin")
            .is_none(),
        "saved without it"
    );
    assert_eq!(
        stored(&server, "chain_origin", id).await,
        None,
        "a chain without a timeout deletes its origin when it ends"
    );
}

/// The audit record of a chain's step, by its action type.
fn step_record<'a>(steps: &'a Value, action_type: &str) -> &'a Value {
    steps["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action_type"] == action_type)
        .unwrap_or_else(|| panic!("no {action_type} step in {steps}"))
}
