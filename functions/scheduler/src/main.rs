//! `scheduler`: delayed messages from the delay queue (SQS batch) or from an
//! EventBridge Scheduler one-time schedule (one message).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use switchyard_lambda::scheduler::{SchedulerEvent, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = switchyard_lambda::start().await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event = SchedulerEvent::parse(event.payload)?;
        let answer = handle(runtime, event).await.map_err(Error::from);
        runtime.report_invocation("scheduler");
        answer
    }))
    .await
}
