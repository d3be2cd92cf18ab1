//! Contract tests for Acteon's client libraries: each method they offer for
//! a feature we have, called the way they call it (paths, query strings,
//! bodies, no scope where they send none), and each answer checked against
//! the fields their response models read (`switchyard_tests::contract`).

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_tests::contract::*;
use switchyard_tests::ecommerce::{MONDAY_EVENING_ET, MONDAY_NOON_ET, order, path_of};
use switchyard_tests::{TestServer, at, outcome_kind, repo_path, start_ecommerce};
use tokio::io::AsyncReadExt;

/// The e-commerce example plus rules that group and track state, so every
/// feature has something to answer about.
async fn server() -> TestServer {
    let s = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let mut rules =
        switchyard_rules::load_dir(&repo_path("rules/ecommerce")).expect("example rules");
    rules.extend(
        switchyard_rules::load_str(
            "contract.yaml",
            r#"
rules:
  - name: batch-stock-pings
    priority: 5
    condition:
      field: action.action_type
      eq: stock_ping
    action:
      type: group
      group_by: [payload.sku]
      group_wait_seconds: 60
  - name: track-orders
    priority: 6
    condition:
      field: action.action_type
      eq: order_status
    action:
      type: state_machine
      state_machine: order-lifecycle
      fingerprint_fields: [payload.order_id]
  - name: throttle-bursts
    priority: 7
    condition:
      field: action.action_type
      eq: burst
    action:
      type: throttle
      max_count: 1
      window_seconds: 60
"#,
        )
        .expect("contract rules"),
    );
    s.gateway.replace_rules(rules).expect("rules load");
    s
}

fn action(action_type: &str, provider: &str, payload: Value) -> Value {
    json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": provider,
           "action_type": action_type, "payload": payload})
}

/// The single-key outcome's inner object.
fn inner<'a>(outcome: &'a Value, kind: &str) -> &'a Value {
    assert_eq!(outcome_kind(outcome), kind, "{outcome}");
    &outcome[kind]
}

