//! Seed 003, "AWS Event-Driven Pipeline", in `gates` mode on the local
//! variant (log providers): the outcome table, humidity groups flushed per
//! floor, energy reports released after 60 s, and the recurring heartbeat
//! firing every 5 minutes of simulated time.

use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_tests::{TestServer, at, outcome_kind, repo_path, start};

/// 2026-01-05 10:00:00 UTC, on a 5-minute boundary.
const START: &str = "2026-01-05T10:00:00Z";

async fn iot() -> TestServer {
    let config = Config::load(&repo_path("rules/iot/gateway.local.toml")).expect("config");
    start(config, at(START)).await
}

fn event(
    id: &str,
    provider: &str,
    action_type: &str,
    dedup: Option<&str>,
    payload: Value,
) -> Value {
    let mut body = json!({"id": id, "namespace": "iot", "tenant": "smartbuilding-hq", "provider": provider,
                          "action_type": action_type, "payload": payload});
    if let Some(key) = dedup {
        body["dedup_key"] = json!(key);
    }
    body
}

fn reading(id: &str, sensor_type: &str, extra: Value) -> Value {
    let mut payload = json!({"device_id": format!("dev-{id}"), "sensor_type": sensor_type, "environment": "production"});
    if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
        p.extend(e);
    }
    event(
        id,
        "telemetry-normalizer",
        "sensor_reading",
        Some(&format!("reading-{id}")),
        payload,
    )
}

