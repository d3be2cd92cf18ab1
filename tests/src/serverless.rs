//! The serverless harness: the template deployed to the emulator, the four
//! functions' handlers running in this process, and this harness playing the
//! AWS parts the emulator cannot run.
//!
//! What AWS does, and what the harness does instead:
//! - API Gateway invokes `dispatch` per request. Here the same router
//!   (`switchyard_lambda::dispatch::app`, what `lambda_http` wraps) serves a
//!   loopback port; the Lambda event translation is covered by the
//!   `cargo lambda` smoke test (`tests/lambda-smoke`).
//! - Lambda's SQS event source mapping long-polls each queue, invokes the
//!   function with up to 10 records in the real SQS event shape, deletes the
//!   records not listed in `batchItemFailures`, and leaves the failed ones to
//!   reappear after the visibility timeout (to the DLQ after
//!   `maxReceiveCount`). [`Functions::poll`] does exactly that against the
//!   emulated queues, except that it receives with a 1-second visibility
//!   timeout instead of the queue's 180 s, so redelivery fits in a test.
//! - EventBridge Scheduler fires a one-time schedule at its `at(...)` time,
//!   invokes the target with the schedule's input and deletes the schedule
//!   (`ActionAfterCompletion: DELETE`). The emulator stores schedules but never
//!   fires them: [`Functions::fire_due_schedules`] reads them back, fires the
//!   due ones (by the injected clock) into the scheduler handler and deletes
//!   each one that was handled.
//! - The reaper's `rate(1 minute)` schedule: tests call the reaper's handler.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use switchyard_core::ManualClock;
use switchyard_lambda::scheduler::SchedulerEvent;
use switchyard_lambda::{Runtime, S3Location, Settings};

/// A stack deployed to the emulator by `infra/deploy-local`.
/// A one-time schedule as stored.
pub struct OneTimeSchedule {
    pub name: String,
    pub at: DateTime<Utc>,
    pub input: String,
    pub target_arn: String,
    pub timezone: Option<String>,
    pub deleted_after_completion: bool,
}

pub struct Stack {
    pub name: String,
    pub outputs: HashMap<String, String>,
    pub sdk: SdkConfig,
}

