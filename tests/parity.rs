//! Acteon's behaviours beyond the wire shapes: recurring actions that end
//! (`max_executions`, `end_date`) and the per-tenant limit on them.

use serde_json::{Value, json};
use switchyard_tests::{at, ecommerce_config, start};

fn digest(extra: Value) -> Value {
    let mut body = json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "email-service",
                          "action_type": "digest", "payload": {}, "cron_expression": "0 * * * *"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

async fn fired(server: &switchyard_tests::TestServer) -> Value {
    let (_, page) = server
        .get("/v1/audit?namespace=ecommerce&action_type=digest&limit=100")
        .await;
    page["total"].clone()
}

#[tokio::test]
async fn recurring_actions_end_and_are_limited_per_tenant() {
    let mut config = ecommerce_config();
    config.background.max_recurring_actions_per_tenant = Some(2);
    let server = start(config, at("2026-01-05T10:30:00Z")).await;

    // Three ticks at most, then the schedule is complete.
    let (status, limited) = server
        .post(
            "/v1/recurring",
            &digest(json!({"max_executions": 3, "dedup_key": "digest"})),
        )
        .await;
    assert_eq!(status, 201, "{limited}");
    let id = limited["id"].as_str().expect("id").to_string();
    for _ in 0..5 {
        server.advance(3600).await;
    }
    assert_eq!(fired(&server).await, json!(3));
    let (_, item) = server.get(&format!("/v1/recurring/{id}")).await;
    assert_eq!(
        (
            item["status"].clone(),
            item["execution_count"].clone(),
            item["next_execution_at"].clone()
        ),
        (json!("completed"), json!(3), Value::Null)
    );
    // Every tick carries the dedup key, for the dedup rules to see.
    let (_, page) = server
        .get("/v1/audit?namespace=ecommerce&action_type=digest&limit=1")
        .await;
    assert_eq!(
        page["records"][0]["metadata"]["__dedup_key"],
        json!("digest"),
        "{page}"
    );

    // An end date: ticks after it do not fire.
    let (status, ending) = server
        .post(
            "/v1/recurring",
            &digest(json!({"end_date": "2026-01-05T17:30:00Z", "action_type": "ending"})),
        )
        .await;
    assert_eq!(status, 201, "{ending}");
    for _ in 0..4 {
        server.advance(3600).await;
    }
    let (_, page) = server
        .get("/v1/audit?namespace=ecommerce&action_type=ending")
        .await;
    // 16:00 and 17:00 fire; 18:00 is past the end.
    assert_eq!(page["total"], json!(2), "{page}");

    // The tenant has two: a third is refused, naming the limit.
    let (status, refused) = server.post("/v1/recurring", &digest(json!({}))).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_recurring_actions_per_tenant = 2")),
        "{refused}"
    );
    for bad in [
        json!({"max_executions": 0}),
        json!({"end_date": "tomorrow"}),
    ] {
        let (status, body) = server.post("/v1/recurring", &digest(bad)).await;
        assert_eq!(status, 400, "{body}");
    }
}

