//! `switchyard serve` against the ceiling of its HTTP stack: a minimal axum
//! JSON handler (this binary re-run as `bare`) on the same machine, driven
//! by the same client with the same settings, alternating, in one run.
//!
//! The gateway run is a dispatch that executes: rules (one dedup rule), the
//! atomic gate (a dedup claim), the log provider and the audit record, all
//! on the memory store. Prints the BENCHMARKS.md section.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::json;
use switchyard_load::{Drive, drive, ms, start_server};

#[derive(Parser)]
struct Args {
    /// Serve the bare handler (what the benchmark starts; not for people).
    #[arg(long, hide = true)]
    bare: bool,
    #[arg(long, default_value = "target/release/switchyard")]
    binary: PathBuf,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Runs of each, alternating.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

const RULES: &str = "rules:\n  - name: dedup-orders\n    priority: 10\n    condition:\n      field: action.action_type\n      eq: place_order\n    action:\n      type: deduplicate\n      ttl_seconds: 600\n";

fn order(n: u64) -> serde_json::Value {
    json!({
        "namespace": "shop", "tenant": "acme", "provider": "payment", "action_type": "place_order",
        "dedup_key": format!("order-{n}"),
        "payload": {"order_id": format!("ORD-{n}"), "amount_cents": 4999, "items": [{"sku": "A-1", "qty": 1}]}
    })
}

/// The bare handler: parse the JSON body, answer a JSON outcome of the same
/// shape as the gateway's.
async fn bare() -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/v1/dispatch",
        axum::routing::post(|axum::Json(action): axum::Json<serde_json::Value>| async move {
            axum::Json(json!({"Executed": {"status": "success", "body": {"provider": action["provider"], "logged": true}, "headers": {}}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("Listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Start `binary` with `args`, then send orders to it as every run does.
async fn run(
    args: &Args,
    binary: &std::path::Path,
    argv: &[&std::ffi::OsStr],
) -> anyhow::Result<Drive> {
    let (_child, base) = start_server(binary, argv).await?;
    let executed = |answer: &str| answer.contains("Executed");
    drive(
        &format!("{base}/v1/dispatch"),
        args.concurrency,
        args.seconds,
        None,
        order,
        executed,
    )
    .await
}

async fn run_bare(args: &Args) -> anyhow::Result<Drive> {
    run(args, &std::env::current_exe()?, &["--bare".as_ref()]).await
}

async fn run_gateway(args: &Args, config: &std::path::Path) -> anyhow::Result<Drive> {
    let argv: [&std::ffi::OsStr; 5] = [
        "serve".as_ref(),
        "--port".as_ref(),
        "0".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ];
    run(args, &args.binary, &argv).await
}

fn mean(runs: &[Drive], seconds: u64) -> f64 {
    runs.iter().map(|d| d.per_second(seconds)).sum::<f64>() / runs.len().max(1) as f64
}

fn mean_p99(runs: &[Drive]) -> Duration {
    runs.iter().map(|d| d.percentile(0.99)).sum::<Duration>() / runs.len().max(1) as u32
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.bare {
        return bare().await;
    }
    let work = std::env::temp_dir().join(format!("switchyard-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(work.join("rules"))?;
    std::fs::write(work.join("rules/orders.yaml"), RULES)?;
    let config = work.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nmax_concurrent_dispatch = 5000\n\n[rules]\ndirectory = \"{}\"\nwatch = false\n\n[audit]\nmax_records = 200000\n\n[[providers]]\nname = \"payment\"\ntype = \"log\"\n",
            work.join("rules").display()
        ),
    )?;
    let (mut bares, mut gateways) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        bares.push(run_bare(&args).await?);
        gateways.push(run_gateway(&args, &config).await?);
    }
    std::fs::remove_dir_all(&work).ok();
    let errors: u64 = bares.iter().chain(&gateways).map(|d| d.errors).sum();
    anyhow::ensure!(
        errors == 0,
        "{errors} requests were not answered `Executed`"
    );
    let s = args.seconds;
    let (bare_rate, gateway_rate) = (mean(&bares, s), mean(&gateways, s));
    let (bare_p99, gateway_p99) = (mean_p99(&bares), mean_p99(&gateways));
    let rate_ratio = gateway_rate / bare_rate;
    let p99_ratio = gateway_p99.as_secs_f64() / bare_p99.as_secs_f64().max(1e-9);
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let runs = |v: &[Drive]| {
        v.iter()
            .map(|d| format!("{:.0}", d.per_second(s)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let row = |name: &str, v: &[Drive], rate: f64, p99: Duration| {
        format!(
            "| {name} | {} req/s | {rate:.0} req/s | {} / {} / {} | {} |",
            runs(v),
            ms(v[0].percentile(0.5)),
            ms(v[0].percentile(0.95)),
            ms(v[0].percentile(0.99)),
            ms(p99)
        )
    };
    println!(
        "## The local server at its HTTP ceiling (`bench/ceiling-run`, against the release binary)

`switchyard serve` answering dispatches that execute (one dedup rule, the atomic gate's dedup
claim, the log provider, the audit record, on the memory store) against a
minimal axum handler that parses the same JSON body and answers a JSON outcome (same axum and
tokio, default runtime), alternating, {rounds} runs of each, {seconds} s each, {conc} clients
of one `reqwest` client on the same 2 cores (`bench/load/src/bin/ceiling.rs`). Targets: at
least 70% of the bare handler's requests per second, p99 at most 2× its p99. The `switchyard`
binary allocates with jemalloc: with glibc's malloc (a quarter of the server's CPU in a
profile) the same benchmark measured 0.64× and a p99 of 1.85×, with mimalloc about 0.7× and 3×.

| server | runs | mean | P50 / P95 / P99 (first run) | mean P99 |
|---|---|---|---|---|
{}
{}
| **gateway / bare** | | **{rate_ratio:.2}×** (target ≥ 0.70: **{}**) | | **{p99_ratio:.2}×** (target ≤ 2: **{}**) |
",
        row("bare axum handler", &bares, bare_rate, bare_p99),
        row("`switchyard serve` dispatch", &gateways, gateway_rate, gateway_p99),
        verdict(rate_ratio >= 0.70),
        verdict(p99_ratio <= 2.0),
        rounds = args.rounds,
        seconds = args.seconds,
        conc = args.concurrency,
    );
    Ok(())
}
