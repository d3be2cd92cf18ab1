//! A proxy in front of the DynamoDB emulator that answers a share of writes
//! the way DynamoDB answers them under contention.
//!
//! The emulator never cancels a transaction for `TransactionConflict` (it
//! serialises requests), so without this the retry paths of the store would
//! never run in a test. The proxy forwards everything else untouched. Its
//! error bodies follow DynamoDB's JSON 1.0 protocol: HTTP 400, a `__type`
//! naming the exception, and for a cancelled transaction one
//! `CancellationReasons` entry per item of the request, in order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Shares (0.0–1.0) of requests answered with an injected error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Injection {
    /// `TransactWriteItems` cancelled with a `TransactionConflict` reason.
    pub transaction_conflicts: f64,
    /// `TransactWriteItems` cancelled with a `ThrottlingError` reason.
    pub transaction_throttles: f64,
    /// Conditional `PutItem` / `UpdateItem` / `DeleteItem` answered with
    /// `TransactionConflictException` (an item a transaction holds).
    pub write_conflicts: f64,
    /// Any write answered with `ProvisionedThroughputExceededException`
    /// (retried by the SDK's standard mode).
    pub throughput_exceeded: f64,
}

impl Injection {
    /// The contention of the target: 30% of transactions and
    /// conditional writes cancelled, a few throttled.
    pub fn heavy() -> Self {
        Self {
            transaction_conflicts: 0.30,
            transaction_throttles: 0.03,
            write_conflicts: 0.30,
            throughput_exceeded: 0.02,
        }
    }
}

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub transactions: AtomicU64,
    pub conditional_writes: AtomicU64,
    pub transaction_conflicts: AtomicU64,
    pub transaction_throttles: AtomicU64,
    pub write_conflicts: AtomicU64,
    pub throughput_exceeded: AtomicU64,
}

/// A copy of the counters at one moment (subtract two to measure a stretch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub transactions: u64,
    pub conditional_writes: u64,
    pub transaction_conflicts: u64,
    pub transaction_throttles: u64,
    pub write_conflicts: u64,
    pub throughput_exceeded: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, before: Counts) -> Counts {
        Counts {
            transactions: self.transactions - before.transactions,
            conditional_writes: self.conditional_writes - before.conditional_writes,
            transaction_conflicts: self.transaction_conflicts - before.transaction_conflicts,
            transaction_throttles: self.transaction_throttles - before.transaction_throttles,
            write_conflicts: self.write_conflicts - before.write_conflicts,
            throughput_exceeded: self.throughput_exceeded - before.throughput_exceeded,
        }
    }
}

impl ProxyStats {
    pub fn counts(&self) -> Counts {
        Counts {
            transactions: Self::get(&self.transactions),
            conditional_writes: Self::get(&self.conditional_writes),
            transaction_conflicts: Self::get(&self.transaction_conflicts),
            transaction_throttles: Self::get(&self.transaction_throttles),
            write_conflicts: Self::get(&self.write_conflicts),
            throughput_exceeded: Self::get(&self.throughput_exceeded),
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Every error the proxy injected.
    pub fn injected(&self) -> u64 {
        Self::get(&self.transaction_conflicts)
            + Self::get(&self.transaction_throttles)
            + Self::get(&self.write_conflicts)
            + Self::get(&self.throughput_exceeded)
    }
}

struct Proxy {
    upstream: String,
    injection: Injection,
    stats: Arc<ProxyStats>,
    http: reqwest::Client,
}

/// A running proxy: point a DynamoDB client at `endpoint`.
pub struct ConflictProxy {
    pub endpoint: String,
    pub stats: Arc<ProxyStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConflictProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConflictProxy {
    pub async fn start(upstream: &str, injection: Injection) -> Self {
        let stats = Arc::new(ProxyStats::default());
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            injection,
            stats: stats.clone(),
            http: reqwest::Client::new(),
        });
        let app = axum::Router::new().fallback(handle).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("proxy serves");
        });
        Self {
            endpoint,
            stats,
            task,
        }
    }
}

/// The first transaction and the first conditional write a proxy sees are
/// always contended (when their share is not zero): a short run makes a
/// handful of writes, and a random 30% could skip every one of them, which
/// would leave the conflict path untested (and the test's own check that
/// conflicts were injected failing by chance).
fn always_first(first: bool, share: f64) -> bool {
    first && share > 0.0
}

/// Did a `share` come up?
fn roll(share: f64) -> bool {
    share > 0.0 && rand::random::<f64>() < share
}

async fn handle(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
        .unwrap_or("")
        .to_string();
    if let Some(injected) = inject(&proxy, &target, &body) {
        return injected;
    }
    forward(&proxy, headers, body).await
}

