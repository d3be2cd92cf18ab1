//! The local process's background loops: what SQS, EventBridge Scheduler and
//! the `reaper` function do on AWS, on a polled queue (memory or PostgreSQL)
//! and a timer.

use std::sync::Arc;
use std::time::Duration;

use switchyard_gateway::Gateway;

use crate::MemoryPorts;

/// The local stand-in for SQS and EventBridge Scheduler: deliver due delayed
/// messages (scheduled actions, chain steps, group flushes, approval expiry…)
/// to the same handlers the Lambda functions call.
pub async fn work(gateway: Arc<Gateway>, memory: MemoryPorts) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Each message is already isolated; the task boundary also contains
        // a panic in the loop's own bookkeeping so the worker lives on.
        let (gateway, queue) = (gateway.clone(), memory.worker_queue.clone());
        if let Err(err) =
            tokio::spawn(async move { gateway.process_due(queue.as_ref()).await }).await
        {
            tracing::error!(error = %err, "delivery pass panicked; the worker goes on");
        }
    }
}

/// The local stand-in for the `reaper` function: the same pass (retention
/// when enabled, circuit-breaker recovery always) every
/// `retention_check_interval_seconds`.
pub async fn reap(gateway: Arc<Gateway>) {
    let background = &gateway.config().background;
    if !background.enabled {
        return;
    }
    let retention = background.enable_retention_reaper;
    let mut tick = tokio::time::interval(Duration::from_secs(
        background.retention_check_interval_seconds.max(1),
    ));
    loop {
        tick.tick().await;
        let pass = gateway.clone();
        match tokio::spawn(async move { pass.upkeep(retention).await }).await {
            Ok(Ok(report)) => tracing::debug!(?report, "upkeep pass"),
            Ok(Err(err)) => tracing::warn!(error = %err, "upkeep pass failed"),
            Err(err) => {
                tracing::error!(error = %err, "upkeep pass panicked; the reaper goes on")
            }
        }
    }
}

/// Expired dedup keys, windows and leases are dropped in the background; reads
/// already ignore them, this only frees memory.
pub async fn sweep(memory: MemoryPorts, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let removed = memory.state.sweep();
        if removed > 0 {
            tracing::debug!(removed, "swept expired state");
        }
    }
}

/// How often `[rules] watch` looks at the rules folder.
pub const RULES_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What a look at the rules folder sees: each rule file's name, size and
/// modification time. Any difference means "reload".
fn rules_fingerprint(
    dir: &std::path::Path,
) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml")
        })
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.file_name(), meta.len(), meta.modified().ok()))
        })
        .collect();
    files.sort();
    files
}

/// `[rules] watch = true` (Acteon's default): reload the rules folder when
/// a rule file appears, changes or goes. A reload that fails keeps the rules
/// that serve, and says why.
pub async fn watch_rules(gateway: Arc<Gateway>, every: Duration) {
    let Some(dir) = gateway.rules_directory() else {
        return;
    };
    let mut seen = rules_fingerprint(&dir);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || rules_fingerprint(&dir)).await
        };
        let Ok(now) = now else { continue };
        if now == seen {
            continue;
        }
        seen = now;
        let reload = gateway.clone();
        match tokio::task::spawn_blocking(move || reload.reload_rules(None)).await {
            Ok(Ok(count)) => {
                tracing::info!(directory = %dir.display(), rules = count, "rule files changed: reloaded")
            }
            Ok(Err(err)) => tracing::warn!(
                directory = %dir.display(),
                error = %err,
                "rule files changed but do not load; the previous rules keep serving"
            ),
            Err(err) => tracing::error!(error = %err, "rules reload panicked"),
        }
    }
}
