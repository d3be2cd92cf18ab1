//! The delay-queue conformance suite against the AWS adapter: SQS queues and
//! an EventBridge Scheduler group of the stack `infra/template.yaml` deploys
//! to the emulator. The memory adapter runs the same suite in
//! `shared/store/tests/memory.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use switchyard_core::{Clock, ManualClock};
use switchyard_queue_aws::{AwsDelayQueue, QueueSettings};
use switchyard_store::queue_conformance::{self, QueueProbe};
use switchyard_store::{DelayedMessage, Lane};
use switchyard_tests::serverless::{Stack, deploy_stack};

/// What the `chain-step` and `scheduler` functions receive: SQS messages
/// (the emulator honours `DelaySeconds`, so the probe waits in real time),
/// and schedules fired when due. The emulator stores schedules but never
/// fires them, so the probe does that one step itself: a schedule whose
/// `at(...)` time the clock has passed is read, deleted and its input
/// delivered, as Scheduler does with `ActionAfterCompletion: DELETE`.
struct AwsProbe {
    stack: Stack,
    clock: Arc<ManualClock>,
}

impl AwsProbe {
    async fn receive(&self, queue_url: &str) -> Vec<DelayedMessage> {
        let sqs = self.stack.sqs();
        let mut out = Vec::new();
        loop {
            let batch = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            if batch.messages().is_empty() {
                return out;
            }
            for message in batch.messages() {
                out.push(DelayedMessage::parse(message.body().expect("body")).expect("a message"));
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().expect("receipt"))
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    async fn fire_due_schedules(&self, lane: Lane) -> Vec<DelayedMessage> {
        let mut out = Vec::new();
        for schedule in self.stack.one_time_schedules().await {
            let message = DelayedMessage::parse(&schedule.input).expect("a message");
            if schedule.at > self.clock.now() || message.work.lane() != lane {
                continue;
            }
            self.stack.delete_schedule(&schedule.name).await;
            out.push(message);
        }
        out
    }
}

#[async_trait]
impl QueueProbe for AwsProbe {
    async fn pass(&self, by: Duration) {
        self.clock
            .advance(chrono::Duration::from_std(by).expect("duration"));
        // SQS delays run in real time; the suite's are seconds long.
        if by <= Duration::from_secs(900) {
            tokio::time::sleep(by).await;
        }
    }

    async fn delivered(&self, lane: Lane) -> Vec<DelayedMessage> {
        let url = match lane {
            Lane::Chain => self.stack.output("ChainQueueUrl"),
            Lane::Delay => self.stack.output("DelayQueueUrl"),
        };
        let mut out = self.receive(url).await;
        out.extend(self.fire_due_schedules(lane).await);
        out
    }
}

#[tokio::test]
async fn aws_delay_queue_conforms() {
    let Some(stack) = deploy_stack("sy-queue").await else {
        return;
    };
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let queue = AwsDelayQueue::new(
        stack.sqs(),
        stack.scheduler(),
        QueueSettings {
            chain_queue_url: stack.output("ChainQueueUrl").into(),
            delay_queue_url: stack.output("DelayQueueUrl").into(),
            schedule_group: stack.output("ScheduleGroupName").into(),
            schedule_target_arn: stack.output("SchedulerFunctionArn").into(),
            schedule_role_arn: stack.output("SchedulerRoleArn").into(),
            schedule_dead_letter_arn: Some(stack.output("DelayDeadLetterQueueArn").into()),
        },
        clock.clone(),
    );
    let probe = AwsProbe {
        stack,
        clock: clock.clone(),
    };
    queue_conformance::delay_queue(&queue, &probe, clock.as_ref(), "aws").await;
}