/// The injected answer for this request, if one comes up.
fn inject(proxy: &Proxy, target: &str, body: &[u8]) -> Option<Response> {
    let stats = &proxy.stats;
    let injection = &proxy.injection;
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let write = matches!(
        target,
        "TransactWriteItems" | "PutItem" | "UpdateItem" | "DeleteItem"
    );
    if write && roll(injection.throughput_exceeded) {
        stats.throughput_exceeded.fetch_add(1, Ordering::Relaxed);
        return Some(error(
            "ProvisionedThroughputExceededException",
            json!({"message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}),
        ));
    }
    match target {
        "TransactWriteItems" => {
            let first = stats.transactions.fetch_add(1, Ordering::Relaxed) == 0;
            let items = request["TransactItems"].as_array().map_or(1, Vec::len);
            let code = if always_first(first, injection.transaction_conflicts)
                || roll(injection.transaction_conflicts)
            {
                stats.transaction_conflicts.fetch_add(1, Ordering::Relaxed);
                "TransactionConflict"
            } else if roll(injection.transaction_throttles) {
                stats.transaction_throttles.fetch_add(1, Ordering::Relaxed);
                "ThrottlingError"
            } else {
                return None;
            };
            Some(cancelled(items, code))
        }
        "PutItem" | "UpdateItem" | "DeleteItem" if request.get("ConditionExpression").is_some() => {
            let first = stats.conditional_writes.fetch_add(1, Ordering::Relaxed) == 0;
            if !always_first(first, injection.write_conflicts) && !roll(injection.write_conflicts) {
                return None;
            }
            stats.write_conflicts.fetch_add(1, Ordering::Relaxed);
            Some(error(
                "TransactionConflictException",
                json!({"message": "Transaction is ongoing for the item"}),
            ))
        }
        _ => None,
    }
}

/// `TransactionCanceledException`: the contended item (chosen at random)
/// carries `code`, every other item `None`, as DynamoDB reports them.
fn cancelled(items: usize, code: &str) -> Response {
    let contended = rand::random_range(0..items.max(1));
    let reasons: Vec<Value> = (0..items.max(1))
        .map(|i| {
            if i == contended {
                let message = match code {
                    "TransactionConflict" => "Transaction is ongoing for the item",
                    _ => "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.",
                };
                json!({"Code": code, "Message": message})
            } else {
                json!({"Code": "None"})
            }
        })
        .collect();
    let listed: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap_or("None"))
        .collect();
    error(
        "TransactionCanceledException",
        json!({
            "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", listed.join(", ")),
            "CancellationReasons": reasons,
        }),
    )
}

fn error(exception: &str, mut body: Value) -> Response {
    body["__type"] = json!(format!("com.amazonaws.dynamodb.v20120810#{exception}"));
    let mut response = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

async fn forward(proxy: &Proxy, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = proxy.http.post(format!("{}/", proxy.upstream)).body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = upstream.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut response = (status, bytes).into_response();
    *response.headers_mut() = out_headers;
    response
}

/// One race's figures for BENCHMARKS.md.
pub struct Measured {
    pub race: &'static str,
    pub dispatches: usize,
    pub tally: BTreeMap<String, usize>,
    pub counts: Counts,
    pub took: Duration,
}

fn tally_text(tally: &BTreeMap<String, usize>) -> String {
    tally
        .iter()
        .map(|(tag, n)| format!("{n} {tag}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Written to `target/contention.md`, which `bench/report.py` puts in BENCHMARKS.md.
pub fn write_figures(baseline: &Measured, contended: &[Measured]) {
    let mut table = String::from(
        "| race (8 instances) | outcomes | errors | sent per dispatch: `TransactWriteItems` / conditional writes | injected: transaction conflicts / throttles, write conflicts, throughput exceeded | time |\n|---|---|---|---|---|---|\n",
    );
    for m in std::iter::once(baseline).chain(contended) {
        let c = m.counts;
        table.push_str(&format!(
            "| {} | {} | 0 | {:.2} / {:.2} | {} / {}, {}, {} | {:.2} s |\n",
            m.race,
            tally_text(&m.tally),
            c.transactions as f64 / m.dispatches as f64,
            c.conditional_writes as f64 / m.dispatches as f64,
            c.transaction_conflicts,
            c.transaction_throttles,
            c.write_conflicts,
            c.throughput_exceeded,
            m.took.as_secs_f64(),
        ));
    }
    let dedup = &contended[0];
    table.push_str(&format!(
        "\nThe same 200-dispatch dedup race (its gate one conditional write) takes {:.2}× as long with 30% of writes refused as without.\n",
        dedup.took.as_secs_f64() / baseline.took.as_secs_f64()
    ));
    let out = crate::repo_path("target/contention.md");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("target dir");
    }
    std::fs::write(out, table).expect("write contention figures");
}