#[tokio::test]
async fn outcome_table_of_the_seed() {
    let server = iot().await;
    let mut sends: Vec<(&str, Value)> = vec![
        (
            "critical",
            reading("t1", "temperature", json!({"value": 92.5, "unit": "C"})),
        ),
        (
            "critical",
            reading("t2", "temperature", json!({"value": 88, "unit": "C"})),
        ),
        (
            "intrusion",
            reading(
                "m1",
                "motion",
                json!({"event": "intrusion", "zone": "lobby"}),
            ),
        ),
        (
            "intrusion",
            reading(
                "m2",
                "motion",
                json!({"event": "intrusion", "zone": "dock"}),
            ),
        ),
        (
            "normal",
            reading("t3", "temperature", json!({"value": 21.5, "unit": "C"})),
        ),
        (
            "normal",
            reading("t4", "temperature", json!({"value": 22, "unit": "C"})),
        ),
        (
            "normal",
            reading("t5", "temperature", json!({"value": 23, "unit": "C"})),
        ),
        (
            "humidity",
            reading("h1", "humidity", json!({"value": 40, "floor": 1})),
        ),
        (
            "humidity",
            reading("h2", "humidity", json!({"value": 42, "floor": 1})),
        ),
        (
            "humidity",
            reading("h3", "humidity", json!({"value": 55, "floor": 2})),
        ),
        (
            "energy",
            reading("e1", "energy", json!({"value": 120.5, "floor": 1})),
        ),
        (
            "energy",
            reading("e2", "energy", json!({"value": 98.1, "floor": 2})),
        ),
    ];
    let duplicate = reading("d1", "temperature", json!({"value": 20}));
    let mut duplicate_again = duplicate.clone();
    duplicate_again["id"] = json!("d2");
    sends.push(("duplicate", duplicate));
    sends.push(("duplicate", duplicate_again));
    let mut test_device = reading("x1", "temperature", json!({"value": 20}));
    test_device["payload"]["environment"] = json!("test");
    sends.push(("test-device", test_device.clone()));
    test_device["id"] = json!("x2");
    test_device["dedup_key"] = json!("reading-x2");
    sends.push(("test-device", test_device));
    sends.push((
        "lifecycle",
        event(
            "l1",
            "event-bus",
            "device_lifecycle",
            None,
            json!({"device_id": "dev-9", "event": "provisioned"}),
        ),
    ));
    sends.push((
        "firmware",
        event(
            "f1",
            "metrics-queue",
            "firmware_update",
            None,
            json!({"device_id": "dev-9", "version": "2.1", "signed": false}),
        ),
    ));

    let mut outcomes: Vec<(&str, Value)> = Vec::new();
    for (category, body) in sends {
        let (status, outcome) = server.post("/v1/dispatch", &body).await;
        assert_eq!(status, 200, "{category}: {outcome}");
        outcomes.push((category, outcome));
    }
    let kinds = |category: &str| -> Vec<String> {
        outcomes
            .iter()
            .filter(|(c, _)| *c == category)
            .map(|(_, o)| outcome_kind(o))
            .collect()
    };
    assert_eq!(kinds("critical"), ["Rerouted"; 2]);
    assert_eq!(
        outcomes[0].1["Rerouted"]["new_provider"],
        json!("alert-fanout")
    );
    assert_eq!(kinds("intrusion"), ["Rerouted"; 2]);
    assert_eq!(kinds("normal"), ["ChainStarted"; 3]);
    assert_eq!(
        outcomes[4].1["ChainStarted"]["chain_name"],
        json!("telemetry-processing")
    );
    assert_eq!(kinds("humidity"), ["Grouped"; 3]);
    assert_eq!(kinds("energy"), ["Scheduled"; 2]);
    assert_eq!(kinds("duplicate"), ["ChainStarted", "Deduplicated"]);
    assert_eq!(kinds("test-device"), ["Suppressed"; 2]);
    assert_eq!(kinds("lifecycle"), ["Rerouted"]);
    let lifecycle = &outcomes
        .iter()
        .find(|(c, _)| *c == "lifecycle")
        .expect("sent")
        .1;
    assert_eq!(lifecycle["Rerouted"]["new_provider"], json!("event-bus"));
    assert_eq!(kinds("firmware"), ["Suppressed"]);
    let (_, firmware) = server.get("/v1/audit/f1").await;
    assert_eq!(
        (
            firmware["verdict"].clone(),
            firmware["matched_rule"].clone()
        ),
        (json!("deny"), json!("deny-unsigned-firmware"))
    );
    // Humidity: one open group per floor, sizes 2 and 1.
    let (_, groups) = server
        .get("/v1/groups?namespace=iot&tenant=smartbuilding-hq")
        .await;
    let mut sizes: Vec<u64> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["event_count"].as_u64())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 2]);

    // Chains run to completion: normalize → detect-anomaly → critical-alert sub-chain → archive.
    server.run_due().await;
    let chain_id = outcomes[4].1["ChainStarted"]["chain_id"]
        .as_str()
        .expect("id")
        .to_string();
    let (_, chain) = server
        .get(&format!(
            "/v1/chains/{chain_id}?namespace=iot&tenant=smartbuilding-hq"
        ))
        .await;
    assert_eq!(chain["status"], json!("completed"), "{chain}");
    assert_eq!(
        chain["execution_path"],
        json!([
            "normalize",
            "detect-anomaly",
            "publish-event",
            "archive-metrics"
        ])
    );

    // 30 s: each floor's group flushes as one batched action.
    server.advance(30).await;
    let (_, flushed) = server
        .get("/v1/audit?namespace=iot&action_type=group_notification")
        .await;
    assert_eq!(flushed["total"], json!(2));
    let mut counts: Vec<u64> = flushed["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["action_payload"]["event_count"].as_u64())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2]);
    for record in flushed["records"].as_array().expect("records") {
        assert_eq!(record["outcome"], json!("executed"));
        assert_eq!(
            record["matched_rule"],
            json!("allow-remaining"),
            "resumed after the group rule"
        );
        assert_eq!(
            record["action_payload"]["pipeline_version"],
            json!(null),
            "audit keeps the unmodified payload"
        );
    }
    let (_, groups) = server
        .get("/v1/groups?namespace=iot&tenant=smartbuilding-hq")
        .await;
    assert_eq!(groups["total"], json!(0));

    // 60 s: energy reports are released and resume after the schedule rule.
    server.advance(30).await;
    let (_, e1) = server.get("/v1/audit/e1").await;
    assert_eq!(e1["outcome"], json!("chain_started"), "{e1}");
    assert_eq!(e1["matched_rule"], json!("chain-sensor-readings"));
}

