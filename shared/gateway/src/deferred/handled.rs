//! What a handler answers for a delivered message, and the delivery
//! constants every transport shares. A leaf: handlers and transports
//! depend on it, it depends on nothing of the gateway.

use std::time::Duration;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Done (or found already done): delete the message.
    Done,
    /// Not now (another worker holds the record, or it is not due): deliver again later.
    RetryLater(Duration),
}

/// Deliveries of a failing message before it is dead-lettered (the delay
/// queue's `maxReceiveCount` in `infra/template.yaml`).
pub const MAX_DELIVERIES: u32 = 5;

/// How long a failed message waits before its next local delivery (SQS
/// waits out the message's visibility timeout instead).
pub const RETRY_DELAY: Duration = Duration::from_secs(5);

/// How long a handler may hold a record before another may take over.
pub const HANDLER_LEASE: Duration = Duration::from_secs(60);
