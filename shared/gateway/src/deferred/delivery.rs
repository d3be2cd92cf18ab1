//! One delivery policy for every transport: what becomes of a delivered
//! message. The local worker (memory queue) and the `chain-step` and
//! `scheduler` functions (SQS, EventBridge Scheduler) all hand each message
//! to [`Gateway::deliver`] and only carry out its answer, so a poison message
//! takes the same path everywhere: retried until its `max_receive_count`-th
//! delivery, then dead-lettered (kept in the store, audited) and acknowledged.

use std::time::Duration;

use switchyard_store::DelayedMessage;

use crate::dead_letter::DeadLetter;
use crate::deferred::handled::Handled;
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// A message as the transport delivered it.
#[derive(Debug, Clone, Copy)]
pub enum Incoming<'a> {
    /// It read as a Switchyard message.
    Message(&'a DelayedMessage),
    /// It did not: `raw` is its body, `error` why it does not read, and
    /// `transport_id` the transport's own id for it.
    Unreadable {
        transport_id: &'a str,
        raw: &'a str,
        error: &'a str,
    },
}

impl<'a> Incoming<'a> {
    /// Read a raw body as a message.
    pub fn read(
        transport_id: &'a str,
        raw: &'a str,
        parsed: &'a Result<DelayedMessage, String>,
    ) -> Self {
        match parsed {
            Ok(message) => Incoming::Message(message),
            Err(error) => Incoming::Unreadable {
                transport_id,
                raw,
                error,
            },
        }
    }
}

/// What the transport does with the message once the gateway is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Delete it: handled, or its wait re-sent as a new message, or
    /// dead-lettered and recorded.
    Ack,
    /// It failed: deliver it again later (counts as a failed delivery).
    Redeliver,
}

/// The decision alone, from what handling returned and which delivery this
/// was (1 for the first). Pure, so the table below is the whole policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Done with it.
    Ack,
    /// The work must wait (another worker holds the record, or it is not
    /// due): send it again as a new message after this long. Waiting never
    /// counts against the receive limit.
    Requeue(Duration),
    /// It failed with deliveries to spare.
    Redeliver,
    /// It failed its last delivery.
    DeadLetter,
}

pub fn decide(
    handled: Result<&Handled, &GatewayError>,
    attempt: u32,
    max_receive_count: u32,
) -> Verdict {
    match handled {
        Ok(Handled::Done) => Verdict::Ack,
        Ok(Handled::RetryLater(after)) => Verdict::Requeue(*after),
        Err(_) if attempt >= max_receive_count => Verdict::DeadLetter,
        Err(_) => Verdict::Redeliver,
    }
}

impl Gateway {
    /// Handle one delivered message under the delivery policy and say what
    /// the transport should do with it. `attempt` counts this delivery (1
    /// for the first; SQS's `ApproximateReceiveCount`).
    pub async fn deliver(
        &self,
        incoming: Incoming<'_>,
        attempt: u32,
        max_receive_count: u32,
    ) -> Settled {
        match incoming {
            Incoming::Message(message) => {
                let handled = self.handle_isolated(message).await;
                match decide(handled.as_ref(), attempt, max_receive_count) {
                    Verdict::Ack => Settled::Ack,
                    Verdict::Requeue(after) => self.requeue(message, after).await,
                    Verdict::Redeliver => {
                        let error = handled.err().map(|e| e.to_string()).unwrap_or_default();
                        tracing::warn!(id = %message.id, kind = message.work.kind(), attempt, max_receive_count, error, "message failed; it will be delivered again");
                        Settled::Redeliver
                    }
                    Verdict::DeadLetter => {
                        let error = handled.err().map(|e| e.to_string()).unwrap_or_default();
                        self.settle_dead(DeadLetter::of_message(
                            message,
                            &error,
                            attempt,
                            self.now(),
                        ))
                        .await
                    }
                }
            }
            Incoming::Unreadable {
                transport_id,
                raw,
                error,
            } => {
                let failed = Err(GatewayError::Invalid {
                    field: "message".into(),
                    message: error.to_string(),
                });
                match decide(failed.as_ref(), attempt, max_receive_count) {
                    Verdict::DeadLetter => {
                        self.settle_dead(DeadLetter::of_unreadable(
                            transport_id,
                            raw,
                            error,
                            attempt,
                            self.now(),
                        ))
                        .await
                    }
                    _ => {
                        tracing::warn!(
                            transport_id,
                            attempt,
                            max_receive_count,
                            error,
                            "unreadable message; it will be delivered again"
                        );
                        Settled::Redeliver
                    }
                }
            }
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }

    async fn requeue(&self, message: &DelayedMessage, after: Duration) -> Settled {
        let at = switchyard_core::after(self.now(), after);
        match self.ports.queue.send(message.clone(), at).await {
            Ok(()) => Settled::Ack,
            Err(err) => {
                tracing::error!(id = %message.id, error = %err, "cannot requeue a waiting message; it will be delivered again");
                Settled::Redeliver
            }
        }
    }

    /// Keep the dead letter and audit it; only then may the transport drop
    /// the message (if keeping it fails, the transport's own DLQ is the net).
    async fn settle_dead(&self, dead: DeadLetter) -> Settled {
        match self.dead_letter(dead).await {
            Ok(()) => Settled::Ack,
            Err(err) => {
                tracing::error!(error = %err, "cannot keep a dead letter; the message stays with the transport");
                Settled::Redeliver
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> GatewayError {
        GatewayError::Internal("boom".into())
    }

    #[test]
    fn the_policy_table() {
        let done = Handled::Done;
        let wait = Handled::RetryLater(Duration::from_secs(60));
        assert_eq!(decide(Ok(&done), 1, 5), Verdict::Ack);
        assert_eq!(
            decide(Ok(&done), 9, 5),
            Verdict::Ack,
            "late success still acks"
        );
        assert_eq!(
            decide(Ok(&wait), 5, 5),
            Verdict::Requeue(Duration::from_secs(60)),
            "waiting is never a failure, even on the last delivery"
        );
        assert_eq!(decide(Err(&failed()), 1, 5), Verdict::Redeliver);
        assert_eq!(decide(Err(&failed()), 4, 5), Verdict::Redeliver);
        assert_eq!(decide(Err(&failed()), 5, 5), Verdict::DeadLetter);
        assert_eq!(
            decide(Err(&failed()), 7, 5),
            Verdict::DeadLetter,
            "past the limit (a redrive raised the count) still dead-letters"
        );
        assert_eq!(
            decide(Err(&failed()), 1, 1),
            Verdict::DeadLetter,
            "a limit of one dead-letters the first failure"
        );
    }
}