#[tokio::test]
async fn dispatch_batch_dry_run_rules_and_audit() {
    let s = server().await;
    let (status, _) = s.get("/health").await;
    assert_eq!(status, 200);

    // dispatch: the outcome variants the clients decode.
    let (status, executed) = s.post("/v1/dispatch", &order(1, 100)).await;
    assert_eq!(status, 200);
    conforms(EXECUTED, inner(&executed, "Executed"));
    let (_, duplicate) = s.post("/v1/dispatch", &order(1, 100)).await;
    assert_eq!(duplicate, json!("Deduplicated"));
    let mut sanctioned = order(2, 100);
    sanctioned["payload"]["shipping_country"] = json!("NK");
    let (_, suppressed) = s.post("/v1/dispatch", &sanctioned).await;
    conforms(SUPPRESSED, inner(&suppressed, "Suppressed"));
    let (status, dry) = s.post("/v1/dispatch?dry_run=true", &order(3, 100)).await;
    assert_eq!(status, 200);
    conforms(DRY_RUN, inner(&dry, "DryRun"));
    // A throttled action says when to retry.
    s.post("/v1/dispatch", &action("burst", "warehouse", json!({})))
        .await;
    let (_, throttled) = s
        .post("/v1/dispatch", &action("burst", "warehouse", json!({})))
        .await;
    let throttled = inner(&throttled, "Throttled");
    conforms(THROTTLED, throttled);
    conforms(DURATION, &throttled["retry_after"]);

    // A quota on one provider: the second action over it is refused.
    let (status, quota) = s
        .post(
            "/v1/quotas",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "sms-service",
                    "max_actions": 1, "window": "hourly", "overage_behavior": "block"}),
        )
        .await;
    assert_eq!(status, 201, "{quota}");
    s.post("/v1/dispatch", &action("sms", "sms-service", json!({})))
        .await;
    let (_, over) = s
        .post("/v1/dispatch", &action("sms", "sms-service", json!({})))
        .await;
    conforms(QUOTA_EXCEEDED, inner(&over, "QuotaExceeded"));

    // Errors: the fields ApiError is built from.
    let (status, error) = s
        .post("/v1/dispatch", &json!({"namespace": "ecommerce"}))
        .await;
    assert_eq!(status, 400);
    conforms(ERROR, &error);

    // dispatch_batch: one result per action, errors inline.
    let (status, batch) = s
        .post(
            "/v1/dispatch/batch",
            &json!([order(30, 100), {"namespace": "ecommerce"}]),
        )
        .await;
    assert_eq!(status, 200);
    let results = batch.as_array().expect("an array");
    assert_eq!(results.len(), 2);
    conforms(EXECUTED, inner(&results[0], "Executed"));
    conforms(ERROR, &results[1]["error"]);

    // Rules: list, enable, reload, evaluate.
    let (_, rules) = s.get("/v1/rules").await;
    for rule in rules.as_array().expect("an array of rules") {
        conforms(RULE_INFO, rule);
    }
    let (status, _) = s
        .put(
            "/v1/rules/throttle-merchant-orders/enabled",
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 200);

    let mut evening = action(
        "place_order",
        "payment-gateway",
        json!({"total_cents": 100, "shipping_country": "US"}),
    );
    evening["evaluate_at"] = json!(MONDAY_EVENING_ET);
    evening["include_disabled"] = json!(true);
    let (status, evaluated) = s.post("/v1/rules/evaluate", &evening).await;
    assert_eq!(status, 200, "{evaluated}");
    conforms(EVALUATE_RULES, &evaluated);
    conforms(TRACE_CONTEXT, &evaluated["context"]);
    let trace = each(RULE_TRACE_ENTRY, &evaluated, "trace");
    assert_eq!(evaluated["verdict"], json!("schedule"), "8 pm in New York");
    assert_eq!(evaluated["matched_rule"], json!("schedule-after-hours"));
    let high_value = trace
        .iter()
        .find(|t| t["rule_name"] == "approve-high-value")
        .expect("traced");
    assert_eq!(high_value["result"], json!("not_matched"));
    assert_eq!(
        high_value["reason"],
        json!("action.payload.total_cents is 100, so `gte 50000` is false")
    );
    let disabled = trace
        .iter()
        .find(|t| t["rule_name"] == "throttle-merchant-orders")
        .expect("traced");
    assert_eq!(
        (disabled["enabled"].clone(), disabled["result"].clone()),
        (json!(false), json!("skipped")),
        "after the deciding rule: {disabled}"
    );

    let (status, reloaded) = s.post("/v1/rules/reload", &json!({})).await;
    assert_eq!(status, 200, "{reloaded}");
    conforms(RELOAD_RESULT, &reloaded);
    assert_eq!(reloaded["loaded"], json!(6));

    // Audit: query (with and without scope) and one record.
    for path in [
        "/v1/audit?limit=5",
        "/v1/audit?namespace=ecommerce&tenant=acme-store&limit=5&offset=1",
    ] {
        let (status, page) = s.get(path).await;
        assert_eq!(status, 200);
        conforms(AUDIT_PAGE, &page);
        assert_eq!(each(AUDIT_RECORD, &page, "records").len(), 5);
    }
    let (status, record) = s.get("/v1/audit/act-1").await;
    assert_eq!(status, 200);
    conforms(AUDIT_RECORD, &record);
    let (status, _) = s.get("/v1/audit/no-such-action").await;
    assert_eq!(status, 404, "the clients read 404 as None");

    // Provider health: counts from the calls above.
    let (_, health) = s.get("/v1/providers/health").await;
    conforms(PROVIDER_HEALTH_LIST, &health);
    let providers = each(PROVIDER_HEALTH, &health, "providers");
    let payments = providers
        .iter()
        .find(|p| p["provider"] == "payment-gateway")
        .expect("listed");
    assert_eq!(payments["total_requests"], json!(2), "{payments}");
    assert_eq!(payments["success_rate"], json!(100.0));
}

