//! `dispatch`: API Gateway (HTTP API v2, REST API) and function URL events →
//! the same axum router `switchyard serve` serves.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = switchyard_lambda::start().await?;
    lambda_http::run(switchyard_lambda::dispatch::app(Arc::new(runtime))).await
}
