//! A message that fails every delivery of the local worker: how tests make
//! a dead letter.

use switchyard_core::Clock;
use switchyard_gateway::{MAX_DELIVERIES, RETRY_DELAY};
use switchyard_store::{Deferred, DelayQueue, DelayedMessage, RecordRef, StateKey};

use crate::TestServer;

/// The approval record `poison` corrupts.
pub fn corrupt_approval(id: &str) -> StateKey {
    StateKey::new("ecommerce", "acme-store", "approval", id)
}

/// Queue the expiry of approval `id`, whose record is corrupt, and deliver
/// it until the worker gives up on it.
pub async fn poison(server: &TestServer, id: &str) -> String {
    let state = &server.memory.ports.state;
    state
        .put(&corrupt_approval(id), "{half a record", None)
        .await
        .expect("put");
    let message = DelayedMessage::new(
        format!("approval-expiry:{id}"),
        Deferred::ApprovalExpiry(RecordRef {
            namespace: "ecommerce".into(),
            tenant: "acme-store".into(),
            id: id.into(),
        }),
    );
    server
        .memory
        .queue
        .send(message.clone(), server.clock.now())
        .await
        .expect("send");
    let mut deliveries = server.run_due().await;
    while !server.memory.queue.is_empty() {
        deliveries += server.advance(RETRY_DELAY.as_secs() as i64).await;
        assert!(
            deliveries <= 2 * MAX_DELIVERIES as usize,
            "the worker gives up"
        );
    }
    assert_eq!(deliveries, MAX_DELIVERIES as usize);
    message.id
}
