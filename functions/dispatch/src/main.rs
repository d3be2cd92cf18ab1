//! `dispatch`: API Gateway (HTTP API v2, REST API) and function URL events →
//! the same axum router `switchyard serve` serves.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let runtime = switchyard_lambda::start().await?;
    let app = switchyard_lambda::dispatch::app(Arc::new(runtime))
        .inspect_err(switchyard_lambda::logging::init_failed)?;
    lambda_http::run(app).await
}
