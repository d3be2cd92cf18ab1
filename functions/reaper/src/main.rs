//! `reaper`: the minute's maintenance pass, fired by an EventBridge Scheduler
//! `rate(1 minute)` schedule. Its input is ignored.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = switchyard_lambda::start().await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let report = runtime.gateway.reap().await;
        runtime.report_invocation("reaper");
        let report = report?;
        tracing::info!(?report, "reaper pass");
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}
