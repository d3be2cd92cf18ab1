//! Writes that DynamoDB cancelled because of contention, tried again.
//!
//! Under load, two writers on one item are the normal case: DynamoDB cancels
//! a transaction whose item another transaction holds (`TransactionConflict`
//! among its cancellation reasons), answers a single-item write to such an
//! item with `TransactionConflictException`, and throttles hot keys. None of
//! these wrote anything, so the write is sent again, and its condition is
//! evaluated afresh: a claim that lost the race then fails its condition and
//! reads as "already taken", which is the answer the caller needed.
//!
//! Bound: at most [`CONFLICT_ATTEMPTS`] sends per write, separated by full
//! jitter below a ceiling that doubles from 10 ms to 320 ms, so one write
//! waits at most [`worst_case_wait`] (2.23 s) before it gives up with
//! `Unavailable` (a 503 with `Retry-After` at the API). Throttling answered
//! as an error (not as a cancellation reason) is retried by the SDK's
//! standard mode inside each send.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use switchyard_core::Backoff;

/// Sends per write before contention becomes `Unavailable`. With 30% of
/// sends cancelled independently, a write fails 0.3^12 ≈ 5e-7 of the time.
pub const CONFLICT_ATTEMPTS: u32 = 12;

/// Ceilings of the waits between sends: 10, 20, 40 … 320 ms.
pub const BACKOFF: Backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(320));

/// The longest a write can spend waiting between its sends.
pub fn worst_case_wait() -> Duration {
    BACKOFF.worst_case(CONFLICT_ATTEMPTS - 1)
}

/// Sleeps before retry number `retry`.
pub(crate) async fn back_off(retry: u32) {
    tokio::time::sleep(BACKOFF.jittered(retry, rand::random::<f64>())).await;
}

/// A cancellation reason that wrote nothing and may succeed when sent again.
pub(crate) fn is_transient_reason(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
    )
}

/// A single-item write refused because a transaction holds its item.
fn is_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("TransactionConflictException")
}

/// Send a single-item write, again while DynamoDB answers that a transaction
/// holds the item (bounded as the module says).
pub(crate) async fn retry_on_conflict<T, E, R, Fut>(
    mut send: impl FnMut() -> Fut,
) -> Result<T, SdkError<E, R>>
where
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata,
{
    let mut retry = 0;
    loop {
        match send().await {
            Err(err) if is_conflict(&err) && retry + 1 < CONFLICT_ATTEMPTS => {
                back_off(retry).await;
                retry += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_what_the_module_says() {
        let ms: Vec<u128> = (0..7).map(|r| BACKOFF.ceiling(r).as_millis()).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 320]);
        assert_eq!(worst_case_wait(), Duration::from_millis(2230));
    }

    #[test]
    fn only_write_free_cancellations_are_transient() {
        assert!(is_transient_reason("TransactionConflict"));
        assert!(is_transient_reason("ThrottlingError"));
        assert!(!is_transient_reason("ConditionalCheckFailed"));
        assert!(!is_transient_reason("ValidationError"));
        assert!(!is_transient_reason("None"));
    }
}
