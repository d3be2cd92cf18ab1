//! The delay-queue port on AWS.
//!
//! A message due within 15 minutes is an SQS message with `DelaySeconds`
//! (SQS's ceiling); a later one is an EventBridge Scheduler one-time schedule
//! (`at(...)`, deleted after it fires, undeliverable invocations to a DLQ)
//! that invokes the scheduler function with the message as its input.
//! Chain steps go to the chain queue (consumed by `chain-step`), everything
//! else to the delay queue (consumed by `scheduler`).

mod route;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, Utc};
use switchyard_core::Clock;
use switchyard_store::{DelayQueue, DelayedMessage, StoreError};

pub use route::{Route, SQS_MAX_DELAY_SECONDS, route, schedule_name};

/// Where the stack's queues and schedules are.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub chain_queue_url: String,
    pub delay_queue_url: String,
    pub schedule_group: String,
    /// What a one-time schedule invokes (the scheduler function's ARN).
    pub schedule_target_arn: String,
    /// The role EventBridge Scheduler assumes to invoke it.
    pub schedule_role_arn: String,
    /// Where Scheduler sends an invocation it could not deliver.
    pub schedule_dead_letter_arn: Option<String>,
}

pub struct AwsDelayQueue {
    sqs: aws_sdk_sqs::Client,
    scheduler: aws_sdk_scheduler::Client,
    settings: QueueSettings,
    clock: Arc<dyn Clock>,
}

impl AwsDelayQueue {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        scheduler: aws_sdk_scheduler::Client,
        settings: QueueSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sqs,
            scheduler,
            settings,
            clock,
        }
    }

    async fn send_sqs(
        &self,
        queue_url: &str,
        body: String,
        delay_seconds: i32,
    ) -> Result<(), StoreError> {
        self.sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .delay_seconds(delay_seconds)
            .send()
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "SQS SendMessage to {queue_url}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ))
            })?;
        Ok(())
    }

    async fn create_schedule(
        &self,
        message: &DelayedMessage,
        body: String,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let invalid = |e: aws_sdk_scheduler::error::BuildError| StoreError::Invalid(e.to_string());
        let mut target = Target::builder()
            .arn(&self.settings.schedule_target_arn)
            .role_arn(&self.settings.schedule_role_arn)
            .input(body)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(10)
                    .maximum_event_age_in_seconds(86_400)
                    .build(),
            );
        if let Some(dlq) = &self.settings.schedule_dead_letter_arn {
            target = target.dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
        }
        let name = schedule_name(&message.id, deliver_at);
        let result = self
            .scheduler
            .create_schedule()
            .name(&name)
            .group_name(&self.settings.schedule_group)
            .schedule_expression(format!("at({})", deliver_at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(invalid)?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target.build().map_err(invalid)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Same message, same time: already scheduled (a retried send).
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conflict_exception()) =>
            {
                tracing::debug!(schedule = %name, "schedule exists already");
                Ok(())
            }
            Err(err) => Err(StoreError::Unavailable(format!(
                "Scheduler CreateSchedule {name}: {}",
                aws_sdk_scheduler::error::DisplayErrorContext(err)
            ))),
        }
    }
}

#[async_trait]
impl DelayQueue for AwsDelayQueue {
    async fn send(
        &self,
        message: DelayedMessage,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(&message)
            .map_err(|e| StoreError::Invalid(format!("message {}: {e}", message.id)))?;
        match route(message.work.lane(), deliver_at, self.clock.now()) {
            Route::ChainQueue { delay_seconds } => {
                self.send_sqs(&self.settings.chain_queue_url, body, delay_seconds)
                    .await
            }
            Route::DelayQueue { delay_seconds } => {
                self.send_sqs(&self.settings.delay_queue_url, body, delay_seconds)
                    .await
            }
            Route::Schedule => self.create_schedule(&message, body, deliver_at).await,
        }
    }
}
