//! Every bad request gets a 4xx with a JSON body saying what and where.

use serde_json::json;
use switchyard_tests::{TestServer, at, repo_path, start_ecommerce};

async fn server() -> TestServer {
    start_ecommerce(at("2026-01-05T17:00:00Z")).await
}

fn order() -> serde_json::Value {
    json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "payment-gateway",
           "action_type": "place_order", "payload": {"total_cents": 100}})
}

#[tokio::test]
async fn malformed_and_invalid_actions() {
    let s = server().await;
    let (status, body) = s
        .post_raw(
            "/v1/dispatch",
            Some("application/json"),
            b"{\"namespace\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("MALFORMED_JSON"))
    );
    assert!(
        body["error"].as_str().expect("msg").contains("line 1"),
        "{body}"
    );
    // Acteon's clients read `message` and `retryable`: a bad request is not
    // worth sending again unchanged.
    assert_eq!(body["message"], body["error"]);
    assert_eq!(body["retryable"], json!(false));

    let mut missing = order();
    missing
        .as_object_mut()
        .expect("object")
        .remove("action_type");
    let (status, body) = s.post("/v1/dispatch", &missing).await;
    assert_eq!((status, body["field"].clone()), (400, json!("action_type")));

    let mut wrong = order();
    wrong["tenant"] = json!(42);
    let (status, body) = s.post("/v1/dispatch", &wrong).await;
    assert_eq!((status, body["field"].clone()), (400, json!("tenant")));

    let mut meta = order();
    meta["metadata"] = json!({"ok": "yes", "bad": {"nested": 1}});
    let (status, body) = s.post("/v1/dispatch", &meta).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("metadata.bad"))
    );

    let mut unknown = order();
    unknown["provider"] = json!("carrier-pigeon");
    let (status, body) = s.post("/v1/dispatch", &unknown).await;
    assert_eq!(
        (status, body["code"].clone(), body["field"].clone()),
        (400, json!("UNKNOWN_PROVIDER"), json!("provider"))
    );

    let (status, body) = s.post("/v1/dispatch", &json!([1, 2])).await;
    assert_eq!((status, body["field"].clone()), (400, json!("$")));

    let (status, body) = s
        .post_raw("/v1/dispatch", Some("text/plain"), b"{}".to_vec())
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (415, json!("UNSUPPORTED_MEDIA_TYPE"))
    );

    let (status, body) = s.post_raw("/v1/dispatch", None, Vec::new()).await;
    assert_eq!(status, 400, "{body}");

    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024));
    let (status, body) = s
        .post_raw("/v1/dispatch", Some("application/json"), big.into_bytes())
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (413, json!("PAYLOAD_TOO_LARGE"))
    );

    let (status, body) = s.post("/v1/dispatch?dry_run=maybe", &order()).await;
    assert_eq!(status, 400, "{body}");

    // Nothing above was dispatched.
    let (_, metrics) = s.get("/metrics").await;
    assert_eq!(metrics["executed"], json!(0));
}

