//! The HTTP API: the local server's router, with the rule files re-checked
//! (at most every `RULES_REFRESH_SECONDS`) before a request is served.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use switchyard_server::{AppState, router};

use crate::init::Runtime;

pub fn app(runtime: Arc<Runtime>) -> Router {
    let gateway = runtime.gateway.clone();
    router(AppState::new(gateway)).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let runtime = runtime.clone();
            async move {
                runtime.refresh_rules().await;
                let response: Response = next.run(request).await;
                response
            }
        },
    ))
}
