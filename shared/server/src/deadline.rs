//! Per-request bounds that live in the router (so the Lambda has them too):
//! a deadline for receiving the request body, and `Connection: close` on an
//! error answer to a request that carried a body.
//!
//! The deadline covers the upload only, not the handler: cutting a handler
//! off mid-dispatch could leave a provider called and nothing audited, and
//! the handler's own work is bounded by the executor's timeouts.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::AppState;

/// The error a body read past its deadline fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0:?}")]
pub(crate) struct BodyTimeout(pub Duration);

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            let limit = self.limit;
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(limit)))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a body read failed for want of time (else it was too large).
pub(crate) fn timed_out(err: &axum::Error) -> Option<Duration> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
            return Some(timeout.0);
        }
        source = e.source();
    }
    None
}

pub(crate) async fn bound_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let carries_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|n| n.as_bytes() != b"0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    let limit = Duration::from_secs(state.gateway.config().server.request_timeout_seconds.max(1));
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep(limit)),
        })
    });
    let mut response = next.run(request).await;
    // An early error may leave part of the body unread on the connection;
    // the next request must not be parsed out of it.
    let failed = response.status().is_client_error() || response.status().is_server_error();
    if carries_body && failed {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
