//! The SMTP email backend against a local SMTP server (aiosmtpd from PyPI,
//! `smtp_server.py`): STARTTLS with a certificate from a throw-away CA and
//! AUTH, and a plain relay. The server records each message it accepts.

#![cfg(feature = "smtp")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use switchyard_config::ProviderConfig;

struct SmtpServer {
    child: Child,
    dir: PathBuf,
    starttls: u16,
    implicit: u16,
    plain: u16,
    ca: String,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The project's Python with aiosmtpd (localstack/python-tools installs it
/// into the project's venv when it is missing).
fn python() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("localstack/python-tools"))
        .args(["aiosmtpd>=1.4,<2", "cryptography"])
        .stderr(Stdio::inherit())
        .output()
        .expect("localstack/python-tools runs");
    assert!(out.status.success(), "localstack/python-tools failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn start() -> SmtpServer {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-smtp-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the SMTP server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its ports");
    let ports: Value = serde_json::from_str(&line).expect("a JSON line of ports");
    SmtpServer {
        child,
        dir,
        starttls: ports["starttls"].as_u64().expect("port") as u16,
        implicit: ports["implicit"].as_u64().expect("port") as u16,
        plain: ports["plain"].as_u64().expect("port") as u16,
        ca: ports["ca"].as_str().expect("ca").to_string(),
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

impl SmtpServer {
    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("messages.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    fn config(&self, port: u16, fill: impl FnOnce(&mut ProviderConfig)) -> ProviderConfig {
        let mut config = ProviderConfig {
            name: "mailer".into(),
            kind: "email".into(),
            email_backend: Some("smtp".into()),
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(port),
            from_address: Some("Shop <orders@shop.example>".into()),
            tls_ca_file: Some(self.ca.clone()),
            ..ProviderConfig::default()
        };
        fill(&mut config);
        config
    }
}

use common::execute as send;

fn with_login(password: &'static str) -> impl FnOnce(&mut ProviderConfig) {
    move |c| {
        c.username = Some("mailer".into());
        c.password = Some(password.into());
    }
}

#[tokio::test]
async fn starttls_and_auth_deliver_the_message_with_every_recipient() {
    let server = start();
    let payload = json!({
        "to": ["ann@example.com", "bob@example.com"],
        "cc": "carol@example.com",
        "subject": "Your order ORD-1",
        "body": "Thanks for your order.",
        "html": "<p>Thanks for your order.</p>",
    });
    let config = server.config(server.starttls, with_login("pw-test"));
    let response = send(config, payload).await.expect("sent");
    assert_eq!(response.body["status"], "sent");
    assert_eq!(
        response.body["to"],
        json!(["ann@example.com", "bob@example.com"])
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["port"], json!(server.starttls));
    assert_eq!(message["auth_user"], "mailer");
    assert_eq!(message["mail_from"], "orders@shop.example");
    assert_eq!(
        message["rcpt_tos"],
        json!(["ann@example.com", "bob@example.com", "carol@example.com"])
    );
    let data = message["data"].as_str().expect("data");
    for expected in [
        "From: Shop <orders@shop.example>",
        "To: ann@example.com, bob@example.com",
        "Cc: carol@example.com",
        "Subject: Your order ORD-1",
        "Message-ID: <shop/acme/a-1@switchyard>",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
        "Thanks for your order.",
    ] {
        assert!(data.contains(expected), "missing {expected:?} in\n{data}");
    }
}

#[tokio::test]
async fn tls_from_the_first_byte_delivers_too() {
    let server = start();
    let config = server.config(server.implicit, |c| {
        c.implicit_tls = Some(true);
        with_login("pw-test")(c);
    });
    send(
        config,
        json!({"to": "ann@example.com", "subject": "SMTPS", "body": "x"}),
    )
    .await
    .expect("sent");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["port"], json!(server.implicit));
    assert_eq!(messages[0]["auth_user"], "mailer");
}

#[tokio::test]
async fn a_wrong_password_is_final_and_not_repeated_in_the_error() {
    let server = start();
    let config = server.config(server.starttls, with_login("not-the-password"));
    let error = send(config, json!({"to": "ann@example.com", "body": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code.as_str(), error.retryable),
        ("SMTP_535", false),
        "{error:?}"
    );
    assert!(
        !error.message.contains("not-the-password"),
        "{}",
        error.message
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn tls_is_required_and_verified() {
    let server = start();
    // The plain relay offers no STARTTLS: with TLS on, nothing is sent.
    let no_starttls = server.config(server.plain, |_| {});
    let error = send(no_starttls, json!({"to": "ann@example.com"}))
        .await
        .unwrap_err();
    assert!(!error.retryable, "{error:?}");
    // A certificate from a CA the configuration does not name is refused.
    let untrusted = server.config(server.starttls, |c| {
        c.tls_ca_file = None;
        with_login("pw-test")(c);
    });
    let error = send(untrusted, json!({"to": "ann@example.com"}))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code.as_str(), error.retryable),
        ("TLS", false),
        "{error:?}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_local_relay_takes_plain_text_with_tls_off() {
    let server = start();
    let relay = server.config(server.plain, |c| c.tls = Some(false));
    // No body: the payload itself is the text, as with SES.
    send(relay, json!({"to": "ops@example.com", "order": 7}))
        .await
        .expect("sent");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["auth_user"], Value::Null);
    let data = messages[0]["data"].as_str().expect("data");
    assert!(data.contains("Subject: order_confirmation"), "{data}");
    assert!(data.contains(r#""order":7"#), "{data}");
}
