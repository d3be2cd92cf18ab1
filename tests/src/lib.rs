//! Harness for end-to-end tests: the same router `switchyard serve` runs,
//! listening on a free loopback port, with a clock the test moves by hand.

pub mod auth;
pub mod aws;
pub mod contention;
pub mod contract;
pub mod ecommerce;
pub mod poison;
pub mod postgres;
pub mod serverless;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use switchyard_assembly::MemoryPorts;
use switchyard_assembly::build_gateway;
use switchyard_config::Config;
use switchyard_core::ManualClock;
use switchyard_gateway::Gateway;
use switchyard_server::{AppState, router};

pub use postgres::{SKIP_POSTGRES, fresh_postgres, postgres_adapters, postgres_url};

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub gateway: Arc<Gateway>,
    pub memory: MemoryPorts,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Which state and audit adapters a test server runs on. The delay queue is
/// the in-memory one either way (the test delivers due messages itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    DynamoDb,
    Postgres,
}

/// Set to skip the tests that need the emulator; without it, a missing
/// emulator fails them (a green run never hides a skip).
pub const SKIP_EMULATOR: &str = "SWITCHYARD_SKIP_EMULATOR";

/// The emulator endpoint exported by `tests/run`. Its absence is a failure
/// unless [`SKIP_EMULATOR`] says to skip.
pub fn dynamodb_endpoint() -> Option<String> {
    match std::env::var("SWITCHYARD_DYNAMODB_ENDPOINT") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os(SKIP_EMULATOR).is_none() => {
            panic!(
                "SWITCHYARD_DYNAMODB_ENDPOINT is not set: run the tests with tests/run, which starts the emulator (or set {SKIP_EMULATOR}=1 to skip the emulator's tests, knowingly)"
            )
        }
        Err(_) => {
            eprintln!("skipped on purpose ({SKIP_EMULATOR} is set): needs the emulator");
            None
        }
    }
}

/// Fresh state and audit tables on the emulator, named after `prefix`.
pub async fn fresh_tables(
    endpoint: &str,
    prefix: &str,
) -> switchyard_store_dynamodb::DynamoSettings {
    use switchyard_store_dynamodb::{DynamoSettings, connect, schema};
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let settings = DynamoSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.to_string()),
        state_table: format!("{prefix}-state-{}", &suffix[..12]),
        audit_table: format!("{prefix}-audit-{}", &suffix[..12]),
        // The emulator answers one request at a time, and every stream poll
        // or list reads each shard: 4 keeps them cheap and still spreads
        // items over several partitions (the store conformance runs with 8).
        state_shards: 4,
        audit_shards: 4,
    };
    let setup = connect(&settings, None).await;
    schema::create_table(&setup, "StateTable", &settings.state_table)
        .await
        .expect("state table");
    schema::create_table(&setup, "AuditTable", &settings.audit_table)
        .await
        .expect("audit table");
    settings
}

/// The state and audit adapters of one gateway instance.
pub type Adapters = (
    Arc<dyn switchyard_store::StateStore>,
    Arc<dyn switchyard_store::AuditStore>,
);

/// Adapters on `settings`' tables through their own SDK client (a separate
/// connection pool, as a separate Lambda instance has), reaching DynamoDB at
/// `endpoint` (the emulator, or a proxy in front of it).
pub async fn dynamodb_adapters(
    settings: &switchyard_store_dynamodb::DynamoSettings,
    endpoint: &str,
    clock: Arc<ManualClock>,
    round_trips: Option<switchyard_store_dynamodb::RoundTrips>,
) -> Adapters {
    use switchyard_store_dynamodb::{DynamoAuditStore, DynamoSettings, DynamoStateStore, connect};
    let via = DynamoSettings {
        endpoint_url: Some(endpoint.to_string()),
        ..settings.clone()
    };
    let client = connect(&via, round_trips).await;
    (
        Arc::new(DynamoStateStore::from_settings(
            client.clone(),
            settings,
            clock.clone(),
        )),
        Arc::new(DynamoAuditStore::from_settings(client, settings, clock)),
    )
}

