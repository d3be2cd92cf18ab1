//! `GET /v1/stream` under load and abuse: bursts are read through in order,
//! connections are bounded per tenant and in total, `Last-Event-ID` is
//! checked and its replay bounded, and a client that stops reading is
//! dropped with a final event instead of buffered.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use switchyard_config::Config;
use switchyard_core::AuditRecord;
use switchyard_tests::{Backend, TestServer, ecommerce_config, start_on};
use tokio::io::AsyncReadExt;
use uuid::{NoContext, Timestamp, Uuid};

fn record(id: String, tenant: &str, n: usize) -> AuditRecord {
    let now = Utc::now();
    AuditRecord {
        event: Some(switchyard_core::AuditEvent::ActionDispatched),
        id,
        action_id: format!("burst-{n}"),
        chain_id: None,
        namespace: "burst".into(),
        tenant: tenant.into(),
        provider: "log".into(),
        action_type: "tick".into(),
        verdict: "allow".into(),
        matched_rule: None,
        outcome: "executed".into(),
        action_payload: None,
        verdict_details: json!({}),
        outcome_details: json!({"status": "success"}),
        metadata: Default::default(),
        dispatched_at: now,
        completed_at: now,
        duration_ms: 0,
        expires_at: None,
        caller_id: "test".into(),
        auth_method: "system".into(),
    }
}

/// `n` UUIDv7 ids minted within one second from now, ascending.
fn ids_within_a_second(n: usize) -> Vec<String> {
    let start = Utc::now().timestamp_millis() as u64;
    let mut ids: Vec<String> = (0..n)
        .map(|i| {
            let ms = start + (i as u64 * 1000 / n as u64);
            let ts = Timestamp::from_unix(NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
            Uuid::new_v7(ts).to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// Write `n` records minted within one second straight into the server's
/// audit store, in id order; their ids.
async fn append_burst(server: &TestServer, n: usize) -> Vec<String> {
    let audit = server.gateway.ports().audit.clone();
    let ids = ids_within_a_second(n);
    for (i, id) in ids.iter().enumerate() {
        audit
            .append(record(id.clone(), "t1", i))
            .await
            .expect("append");
    }
    ids
}

/// An open SSE response and the text read from it so far.
struct Listener {
    response: reqwest::Response,
    text: String,
}

impl Listener {
    async fn open(server: &TestServer, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = server.http.get(server.url(&format!("/v1/stream?{query}")));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("connect");
        assert_eq!(response.status(), 200, "stream opens");
        Self {
            response,
            text: String::new(),
        }
    }

    /// Read until `done(text)` holds, or fail after `limit`.
    async fn read_until(&mut self, limit: Duration, done: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.text) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "stream did not deliver in time; got {} events",
                        self.text.matches("\nid: ").count()
                    )
                })
                .expect("read");
            match chunk {
                Some(bytes) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                None => break,
            }
        }
    }

    fn ids(&self) -> Vec<String> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .map(str::to_string)
            .collect()
    }
}

/// Every wanted id once, in order; on failure, say how it differs (not
/// thousands of ids).
fn assert_same_ids(got: &[String], want: &[String]) {
    if got == want {
        return;
    }
    let first_difference = got.iter().zip(want).position(|(a, b)| a != b);
    let unordered = got.windows(2).filter(|w| w[0] >= w[1]).count();
    let missing = want.iter().filter(|id| !got.contains(id)).count();
    panic!(
        "got {} events, want {}: first difference at {first_difference:?}, {unordered} out of order or repeated, {missing} missing",
        got.len(),
        want.len()
    );
}

