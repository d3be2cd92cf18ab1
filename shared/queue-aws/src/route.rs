//! Which AWS carrier takes a message: pure functions, tested without AWS.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use switchyard_store::Lane;

/// SQS's ceiling for `DelaySeconds`.
pub const SQS_MAX_DELAY_SECONDS: i64 = 900;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ChainQueue { delay_seconds: i32 },
    DelayQueue { delay_seconds: i32 },
    Schedule,
}

/// Chain steps due within 15 minutes ride the chain queue, other messages
/// the delay queue; anything later becomes a one-time schedule. Delays round
/// up to whole seconds so nothing arrives early.
pub fn route(lane: Lane, deliver_at: DateTime<Utc>, now: DateTime<Utc>) -> Route {
    let millis = (deliver_at - now).num_milliseconds().max(0);
    let seconds = (millis + 999) / 1000;
    if seconds > SQS_MAX_DELAY_SECONDS {
        return Route::Schedule;
    }
    // Within 0..=900 by the check above.
    let delay_seconds = i32::try_from(seconds).unwrap_or(0);
    match lane {
        Lane::Chain => Route::ChainQueue { delay_seconds },
        Lane::Delay => Route::DelayQueue { delay_seconds },
    }
}

/// A schedule's name: Scheduler allows 64 characters of `[0-9A-Za-z-_.]`, so
/// it is a digest of the message id and its time. The same message sent twice
/// for the same time maps to the same name (the second is a no-op); a message
/// re-sent for a later time gets a schedule of its own.
pub fn schedule_name(message_id: &str, deliver_at: DateTime<Utc>) -> String {
    let mut digest = Sha256::new();
    digest.update(message_id.as_bytes());
    digest.update(b"\x1f");
    digest.update(deliver_at.timestamp().to_string().as_bytes());
    format!("sy-{}", &hex::encode(digest.finalize())[..40])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(seconds: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        (now + Duration::milliseconds(seconds), now)
    }

    #[test]
    fn short_delays_ride_sqs_and_round_up() {
        let (due, now) = at(1_500);
        assert_eq!(
            route(Lane::Chain, due, now),
            Route::ChainQueue { delay_seconds: 2 }
        );
        assert_eq!(
            route(Lane::Delay, due, now),
            Route::DelayQueue { delay_seconds: 2 }
        );
    }

    #[test]
    fn past_times_are_immediate() {
        let (due, now) = at(-60_000);
        assert_eq!(
            route(Lane::Delay, due, now),
            Route::DelayQueue { delay_seconds: 0 }
        );
    }

    #[test]
    fn fifteen_minutes_is_the_sqs_ceiling() {
        let (due, now) = at(900_000);
        assert_eq!(
            route(Lane::Delay, due, now),
            Route::DelayQueue { delay_seconds: 900 }
        );
        let (due, now) = at(900_001);
        assert_eq!(route(Lane::Delay, due, now), Route::Schedule);
        assert_eq!(route(Lane::Chain, due, now), Route::Schedule);
    }

    #[test]
    fn schedule_names_are_valid_and_stable() {
        let (due, _) = at(3_600_000);
        let name = schedule_name("chain:0192-abc:step/3", due);
        assert!(name.len() <= 64);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(name, schedule_name("chain:0192-abc:step/3", due));
        assert_ne!(
            name,
            schedule_name("chain:0192-abc:step/3", due + Duration::seconds(1))
        );
        assert_ne!(name, schedule_name("chain:0192-abc:step/4", due));
    }
}
