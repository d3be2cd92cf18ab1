//! Serving the router on a TCP listener, with the bounds a public socket
//! needs: a limit on open connections, a deadline for request headers
//! (slowloris), and graceful shutdown. (On Lambda, API Gateway does this.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

/// The socket-level bounds (`[server]` keys of the same names).
#[derive(Debug, Clone, Copy)]
pub struct ListenLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_timeout: Duration,
}

impl ListenLimits {
    pub fn from_config(server: &switchyard_config::ServerConfig) -> Self {
        Self {
            max_connections: server.max_connections.max(1),
            header_timeout: Duration::from_secs(server.header_timeout_seconds.max(1)),
            shutdown_timeout: Duration::from_secs(server.shutdown_timeout_seconds),
        }
    }
}

/// Serve `app` until `shutdown` completes, then let open connections finish
/// (up to the shutdown timeout).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ListenLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        // At the limit, stop accepting: new clients wait in the backlog.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut app = app.clone();
            async move { app.call(request.map(axum::body::Body::new)).await }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown timeout: closing the remaining connections");
    }
}