/// An approval notification that could not be sent is sent again by the
/// upkeep pass until it goes out, and never after the approval is decided.
#[tokio::test]
async fn failed_approval_notifications_are_retried_until_sent() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let down = Arc::new(AtomicBool::new(true));
    let up = down.clone();
    let pager = switchyard_tests::stub_service(
        move |_| !up.load(Ordering::SeqCst),
        std::time::Duration::ZERO,
    )
    .await;
    let config = switchyard_config::Config::parse(
        "approvals.toml",
        &format!(
            "[executor]\nmax_retries = 0\n[[providers]]\nname = \"pager\"\ntype = \"webhook\"\nurl = \"{}\"\n[[providers]]\nname = \"payments\"\ntype = \"log\"\n",
            pager.url
        ),
    )
    .expect("config");
    let server = start(config, at("2026-01-05T10:00:00Z")).await;
    server
        .gateway
        .replace_rules(
            switchyard_rules::load_str(
                "approvals.yaml",
                "rules:\n  - name: approve-refunds\n    condition:\n      field: action.action_type\n      eq: refund\n    action:\n      type: request_approval\n      notify_provider: pager\n      timeout_seconds: 3600\n",
            )
            .expect("rules"),
        )
        .expect("rules load");
    let refund = |id: &str| {
        json!({"id": id, "namespace": "shop", "tenant": "acme", "provider": "payments",
               "action_type": "refund", "payload": {"amount": 10}})
    };
    let calls = || pager.calls.load(Ordering::SeqCst);

    let (_, first) = server.post("/v1/dispatch", &refund("r1")).await;
    assert_eq!(first["PendingApproval"]["notification_sent"], json!(false));
    let (_, second) = server.post("/v1/dispatch", &refund("r2")).await;
    // The second is decided before the pager is back: it is never re-sent.
    let reject = second["PendingApproval"]["reject_url"]
        .as_str()
        .expect("link")
        .to_string();
    let path = switchyard_tests::ecommerce::path_of(&reject);
    let (status, _) = server.post(&path, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(calls(), 2);

    let still_down = server.gateway.upkeep(false).await.expect("upkeep");
    assert_eq!(still_down.approval_notifications_sent, 0);
    assert_eq!(calls(), 3, "only the undecided one is tried again");

    down.store(false, Ordering::SeqCst);
    let back = server.gateway.upkeep(false).await.expect("upkeep");
    assert_eq!(back.approval_notifications_sent, 1);
    assert_eq!(calls(), 4);
    let done = server.gateway.upkeep(false).await.expect("upkeep");
    assert_eq!(
        (done.approval_notifications_sent, calls()),
        (0, 4),
        "sent once"
    );
}

/// Quota overage behaviours beyond block and warn: `degrade` sends the
/// action to a fallback provider (whose own quotas still count), `notify`
/// lets it through and tells a provider once per window.
#[tokio::test]
async fn quotas_degrade_to_a_fallback_and_notify_once_per_window() {
    use std::sync::atomic::Ordering;

    let pager = switchyard_tests::stub_service(|_| true, std::time::Duration::ZERO).await;
    let config = switchyard_config::Config::parse(
        "quotas.toml",
        &format!(
            "[[providers]]\nname = \"sms\"\ntype = \"log\"\n[[providers]]\nname = \"sms-cheap\"\ntype = \"log\"\n\
             [[providers]]\nname = \"email\"\ntype = \"log\"\n\
             [[providers]]\nname = \"pager\"\ntype = \"webhook\"\nurl = \"{}\"\n",
            pager.url
        ),
    )
    .expect("config");
    let server = start(config, at("2026-01-05T10:00:00Z")).await;
    let server = &server;
    let quota = |body: Value| async move {
        let (status, created) = server.post("/v1/quotas", &body).await;
        assert_eq!(status, 201, "{created}");
    };
    quota(json!({"namespace": "shop", "tenant": "acme", "provider": "sms", "max_actions": 2,
                 "window": "hourly", "overage_behavior": {"degrade": {"fallback_provider": "sms-cheap"}}}))
    .await;
    quota(
        json!({"namespace": "shop", "tenant": "acme", "provider": "sms-cheap", "max_actions": 1,
                 "window": "hourly", "overage_behavior": "block"}),
    )
    .await;
    let send = |provider: &str, n: u32| {
        json!({"id": format!("{provider}-{n}"), "namespace": "shop", "tenant": "acme", "provider": provider,
               "action_type": "text", "payload": {"n": n}})
    };
    let mut served_by = Vec::new();
    for n in 0..4 {
        let (_, outcome) = server.post("/v1/dispatch", &send("sms", n)).await;
        served_by.push(
            outcome["Executed"]["body"]["provider"]
                .as_str()
                .map_or_else(|| outcome.to_string(), str::to_string),
        );
    }
    assert_eq!(served_by[..3], ["sms", "sms", "sms-cheap"]);
    assert!(
        served_by[3].contains("QuotaExceeded") && served_by[3].contains("\"block\""),
        "the fallback's own quota is full: {}",
        served_by[3]
    );
    let (_, record) = server.get("/v1/audit/sms-2").await;
    assert_eq!(record["provider"], json!("sms-cheap"));
    assert_eq!(
        record["verdict_details"]["quota_degraded"][0]["to"],
        json!("sms-cheap"),
        "{record}"
    );
    // A fallback that does not exist is refused at creation.
    let (status, body) = server
        .post(
            "/v1/quotas",
            &json!({"namespace": "shop", "tenant": "acme", "provider": "email", "max_actions": 5, "window": "daily",
                    "overage_behavior": {"degrade": {"fallback_provider": "pigeon"}}}),
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("overage_behavior.degrade.fallback_provider"))
    );

    quota(
        json!({"namespace": "shop", "tenant": "acme", "provider": "email", "max_actions": 2,
                 "window": "hourly", "overage_behavior": {"notify": {"target": "pager"}}}),
    )
    .await;
    for n in 0..5 {
        let (_, outcome) = server.post("/v1/dispatch", &send("email", n)).await;
        assert!(
            outcome.get("Executed").is_some(),
            "notify never refuses: {outcome}"
        );
    }
    assert_eq!(pager.calls.load(Ordering::SeqCst), 1, "once per window");
    server.advance(3600).await;
    for n in 5..8 {
        server.post("/v1/dispatch", &send("email", n)).await;
    }
    assert_eq!(
        pager.calls.load(Ordering::SeqCst),
        2,
        "and again in the next"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(
        (
            metrics["quota_degraded"].clone(),
            metrics["quota_notified"].clone()
        ),
        (json!(2), json!(2))
    );
}