async fn wait_for_connections(server: &TestServer, n: u64) {
    for _ in 0..100 {
        let (_, metrics) = server.get("/metrics").await;
        if metrics["sse_connections"] == json!(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} open streams");
}

/// 5,000 records minted within one second (ten times a feed page, all inside
/// the late-write margin, where the old per-connection poller stalled after
/// 484 events) all arrive, in id order, and so does a record after them.
async fn burst_is_read_through(backend: Backend) {
    let Some(server) = start_on(backend, ecommerce_config(), Utc::now()).await else {
        return;
    };
    let mut listener = Listener::open(&server, "namespace=burst", None).await;
    wait_for_connections(&server, 1).await;
    let audit = server.gateway.ports().audit.clone();
    let ids = append_burst(&server, 5_000).await;
    listener
        // Generous: the emulator answers one request at a time, and on a slow
        // host the fan-out reads of 5,000 records take minutes.
        .read_until(Duration::from_secs(300), |t| {
            t.matches("\nid: ").count() + usize::from(t.starts_with("id: ")) >= 5_000
        })
        .await;
    assert_same_ids(&listener.ids(), &ids);
    let later = Uuid::now_v7().to_string();
    audit
        .append(record(later.clone(), "t1", 5_000))
        .await
        .expect("append");
    listener
        .read_until(Duration::from_secs(60), |t| t.contains(&later))
        .await;
    assert_eq!(listener.ids().len(), 5_001);
}

#[tokio::test]
async fn burst_is_read_through_on_memory() {
    burst_is_read_through(Backend::Memory).await;
}

#[tokio::test]
async fn burst_is_read_through_on_dynamodb() {
    burst_is_read_through(Backend::DynamoDb).await;
}

#[tokio::test]
async fn burst_is_read_through_on_postgres() {
    burst_is_read_through(Backend::Postgres).await;
}

fn bounded_config() -> Config {
    let mut config = ecommerce_config();
    config.server.max_sse_connections_per_tenant = 2;
    config.server.max_sse_connections = 3;
    config
}

#[tokio::test]
async fn connections_are_bounded_per_tenant_and_in_total() {
    let server = start_on(Backend::Memory, bounded_config(), Utc::now())
        .await
        .expect("memory");
    let a1 = Listener::open(&server, "namespace=burst&tenant=a", None).await;
    let _a2 = Listener::open(&server, "namespace=burst&tenant=a", None).await;
    let refused = server
        .http
        .get(server.url("/v1/stream?namespace=burst&tenant=a"))
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], json!("TOO_MANY_STREAMS"), "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_sse_connections_per_tenant")),
        "{body}"
    );
    // Another tenant still gets in, up to the process-wide bound.
    let _b1 = Listener::open(&server, "namespace=burst&tenant=b", None).await;
    let (status, body) = server.get("/v1/stream?namespace=burst&tenant=c").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_sse_connections)")),
        "{body}"
    );
    // A closed connection frees its place.
    drop(a1);
    wait_for_connections(&server, 2).await;
    let _a3 = Listener::open(&server, "namespace=burst&tenant=a", None).await;
}

#[tokio::test]
async fn last_event_id_is_checked_and_replay_bounded() {
    let mut config = ecommerce_config();
    config.server.sse_replay_max_events = 3;
    let server = start_on(Backend::Memory, config, Utc::now())
        .await
        .expect("memory");
    for bad in ["0", "not-an-id", "../../etc"] {
        let response = server
            .http
            .get(server.url("/v1/stream"))
            .header("Last-Event-ID", bad)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["field"], json!("Last-Event-ID"), "{body}");
    }
    let ids = append_burst(&server, 6).await;
    // Resuming after the first record replays the next ones, up to the bound.
    let mut resumed = Listener::open(&server, "namespace=burst", Some(&ids[0])).await;
    resumed
        .read_until(Duration::from_secs(5), |t| {
            t.contains("event: replay_truncated")
        })
        .await;
    assert_same_ids(&resumed.ids(), &ids[1..4]);
    // Within the bound, a resume delivers exactly the events after the
    // given id, then live ones, none twice.
    let mut exact = Listener::open(&server, "namespace=burst", Some(&ids[3])).await;
    exact
        .read_until(Duration::from_secs(5), |t| {
            t.matches("\nid: ").count() + usize::from(t.starts_with("id: ")) >= 2
        })
        .await;
    // A record written now (after the burst's last id; ids are minted at
    // write time) follows live.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let later = append_burst(&server, 1).await;
    exact
        .read_until(Duration::from_secs(5), |t| t.contains(&later[0]))
        .await;
    let mut expected = ids[4..].to_vec();
    expected.extend(later);
    assert_same_ids(&exact.ids(), &expected);
    assert!(!exact.text.contains("replay_truncated"), "{}", exact.text);
    // An id from before the replay window (here: the epoch) is clamped to
    // the window, and the client is told.
    let ancient = Uuid::new_v7(Timestamp::from_unix(NoContext, 1, 0)).to_string();
    let mut old = Listener::open(&server, "namespace=burst", Some(&ancient)).await;
    old.read_until(Duration::from_secs(5), |t| {
        t.contains("event: replay_truncated")
    })
    .await;
    assert!(
        old.text.contains("older than the replay window"),
        "{}",
        old.text
    );
}

/// A client that stops reading is not buffered without bound: the hub drops
/// it once its channel is full, and it gets a final `lagged` event.
#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_with_a_final_event() {
    let mut config = ecommerce_config();
    config.server.sse_buffer_events = 16;
    let server = start_on(Backend::Memory, config, Utc::now())
        .await
        .expect("memory");
    let mut socket = server
        .raw_get("/v1/stream?namespace=burst", "Connection: close\r\n")
        .await;
    wait_for_connections(&server, 1).await;
    // Far more events than the socket buffers and the channel hold.
    let ids = append_burst(&server, 40_000).await;
    let mut lagged = 0;
    for _ in 0..250 {
        let (_, metrics) = server.get("/metrics").await;
        lagged = metrics["sse_lagged"].as_u64().unwrap_or(0);
        if lagged > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lagged, 1, "the slow client was dropped");
    let mut text = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut text))
        .await
        .expect("the server ends the response")
        .expect("read");
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("event: lagged"), "final event sent");
    assert!(
        text.matches("\nid: ").count() < ids.len(),
        "not every event was buffered for it"
    );
    wait_for_connections(&server, 0).await;
}
