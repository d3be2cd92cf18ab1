//! Tenant isolation over HTTP: grant refusals, batches item by item, reads
//! and the stream scoped to the caller's tenants, one action id in two
//! tenants.

use serde_json::{Value, json};
use switchyard_tests::auth::{NAMESPACE, OTHER_TENANT, TENANT, auth_server, dispatch_ok, order};
use switchyard_tests::{TestServer, outcome_kind};

#[tokio::test]
async fn a_grant_refusal_names_what_no_grant_covers() {
    let (s, keys) = auth_server().await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.operator),
            Some(&order(OTHER_TENANT, "x1", 100)),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        json!(format!(
            "forbidden: no grant covers tenant={OTHER_TENANT}, namespace={NAMESPACE}, provider=payment-gateway, action=place_order"
        ))
    );
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(&keys.viewer),
            Some(&order(TENANT, "x2", 100)),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("requires the operator role"),
        "{body}"
    );
}

#[tokio::test]
async fn a_batch_checks_each_item() {
    let (s, keys) = auth_server().await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch/batch",
            Some(&keys.operator),
            Some(&json!([
                order(TENANT, "b1", 1500),
                order(OTHER_TENANT, "b2", 1500),
                order(TENANT, "b3", 1500)
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body.as_array().expect("results");
    assert_eq!(outcome_kind(&items[0]), "Executed");
    assert_eq!(items[1]["code"], json!("FORBIDDEN"), "{}", items[1]);
    assert_eq!(outcome_kind(&items[2]), "Executed");
}

#[tokio::test]
async fn reads_are_scoped_to_the_callers_tenants() {
    let (s, keys) = auth_server().await;
    dispatch_ok(&s, &keys.operator, TENANT, "acme-1").await;
    dispatch_ok(&s, &keys.other, OTHER_TENANT, "globex-1").await;
    // Without filters, a tenant key reads its own tenant only.
    let (status, page) = s
        .call("GET", "/v1/audit?limit=100", Some(&keys.viewer), None)
        .await;
    assert_eq!(status, 200, "{page}");
    let records = page["records"].as_array().expect("records");
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["tenant"] == TENANT), "{page}");
    // The audit record carries who dispatched.
    let mine = records
        .iter()
        .find(|r| r["action_id"] == "acme-1")
        .expect("acme-1 audited");
    assert_eq!(
        (mine["caller_id"].clone(), mine["auth_method"].clone()),
        (json!("operator"), json!("api_key"))
    );
    // Asking for another tenant is refused; its record by id reads as absent.
    let (status, _) = s
        .call(
            "GET",
            &format!("/v1/audit?namespace={NAMESPACE}&tenant={OTHER_TENANT}"),
            Some(&keys.viewer),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        s.call("GET", "/v1/audit/globex-1", Some(&keys.viewer), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.call("GET", "/v1/audit/globex-1", Some(&keys.admin), None)
            .await
            .0,
        200
    );
    assert_eq!(
        s.call("GET", "/v1/audit/acme-1", Some(&keys.viewer), None)
            .await
            .0,
        200
    );
}

/// Action ids are the clients' own: when two tenants pick the same one,
/// each reads its own record by id (the other's, newer, neither shows nor
/// hides it), and `namespace`/`tenant` pick one for a caller who sees both.
#[tokio::test]
async fn one_action_id_in_two_tenants_stays_two_records() {
    let (s, keys) = auth_server().await;
    dispatch_ok(&s, &keys.operator, TENANT, "shared-1").await;
    dispatch_ok(&s, &keys.other, OTHER_TENANT, "shared-1").await;
    for (key, tenant) in [(&keys.viewer, TENANT), (&keys.other, OTHER_TENANT)] {
        let (status, record) = s.call("GET", "/v1/audit/shared-1", Some(key), None).await;
        assert_eq!(status, 200, "{record}");
        assert_eq!(record["tenant"], json!(tenant), "{record}");
    }
    let (status, record) = s
        .call(
            "GET",
            &format!("/v1/audit/shared-1?namespace={NAMESPACE}&tenant={TENANT}"),
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!((status, record["tenant"].clone()), (200, json!(TENANT)));
    let (status, _) = s
        .call(
            "GET",
            "/v1/audit/shared-1?tenant=bad%0Aname",
            Some(&keys.admin),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

/// Read SSE `data:` lines for a while.
async fn stream_events(
    s: &TestServer,
    key: &str,
    path: &str,
    wait: std::time::Duration,
) -> Vec<Value> {
    let mut response = s
        .http
        .get(s.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status().as_u16(), 200);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

#[tokio::test]
async fn the_stream_never_sends_another_tenants_events() {
    let (s, keys) = auth_server().await;
    let server = std::sync::Arc::new(s);
    let (a, b) = (server.clone(), server.clone());
    let (viewer, other) = (keys.viewer.clone(), keys.other.clone());
    // Unfiltered streams: the server filters by grants.
    let mine = tokio::spawn(async move {
        stream_events(
            &a,
            &viewer,
            "/v1/stream",
            std::time::Duration::from_millis(2500),
        )
        .await
    });
    let theirs = tokio::spawn(async move {
        stream_events(
            &b,
            &other,
            "/v1/stream",
            std::time::Duration::from_millis(2500),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    dispatch_ok(&server, &keys.operator, TENANT, "s-acme").await;
    dispatch_ok(&server, &keys.other, OTHER_TENANT, "s-globex").await;
    let mine = mine.await.expect("stream");
    let theirs = theirs.await.expect("stream");
    assert!(mine.iter().any(|e| e["action_id"] == "s-acme"), "{mine:?}");
    assert!(mine.iter().all(|e| e["tenant"] == TENANT), "{mine:?}");
    assert!(
        theirs.iter().any(|e| e["action_id"] == "s-globex"),
        "{theirs:?}"
    );
    assert!(
        theirs.iter().all(|e| e["tenant"] == OTHER_TENANT),
        "{theirs:?}"
    );
}
