//! Approval links that cannot be abused (signature, purpose, expiry, single
//! use) and rate limits that answer 429 with Retry-After.

use serde_json::{Value, json};
use switchyard_tests::auth::{
    NAMESPACE, NOW, TENANT, auth_config, auth_server, order, scoped, write_auth_file,
};
use switchyard_tests::{TestServer, at, start};

#[tokio::test]
async fn approval_links_cannot_be_abused() {
    let (s, keys) = auth_server().await;
    let (status, pending) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.dispatcher),
            Some(&order(TENANT, "big-1", 90_000)),
        )
        .await;
    assert_eq!(status, 200);
    let pending = &pending["PendingApproval"];
    let id = pending["approval_id"]
        .as_str()
        .expect("approval id")
        .to_string();
    // With auth on, the dispatcher does not receive the signed links.
    assert!(
        pending.get("approve_url").is_none() && pending.get("reject_url").is_none(),
        "{pending}"
    );
    // The links went to the notify provider only: rebuild them as it got them.
    let approve_url = links_of(&s, &id).await.0;
    let reject_url = approve_url.replace("/approve?", "/reject?");
    // A reject path with the approve signature (and the reverse) is refused.
    let (status, body) = post_link(&s, &reject_url).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("BAD_SIGNATURE"))
    );
    let (real_approve, real_reject) = links_of(&s, &id).await;
    let forged = real_approve.split('?').next().expect("path").to_string()
        + "?"
        + real_reject.split('?').nth(1).expect("query");
    let (status, _) = post_link(&s, &forged).await;
    assert_eq!(status, 403, "a reject link never approves");
    // The key that dispatched cannot approve through the API; refused and audited.
    let decide = format!("/v1/approvals/{NAMESPACE}/{TENANT}/{id}/approve");
    let (status, body) = s.call("POST", &decide, Some(&keys.dispatcher), None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("SELF_APPROVAL"))
    );
    let (_, page) = s
        .call(
            "GET",
            &scoped("/v1/audit?outcome=approval_refused"),
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!(
        page["records"][0]["caller_id"],
        json!("dispatcher"),
        "{page}"
    );
    // Another operator of the tenant may; the audit says who.
    let (status, body) = s.call("POST", &decide, Some(&keys.operator), None).await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("approved")),
        "{body}"
    );
    let (_, record) = s
        .call("GET", "/v1/audit/big-1", Some(&keys.admin), None)
        .await;
    assert_eq!(record["caller_id"], json!("operator"), "{record}");
    // The genuine reject link now finds it decided.
    let (status, _) = post_link(&s, &real_reject).await;
    assert_eq!(status, 409);
}

/// The signed links, as the notification carried them (rebuilt from the
/// gateway's signer the same way the notification was).
async fn links_of(s: &TestServer, id: &str) -> (String, String) {
    let record = s
        .gateway
        .ports()
        .state
        .get(&switchyard_store::StateKey::new(
            NAMESPACE, TENANT, "approval", id,
        ))
        .await
        .expect("get")
        .expect("approval record");
    let value: Value = serde_json::from_str(&record.value).expect("json");
    let expires =
        chrono::DateTime::parse_from_rfc3339(value["expires_at"].as_str().expect("expiry"))
            .expect("time")
            .timestamp();
    let signer = s.gateway.signer();
    let link = |purpose: switchyard_gateway::LinkPurpose| {
        format!(
            "/v1/approvals/{NAMESPACE}/{TENANT}/{id}/{}?sig={}&expires_at={expires}&kid={}",
            purpose.as_str(),
            signer.sign(NAMESPACE, TENANT, id, expires, purpose),
            signer.kid()
        )
    };
    (
        link(switchyard_gateway::LinkPurpose::Approve),
        link(switchyard_gateway::LinkPurpose::Reject),
    )
}

async fn post_link(s: &TestServer, link: &str) -> (u16, Value) {
    s.call("POST", link, None, None).await
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let keys = write_auth_file();
    let mut config = auth_config(&keys);
    config.rate_limit.enabled = true;
    config.rate_limit.callers.default.requests_per_window = 3;
    config.rate_limit.tenants.enabled = true;
    config.rate_limit.tenants.default.requests_per_window = 4;
    let s = start(config, at(NOW)).await;
    let path = scoped("/v1/chains");
    for _ in 0..3 {
        assert_eq!(s.call("GET", &path, Some(&keys.viewer), None).await.0, 200);
    }
    let response = s
        .http
        .get(s.url(&path))
        .bearer_auth(&keys.viewer)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], json!("RATE_LIMITED"));
    // Acteon's clients read `message` and `retryable`.
    assert_eq!(body["message"], body["error"]);
    assert_eq!(body["retryable"], json!(true));
    // Another key has its own bucket; the tenant's bucket spans keys.
    let mut statuses = Vec::new();
    for (i, key) in [
        &keys.operator,
        &keys.operator,
        &keys.operator,
        &keys.dispatcher,
        &keys.dispatcher,
    ]
    .iter()
    .enumerate()
    {
        let (status, _) = s
            .call(
                "POST",
                "/v1/dispatch",
                Some(key),
                Some(&order(TENANT, &format!("r{i}"), 1500)),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 200, 429],
        "4 per tenant, whoever sends"
    );
}