#[tokio::test]
async fn batches_report_per_item() {
    let s = server().await;
    let mut bad = order();
    bad.as_object_mut().expect("object").remove("payload");
    let (status, body) = s
        .post("/v1/dispatch/batch", &json!([order(), bad, order()]))
        .await;
    assert_eq!(status, 200);
    let items = body.as_array().expect("array");
    assert_eq!(items.len(), 3);
    assert!(items[0].get("Executed").is_some(), "{body}");
    assert_eq!(items[1]["field"], json!("[1].payload"));
    assert!(items[2].get("Executed").is_some());
    let (status, body) = s
        .post("/v1/dispatch/batch", &json!({"not": "an array"}))
        .await;
    assert_eq!(status, 400, "{body}");
    let too_many: Vec<_> = (0..1001).map(|_| order()).collect();
    let (status, body) = s.post("/v1/dispatch/batch", &json!(too_many)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .expect("msg")
            .contains("exceeds maximum of 1000")
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_queries() {
    let s = server().await;
    let (status, body) = s.get("/v1/nothing-here").await;
    assert_eq!((status, body["code"].clone()), (404, json!("NOT_FOUND")));
    let (status, body) = s.get("/v1/dispatch").await;
    assert_eq!(
        (status, body["code"].clone()),
        (405, json!("METHOD_NOT_ALLOWED"))
    );
    let (status, body) = s.get("/v1/audit?limit=0").await;
    assert_eq!((status, body["field"].clone()), (400, json!("limit")));
    let (status, body) = s.get("/v1/audit?limit=abc").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s.get("/v1/audit/never-dispatched").await;
    assert_eq!(status, 404);
    let (status, body) = s
        .put(
            "/v1/rules/dedup-double-submit/enabled",
            &json!({"enabled": "yes"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // Reload never takes a path from the request (it let a caller probe
    // the server's files): the configured source only.
    let (status, body) = s
        .post(
            "/v1/rules/reload",
            &json!({"directory": "/definitely/not/here"}),
        )
        .await;
    assert_eq!((status, body["field"].clone()), (400, json!("directory")));
    assert!(
        !body["error"].as_str().expect("msg").contains("not found"),
        "says nothing about the path: {body}"
    );
    let (status, body) = s
        .post(
            "/v1/quotas",
            &json!({"namespace": "a:b", "tenant": "t", "max_actions": 1, "window": "hourly"}),
        )
        .await;
    assert_eq!((status, body["field"].clone()), (400, json!("namespace")));
    let (status, body) = s
        .post(
            "/v1/quotas",
            &json!({"namespace": "a", "tenant": "t", "max_actions": 1, "window": "fortnightly"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_bad_rule_file_on_reload_keeps_the_old_rules() {
    // The server's own rule directory: a copy of the example, then a bad file in it.
    let dir = std::env::temp_dir().join(format!("switchyard-e2e-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for file in ["fraud.yaml", "processing.yaml", "safety.yaml"] {
        std::fs::copy(
            repo_path(&format!("rules/ecommerce/{file}")),
            dir.join(file),
        )
        .expect("copy");
    }
    let mut config = switchyard_tests::ecommerce_config();
    config.rules.directory = Some(dir.clone());
    let s = switchyard_tests::start(config, at("2026-01-05T17:00:00Z")).await;
    std::fs::write(dir.join("broken.yaml"), "rules:\n  - name: broken\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: teleport\n").expect("write");
    let (status, body) = s.post("/v1/rules/reload", &json!({})).await;
    assert_eq!((status, body["code"].clone()), (422, json!("RULE_ERROR")));
    let message = body["error"].as_str().expect("msg");
    assert!(
        message.contains("broken.yaml:7:13") && message.contains("teleport"),
        "{message}"
    );
    let (_, rules) = s.get("/v1/rules").await;
    assert_eq!(
        rules.as_array().map(Vec::len),
        Some(6),
        "old rules still serve"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A retention TTL beyond 10 years used to make every later dispatch of the
/// tenant panic after its provider ran: refused at the API now.
#[tokio::test]
async fn durations_a_client_sends_are_bounded() {
    let s = server().await;
    for ttl in [json!(10_000_000_000_000u64), json!(0)] {
        let (status, body) = s
            .post(
                "/v1/retention",
                &json!({"namespace": "ecommerce", "tenant": "acme-store", "audit_ttl_seconds": ttl}),
            )
            .await;
        assert_eq!(
            (status, body["field"].clone()),
            (400, json!("audit_ttl_seconds")),
            "{body}"
        );
    }
    let (status, created) = s
        .post(
            "/v1/retention",
            &json!({"namespace": "ecommerce", "tenant": "acme-store", "audit_ttl_seconds": 86400}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, body) = s
        .put(
            &format!("/v1/retention/{}", created["id"].as_str().expect("id")),
            &json!({"event_ttl_seconds": 400_000_000u64}),
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("event_ttl_seconds"))
    );
    let (status, outcome) = s.post("/v1/dispatch", &order()).await;
    assert_eq!(status, 200, "dispatch still serves: {outcome}");
}

/// Names and ids follow the dispatch rules on every route: a newline in a
/// namespace used to create a recurring action no route could name again.
#[tokio::test]
async fn every_route_takes_only_identifiers() {
    let s = server().await;
    let (status, body) = s
        .post(
            "/v1/recurring",
            &json!({"namespace": "eco\nmerce", "tenant": "acme-store", "cron_expression": "* * * * *",
                    "provider": "warehouse", "action_type": "restock"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("namespace")),
        "{body}"
    );
    let long = "x".repeat(300);
    for (path, field) in [
        (
            "/v1/chains/a%0Ab?namespace=ecommerce&tenant=acme-store".to_string(),
            "id",
        ),
        (
            format!("/v1/chains/{long}?namespace=ecommerce&tenant=acme-store"),
            "id",
        ),
        (
            format!("/v1/chains?namespace=ecommerce&tenant={long}"),
            "tenant",
        ),
        (
            "/v1/events/a%07b?namespace=ecommerce&tenant=acme-store".to_string(),
            "fingerprint",
        ),
    ] {
        let (status, body) = s.get(&path).await;
        assert_eq!(
            (status, body["field"].clone()),
            (400, json!(field)),
            "{path}: {body}"
        );
    }
    // A path that is not UTF-8 once decoded: still a JSON error.
    let (status, body) = s.get("/v1/quotas/%FF%FE").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string());
    let mut order = order();
    order["dedup_key"] = json!("k".repeat(2000));
    let (status, body) = s.post("/v1/dispatch", &order).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("dedup_key")),
        "{body}"
    );
}

/// `[rules] on_type_error = "reject"`: an amount the approval rule cannot
/// compare (a list, a non-number string) is refused with 422 naming the rule
/// and the field, and nothing executes. Under the default (`false`) the rule
/// is skipped and the order executes: the trade README describes.
#[tokio::test]
async fn wrongly_typed_fields_are_refused_when_configured() {
    let mut config = switchyard_tests::ecommerce_config();
    config.rules.on_type_error = switchyard_rules::OnTypeError::Reject;
    let strict = switchyard_tests::start(config, at("2026-01-05T17:00:00Z")).await;
    for (n, amount) in [json!([75000]), json!("NaN"), json!(null)]
        .into_iter()
        .enumerate()
    {
        let mut action = order();
        action["id"] = json!(format!("typed-{n}"));
        action["payload"]["total_cents"] = amount.clone();
        let (status, body) = strict.post("/v1/dispatch", &action).await;
        assert_eq!(status, 422, "{amount}: {body}");
        assert_eq!(body["code"], json!("RULE_TYPE_ERROR"), "{body}");
        assert_eq!(body["rule"], json!("approve-high-value"), "{body}");
        assert_eq!(body["field"], json!("action.payload.total_cents"), "{body}");
        let (_, audit) = strict
            .get(&format!(
                "/v1/audit?namespace=ecommerce&tenant=acme-store&action_id=typed-{n}"
            ))
            .await;
        assert_eq!(
            audit["total"],
            json!(0),
            "nothing executed or audited: {audit}"
        );
    }
    // A well-typed order still goes through.
    let (status, body) = strict.post("/v1/dispatch", &order()).await;
    assert_eq!(status, 200, "{body}");

    let lenient = server().await;
    let mut action = order();
    action["payload"]["total_cents"] = json!([75000]);
    let (status, body) = lenient.post("/v1/dispatch", &action).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        switchyard_tests::outcome_kind(&body),
        "Executed",
        "the default skips the rule (Acteon's outcome where it has one): {body}"
    );
}

/// `field` is the JSON path of the offending field, never its value.
#[tokio::test]
async fn error_fields_are_json_paths() {
    let s = server().await;
    let quota = |max: serde_json::Value| {
        json!({"namespace": "ecommerce", "tenant": "acme-store", "max_actions": max,
               "window": "hourly", "overage_behavior": "block"})
    };
    let (status, body) = s.post("/v1/quotas", &quota(json!(-1))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], json!("max_actions"), "{body}");
    let (status, body) = s.post("/v1/quotas", &quota(json!("many"))).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("max_actions")),
        "{body}"
    );
    let mut missing = quota(json!(10));
    missing.as_object_mut().expect("object").remove("window");
    let (status, body) = s.post("/v1/quotas", &missing).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("window")),
        "{body}"
    );
}
