//! JSON logs for CloudWatch: one object per line, with the fields of the
//! current span (the Lambda runtime's invocation span carries `requestId`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}

/// Log why start-up failed (the runtime then reports an init error).
pub fn init_failed(error: &anyhow::Error) {
    tracing::error!(error = %format!("{error:#}"), "function start-up failed");
}