/// Deploy `infra/template.yaml` as a stack of its own (tests stay isolated).
/// `None` (skipped) when no emulator is configured outside CI.
pub async fn deploy_stack(prefix: &str) -> Option<Stack> {
    let endpoint = crate::dynamodb_endpoint()?;
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let output = tokio::process::Command::new(crate::repo_path("infra/deploy-local"))
        .args(["--stack", &name])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .output()
        .await
        .expect("run infra/deploy-local");
    assert!(
        output.status.success(),
        "infra/deploy-local failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outputs: HashMap<String, String> =
        serde_json::from_slice(&output.stdout).expect("deploy-local prints the outputs as JSON");
    let sdk = crate::aws::emulator_sdk(&endpoint).await;
    Some(Stack { name, outputs, sdk })
}

impl Stack {
    pub fn output(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .unwrap_or_else(|| panic!("stack output {key} missing: {:?}", self.outputs))
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        )
    }

    pub fn scheduler(&self) -> aws_sdk_scheduler::Client {
        aws_sdk_scheduler::Client::new(&self.sdk)
    }

    /// Every one-time schedule (`at(...)`) in the stack's group, read back in
    /// full. The template's `rate(1 minute)` reaper tick is left out: tests
    /// call the reaper themselves.
    pub async fn one_time_schedules(&self) -> Vec<OneTimeSchedule> {
        let scheduler = self.scheduler();
        let group = self.output("ScheduleGroupName");
        let listed = scheduler
            .list_schedules()
            .group_name(group)
            .send()
            .await
            .expect("list schedules");
        let mut out = Vec::new();
        for summary in listed.schedules() {
            let name = summary.name().expect("name");
            if name.ends_with("-reaper") {
                continue;
            }
            let schedule = scheduler
                .get_schedule()
                .name(name)
                .group_name(group)
                .send()
                .await
                .expect("get schedule");
            let expression = schedule.schedule_expression().expect("expression");
            let at = expression
                .strip_prefix("at(")
                .and_then(|e| e.strip_suffix(')'))
                .and_then(|e| NaiveDateTime::parse_from_str(e, "%Y-%m-%dT%H:%M:%S").ok())
                .unwrap_or_else(|| panic!("not a one-time schedule: {expression}"));
            let target = schedule.target().expect("target");
            out.push(OneTimeSchedule {
                name: name.to_string(),
                at: at.and_utc(),
                input: target.input().expect("input").to_string(),
                target_arn: target.arn().to_string(),
                timezone: schedule.schedule_expression_timezone().map(str::to_string),
                deleted_after_completion: schedule.action_after_completion()
                    == Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete),
            });
        }
        out
    }

    /// Delete schedule `name` from the stack's group (what Scheduler does
    /// after firing a one-time schedule).
    pub async fn delete_schedule(&self, name: &str) {
        self.scheduler()
            .delete_schedule()
            .name(name)
            .group_name(self.output("ScheduleGroupName"))
            .send()
            .await
            .expect("delete schedule");
    }

    /// The queue's redrive limit, read back from the emulator.
    pub async fn max_receive_count(&self, queue_url: &str) -> u32 {
        let attributes = self
            .sqs()
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .expect("queue attributes");
        let policy = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
            .expect("redrive policy");
        let policy: Value = serde_json::from_str(policy).expect("policy JSON");
        match &policy["maxReceiveCount"] {
            Value::Number(n) => n.as_u64().expect("count") as u32,
            Value::String(s) => s.parse().expect("count"),
            other => panic!("maxReceiveCount {other}"),
        }
    }

    /// The environment the template gives each function (its `Globals`),
    /// filled from the stack's outputs.
    pub async fn function_settings(
        &self,
        rules: Option<&S3Location>,
        external_url: &str,
    ) -> Settings {
        let chain_max = self.max_receive_count(self.output("ChainQueueUrl")).await;
        let delay_max = self.max_receive_count(self.output("DelayQueueUrl")).await;
        let env: HashMap<&str, String> = HashMap::from([
            ("STATE_TABLE", self.output("StateTableName").to_string()),
            ("AUDIT_TABLE", self.output("AuditTableName").to_string()),
            ("CHAIN_QUEUE_URL", self.output("ChainQueueUrl").to_string()),
            ("DELAY_QUEUE_URL", self.output("DelayQueueUrl").to_string()),
            (
                "SCHEDULE_GROUP",
                self.output("ScheduleGroupName").to_string(),
            ),
            (
                "SCHEDULER_TARGET_ARN",
                self.output("SchedulerFunctionArn").to_string(),
            ),
            (
                "SCHEDULER_ROLE_ARN",
                self.output("SchedulerRoleArn").to_string(),
            ),
            (
                "SCHEDULER_DLQ_ARN",
                self.output("DelayDeadLetterQueueArn").to_string(),
            ),
            (
                "RULES_S3_URI",
                rules.map(ToString::to_string).unwrap_or_default(),
            ),
            // Every request re-checks the ETags, so a test sees a change at once.
            ("RULES_REFRESH_SECONDS", "0".to_string()),
            (
                "APPROVAL_SECRET_PARAMETER",
                self.output("ApprovalSecretParameter").to_string(),
            ),
            ("CHAIN_MAX_RECEIVE_COUNT", chain_max.to_string()),
            ("DELAY_MAX_RECEIVE_COUNT", delay_max.to_string()),
            ("EXTERNAL_URL", external_url.to_string()),
            // These tests exercise the serverless topology, not identity:
            // the dispatch function serves without keys on purpose here
            // (tests/auth.rs covers authentication on the same router).
            ("ALLOW_ANONYMOUS", "true".to_string()),
        ]);
        Settings::from_lookup(|k| env.get(k).cloned()).expect("complete settings")
    }
}

/// Which queue a poll reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The chain queue → `chain-step`.
    Chain,
    /// The delay queue → `scheduler`.
    Delay,
}

/// The four functions, each with its own start-up (as four Lambda functions
/// have), sharing one injected clock.
pub struct Functions {
    pub stack: Stack,
    pub clock: Arc<ManualClock>,
    /// Base URL of the dispatch function's router.
    pub http: String,
    pub chain_step: Arc<Runtime>,
    pub scheduler: Arc<Runtime>,
    pub reaper: Arc<Runtime>,
    client: reqwest::Client,
}

pub async fn start_functions(
    stack: Stack,
    rules: Option<&S3Location>,
    now: DateTime<Utc>,
) -> Functions {
    let clock = Arc::new(ManualClock::new(now));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http = format!("http://{}", listener.local_addr().expect("addr"));
    let settings = stack.function_settings(rules, &http).await;
    let start = || async {
        Arc::new(
            switchyard_lambda::init_with(settings.clone(), &stack.sdk, clock.clone())
                .await
                .expect("function start-up"),
        )
    };
    let dispatch = start().await;
    let app = switchyard_lambda::dispatch::app(dispatch).expect("dispatch starts");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let (chain_step, scheduler, reaper) = (start().await, start().await, start().await);
    Functions {
        stack,
        clock,
        http,
        chain_step,
        scheduler,
        reaper,
        client: reqwest::Client::new(),
    }
}

/// An SQS event record in the shape Lambda delivers it.
fn sqs_record(message: &Message, queue_arn: &str) -> Value {
    let attributes: HashMap<String, String> = message
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    })
}

