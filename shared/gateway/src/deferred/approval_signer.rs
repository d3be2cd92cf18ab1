//! Approval links: HMAC-SHA256 over the namespace, tenant, approval id,
//! expiry and the decision itself, so an approve link and a reject link carry
//! different signatures and one can never stand in for the other. Keys are a
//! current one plus earlier ones, chosen by the link's `kid` (rotation).

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchyard_config::ServerConfig;

type HmacSha256 = Hmac<Sha256>;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Approve,
    Reject,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Approve => "approve",
            LinkPurpose::Reject => "reject",
        }
    }
}

#[derive(Clone)]
pub struct ApprovalSigner {
    kid: String,
    current: Vec<u8>,
    previous: HashMap<String, Vec<u8>>,
    /// The current key was made up at start (no key configured).
    pub ephemeral: bool,
}

impl std::fmt::Debug for ApprovalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalSigner")
            .field("kid", &self.kid)
            .field("previous", &self.previous.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn decode(at: &str, secret: &str) -> Result<Vec<u8>, String> {
    switchyard_config::check_approval_secret(at, secret)?;
    hex::decode(secret).map_err(|e| format!("{at}: {e}"))
}

impl ApprovalSigner {
    /// From `[server]`: `approval_secret` (current, id `approval_key_id`) and
    /// `approval_previous_secrets`. Without a current key, a random one per
    /// process: links die with it (fine locally, refused on Lambda).
    pub fn from_config(server: &ServerConfig) -> Result<Self, String> {
        let (current, ephemeral) = match &server.approval_secret {
            Some(secret) => (decode("[server] approval_secret", secret)?, false),
            None => (rand::random::<[u8; 32]>().to_vec(), true),
        };
        let mut previous = HashMap::new();
        for (kid, secret) in &server.approval_previous_secrets {
            previous.insert(
                kid.clone(),
                decode(&format!("[server] approval_previous_secrets.{kid}"), secret)?,
            );
        }
        Ok(Self {
            kid: server.approval_key_id.clone(),
            current,
            previous,
            ephemeral,
        })
    }

    /// A signer with one key (tests).
    pub fn with_key(kid: &str, key: &[u8]) -> Self {
        Self {
            kid: kid.into(),
            current: key.to_vec(),
            previous: HashMap::new(),
            ephemeral: false,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn mac(
        key: &[u8],
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        purpose: LinkPurpose,
    ) -> HmacSha256 {
        // Length-prefixed fields: no two different tuples share a message.
        let message = format!(
            "{}:{namespace}\n{}:{tenant}\n{}:{id}\n{expires_at}\n{}",
            namespace.len(),
            tenant.len(),
            id.len(),
            purpose.as_str()
        );
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac
    }

    /// Signed with the current key.
    pub fn sign(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        purpose: LinkPurpose,
    ) -> String {
        hex::encode(
            Self::mac(&self.current, namespace, tenant, id, expires_at, purpose)
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check with the key `kid` names (the current one when
    /// absent). An unknown `kid` fails.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        purpose: LinkPurpose,
        kid: Option<&str>,
        signature: &str,
    ) -> bool {
        let key = match kid {
            None => &self.current,
            Some(k) if k == self.kid => &self.current,
            Some(k) => match self.previous.get(k) {
                Some(key) => key,
                None => return false,
            },
        };
        match hex::decode(signature) {
            Ok(bytes) => Self::mac(key, namespace, tenant, id, expires_at, purpose)
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn signatures_bind_every_field_and_the_decision() {
        let signer = ApprovalSigner::with_key("k1", KEY);
        let sig = signer.sign("ns", "t", "id-1", 1_700_000_000, LinkPurpose::Approve);
        let ok = |ns: &str, t: &str, id: &str, exp: i64, p: LinkPurpose, sig: &str| {
            signer.verify(ns, t, id, exp, p, Some("k1"), sig)
        };
        assert!(ok(
            "ns",
            "t",
            "id-1",
            1_700_000_000,
            LinkPurpose::Approve,
            &sig
        ));
        assert!(
            !ok("ns", "t", "id-1", 1_700_000_000, LinkPurpose::Reject, &sig),
            "an approve signature never rejects, and the reverse"
        );
        let reject = signer.sign("ns", "t", "id-1", 1_700_000_000, LinkPurpose::Reject);
        assert_ne!(sig, reject, "approve and reject links differ");
        assert!(!ok(
            "ns",
            "t",
            "id-1",
            1_700_000_000,
            LinkPurpose::Approve,
            &reject
        ));
        assert!(
            !ok("ns", "t", "id-1", 1_700_000_001, LinkPurpose::Approve, &sig),
            "expiry"
        );
        assert!(
            !ok("ns", "t", "id-2", 1_700_000_000, LinkPurpose::Approve, &sig),
            "id"
        );
        assert!(
            !ok("n", "st", "id-1", 1_700_000_000, LinkPurpose::Approve, &sig),
            "boundaries"
        );
        assert!(!ok(
            "ns",
            "t",
            "id-1",
            1_700_000_000,
            LinkPurpose::Approve,
            "zz"
        ));
    }

    #[test]
    fn rotation_keeps_old_links_valid_by_kid() {
        let old = ApprovalSigner::with_key("k0", KEY);
        let sig = old.sign("ns", "t", "a", 1, LinkPurpose::Approve);
        let mut server = ServerConfig {
            approval_secret: Some("ff".repeat(32)),
            approval_key_id: "k1".into(),
            ..ServerConfig::default()
        };
        server
            .approval_previous_secrets
            .insert("k0".into(), hex::encode(KEY));
        let rotated = ApprovalSigner::from_config(&server).expect("keys");
        assert!(rotated.verify("ns", "t", "a", 1, LinkPurpose::Approve, Some("k0"), &sig));
        assert!(!rotated.verify("ns", "t", "a", 1, LinkPurpose::Approve, Some("k1"), &sig));
        assert!(!rotated.verify("ns", "t", "a", 1, LinkPurpose::Approve, Some("k9"), &sig));
        let fresh = rotated.sign("ns", "t", "a", 1, LinkPurpose::Approve);
        assert!(rotated.verify("ns", "t", "a", 1, LinkPurpose::Approve, None, &fresh));
        assert!(
            !ApprovalSigner::from_config(&ServerConfig::default())
                .expect("random")
                .verify("ns", "t", "a", 1, LinkPurpose::Approve, None, &fresh)
        );
    }
}
