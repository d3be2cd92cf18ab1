//! `[server]`: where and how the HTTP API listens, and its bounds.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Base of approval links; defaults to `http://{host}:{port}`.
    pub external_url: Option<String>,
    /// Hex-encoded HMAC key for approval links (the current one).
    pub approval_secret: Option<String>,
    /// The current key's id, carried in links as `kid`.
    pub approval_key_id: String,
    /// Earlier keys by id: links they signed still verify (key rotation).
    pub approval_previous_secrets: BTreeMap<String, String>,
    /// Whether a dispatch answer carries the signed approve/reject links.
    /// Default: only when auth is disabled (Acteon's scripts read them).
    pub approval_links_in_response: Option<bool>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Most actions in one `POST /v1/dispatch/batch`.
    pub max_batch_size: usize,
    pub max_concurrent_dispatch: usize,
    pub max_sse_connections_per_tenant: usize,
    /// Open streams per process, all tenants together.
    pub max_sse_connections: usize,
    /// Events a stream may have waiting before it counts as too slow and is
    /// closed with a final `lagged` event.
    pub sse_buffer_events: usize,
    /// How far back `Last-Event-ID` can resume.
    pub sse_replay_window_seconds: u64,
    /// Most records one reconnect replays.
    pub sse_replay_max_events: usize,
    /// Open TCP connections the local server accepts; more wait in the
    /// listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout_seconds: u64,
    /// Time a request may take from its headers to the end of its answer
    /// (body upload included); streams are exempt. 408 after it.
    pub request_timeout_seconds: u64,
    pub shutdown_timeout_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            external_url: None,
            approval_secret: None,
            approval_key_id: "k1".into(),
            approval_previous_secrets: BTreeMap::new(),
            approval_links_in_response: None,
            max_body_bytes: 256 * 1024,
            max_batch_size: 1000,
            max_concurrent_dispatch: 5000,
            max_sse_connections_per_tenant: 10,
            max_sse_connections: 1_000,
            sse_buffer_events: 1_024,
            sse_replay_window_seconds: 3_600,
            sse_replay_max_events: 10_000,
            max_connections: 10_000,
            header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            shutdown_timeout_seconds: 30,
        }
    }
}

impl ServerConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let previous = self
            .approval_previous_secrets
            .iter()
            .map(|(kid, secret)| (format!("[server] approval_previous_secrets.{kid}"), secret));
        for (at, secret) in self
            .approval_secret
            .iter()
            .map(|s| ("[server] approval_secret".to_string(), s))
            .chain(previous)
        {
            check_approval_secret(&at, secret)?;
        }
        if self
            .approval_previous_secrets
            .contains_key(&self.approval_key_id)
        {
            return Err(format!(
                "[server] approval_previous_secrets: '{}' is the current approval_key_id",
                self.approval_key_id
            ));
        }
        for (key, value) in [
            ("max_body_bytes", self.max_body_bytes),
            ("max_batch_size", self.max_batch_size),
            ("max_concurrent_dispatch", self.max_concurrent_dispatch),
            (
                "max_sse_connections_per_tenant",
                self.max_sse_connections_per_tenant,
            ),
            ("max_sse_connections", self.max_sse_connections),
            ("sse_buffer_events", self.sse_buffer_events),
            ("sse_replay_max_events", self.sse_replay_max_events),
            ("max_connections", self.max_connections),
            (
                "header_timeout_seconds",
                self.header_timeout_seconds as usize,
            ),
            (
                "request_timeout_seconds",
                self.request_timeout_seconds as usize,
            ),
        ] {
            if value == 0 {
                return Err(format!("[server] {key} must be at least 1"));
            }
        }
        Ok(())
    }

    /// Dispatch answers carry signed links when configured so, else when
    /// nobody has to authenticate anyway.
    pub fn approval_links_in_response(&self, auth_enabled: bool) -> bool {
        self.approval_links_in_response.unwrap_or(!auth_enabled)
    }

    pub fn external_url(&self) -> String {
        self.external_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.host, self.port))
            .trim_end_matches('/')
            .to_string()
    }
}

/// A signing key: hex, at least 16 bytes.
pub fn check_approval_secret(at: &str, secret: &str) -> Result<(), String> {
    let bytes = hex::decode(secret).map_err(|e| format!("{at}: not a hex string ({e})"))?;
    if bytes.len() < 16 {
        return Err(format!("{at}: use at least 16 bytes (32 hex characters)"));
    }
    Ok(())
}
