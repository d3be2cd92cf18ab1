//! End to end on the emulator: the template deployed by `infra/deploy-local`,
//! the four functions' handlers in this process, the queues and schedules
//! real (emulated) AWS resources. See `switchyard_tests::serverless` for what
//! the harness does in AWS's place.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard_lambda::{RulesOrigin, S3Location};
use switchyard_tests::serverless::{Functions, Source, deploy_stack, start_functions};
use switchyard_tests::{at, outcome_kind, repo_path, stub_service};

/// Tuesday 10:00 in New York: inside the e-commerce business hours.
const TUESDAY_MORNING_ET: &str = "2026-11-24T15:00:00Z";

fn order(n: u32, total_cents: u64) -> Value {
    let sample = std::fs::read_to_string(repo_path("rules/ecommerce/samples/standard-order.json"))
        .expect("sample order");
    let mut order: Value = serde_json::from_str(&sample).expect("sample JSON");
    order["id"] = json!(format!("sls-{n}"));
    order["dedup_key"] = json!(format!("order-sls-{n}"));
    order["payload"]["order_id"] = json!(format!("ORD-SLS-{n}"));
    order["payload"]["total_cents"] = json!(total_cents);
    order
}

async fn chain_status(functions: &Functions, scope: &str, id: &str) -> Value {
    let (status, chain) = functions.get(&format!("/v1/chains/{id}?{scope}")).await;
    assert_eq!(status, 200, "{chain}");
    chain["status"].clone()
}

async fn audit(functions: &Functions, query: &str) -> Value {
    let (status, page) = functions.get(&format!("/v1/audit?{query}")).await;
    assert_eq!(status, 200, "{page}");
    page
}

#[tokio::test]
async fn ecommerce_orders_run_their_chain_through_sqs_and_approvals_through_signed_links() {
    let Some(stack) = deploy_stack("sy-orders").await else {
        return;
    };
    let functions = start_functions(stack, None, at(TUESDAY_MORNING_ET)).await;
    let scope = "namespace=ecommerce&tenant=acme-store";

    // An accepted order executes and starts `order-processing`.
    let (status, body) = functions.post("/v1/dispatch", &order(1, 4_999)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome_kind(&body), "Executed", "{body}");
    let (_, chains) = functions.get(&format!("/v1/chains?{scope}")).await;
    assert_eq!(chains["count"], json!(1), "{chains}");
    let chain_id = chains["chains"][0]["chain_id"]
        .as_str()
        .expect("chain id")
        .to_string();

    // Each step is one message on the chain queue, consumed by chain-step.
    let mut steps_received = 0;
    let mut completed = false;
    for _ in 0..50 {
        steps_received += functions.poll(Source::Chain).await.received;
        if chain_status(&functions, scope, &chain_id).await == json!("completed") {
            completed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(completed, "the chain did not complete");
    // validate → (branch skips fraud review) → charge → fulfill → notify.
    assert_eq!(steps_received, 4, "one SQS message per executed step");
    let trail = audit(&functions, &format!("chain_id={chain_id}&limit=50")).await;
    let mut types: Vec<&str> = trail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["action_type"].as_str())
        .collect();
    types.reverse(); // oldest first; the last record is the chain's own
    assert_eq!(
        types,
        [
            "validate_order",
            "charge_card",
            "ship_order",
            "order_confirmation",
            "place_order"
        ],
        "{trail}"
    );
    assert_eq!(trail["records"][0]["outcome"], json!("chain_completed"));

    // A high-value order waits for approval; its signed link executes it.
    let (_, pending) = functions.post("/v1/dispatch", &order(2, 75_000)).await;
    let approve = pending["PendingApproval"]["approve_url"]
        .as_str()
        .unwrap_or_else(|| panic!("pending approval: {pending}"))
        .to_string();
    assert!(
        approve.starts_with(&functions.http),
        "links use EXTERNAL_URL: {approve}"
    );
    // A tampered link to the still undecided approval is refused with
    // exactly 403 (not a 409 that an already decided one would give), and
    // decides nothing: the real link still works after it.
    let tampered = approve.replacen("sig=", "sig=00", 1);
    let response = reqwest::Client::new()
        .post(&tampered)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 403);
    let (_, untouched) = functions.get("/v1/audit/sls-2").await;
    assert_eq!(
        untouched["outcome"],
        json!("pending_approval"),
        "{untouched}"
    );
    // The approval's expiry waits on the delay queue (60 s, SQS DelaySeconds).
    let response = reqwest::Client::new()
        .post(&approve)
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status().as_u16(), 200);
    let decided: Value = response.json().await.expect("JSON");
    assert_eq!(decided["status"], json!("approved"), "{decided}");
    assert_eq!(outcome_kind(&decided["outcome"]), "Executed");
    let (_, record) = functions.get("/v1/audit/sls-2").await;
    assert_eq!(record["outcome"], json!("executed"), "{record}");
}