#[tokio::test]
async fn groups_events_approvals_and_chains() {
    let s = server().await;

    // Groups: the clients list, read and flush them by key, with no scope.
    for n in 0..2 {
        let (_, grouped) = s
            .post(
                "/v1/dispatch",
                &action("stock_ping", "warehouse", json!({"sku": "SKU-1", "n": n})),
            )
            .await;
        assert_eq!(outcome_kind(&grouped), "Grouped");
    }
    let (status, groups) = s.get("/v1/groups").await;
    assert_eq!(status, 200, "{groups}");
    conforms(GROUP_LIST, &groups);
    let listed = each(GROUP_SUMMARY, &groups, "groups");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["event_count"], json!(2));
    let key = listed[0]["group_key"].as_str().expect("key").to_string();
    let (status, detail) = s.get(&format!("/v1/groups/{key}")).await;
    assert_eq!(status, 200);
    conforms(GROUP_DETAIL, &detail);
    conforms(GROUP_SUMMARY, &detail["group"]);
    let (status, flushed) = s.delete(&format!("/v1/groups/{key}")).await;
    assert_eq!(status, 200, "{flushed}");
    conforms(FLUSH_GROUP, &flushed);
    let (status, _) = s.get(&format!("/v1/groups/{key}")).await;
    assert_eq!(status, 404, "flushed groups are gone");

    // Events (state machines): list, get, transition.
    let (_, changed) = s
        .post(
            "/v1/dispatch",
            &action("order_status", "warehouse", json!({"order_id": "ORD-9"})),
        )
        .await;
    assert_eq!(outcome_kind(&changed), "StateChanged", "{changed}");
    let (status, events) = s
        .get("/v1/events?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!(status, 200);
    conforms(EVENT_LIST, &events);
    let listed = each(EVENT_STATE, &events, "events");
    let fingerprint = listed[0]["fingerprint"].as_str().expect("fp").to_string();
    let (status, event) = s
        .get(&format!(
            "/v1/events/{fingerprint}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!(status, 200);
    conforms(EVENT_STATE, &event);
    let (status, moved) = s
        .put(
            &format!("/v1/events/{fingerprint}/transition"),
            &json!({"to": "confirmed", "namespace": "ecommerce", "tenant": "acme-store"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    conforms(TRANSITION, &moved);

    // Approvals: status by signed link, list, approve, reject.
    let mut links = Vec::new();
    for n in [40, 41] {
        let (_, pending) = s.post("/v1/dispatch", &order(n, 90_000)).await;
        let pending = inner(&pending, "PendingApproval");
        links.push((
            path_of(pending["approve_url"].as_str().expect("approve")),
            path_of(pending["reject_url"].as_str().expect("reject")),
        ));
    }
    let status_link = links[0].0.replacen("/approve?", "?", 1);
    let (status, approval) = s.get(&status_link).await;
    assert_eq!(status, 200, "{approval}");
    conforms(APPROVAL_STATUS, &approval);
    let (_, approvals) = s
        .get("/v1/approvals?namespace=ecommerce&tenant=acme-store")
        .await;
    conforms(APPROVAL_LIST, &approvals);
    assert_eq!(each(APPROVAL_STATUS, &approvals, "approvals").len(), 2);
    let (status, approved) = s.post(&links[0].0, &json!({})).await;
    assert_eq!(status, 200, "{approved}");
    conforms(APPROVAL_ACTION, &approved);
    let (status, rejected) = s.post(&links[1].1, &json!({})).await;
    assert_eq!(status, 200, "{rejected}");
    conforms(APPROVAL_ACTION, &rejected);
    // Decided once. Acteon says 410 here, we say 409 (README's compatibility
    // table); its clients raise on either.
    let (status, _) = s.post(&links[1].1, &json!({})).await;
    assert_eq!(status, 409, "decided once");

    // Chains: an executed order starts the fulfilment chain.
    s.post("/v1/dispatch", &order(50, 100)).await;
    let (status, chains) = s
        .get("/v1/chains?namespace=ecommerce&tenant=acme-store")
        .await;
    assert_eq!(status, 200);
    conforms(CHAIN_LIST, &chains);
    let listed = each(CHAIN_SUMMARY, &chains, "chains");
    let running = listed
        .iter()
        .find(|c| c["status"] == "running")
        .expect("a running chain");
    let chain_id = running["chain_id"].as_str().expect("id").to_string();
    let (status, detail) = s
        .get(&format!(
            "/v1/chains/{chain_id}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!(status, 200);
    conforms(CHAIN_DETAIL, &detail);
    each(CHAIN_STEP, &detail, "steps");
    let (status, cancelled) = s
        .post(
            &format!("/v1/chains/{chain_id}/cancel"),
            &json!({"namespace": "ecommerce", "tenant": "acme-store",
                    "reason": "customer asked", "cancelled_by": "support"}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    conforms(CHAIN_DETAIL, &cancelled);
    assert_eq!(cancelled["cancel_reason"], json!("customer asked"));
}

#[tokio::test]
async fn recurring_quotas_retention_and_dead_letters() {
    let s = server().await;

    // Dead letters.
    switchyard_tests::poison::poison(&s, "contract-poison").await;
    let (_, stats) = s.get("/v1/dlq/stats").await;
    conforms(DLQ_STATS, &stats);
    assert_eq!(stats["count"], json!(1));
    let (status, drained) = s.post("/v1/dlq/drain", &json!({})).await;
    assert_eq!(status, 200, "{drained}");
    conforms(DLQ_DRAIN, &drained);
    assert_eq!(each(DLQ_ENTRY, &drained, "entries").len(), 1);

    // Recurring actions, in the Python client's request shapes.
    let (status, created) = s
        .post(
            "/v1/recurring",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "email-service",
                    "action_type": "digest", "payload": {"to": "ops@example.com"},
                    "cron_expression": "0 9 * * *", "name": "daily-digest",
                    "timezone": "US/Eastern", "max_executions": 30,
                    "end_date": "2026-12-31T00:00:00Z", "labels": {"team": "ops"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    conforms(RECURRING_CREATED, &created);
    assert_eq!(created["status"], json!("active"));
    let id = created["id"].as_str().expect("id").to_string();
    for path in [
        "/v1/recurring",
        "/v1/recurring?namespace=ecommerce&tenant=acme-store&status=active",
    ] {
        let (status, list) = s.get(path).await;
        assert_eq!(status, 200, "{list}");
        conforms(RECURRING_LIST, &list);
        assert_eq!(each(RECURRING_SUMMARY, &list, "recurring_actions").len(), 1);
    }
    let scoped = format!("/v1/recurring/{id}?namespace=ecommerce&tenant=acme-store");
    let (_, detail) = s.get(&scoped).await;
    conforms(RECURRING_DETAIL, &detail);
    let (status, updated) = s
        .put(
            &format!("/v1/recurring/{id}"),
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "description": "morning digest",
                    "cron_expression": "30 8 * * *"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    conforms(RECURRING_DETAIL, &updated);
    let pause = format!("/v1/recurring/{id}/pause");
    let scope = json!({"namespace": "ecommerce", "tenant": "acme-store"});
    let (status, paused) = s.post(&pause, &scope).await;
    assert_eq!(status, 200);
    conforms(RECURRING_DETAIL, &paused);
    let (status, _) = s.post(&pause, &scope).await;
    assert_eq!(status, 409, "already paused");
    let (status, resumed) = s.post(&format!("/v1/recurring/{id}/resume"), &scope).await;
    assert_eq!(status, 200);
    conforms(RECURRING_DETAIL, &resumed);
    let (status, body) = s.delete(&scoped).await;
    assert_eq!((status, body), (204, Value::Null));

    // Quotas.
    let (status, quota) = s
        .post(
            "/v1/quotas",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "max_actions": 500,
                    "window": "daily", "overage_behavior": "warn", "labels": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(status, 201, "{quota}");
    conforms(QUOTA_POLICY, &quota);
    let quota_id = quota["id"].as_str().expect("id").to_string();
    for path in [
        "/v1/quotas",
        "/v1/quotas?namespace=ecommerce&tenant=acme-store",
    ] {
        let (status, list) = s.get(path).await;
        assert_eq!(status, 200, "{list}");
        conforms(QUOTA_LIST, &list);
        assert_eq!(each(QUOTA_POLICY, &list, "quotas").len(), 1);
    }
    let (_, one) = s.get(&format!("/v1/quotas/{quota_id}")).await;
    conforms(QUOTA_POLICY, &one);
    let (status, changed) = s
        .put(
            &format!("/v1/quotas/{quota_id}"),
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "max_actions": 600, "enabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    conforms(QUOTA_POLICY, &changed);
    let (status, usage) = s.get(&format!("/v1/quotas/{quota_id}/usage")).await;
    assert_eq!(status, 200);
    conforms(QUOTA_USAGE, &usage);
    let (status, body) = s
        .delete(&format!(
            "/v1/quotas/{quota_id}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!((status, body), (204, Value::Null));

    // Retention.
    let (status, policy) = s
        .post(
            "/v1/retention",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "audit_ttl_seconds": 86400,
                    "state_ttl_seconds": 3600, "event_ttl_seconds": 7200, "compliance_hold": false}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    conforms(RETENTION_POLICY, &policy);
    let policy_id = policy["id"].as_str().expect("id").to_string();
    let (_, list) = s.get("/v1/retention").await;
    conforms(RETENTION_LIST, &list);
    each(RETENTION_POLICY, &list, "policies");
    let (status, changed) = s
        .put(
            &format!("/v1/retention/{policy_id}"),
            &json!({"audit_ttl_seconds": 172800, "labels": {"reason": "audit"}}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    conforms(RETENTION_POLICY, &changed);
    assert_eq!(changed["labels"], json!({"reason": "audit"}));
    let (status, _) = s.delete(&format!("/v1/retention/{policy_id}")).await;
    assert_eq!(status, 204);
}

/// `stream()`: an SSE response whose events carry `event:`, `id:` and JSON `data:`.
#[tokio::test]
async fn the_stream_speaks_server_sent_events() {
    let s = server().await;
    let mut socket = s
        .raw_get(
            "/v1/stream?namespace=ecommerce",
            "Accept: text/event-stream\r\n",
        )
        .await;
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let mut dispatched = false;
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if seen.contains("\r\n\r\n") && !dispatched {
                dispatched = true;
                s.post("/v1/dispatch", &order(60, 100)).await;
            }
            if seen.contains("\ndata:") && seen.contains("\n\n") {
                return;
            }
            let n = socket.read(&mut buffer).await.expect("read");
            assert!(n > 0, "the stream ended: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
    .await;
    assert!(read.is_ok(), "an event arrives: {seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{seen}"
    );
    let field = |name: &str| {
        seen.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} line in {seen}"))
            .to_string()
    };
    assert!(!field("event:").is_empty());
    assert!(!field("id:").is_empty());
    let data: Value = serde_json::from_str(&field("data:")).expect("data is JSON");
    assert!(data.is_object(), "{data}");
}
