//! In-memory adapters: the embedded default, correct under concurrency (every
//! conditional operation runs under one lock).

mod audit;
mod queue;
mod state;

pub use audit::MemoryAuditStore;
pub use queue::MemoryDelayQueue;
pub use state::MemoryStateStore;

/// Lock a mutex, tolerating poisoning: our critical sections leave the maps
/// consistent at every step, so a panic elsewhere does not corrupt them.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}
