//! The socket-level bounds of `switchyard serve`, tried with raw TCP the way
//! a slow or hostile client would: slow headers, a body that never ends,
//! more connections than allowed, and an early error on a connection with
//! an unread body.

use std::time::Duration;

use chrono::Utc;
use switchyard_config::Config;
use switchyard_tests::{Backend, TestServer, ecommerce_config, start_on};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(edit: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = ecommerce_config();
    edit(&mut config);
    start_on(Backend::Memory, config, Utc::now())
        .await
        .expect("memory")
}

async fn connect(server: &TestServer) -> TcpStream {
    let address = server.url("").trim_start_matches("http://").to_string();
    TcpStream::connect(address).await.expect("connect")
}

/// Read one whole response (headers and a Content-Length body), or what
/// arrived before the peer closed.
async fn read_response(socket: &mut TcpStream, within: Duration) -> Option<String> {
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let n = match tokio::time::timeout_at(deadline, socket.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Err(_)) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
        };
        text.extend_from_slice(&buffer[..n]);
        let so_far = String::from_utf8_lossy(&text).to_string();
        if let Some((head, body)) = so_far.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
    Some(String::from_utf8_lossy(&text).to_string())
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = server(|c| c.server.header_timeout_seconds = 1).await;
    let mut socket = connect(&server).await;
    socket
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let answer = read_response(&mut socket, Duration::from_secs(5))
        .await
        .expect("the server gives up on the headers within their deadline");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "closed or 408: {answer}"
    );
}

#[tokio::test]
async fn a_body_that_never_ends_gets_a_json_408_and_the_connection_closes() {
    let server = server(|c| c.server.request_timeout_seconds = 1).await;
    let mut socket = connect(&server).await;
    socket
        .write_all(
            b"POST /v1/dispatch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"namespace\":",
        )
        .await
        .expect("write");
    let answer = read_response(&mut socket, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"REQUEST_TIMEOUT\""), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_early_error_with_an_unread_body_closes_the_connection() {
    let server = server(|_| {}).await;
    let mut socket = connect(&server).await;
    let body = "x".repeat(2_000);
    // 415 is decided from the headers; the body is never read.
    socket
        .write_all(
            format!(
                "POST /v1/dispatch HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let answer = read_response(&mut socket, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // And the server does close it: nothing else is parsed from the body.
    let rest = read_response(&mut socket, Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(rest, "", "no second response");
    // A plain keep-alive request keeps its connection.
    let mut socket = connect(&server).await;
    socket
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_response(&mut socket, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"));
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let server = server(|c| c.server.max_connections = 2).await;
    let health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut socket = connect(&server).await;
        socket.write_all(health).await.expect("write");
        let answer = read_response(&mut socket, Duration::from_secs(5))
            .await
            .expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(socket); // kept open (keep-alive)
    }
    let mut third = connect(&server).await;
    third.write_all(health).await.expect("write");
    assert_eq!(
        read_response(&mut third, Duration::from_millis(700)).await,
        None,
        "not served while two connections are open"
    );
    drop(held.pop());
    let answer = read_response(&mut third, Duration::from_secs(5))
        .await
        .expect("served once a connection closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