#[tokio::test]
async fn throttle_lets_thirty_readings_a_minute_through() {
    let server = iot().await;
    let mut throttled = 0;
    for i in 0..35 {
        let (_, outcome) = server
            .post(
                "/v1/dispatch",
                &reading(&format!("r{i}"), "temperature", json!({"value": 20})),
            )
            .await;
        if outcome_kind(&outcome) == "Throttled" {
            throttled += 1;
        }
    }
    assert_eq!(throttled, 5);
    server.clock.advance(chrono::Duration::seconds(60));
    let (_, outcome) = server
        .post(
            "/v1/dispatch",
            &reading("later", "temperature", json!({"value": 20})),
        )
        .await;
    assert_eq!(outcome_kind(&outcome), "ChainStarted", "a new window");
}

#[tokio::test]
async fn recurring_heartbeat_fires_every_five_minutes() {
    let server = iot().await;
    let (status, created) = server
        .post(
            "/v1/recurring",
            &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "cron_expression": "*/5 * * * *", "timezone": "UTC",
                    "provider": "local-fallback", "action_type": "heartbeat", "payload": {"source": "gateway"},
                    "description": "pipeline heartbeat"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["next_fire_at"], json!("2026-01-05T10:05:00Z"));
    let id = created["id"].as_str().expect("id").to_string();
    // 20 minutes of simulated time, a minute at a time: 4 heartbeats.
    for _ in 0..20 {
        server.advance(60).await;
    }
    let (_, beats) = server
        .get("/v1/audit?namespace=iot&action_type=heartbeat")
        .await;
    assert_eq!(beats["total"], json!(4));
    assert!(
        beats["records"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["outcome"] == "executed")
    );
    let (_, item) = server.get(&format!("/v1/recurring/{id}")).await;
    assert_eq!(
        (item["fire_count"].clone(), item["next_fire_at"].clone()),
        (json!(4), json!("2026-01-05T10:25:00Z"))
    );
    // Paused: no more beats; resumed: the next boundary fires.
    server
        .post_raw(&format!("/v1/recurring/{id}/pause"), None, Vec::new())
        .await;
    server.advance(600).await;
    let (_, beats) = server
        .get("/v1/audit?namespace=iot&action_type=heartbeat")
        .await;
    assert_eq!(beats["total"], json!(4));
    server
        .post_raw(&format!("/v1/recurring/{id}/resume"), None, Vec::new())
        .await;
    server.advance(300).await;
    let (_, beats) = server
        .get("/v1/audit?namespace=iot&action_type=heartbeat")
        .await;
    assert_eq!(beats["total"], json!(5));
    // A bad cron expression names the field.
    let (status, body) = server
        .post("/v1/recurring", &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "cron_expression": "every tuesday",
                                        "provider": "local-fallback", "action_type": "x"}))
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("cron_expression"))
    );
}

/// Two handlers receiving the same tick (a duplicate delivery): one dispatch.
#[tokio::test]
async fn a_tick_delivered_twice_runs_once() {
    let server = iot().await;
    let (_, created) = server
        .post("/v1/recurring", &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "cron_expression": "*/5 * * * *",
                                        "provider": "local-fallback", "action_type": "heartbeat"}))
        .await;
    // As the queue carries it (the wire form), read back into a message.
    let message = switchyard_store::DelayedMessage::parse(
        &json!({"id": "dup", "kind": "recurring_fire",
                "body": {"namespace": "iot", "tenant": "smartbuilding-hq", "id": created["id"], "fire_at": created["next_fire_at"]}})
        .to_string(),
    )
    .expect("a recurring tick");
    server.clock.advance(chrono::Duration::minutes(5));
    let (a, b) = tokio::join!(
        server.gateway.handle(&message),
        server.gateway.handle(&message)
    );
    assert!(a.is_ok() && b.is_ok());
    let (_, beats) = server
        .get("/v1/audit?namespace=iot&action_type=heartbeat")
        .await;
    assert_eq!(beats["total"], json!(1));
}