/// Fresh DynamoDB tables on the emulator, and adapters on them.
pub async fn dynamodb_ports(
    endpoint: &str,
    clock: Arc<ManualClock>,
    round_trips: Option<switchyard_store_dynamodb::RoundTrips>,
) -> Adapters {
    let settings = fresh_tables(endpoint, "e2e").await;
    dynamodb_adapters(&settings, endpoint, clock, round_trips).await
}

/// One gateway instance of several sharing a set of tables: its own SDK
/// client and its own in-memory delay queue (the test delivers messages).
pub struct Instance {
    pub gateway: Arc<Gateway>,
    pub memory: MemoryPorts,
}

/// `count` gateway instances on `settings`' tables, reached at `endpoint`,
/// all reading one clock.
pub async fn gateway_instances(
    settings: &switchyard_store_dynamodb::DynamoSettings,
    endpoint: &str,
    count: usize,
    clock: Arc<ManualClock>,
    config: &Config,
    rules_yaml: Option<&str>,
) -> Vec<Instance> {
    instances_on(count, clock.clone(), config, rules_yaml, async || {
        dynamodb_adapters(settings, endpoint, clock.clone(), None).await
    })
    .await
}

/// `count` gateway instances, each on the adapters `adapters` makes (its
/// own client or pool: a separate process), all reading one clock.
pub async fn instances_on(
    count: usize,
    clock: Arc<ManualClock>,
    config: &Config,
    rules_yaml: Option<&str>,
    adapters: impl AsyncFn() -> Adapters,
) -> Vec<Instance> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut memory = MemoryPorts::new(clock.clone(), 1000);
        let (state, audit) = adapters().await;
        memory.ports.state = state;
        memory.ports.audit = audit;
        let rules = rules_yaml.map(|y| switchyard_rules::load_str("race.yaml", y).expect("rules"));
        let gateway = build_gateway(config.clone(), memory.ports.clone(), rules).expect("gateway");
        out.push(Instance {
            gateway: Arc::new(gateway),
            memory,
        });
    }
    out
}

/// Dispatch `count` actions across `gateways` at once (a barrier releases
/// them together); outcomes tallied by tag. Any error fails the test:
/// contention must never reach the caller.
pub async fn race(
    gateways: &[Arc<Gateway>],
    count: usize,
    make: impl Fn(usize) -> switchyard_core::Action,
) -> (
    std::collections::BTreeMap<String, usize>,
    Vec<switchyard_core::ActionOutcome>,
) {
    let start = Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = Vec::new();
    for i in 0..count {
        let gateway = gateways[i % gateways.len()].clone();
        let action = make(i);
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            gateway
                .dispatch(action, switchyard_gateway::DispatchOptions::default())
                .await
                .unwrap_or_else(|e| panic!("dispatch {i} failed under contention: {e}"))
        }));
    }
    let mut tally = std::collections::BTreeMap::new();
    let mut outcomes = Vec::new();
    for task in tasks {
        let outcome = task.await.expect("task");
        *tally.entry(outcome.tag().to_string()).or_insert(0) += 1;
        outcomes.push(outcome);
    }
    (tally, outcomes)
}

/// Start a server for `config` at the instant `now`, on the memory adapters.
pub async fn start(config: Config, now: DateTime<Utc>) -> TestServer {
    start_on(Backend::Memory, config, now)
        .await
        .expect("memory backend")
}

/// Start a server on `backend`; `None` when its server (emulator, PostgreSQL)
/// is wanted but skipped on purpose here.
pub async fn start_on(backend: Backend, config: Config, now: DateTime<Utc>) -> Option<TestServer> {
    let clock = Arc::new(ManualClock::new(now));
    let mut memory = MemoryPorts::new(clock.clone(), 100_000);
    let adapters = match backend {
        Backend::Memory => None,
        Backend::DynamoDb => Some(dynamodb_ports(&dynamodb_endpoint()?, clock.clone(), None).await),
        Backend::Postgres => {
            let settings = fresh_postgres(&postgres_url()?, "server");
            Some(postgres_adapters(&settings, clock.clone(), None).await)
        }
    };
    if let Some((state, audit)) = adapters {
        memory.ports.state = state;
        memory.ports.audit = audit;
    }
    Some(serve(config, clock, memory).await)
}

