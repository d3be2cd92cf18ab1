//! The approval-link keys from their SSM parameter: a hex key, or a keyring
//! `{"kid": "k2", "secret": "<hex>", "previous": {"k1": "<hex>"}}` so a key
//! can be rotated without killing the links already sent.

use std::collections::BTreeMap;

use serde::Deserialize;
use switchyard_config::{ServerConfig, check_approval_secret};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keyring {
    kid: String,
    secret: String,
    #[serde(default)]
    previous: BTreeMap<String, String>,
}

/// Put the parameter's keys into `[server]`, checking each.
pub fn apply(server: &mut ServerConfig, parameter: &str, value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.starts_with('{') {
        let ring: Keyring = serde_json::from_str(value)
            .map_err(|e| format!("{parameter}: not a keyring {{kid, secret, previous}} ({e})"))?;
        if ring.previous.contains_key(&ring.kid) {
            return Err(format!(
                "{parameter}: '{}' is both current and previous",
                ring.kid
            ));
        }
        server.approval_key_id = ring.kid;
        server.approval_secret = Some(ring.secret);
        server.approval_previous_secrets = ring.previous;
    } else {
        server.approval_secret = Some(value.to_string());
    }
    if let Some(secret) = &server.approval_secret {
        check_approval_secret(parameter, secret)?;
    }
    for (kid, secret) in &server.approval_previous_secrets {
        check_approval_secret(&format!("{parameter} previous.{kid}"), secret)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_key_or_a_keyring() {
        let key = "ab".repeat(32);
        let mut server = ServerConfig::default();
        apply(&mut server, "/p", &key).expect("plain");
        assert_eq!(server.approval_secret.as_deref(), Some(key.as_str()));
        assert_eq!(server.approval_key_id, "k1");

        let old = "cd".repeat(32);
        let ring = format!(r#"{{"kid": "k2", "secret": "{key}", "previous": {{"k1": "{old}"}}}}"#);
        apply(&mut server, "/p", &ring).expect("keyring");
        assert_eq!(server.approval_key_id, "k2");
        assert_eq!(server.approval_previous_secrets["k1"], old);

        let err = apply(&mut ServerConfig::default(), "/p", "not-hex").expect_err("bad");
        assert!(err.contains("/p"), "{err}");
        let clash = format!(r#"{{"kid": "k1", "secret": "{key}", "previous": {{"k1": "{old}"}}}}"#);
        assert!(apply(&mut ServerConfig::default(), "/p", &clash).is_err());
    }
}