#[tokio::test]
async fn retention_policies_through_the_api() {
    let server = iot().await;
    let (status, policy) = server
        .post(
            "/v1/retention",
            &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "audit_ttl_seconds": 3600,
                                        "state_ttl_seconds": 600, "event_ttl_seconds": 259200}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let (status, _) = server
        .post(
            "/v1/retention",
            &json!({"namespace": "iot", "tenant": "smartbuilding-hq"}),
        )
        .await;
    assert_eq!(status, 409);
    // The audit TTL now comes from the policy (1 h instead of the configured 7 days).
    server
        .post(
            "/v1/dispatch",
            &reading("n1", "temperature", json!({"value": 20})),
        )
        .await;
    let (_, record) = server.get("/v1/audit/n1").await;
    let dispatched: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(record["dispatched_at"].clone()).expect("ts");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(record["expires_at"].clone()).expect("ts");
    assert_eq!((expires - dispatched).num_seconds(), 3600);
    server.run_due().await;
    // The reaper deletes completed chains older than state_ttl_seconds.
    server.clock.advance(chrono::Duration::seconds(601));
    let report = server.gateway.run_retention().await.expect("reaper");
    assert_eq!(report.deleted_chains, 2, "the chain and its sub-chain");
    let (_, chains) = server
        .get("/v1/chains?namespace=iot&tenant=smartbuilding-hq")
        .await;
    assert_eq!(chains["count"], json!(0));
    let (_, list) = server.get("/v1/retention?namespace=iot").await;
    assert_eq!(list["count"], json!(1));
}

/// The requests of Acteon's AWS example setup script, in their shapes: a
/// quota, a retention policy with `compliance_hold`, and a recurring action
/// with `cron_expr` and an `action_template` object (our fixture, written
/// from the documented fields).
#[tokio::test]
async fn an_acteon_setup_script_creates_its_quota_retention_and_recurring_action() {
    let server = iot().await;
    let (status, quota) = server
        .post("/v1/quotas", &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "max_actions": 500,
                                    "window": "hourly", "overage_behavior": "block", "enabled": true,
                                    "description": "500 actions per hour"}))
        .await;
    assert!((200..300).contains(&status), "{status} {quota}");
    let (status, retention) = server
        .post(
            "/v1/retention",
            &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "enabled": true,
                                       "audit_ttl_seconds": 604_800, "event_ttl_seconds": 172_800,
                                       "compliance_hold": false, "description": "7-day audit"}),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {retention}");
    let (status, recurring) = server
        .post("/v1/recurring", &json!({"namespace": "iot", "tenant": "smartbuilding-hq",
                                       "cron_expr": "*/5 * * * *", "timezone": "UTC", "enabled": true,
                                       "action_template": {"provider": "event-bus", "action_type": "device_lifecycle",
                                                           "payload": {"event": "heartbeat_check"}},
                                       "description": "heartbeat every 5 minutes"}))
        .await;
    assert!((200..300).contains(&status), "{status} {recurring}");
    let (_, stored) = server
        .get(&format!(
            "/v1/recurring/{}",
            recurring["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(stored["provider"], "event-bus", "{stored}");
    assert_eq!(stored["action_type"], "device_lifecycle");
    assert_eq!(stored["payload"]["event"], "heartbeat_check");
    assert_eq!(stored["cron_expression"], "*/5 * * * *");

    // Both shapes at once, or neither: a 400 naming the field.
    let (status, both) = server
        .post("/v1/recurring", &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "cron_expr": "* * * * *",
                                       "provider": "event-bus", "action_type": "x",
                                       "action_template": {"provider": "event-bus", "action_type": "x"}}))
        .await;
    assert_eq!(
        (status, both["field"].clone()),
        (400, json!("action_template")),
        "{both}"
    );
    let (status, neither) = server
        .post(
            "/v1/recurring",
            &json!({"namespace": "iot", "tenant": "smartbuilding-hq", "cron_expr": "* * * * *"}),
        )
        .await;
    assert_eq!(
        (status, neither["field"].clone()),
        (400, json!("provider")),
        "{neither}"
    );

    // Deletes answer 204 with no body (what Acteon's clients expect), then 404.
    for path in [
        format!("/v1/recurring/{}", recurring["id"].as_str().expect("id")),
        format!("/v1/retention/{}", retention["id"].as_str().expect("id")),
        format!("/v1/quotas/{}", quota["id"].as_str().expect("id")),
    ] {
        let deleted = server
            .http
            .delete(server.url(&path))
            .send()
            .await
            .expect("delete");
        assert_eq!(deleted.status().as_u16(), 204, "{path}");
        assert!(deleted.bytes().await.expect("body").is_empty(), "{path}");
        assert_eq!(server.get(&path).await.0, 404, "{path}");
    }
}