/// The description only the uploaded artifact gives `remind-soon`.
const FROM_ARTIFACT: &str = "read from the compiled artifact";

/// `remind-soon`'s description as a function serves it.
async fn remind_soon_description(functions: &Functions) -> Value {
    let (_, listed) = functions.get("/v1/rules").await;
    listed
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["name"] == "remind-soon")
        .expect("remind-soon")["description"]
        .clone()
}

/// A gateway configuration and rules uploaded to the emulated S3, as
/// `RULES_S3_URI` deployments keep them.
async fn upload_rules(
    functions_stack: &switchyard_tests::serverless::Stack,
    hook: &str,
) -> S3Location {
    let s3 = functions_stack.s3();
    let bucket = format!("{}-rules", functions_stack.name);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let config = format!(
        r#"
[rules]
default_timezone = "UTC"

[[providers]]
name = "hook"
type = "webhook"
url = "{hook}"

[[chains.definitions]]
name = "pair"
timeout_seconds = 600

[[chains.definitions.steps]]
name = "first"
provider = "hook"
action_type = "first_half"
payload_template = {{ n = "{{{{origin.payload.n}}}}" }}

[[chains.definitions.steps]]
name = "second"
provider = "hook"
action_type = "second_half"
payload_template = {{ n = "{{{{origin.payload.n}}}}" }}
"#
    );
    let rules = r#"
rules:
  - name: remind-soon
    priority: 10
    condition:
      field: action.action_type
      eq: remind_soon
    action:
      type: schedule
      delay_seconds: 2
  - name: remind-later
    priority: 10
    condition:
      field: action.action_type
      eq: remind_later
    action:
      type: schedule
      delay_seconds: 7200
  - name: sync-in-two-halves
    priority: 10
    condition:
      field: action.action_type
      eq: sync
    action:
      type: chain
      chain: pair
"#;
    // The compiled form beside the YAML, as `switchyard rules compile` writes
    // it, marked: one rule's description exists only in the artifact, so
    // whether a function read it or the YAML shows in `GET /v1/rules`.
    let (_, artifact) = switchyard_rules::compile_artifact(&[switchyard_rules::RuleSource {
        name: "reminders.yaml".into(),
        label: "reminders.yaml".into(),
        text: rules.into(),
    }])
    .expect("compile");
    let mut artifact: Value = serde_json::from_str(&artifact).expect("artifact");
    artifact["files"][0]["rules"][0]["rule"]["description"] = json!(FROM_ARTIFACT);
    let artifact = artifact.to_string();
    for (key, body) in [
        ("prod/gateway.toml", config.as_str()),
        ("prod/reminders.yaml", rules),
        ("prod/rules.compiled.json", artifact.as_str()),
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("upload");
    }
    format!("s3://{bucket}/prod/").parse().expect("location")
}

fn action(id: &str, action_type: &str) -> Value {
    json!({"id": id, "namespace": "ops", "tenant": "t1", "provider": "hook",
           "action_type": action_type, "payload": {"n": 1}})
}

