//! What the load binaries share: starting a server process and reading the
//! address it announces, keeping `concurrency` clients busy for a while,
//! and percentiles.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::AsyncBufReadExt;

/// Start `binary` with `args`; its child handle (killed on drop) and the
/// base URL from its "Listening on …" line.
pub async fn start_server(
    binary: &Path,
    args: &[&std::ffi::OsStr],
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(binary)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await??
            .context("server exited")?;
        if let Some(url) = line.strip_prefix("Listening on ") {
            break url.trim().to_string();
        }
    };
    Ok((child, base))
}

/// Every request's latency, and how many answers were not what `ok` wants.
pub struct Drive {
    pub latencies: Vec<Duration>,
    pub errors: u64,
}

/// `concurrency` clients POST `body(n)` to `url` (with `key` as a bearer
/// token when given) back to back for `seconds`; `ok` judges each answer.
pub async fn drive(
    url: &str,
    concurrency: usize,
    seconds: u64,
    key: Option<String>,
    body: fn(u64) -> serde_json::Value,
    ok: fn(&str) -> bool,
) -> anyhow::Result<Drive> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let sequence = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, sequence, key) =
            (http.clone(), url.to_string(), sequence.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let n = sequence.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let mut request = http.post(&url).json(&body(n));
                if let Some(key) = &key {
                    request = request.bearer_auth(key);
                }
                let good = match request.send().await {
                    Ok(r) => r.status().is_success() && r.text().await.is_ok_and(|t| ok(&t)),
                    Err(_) => false,
                };
                latencies.push(started.elapsed());
                if !good {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Drive {
        latencies: Vec::new(),
        errors: 0,
    };
    for task in tasks {
        let (latencies, errors) = task.await?;
        all.latencies.extend(latencies);
        all.errors += errors;
    }
    all.latencies.sort_unstable();
    Ok(all)
}

impl Drive {
    /// The latency below which a share `p` of requests answered.
    pub fn percentile(&self, p: f64) -> Duration {
        let at = ((self.latencies.len() as f64 * p) as usize)
            .min(self.latencies.len().saturating_sub(1));
        self.latencies.get(at).copied().unwrap_or_default()
    }

    pub fn per_second(&self, seconds: u64) -> f64 {
        self.latencies.len() as f64 / seconds.max(1) as f64
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
