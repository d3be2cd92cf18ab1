//! `chain-step`: an SQS batch of chain steps → one step each, partial batch
//! failures back to the event source mapping.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = switchyard_lambda::start().await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let max_receive_count = runtime.settings.chain_max_receive_count;
        let answer =
            switchyard_lambda::sqs::handle_batch(runtime, event.payload, max_receive_count).await;
        runtime.report_invocation("chain-step");
        Ok::<SqsBatchResponse, Error>(answer)
    }))
    .await
}