#[tokio::test]
async fn rules_from_s3_delays_by_sqs_and_scheduler_and_duplicate_deliveries() {
    let Some(stack) = deploy_stack("sy-s3").await else {
        return;
    };
    let hook = stub_service(|_| true, Duration::ZERO).await;
    let rules = upload_rules(&stack, &hook.url).await;
    let functions = start_functions(stack, Some(&rules), at(TUESDAY_MORNING_ET)).await;
    assert_eq!(
        remind_soon_description(&functions).await,
        json!(FROM_ARTIFACT),
        "the cold start read the compiled artifact, not the YAML"
    );
    // The emulator's ETags are the files' MD5s, as S3's are for a file put
    // in one part: the artifact's record of them spares reading the YAML.
    assert_eq!(
        functions.scheduler.rules_origin,
        RulesOrigin::ArtifactByEtag
    );
    let executed = |id: &'static str| {
        let functions = &functions;
        async move { functions.get(&format!("/v1/audit/{id}")).await.1["outcome"] == json!("executed") }
    };

    // A 2-second delay is an SQS DelaySeconds message on the delay queue.
    let (_, body) = functions
        .post("/v1/dispatch", &action("soon-1", "remind_soon"))
        .await;
    assert_eq!(outcome_kind(&body), "Scheduled", "{body}");
    assert!(
        functions.receive(Source::Delay, 0).await.is_empty(),
        "invisible before its delay"
    );
    functions.advance(2);
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert!(
        functions.run_until(30, || executed("soon-1")).await,
        "released after its delay"
    );
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);

    // Two hours is beyond SQS: a one-time schedule that invokes the scheduler.
    let (_, body) = functions
        .post("/v1/dispatch", &action("later-1", "remind_later"))
        .await;
    assert_eq!(outcome_kind(&body), "Scheduled", "{body}");
    let schedules = functions.schedules().await;
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    assert_eq!(
        schedules[0].1,
        at(TUESDAY_MORNING_ET) + chrono::Duration::seconds(2 + 7200)
    );
    assert_eq!(functions.fire_due_schedules().await, 0, "not due yet");
    functions.advance(7200);
    assert_eq!(functions.fire_due_schedules().await, 1);
    assert!(executed("later-1").await);
    assert!(
        functions.schedules().await.is_empty(),
        "deleted after it fired"
    );
    assert_eq!(hook.calls.load(Ordering::SeqCst), 2);

    // The same chain-step message delivered twice (SQS is at-least-once; here
    // to two concurrent instances) calls the provider once.
    let (_, body) = functions
        .post("/v1/dispatch", &action("sync-1", "sync"))
        .await;
    assert_eq!(outcome_kind(&body), "ChainStarted", "{body}");
    let first = functions.receive(Source::Chain, 1).await;
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(1_200)).await; // visibility runs out
    let second = functions.receive(Source::Chain, 1).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        first[0].message_id(),
        second[0].message_id(),
        "the same message again"
    );
    let (failed_a, failed_b) = tokio::join!(
        functions.invoke_with(Source::Chain, &first),
        functions.invoke_with(Source::Chain, &second)
    );
    assert_eq!(
        hook.calls.load(Ordering::SeqCst),
        3,
        "one provider call for the step"
    );
    functions
        .delete_except(Source::Chain, &second, &failed_b)
        .await;
    let _ = failed_a; // its receipt handle is stale now; SQS would keep the newer one
    let chain_done = || async {
        let (_, chains) = functions.get("/v1/chains?namespace=ops&tenant=t1").await;
        chains["chains"][0]["status"] == json!("completed")
    };
    assert!(
        functions.run_until(40, chain_done).await,
        "the chain completes"
    );
    assert_eq!(hook.calls.load(Ordering::SeqCst), 4, "two steps, two calls");

    // Rules change in S3 without a redeploy: the ETag check picks them up.
    let s3 = functions.stack.s3();
    s3.put_object()
        .bucket(&rules.bucket)
        .key("prod/freeze.yaml")
        .body(
            b"rules:\n  - name: freeze\n    priority: 1\n    condition:\n      field: action.action_type\n      eq: remind_soon\n    action:\n      type: deny\n"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .expect("upload");
    let (_, body) = functions
        .post("/v1/dispatch", &action("soon-2", "remind_soon"))
        .await;
    assert_eq!(body, json!({"Suppressed": {"rule": "freeze"}}));
    assert_eq!(
        remind_soon_description(&functions).await,
        Value::Null,
        "a file the artifact was not compiled from makes it stale: the YAML is read"
    );

    // A broken rule file put next to them is refused: every function keeps
    // serving the rules it has (the freeze above still decides).
    assert_eq!(
        functions.scheduler.refresh_rules().await,
        Some(4),
        "freeze loaded"
    );
    let serving = functions.scheduler.gateway.rules().len();
    s3.put_object()
        .bucket(&rules.bucket)
        .key("prod/broken.yaml")
        .body(
            b"rules:\n  - name: half-written\n    condition:\n      field: action.nope\n"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .expect("upload");
    assert_eq!(functions.scheduler.refresh_rules().await, None, "refused");
    assert_eq!(functions.scheduler.gateway.rules().len(), serving);
    let (status, body) = functions
        .post("/v1/dispatch", &action("soon-3", "remind_soon"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"Suppressed": {"rule": "freeze"}}));
    // Fixed, it loads at the next check.
    s3.put_object()
        .bucket(&rules.bucket)
        .key("prod/broken.yaml")
        .body(b"rules:\n  - name: written-in-full\n    condition:\n      field: action.action_type\n      eq: never\n    action:\n      type: deny\n".to_vec().into())
        .send()
        .await
        .expect("upload");
    assert_eq!(
        functions.scheduler.refresh_rules().await,
        Some(serving + 1),
        "the fixed file loads"
    );
}