/// Alertmanager's timers on a group rule: the first notification after
/// `group_wait`, the next no sooner than `group_interval` after it, and the
/// last one repeated every `repeat_interval` while events came within a day.
#[tokio::test]
async fn groups_follow_group_interval_and_repeat_interval() {
    let config = switchyard_config::Config::parse(
        "groups.toml",
        "[[providers]]\nname = \"ops\"\ntype = \"log\"\n",
    )
    .expect("config");
    let server = start(config, at("2026-01-05T10:00:00Z")).await;
    server
        .gateway
        .replace_rules(
            switchyard_rules::load_str(
                "groups.yaml",
                "rules:\n  - name: batch-alerts\n    condition:\n      field: action.action_type\n      eq: alert\n    action:\n      type: group\n      group_by: [payload.service]\n      group_wait_seconds: 30\n      group_interval_seconds: 300\n      repeat_interval_seconds: 3600\n",
            )
            .expect("rules"),
        )
        .expect("rules load");
    let alert = |n: u32| {
        json!({"id": format!("alert-{n}"), "namespace": "ops", "tenant": "infra", "provider": "ops",
               "action_type": "alert", "payload": {"service": "db", "n": n}})
    };
    let notifications = || async {
        let (_, page) = server
            .get("/v1/audit?namespace=ops&action_type=group_notification&limit=1")
            .await;
        (page["total"].clone(), page["records"][0].clone())
    };

    let (_, first) = server.post("/v1/dispatch", &alert(1)).await;
    assert_eq!(first["Grouped"]["notify_at"], json!("2026-01-05T10:00:30Z"));
    server.advance(31).await;
    assert_eq!(notifications().await.0, json!(1));
    // Notified at 10:00:31: the next notification waits for the interval.
    let (_, second) = server.post("/v1/dispatch", &alert(2)).await;
    assert_eq!(
        second["Grouped"]["notify_at"],
        json!("2026-01-05T10:05:31Z")
    );
    server.advance(299).await;
    assert_eq!(notifications().await.0, json!(1));
    server.advance(1).await;
    assert_eq!(notifications().await.0, json!(2));

    // An hour later the last notification goes out again.
    server.advance(3600).await;
    let (total, repeat) = notifications().await;
    assert_eq!(total, json!(3));
    let payload = &repeat["action_payload"];
    assert_eq!(
        (payload["repeat"].clone(), payload["event_count"].clone()),
        (json!(1), json!(1)),
        "{repeat}"
    );
    // Hourly while the last event (10:00:31) is less than a day old: 23
    // repeats in all, then none.
    for _ in 0..30 {
        server.advance(3600).await;
    }
    assert_eq!(notifications().await.0, json!(2 + 23));
}

