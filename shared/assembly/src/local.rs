//! The local process's background loops: what SQS, EventBridge Scheduler and
//! the `reaper` function do on AWS, on the memory queue and a timer.

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
        let (gateway, queue) = (gateway.clone(), memory.queue.clone());
        if let Err(err) = tokio::spawn(async move { gateway.process_due(&queue).await }).await {
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