#[tokio::test]
async fn a_poison_chain_step_becomes_a_dead_letter_with_its_failure_audited() {
    let Some(stack) = deploy_stack("sy-poison").await else {
        return;
    };
    let functions = start_functions(stack, None, at(TUESDAY_MORNING_ET)).await;
    let sqs = functions.stack.sqs();
    let chain_queue = functions.queue_url(Source::Chain).to_string();
    // A step message without its step number, and one that is not JSON.
    for body in [
        json!({"id": "poison-1", "kind": "chain_step",
               "body": {"namespace": "ecommerce", "tenant": "acme-store", "id": "chain-poison"}})
        .to_string(),
        "not a message at all".to_string(),
    ] {
        sqs.send_message()
            .queue_url(&chain_queue)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    let max = functions.chain_step.settings.chain_max_receive_count;
    let mut failed_deliveries = 0;
    let mut dead = Vec::new();
    for _ in 0..40 {
        failed_deliveries += functions.poll(Source::Chain).await.failed;
        let (status, page) = functions.get("/v1/dead-letters").await;
        assert_eq!(status, 200, "{page}");
        dead = page["entries"].as_array().cloned().unwrap_or_default();
        if dead.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    assert_eq!(dead.len(), 2, "both messages are dead letters: {dead:?}");
    assert_eq!(
        failed_deliveries,
        2 * (max as usize - 1),
        "each failed maxReceiveCount times, the last one settled as a dead letter"
    );
    // The function kept them, so the queue's own DLQ (the net for what the
    // function cannot settle) stays empty.
    let dlq = functions
        .stack
        .output("ChainDeadLetterQueueUrl")
        .to_string();
    let moved = sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive DLQ");
    assert!(moved.messages().is_empty(), "{moved:?}");
    assert!(
        dead.iter().all(|d| d["replayable"] == json!(false)),
        "neither reads as a message: {dead:?}"
    );
    let (status, refused) = functions
        .post("/v1/dead-letters/poison-1/replay", &json!({}))
        .await;
    assert_eq!(
        (status, refused["field"].clone()),
        (400, json!("id")),
        "{refused}"
    );

    // The failures are in the audit trail: the step under its chain, the
    // unreadable message under _system/_dead_letters.
    let step = audit(
        &functions,
        "namespace=ecommerce&tenant=acme-store&chain_id=chain-poison",
    )
    .await;
    assert_eq!(step["total"], json!(1), "{step}");
    let record = &step["records"][0];
    assert_eq!(record["verdict"], json!("dead_letter"));
    assert_eq!(record["outcome"], json!("failed"));
    assert_eq!(record["outcome_details"]["attempts"], json!(max));
    assert!(
        record["outcome_details"]["message"]
            .as_str()
            .expect("message")
            .contains("step"),
        "{record}"
    );
    let unreadable = audit(&functions, "namespace=_system&tenant=_dead_letters").await;
    assert_eq!(unreadable["total"], json!(1), "{unreadable}");
    assert!(
        unreadable["records"][0]["outcome_details"]["message"]
            .as_str()
            .expect("message")
            .contains("not a Switchyard message")
    );
    let (status, drained) = functions.post("/v1/dlq/drain", &json!({})).await;
    assert_eq!(
        (status, drained["count"].clone()),
        (200, json!(2)),
        "{drained}"
    );
    let (_, stats) = functions.get("/v1/dlq/stats").await;
    assert_eq!(stats, json!({"enabled": true, "count": 0}));
}
