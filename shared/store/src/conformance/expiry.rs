//! Physical removal of expired state: what the reaper's pass relies on.

use std::time::Duration;

use chrono::Duration as Span;
use switchyard_core::{Clock, ManualClock};

use super::key;
use crate::state::StateStore;

/// Expired records and leases are purged; live ones are untouched. Returns
/// how many records the adapter reported removed (0 where the backend
/// expires items itself), for the adapter's own test to check.
pub async fn purge(store: &dyn StateStore, clock: &ManualClock, run: &str) -> u64 {
    let short = key(run, "purge", "short-lived");
    let lasting = key(run, "purge", "lasting");
    let window = key(run, "purge", "later");
    store
        .put(&short, "gone soon", Some(clock.now() + Span::seconds(10)))
        .await
        .expect("put");
    store.put(&lasting, "kept", None).await.expect("put");
    store
        .put(&window, "kept too", Some(clock.now() + Span::hours(1)))
        .await
        .expect("put");
    let lease = format!("{run}-purge-lease");
    assert!(
        store
            .try_lock(&lease, "a", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    clock.advance(Span::seconds(11));
    let removed = store.purge_expired(clock.now()).await.expect("purge");
    assert_eq!(
        store.get(&short).await.expect("get"),
        None,
        "expired: absent"
    );
    assert_eq!(
        store.get(&lasting).await.expect("get").map(|v| v.value),
        Some("kept".into())
    );
    assert_eq!(
        store.get(&window).await.expect("get").map(|v| v.value),
        Some("kept too".into())
    );
    assert!(
        store
            .try_lock(&lease, "b", Duration::from_secs(5))
            .await
            .expect("lock"),
        "an expired lease is free after the purge"
    );
    assert!(
        !store
            .try_lock(&lease, "a", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    removed
}