/// Serve `config` on the given adapters (two servers on one store are two
/// gateway instances).
pub async fn serve(config: Config, clock: Arc<ManualClock>, memory: MemoryPorts) -> TestServer {
    let gateway =
        Arc::new(build_gateway(config, memory.ports.clone(), None).expect("gateway starts"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("address");
    let app = router(AppState::new(gateway.clone()).expect("security settings"));
    // The local server's own listener, with its connection bounds.
    let limits = switchyard_server::listen::ListenLimits::from_config(&gateway.config().server);
    let server = tokio::spawn(switchyard_server::listen::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    TestServer {
        base: format!("http://{addr}"),
        clock,
        gateway,
        memory,
        http: reqwest::Client::new(),
        server,
    }
}

/// The e-commerce example exactly as shipped in `rules/ecommerce`.
pub async fn start_ecommerce(now: DateTime<Utc>) -> TestServer {
    start(ecommerce_config(), now).await
}

pub fn ecommerce_config() -> Config {
    Config::load(&repo_path("rules/ecommerce/gateway.toml")).expect("example config")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST JSON; returns (status, body).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// A raw connection that has sent `GET <path_and_query>` with `headers`
    /// (for reading a stream byte by byte).
    pub async fn raw_get(&self, path_and_query: &str, headers: &str) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let address = self.base.trim_start_matches("http://").to_string();
        let mut socket = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connect");
        socket
            .write_all(
                format!("GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\n{headers}\r\n")
                    .as_bytes(),
            )
            .await
            .expect("request");
        socket
    }

    /// DELETE; an empty body (204) reads as `null`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .delete(self.url(path))
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("request");
        read(response).await
    }

    /// Deliver every due delayed message (what SQS / EventBridge / the local
    /// worker loop do), as often as handling makes new ones due.
    pub async fn run_due(&self) -> usize {
        self.gateway.process_due(&self.memory.queue).await
    }

    /// Move the clock and deliver what became due.
    pub async fn advance(&self, seconds: i64) -> usize {
        self.clock.advance(chrono::Duration::seconds(seconds));
        self.run_due().await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        read(request.send().await.expect("request")).await
    }
}

/// Status and body: JSON, or a string for a successful answer that says it
/// is something else (the Prometheus text). An error that is not JSON fails.
pub(crate) async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let declared_text = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/") || v.starts_with("application/openmetrics-text"));
    let text = response.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    if declared_text && status < 400 {
        return (status, Value::String(text));
    }
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("response is not JSON (status {status}): {text}"));
    (status, body)
}

/// The variant name of an outcome: the single key, or the bare string for
/// unit variants such as `"Deduplicated"`.
pub fn outcome_kind(outcome: &Value) -> String {
    match outcome {
        Value::String(s) => s.clone(),
        Value::Object(map) if map.len() == 1 => map.keys().next().cloned().unwrap_or_default(),
        other => panic!("not an outcome: {other}"),
    }
}

pub fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().expect("timestamp")
}

/// A stub HTTP service on loopback: the n-th POST (from 0) answers 200
/// `{"ok": true}` when `succeeds(n)`, else 503; each answer after `delay`.
pub struct StubService {
    pub url: String,
    pub calls: Arc<std::sync::atomic::AtomicU64>,
}

pub async fn stub_service(
    succeeds: impl Fn(u64) -> bool + Send + Sync + 'static,
    delay: std::time::Duration,
) -> StubService {
    use std::sync::atomic::Ordering;
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = calls.clone();
    let succeeds = Arc::new(succeeds);
    let router = axum::Router::new().route(
        "/",
        axum::routing::post(move || {
            let (counter, succeeds) = (counter.clone(), succeeds.clone());
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if succeeds(n) {
                    (axum::http::StatusCode::OK, "{\"ok\": true}")
                } else {
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "{\"error\": \"unavailable\"}",
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    StubService {
        url: format!("http://{addr}/"),
        calls,
    }
}
