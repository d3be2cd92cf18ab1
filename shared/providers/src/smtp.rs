//! `email` with `email_backend = "smtp"`: one message per action through an
//! SMTP server, with STARTTLS (port 587, the default), TLS from the first
//! byte (port 465, or `implicit_tls = true`) or, with `tls = false`, plain
//! text for a local relay.
//! The payload takes the same fields as the SES backend.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::http::{invalid_payload, text};
use crate::secret::Secret;

pub struct SmtpProvider {
    name: String,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpProvider")
            .field("name", &self.name)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpProvider {
    pub fn from_config(config: &ProviderConfig, timeout: Duration) -> Result<Self, String> {
        let host = config
            .smtp_host
            .as_deref()
            .ok_or("the smtp backend needs `smtp_host`")?;
        let from: Mailbox = config
            .from_address
            .as_deref()
            .ok_or("missing `from_address`")?
            .parse()
            .map_err(|e| format!("`from_address` is not an address: {e}"))?;
        let tls = config.tls.unwrap_or(true);
        let port = config.smtp_port.unwrap_or(if tls { 587 } else { 25 });
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(timeout));
        if tls {
            let mut parameters = TlsParameters::builder(host.to_string());
            if let Some(path) = &config.tls_ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("`tls_ca_file` {path}: {e}"))?;
                let ca = Certificate::from_pem(&pem)
                    .map_err(|e| format!("`tls_ca_file` {path}: {e}"))?;
                parameters = parameters.add_root_certificate(ca);
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|e| format!("TLS settings: {e}"))?;
            // Port 465 speaks TLS from the first byte; others must offer
            // STARTTLS unless `implicit_tls` says otherwise.
            builder = builder.tls(if config.implicit_tls.unwrap_or(port == 465) {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            });
        }
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                let user = Secret::resolve("username", user)?;
                let password = Secret::resolve("password", password)?;
                builder = builder.credentials(Credentials::new(
                    user.expose().to_string(),
                    password.expose().to_string(),
                ));
            }
            (None, None) => {}
            _ => return Err("give `username` and `password` together".into()),
        }
        Ok(Self {
            name: config.name.clone(),
            from,
            transport: builder.build(),
        })
    }
}

/// One address or a list of them, from payload field `name`.
fn mailboxes(payload: &Value, name: &str) -> Result<Mailboxes, ProviderError> {
    let items: Vec<&str> = match payload.get(name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(invalid_payload(format!(
                "payload.{name} must be an address or a list"
            )));
        }
    };
    let mut boxes = Mailboxes::new();
    for item in items {
        let mailbox: Mailbox = item.parse().map_err(|e| {
            invalid_payload(format!("payload.{name}: '{item}' is not an address: {e}"))
        })?;
        boxes.push(mailbox);
    }
    Ok(boxes)
}

fn classify(error: &lettre::transport::smtp::Error) -> ProviderError {
    let message = format!("SMTP: {error}");
    // lettre reports a refused server certificate as a connection error
    // whose text names it.
    let certificate = error.is_tls() || message.contains("certificate");
    let code = match error.status() {
        Some(status) => format!("SMTP_{status}"),
        None if error.is_timeout() => "TIMEOUT".into(),
        None if certificate => "TLS".into(),
        None => "CONNECTION".into(),
    };
    // 4xx replies and lost connections may pass later; 5xx replies, TLS
    // failures and malformed messages will not.
    if error.is_permanent() || certificate || error.is_client() {
        ProviderError::permanent(code, message)
    } else {
        ProviderError::retryable(code, message)
    }
}

#[async_trait]
impl Provider for SmtpProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "email"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let action = request.action;
        let payload = &action.payload;
        let to = mailboxes(payload, "to")?;
        if to.iter().next().is_none() {
            return Err(invalid_payload(
                "payload.to (an address or a list) is required",
            ));
        }
        let recipients: Vec<String> = to.iter().map(|m| m.email.to_string()).collect();
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(text(payload, "subject").unwrap_or(&action.action_type))
            // Stable across retries, so receivers can drop a duplicate.
            .message_id(Some(format!(
                "<{}@switchyard>",
                request.idempotency_key.replace(['<', '>', '@', ' '], "_")
            )));
        for mailbox in to {
            message = message.to(mailbox);
        }
        for mailbox in mailboxes(payload, "cc")? {
            message = message.cc(mailbox);
        }
        for mailbox in mailboxes(payload, "bcc")? {
            message = message.bcc(mailbox);
        }
        if let Some(reply_to) = mailboxes(payload, "reply_to")?.into_iter().next() {
            message = message.reply_to(reply_to);
        }
        let plain = payload.get("body").map(|b| match b {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let html = text(payload, "html").map(str::to_string);
        let built = match (plain, html) {
            (Some(plain), Some(html)) => {
                message.multipart(MultiPart::alternative_plain_html(plain, html))
            }
            (None, Some(html)) => message.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html),
            ),
            (Some(plain), None) => message.singlepart(SinglePart::plain(plain)),
            // Nothing to say: the payload itself, as SES does.
            (None, None) => message.singlepart(SinglePart::plain(payload.to_string())),
        }
        .map_err(|e| invalid_payload(format!("the message cannot be built: {e}")))?;
        let reply = self.transport.send(built).await.map_err(|e| classify(&e))?;
        Ok(ProviderResponse::success(json!({
            "status": "sent",
            "to": recipients,
            "reply_code": reply.code().to_string(),
        })))
    }
}