/// Chain steps with Acteon's `retry` table try a retryable failure again
/// after their backoff before `on_failure` applies; `on_cancel` tells a
/// provider when a chain is cancelled.
#[tokio::test]
async fn chain_steps_retry_and_cancelled_chains_notify() {
    use std::sync::atomic::Ordering;

    // Fails the first two calls, then answers.
    let flaky = switchyard_tests::stub_service(|n| n >= 2, std::time::Duration::ZERO).await;
    let down = switchyard_tests::stub_service(|_| false, std::time::Duration::ZERO).await;
    let config = switchyard_config::Config::parse(
        "chains.toml",
        &format!(
            r#"
[executor]
max_retries = 0
[[providers]]
name = "charge"
type = "webhook"
url = "{}"
[[providers]]
name = "broken"
type = "webhook"
url = "{}"
[[providers]]
name = "ops"
type = "log"

[[chains.definitions]]
name = "pay"
on_cancel = {{ provider = "ops", action_type = "chain_cancelled" }}
[[chains.definitions.steps]]
name = "charge"
provider = "charge"
action_type = "charge"
retry = {{ max_retries = 3, backoff_ms = 2000, strategy = "fixed" }}

[[chains.definitions]]
name = "doomed"
[[chains.definitions.steps]]
name = "try"
provider = "broken"
action_type = "try"
retry = {{ max_retries = 2, backoff_ms = 1000, strategy = "exponential" }}

[[chains.definitions]]
name = "slow"
on_cancel = {{ provider = "ops", action_type = "chain_cancelled" }}
[[chains.definitions.steps]]
name = "later"
provider = "ops"
action_type = "later"
delay_seconds = 600
"#,
            flaky.url, down.url
        ),
    )
    .expect("config");
    let server = &start(config, at("2026-01-05T10:00:00Z")).await;
    let start_chain = |chain: &str| {
        let mut rules = switchyard_rules::load_str(
            "chains.yaml",
            &format!("rules:\n  - name: start\n    condition:\n      field: action.action_type\n      eq: {chain}\n    action:\n      type: chain\n      chain: {chain}\n"),
        )
        .expect("rules");
        server
            .gateway
            .replace_rules(std::mem::take(&mut rules))
            .expect("rules load");
        json!({"id": format!("{chain}-1"), "namespace": "shop", "tenant": "acme", "provider": "ops",
               "action_type": chain, "payload": {}})
    };
    let chain_of = |started: &Value| {
        started["ChainStarted"]["chain_id"]
            .as_str()
            .expect("chain id")
            .to_string()
    };
    let chain = |id: String| async move {
        let (_, chain) = server
            .get(&format!("/v1/chains/{id}?namespace=shop&tenant=acme"))
            .await;
        chain
    };

    // Two failures, retried after 2 s each, then success.
    let (_, started) = server.post("/v1/dispatch", &start_chain("pay")).await;
    let pay = chain_of(&started);
    server.run_due().await;
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
    server.advance(1).await;
    assert_eq!(
        flaky.calls.load(Ordering::SeqCst),
        1,
        "not before the backoff"
    );
    server.advance(1).await;
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    server.advance(2).await;
    let done = chain(pay).await;
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(done["steps"][0]["attempts"], json!(3));

    // Out of retries (1 + 2 tries, 1 s then 2 s apart): on_failure applies.
    let (_, started) = server.post("/v1/dispatch", &start_chain("doomed")).await;
    let doomed = chain_of(&started);
    server.run_due().await;
    server.advance(1).await;
    server.advance(2).await;
    server.advance(60).await;
    let failed = chain(doomed).await;
    assert_eq!(down.calls.load(Ordering::SeqCst), 3);
    assert_eq!(failed["status"], json!("failed"), "{failed}");

    // Cancelled while its first step waits: ops is told, under the chain.
    let (_, started) = server.post("/v1/dispatch", &start_chain("slow")).await;
    let slow = chain_of(&started);
    let (status, cancelled) = server
        .post(
            &format!("/v1/chains/{slow}/cancel"),
            &json!({"namespace": "shop", "tenant": "acme", "reason": "customer left"}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    let (_, notices) = server
        .get(&format!(
            "/v1/audit?namespace=shop&chain_id={slow}&action_type=chain_cancelled"
        ))
        .await;
    assert_eq!(notices["total"], json!(1), "{notices}");
    assert_eq!(
        notices["records"][0]["action_payload"]["reason"],
        json!("customer left")
    );
}
