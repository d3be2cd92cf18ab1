//! Drives `switchyard serve` with the seed 004 workload (orders paid,
//! reserved and shipped by three services) and reports throughput and
//! latency percentiles.
//!
//! It starts three stub services (payment, inventory, shipping) on loopback,
//! writes a gateway configuration that reaches them through webhook providers
//! (every executed order also runs the `fulfil-order` chain through all three),
//! starts the given `switchyard` binary on a free port, and keeps
//! `--concurrency` clients sending orders for `--seconds`. Only loopback
//! addresses are used; the run is bounded in time.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// The `switchyard` binary to run (build it with `cargo build --release -p switchyard`).
    #[arg(long, default_value = "target/release/switchyard")]
    binary: PathBuf,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Write the result table here (markdown).
    #[arg(long, default_value = "target/load.md")]
    out: PathBuf,
    /// Turn `[auth]` on: every request carries an operator's API key.
    #[arg(long)]
    auth: bool,
    /// Keep this many `GET /v1/stream` connections open during the run,
    /// idle (filtered on tenants that get no traffic, 10 per tenant).
    #[arg(long, default_value_t = 0)]
    idle_streams: usize,
    /// After the load, wait (at most 120 s) for the chains it started to complete.
    #[arg(long)]
    drain: bool,
    /// Keep state, audit and the delay queue in PostgreSQL at this URL
    /// (tables of a fresh prefix) instead of memory.
    #[arg(long)]
    postgres: Option<String>,
}

/// Open `n` idle SSE connections (raw TCP, headers read, then left alone).
async fn idle_streams(base: &str, n: usize) -> anyhow::Result<Vec<tokio::net::TcpStream>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://").to_string();
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let mut socket = tokio::net::TcpStream::connect(&address).await?;
        let request = format!(
            "GET /v1/stream?namespace=shop&tenant=idle-{} HTTP/1.1\r\nHost: {address}\r\n\r\n",
            i / 10
        );
        socket.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 512];
        let read = socket.read(&mut head).await?;
        let text = String::from_utf8_lossy(&head[..read]);
        anyhow::ensure!(
            text.starts_with("HTTP/1.1 200"),
            "stream {i} refused: {text}"
        );
        streams.push(socket);
    }
    Ok(streams)
}

/// An auth file with one operator key for the load's tenant; the raw key.
fn auth_file(dir: &std::path::Path) -> anyhow::Result<(PathBuf, String)> {
    let key = format!("load-{}", uuid::Uuid::new_v4().simple());
    let path = dir.join("auth.toml");
    std::fs::write(
        &path,
        format!(
            "[[api_keys]]\nname = \"load\"\nkey_hash = \"{}\"\nrole = \"operator\"\ngrants = [{{ tenants = [\"acme\"], namespaces = [\"shop\"], actions = [\"*\"] }}]\n",
            switchyard_auth::hash_key(&key)
        ),
    )?;
    Ok((path, key))
}

