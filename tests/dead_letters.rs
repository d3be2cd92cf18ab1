//! Dead letters over HTTP: a message that fails every delivery of the local
//! worker is kept and audited; `/v1/dead-letters` lists it, replays it once
//! its cause is fixed, and drains what is left (also under Acteon's
//! `/v1/dlq/stats` and `/v1/dlq/drain`).

use serde_json::{Value, json};
use switchyard_gateway::MAX_DELIVERIES;
use switchyard_tests::poison::{corrupt_approval, poison};
use switchyard_tests::{TestServer, at, start_ecommerce};

const NOW: &str = "2026-01-05T17:00:00Z";

async fn letters(server: &TestServer) -> Vec<Value> {
    let (status, page) = server.get("/v1/dead-letters").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["count"],
        json!(page["entries"].as_array().map_or(0, Vec::len))
    );
    page["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_dead_letter_is_listed_replayed_and_drained() {
    let server = start_ecommerce(at(NOW)).await;
    let id = poison(&server, "broken-1").await;

    let listed = letters(&server).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let entry = &listed[0];
    assert_eq!(entry["id"], json!(id));
    assert_eq!(entry["kind"], json!("approval_expiry"));
    assert_eq!(
        (entry["namespace"].clone(), entry["tenant"].clone()),
        (json!("ecommerce"), json!("acme-store"))
    );
    assert_eq!(entry["attempts"], json!(MAX_DELIVERIES));
    assert_eq!(entry["replayable"], json!(true));
    assert!(
        entry["error"]
            .as_str()
            .is_some_and(|e| e.contains("corrupt record")),
        "{entry}"
    );
    // The fields Acteon's DlqEntry reads.
    for field in [
        "action_id",
        "namespace",
        "tenant",
        "provider",
        "action_type",
        "error",
        "attempts",
        "timestamp",
    ] {
        assert!(!entry[field].is_null(), "{field} in {entry}");
    }
    let (status, stats) = server.get("/v1/dlq/stats").await;
    assert_eq!((status, stats), (200, json!({"enabled": true, "count": 1})));

    // The same failure is in the audit trail, under the approval's tenant.
    let (_, audit) = server
        .get("/v1/audit?namespace=ecommerce&tenant=acme-store&verdict=dead_letter")
        .await;
    assert_eq!(audit["total"], json!(1), "{audit}");

    // Fixed (the corrupt record is gone), a replay delivers it once more and
    // it succeeds: nothing left, nothing queued.
    server
        .memory
        .ports
        .state
        .delete(&corrupt_approval("broken-1"))
        .await
        .expect("delete");
    let (status, replayed) = server
        .post(&format!("/v1/dead-letters/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["replayed"]["id"], json!(id));
    assert!(letters(&server).await.is_empty(), "forgotten once sent");
    assert_eq!(server.run_due().await, 1, "delivered again");
    assert!(server.memory.queue.is_empty());
    assert!(letters(&server).await.is_empty(), "and it succeeded");

    let (status, missing) = server
        .post(&format!("/v1/dead-letters/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, 404, "{missing}");

    // Two more, drained at once: each is returned exactly once.
    let first = poison(&server, "broken-2").await;
    let second = poison(&server, "broken-3").await;
    let (status, drained) = server.post("/v1/dlq/drain", &json!({})).await;
    assert_eq!(status, 200, "{drained}");
    assert_eq!(drained["count"], json!(2));
    assert_eq!(drained["more"], json!(false));
    let ids: Vec<&str> = drained["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action_id"].as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let (_, stats) = server.get("/v1/dlq/stats").await;
    assert_eq!(stats["count"], json!(0));
    let (_, again) = server.post("/v1/dead-letters/drain", &json!({})).await;
    assert_eq!(again["count"], json!(0), "nothing handed out twice");

    // Replays and drains are administrative changes, audited.
    let (_, admin) = server
        .get("/v1/audit?namespace=~switchyard&tenant=~admin")
        .await;
    let changes: Vec<&str> = admin["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["action_type"].as_str())
        .collect();
    assert!(changes.contains(&"dead_letter_replayed"), "{changes:?}");
    assert!(changes.contains(&"dead_letters_drained"), "{changes:?}");
}

#[tokio::test]
async fn bad_dead_letter_requests_are_refused_with_the_field() {
    let server = start_ecommerce(at(NOW)).await;
    for (path, field) in [
        ("/v1/dead-letters?limit=0", "limit"),
        ("/v1/dead-letters?limit=1001", "limit"),
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(
            (status, body["field"].clone()),
            (400, json!(field)),
            "{path}: {body}"
        );
    }
    let (status, body) = server.post("/v1/dlq/drain?cursor=abc", &json!({})).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("cursor")),
        "{body}"
    );
    let (status, body) = server.get("/v1/dead-letters?color=red").await;
    assert_eq!(status, 400, "{body}");
}