fn queue_arn(url: &str) -> String {
    let name = url.rsplit('/').next().unwrap_or_default();
    format!("arn:aws:sqs:us-east-1:123456789012:{name}")
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    pub received: usize,
    pub failed: usize,
}

impl Functions {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self.client.post(self.url(path)).json(body);
        crate::read(request.send().await.expect("post")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        crate::read(self.client.get(self.url(path)).send().await.expect("get")).await
    }

    pub fn queue_url(&self, source: Source) -> &str {
        match source {
            Source::Chain => self.stack.output("ChainQueueUrl"),
            Source::Delay => self.stack.output("DelayQueueUrl"),
        }
    }

    /// Receive up to 10 messages (1 s visibility; see the module comment).
    pub async fn receive(&self, source: Source, wait_seconds: i32) -> Vec<Message> {
        self.stack
            .sqs()
            .receive_message()
            .queue_url(self.queue_url(source))
            .max_number_of_messages(10)
            .visibility_timeout(1)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive")
            .messages()
            .to_vec()
    }

    /// Invoke the queue's function with `messages` as one SQS event and
    /// return the ids it reported failed (`batchItemFailures`).
    pub async fn invoke_with(&self, source: Source, messages: &[Message]) -> Vec<String> {
        let arn = queue_arn(self.queue_url(source));
        let event =
            json!({"Records": messages.iter().map(|m| sqs_record(m, &arn)).collect::<Vec<_>>()});
        let response = match source {
            Source::Chain => {
                let event = serde_json::from_value(event).expect("SQS event");
                let max = self.chain_step.settings.chain_max_receive_count;
                serde_json::to_value(
                    switchyard_lambda::sqs::handle_batch(&self.chain_step, event, max).await,
                )
                .expect("response JSON")
            }
            Source::Delay => {
                let event = SchedulerEvent::parse(event).expect("scheduler event");
                switchyard_lambda::scheduler::handle(&self.scheduler, event)
                    .await
                    .expect("an SQS batch never fails as a whole")
            }
        };
        response["batchItemFailures"]
            .as_array()
            .expect("batchItemFailures")
            .iter()
            .map(|f| f["itemIdentifier"].as_str().expect("id").to_string())
            .collect()
    }

    /// One round of the event source mapping on `source`.
    pub async fn poll(&self, source: Source) -> Poll {
        let messages = self.receive(source, 0).await;
        if messages.is_empty() {
            return Poll::default();
        }
        let failed = self.invoke_with(source, &messages).await;
        self.delete_except(source, &messages, &failed).await;
        Poll {
            received: messages.len(),
            failed: failed.len(),
        }
    }

    /// Delete the messages the function did not report failed.
    pub async fn delete_except(&self, source: Source, messages: &[Message], failed: &[String]) {
        for message in messages {
            if failed
                .iter()
                .any(|f| Some(f.as_str()) == message.message_id())
            {
                continue;
            }
            self.stack
                .sqs()
                .delete_message()
                .queue_url(self.queue_url(source))
                .receipt_handle(message.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
        }
    }

    /// The schedules stored in the stack's group: (name, due time, input).
    pub async fn schedules(&self) -> Vec<(String, DateTime<Utc>, String)> {
        let mut out = Vec::new();
        for schedule in self.stack.one_time_schedules().await {
            assert_eq!(schedule.timezone.as_deref(), Some("UTC"));
            assert_eq!(
                schedule.target_arn,
                self.stack.output("SchedulerFunctionArn")
            );
            assert!(schedule.deleted_after_completion);
            out.push((schedule.name, schedule.at, schedule.input));
        }
        out
    }

    /// Fire every schedule due by the clock; delete each that was handled.
    pub async fn fire_due_schedules(&self) -> usize {
        let mut fired = 0;
        for (name, at, input) in self.schedules().await {
            if at > switchyard_core::Clock::now(self.clock.as_ref()) {
                continue;
            }
            let event = SchedulerEvent::parse(serde_json::from_str(&input).expect("input JSON"))
                .expect("a Switchyard message");
            match switchyard_lambda::scheduler::handle(&self.scheduler, event).await {
                Ok(_) => {
                    self.stack.delete_schedule(&name).await;
                    fired += 1;
                }
                Err(err) => eprintln!("schedule {name} failed (AWS would retry): {err}"),
            }
        }
        fired
    }

    /// Poll both queues and fire due schedules until `done` holds (checked
    /// after each round), for at most `rounds` rounds.
    pub async fn run_until<F, Fut>(&self, rounds: usize, mut done: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..rounds {
            let chain = self.poll(Source::Chain).await;
            let delay = self.poll(Source::Delay).await;
            let fired = self.fire_due_schedules().await;
            if done().await {
                return true;
            }
            if chain.received + delay.received + fired == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        false
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(chrono::Duration::seconds(seconds));
    }
}