async fn stub(calls: Arc<AtomicU64>) -> anyhow::Result<String> {
    let router = Router::new().route(
        "/",
        post(move || {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::Relaxed);
                axum::Json(json!({"ok": true}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{addr}/"))
}

fn config(payment: &str, inventory: &str, shipping: &str, rules: &std::path::Path) -> String {
    format!(
        r#"
[server]
max_concurrent_dispatch = 5000

[rules]
directory = "{rules}"

[audit]
max_records = 200000

[executor]
max_retries = 3
timeout_seconds = 5

[[providers]]
name = "payment"
type = "webhook"
url = "{payment}"

[[providers]]
name = "inventory"
type = "webhook"
url = "{inventory}"

[[providers]]
name = "shipping"
type = "webhook"
url = "{shipping}"

[circuit_breaker]
enabled = true
failure_threshold = 5
recovery_timeout_seconds = 30

[[chains.definitions]]
name = "fulfil-order"
timeout_seconds = 60

[[chains.definitions.steps]]
name = "reserve"
provider = "inventory"
action_type = "reserve_items"
payload_template = {{ order_id = "{{{{origin.payload.order_id}}}}", items = "{{{{origin.payload.items}}}}" }}

[[chains.definitions.steps]]
name = "ship"
provider = "shipping"
action_type = "create_label"
payload_template = {{ order_id = "{{{{origin.payload.order_id}}}}" }}

[[chains.on_executed]]
action_type = "place_order"
chain = "fulfil-order"
"#,
        rules = rules.display()
    )
}

const RULES: &str = r#"rules:
  - name: dedup-orders
    priority: 10
    condition:
      field: action.action_type
      eq: place_order
    action:
      type: deduplicate
      ttl_seconds: 600
"#;

/// How long the chains still running when the load stops may take to finish.
const DRAIN_LIMIT_SECONDS: u64 = 120;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = std::env::temp_dir().join(format!("switchyard-load-{}", std::process::id()));
    std::fs::create_dir_all(work.join("rules"))?;
    std::fs::write(work.join("rules/orders.yaml"), RULES)?;
    let counters: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let payment = stub(counters[0].clone()).await?;
    let inventory = stub(counters[1].clone()).await?;
    let shipping = stub(counters[2].clone()).await?;
    let mut gateway_toml = config(&payment, &inventory, &shipping, &work.join("rules"));
    let key = if args.auth {
        let (path, key) = auth_file(&work)?;
        gateway_toml.push_str(&format!(
            "\n[auth]\nenabled = true\nconfig_path = \"{}\"\n",
            path.display()
        ));
        Some(key)
    } else {
        None
    };
    if let Some(url) = &args.postgres {
        let prefix = format!("load_{}_", std::process::id());
        gateway_toml = gateway_toml.replacen(
            "[audit]\n",
            &format!(
                "[state]\nbackend = \"postgres\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\n[audit]\nbackend = \"postgres\"\n"
            ),
            1,
        );
    }
    if args.idle_streams > 0 {
        // The streams' own bounds must admit them (the defaults are 1,000).
        gateway_toml = gateway_toml.replacen(
            "[server]\n",
            &format!(
                "[server]\nmax_sse_connections = {}\n",
                args.idle_streams + 10
            ),
            1,
        );
    }
    std::fs::write(work.join("gateway.toml"), gateway_toml)?;

    let config_path = work.join("gateway.toml");
    let (child, base) = switchyard_load::start_server(
        &args.binary,
        &[
            "--log-format".as_ref(),
            "json".as_ref(),
            "serve".as_ref(),
            "--port".as_ref(),
            "0".as_ref(),
            "--config".as_ref(),
            config_path.as_os_str(),
        ],
    )
    .await?;
    let _idle = idle_streams(&base, args.idle_streams).await?;
    let run = switchyard_load::drive(
        &format!("{base}/v1/dispatch"),
        args.concurrency,
        args.seconds,
        key,
        |n| {
            json!({
                "namespace": "shop", "tenant": "acme", "provider": "payment", "action_type": "place_order",
                "dedup_key": format!("order-{n}"),
                "payload": {"order_id": format!("ORD-{n}"), "amount_cents": 4999, "items": [{"sku": "A-1", "qty": 1}]}
            })
        },
        |answer| answer.contains("Executed"),
    )
    .await?;
    let (latencies, errors) = (&run.latencies, run.errors);
    let http = reqwest::Client::new();
    // The chains the load started, and how many had completed when it
    // stopped; then how long the local worker takes to finish the rest
    // (bounded: a worker that cannot keep up shows as a partial drain).
    let read_metrics = || async {
        let metrics: serde_json::Value = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(metrics)
    };
    let at_end = read_metrics().await?;
    let created = at_end["chains_created"].as_u64().unwrap_or(0);
    let drain_started = Instant::now();
    let mut metrics = at_end.clone();
    while args.drain
        && metrics["chains_completed"].as_u64().unwrap_or(0) < created
        && drain_started.elapsed() < Duration::from_secs(DRAIN_LIMIT_SECONDS)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        metrics = read_metrics().await?;
    }
    let drain = drain_started.elapsed();
    drop(child);

    let pct = |p: f64| run.percentile(p);
    let ms = switchyard_load::ms;
    let throughput = run.per_second(args.seconds);
    let table = format!(
        "| measure | value |\n|---|---|\n| store | {} |\n| authentication | {} |\n| idle SSE streams | {} |\n| concurrency | {} clients for {} s |\n| orders sent | {} ({} not `Executed`) |\n| throughput | **{:.0} orders/s** |\n| P50 / P95 / P99 | {} / **{}** / {} |\n| max | {} |\n| stub calls: payment / inventory / shipping | {} / {} / {} |\n| chains started / completed when the load stopped (gateway metrics) | {} / {} |\n| chains completed after the drain | {} |\n| against seed 004's bar (≥ 1,000 orders/s, P95 < 500 ms) | **{}** |\n",
        if args.postgres.is_some() {
            "PostgreSQL (state, audit, delay queue)"
        } else {
            "memory"
        },
        if args.auth {
            "on (API key per request)"
        } else {
            "off"
        },
        args.idle_streams,
        args.concurrency,
        args.seconds,
        latencies.len(),
        errors,
        throughput,
        ms(pct(0.50)),
        ms(pct(0.95)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        counters[0].load(Ordering::Relaxed),
        counters[1].load(Ordering::Relaxed),
        counters[2].load(Ordering::Relaxed),
        created,
        at_end["chains_completed"],
        if args.drain {
            format!(
                "{} in {:.1} s more (limit {DRAIN_LIMIT_SECONDS} s)",
                metrics["chains_completed"],
                drain.as_secs_f64()
            )
        } else {
            "not waited for".to_string()
        },
        if throughput >= 1000.0 && pct(0.95) < Duration::from_millis(500) {
            "PASS"
        } else {
            "MISS"
        },
    );
    println!("{table}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::File::create(&args.out)?.write_all(table.as_bytes())?;
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}
