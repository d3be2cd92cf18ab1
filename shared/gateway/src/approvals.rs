//! Approval requests: a stored record, HMAC-signed approve/reject links, a
//! notification, and an expiry message on the delay queue.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{DelayedMessage, StateKey};

use crate::error::GatewayError;
use crate::gateway::Gateway;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies approval links (HMAC-SHA256, constant-time verification).
#[derive(Clone)]
pub struct ApprovalSigner {
    key: Vec<u8>,
    pub kid: String,
}

impl std::fmt::Debug for ApprovalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ApprovalSigner {
    /// From the configured hex secret; without one, a random per-process key
    /// (links then die with the process: fine locally, wrong for Lambda).
    pub fn from_hex(secret: Option<&str>) -> Result<Self, String> {
        let key = match secret {
            Some(hex_key) => {
                hex::decode(hex_key).map_err(|e| format!("approval_secret is not hex: {e}"))?
            }
            None => {
                tracing::warn!(
                    "no [server] approval_secret configured: approval links are signed with a random per-process key"
                );
                (0..32).map(|_| rand::random::<u8>()).collect()
            }
        };
        Ok(Self {
            key,
            kid: "k0".into(),
        })
    }

    fn mac(&self, namespace: &str, tenant: &str, id: &str, expires_at: i64) -> HmacSha256 {
        // Length-prefixed fields: no two different tuples share a message.
        let message = format!(
            "{}:{namespace}\n{}:{tenant}\n{}:{id}\n{expires_at}",
            namespace.len(),
            tenant.len(),
            id.len()
        );
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac
    }

    pub fn sign(&self, namespace: &str, tenant: &str, id: &str, expires_at: i64) -> String {
        hex::encode(
            self.mac(namespace, tenant, id, expires_at)
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of a hex signature.
    pub fn verify(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        signature: &str,
    ) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self
                .mac(namespace, tenant, id, expires_at)
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub id: String,
    pub namespace: String,
    pub tenant: String,
    pub action: Action,
    pub rule: String,
    pub rule_priority: i32,
    pub status: ApprovalStatus,
    #[serde(default)]
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    pub notification_sent: bool,
}

pub const APPROVAL_KIND: &str = "approval";
/// Decided and expired approvals stay readable this long (to answer 409/410).
const KEEP_AFTER_EXPIRY_DAYS: i64 = 7;

pub(crate) fn approval_key(namespace: &str, tenant: &str, id: &str) -> StateKey {
    StateKey::new(namespace, tenant, APPROVAL_KIND, id)
}

/// Percent-encode one URL path segment.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Gateway {
    pub(crate) fn approval_url(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        decision: &str,
    ) -> String {
        let sig = self.signer.sign(namespace, tenant, id, expires_at);
        format!(
            "{}/v1/approvals/{}/{}/{}/{decision}?sig={sig}&expires_at={expires_at}&kid={}",
            self.external_url,
            segment(namespace),
            segment(tenant),
            segment(id),
            self.signer.kid
        )
    }

    pub(crate) async fn request_approval(
        &self,
        action: &Action,
        rule: &str,
        rule_priority: i32,
        notify_provider: &str,
        timeout_seconds: u64,
        message: Option<&str>,
    ) -> Result<ActionOutcome, GatewayError> {
        let now = self.ports.clock.now();
        let id = uuid::Uuid::new_v4().to_string();
        let expires_at = now + Duration::seconds(timeout_seconds as i64);
        let expires_unix = expires_at.timestamp();
        let approve_url = self.approval_url(
            &action.namespace,
            &action.tenant,
            &id,
            expires_unix,
            "approve",
        );
        let reject_url = self.approval_url(
            &action.namespace,
            &action.tenant,
            &id,
            expires_unix,
            "reject",
        );
        let mut record = ApprovalRecord {
            id: id.clone(),
            namespace: action.namespace.clone(),
            tenant: action.tenant.clone(),
            action: action.clone(),
            rule: rule.to_string(),
            rule_priority,
            status: ApprovalStatus::Pending,
            message: message.map(str::to_string),
            created_at: now,
            expires_at,
            decided_at: None,
            notification_sent: false,
        };
        let key = approval_key(&action.namespace, &action.tenant, &id);
        let keep_until = Some(expires_at + Duration::days(KEEP_AFTER_EXPIRY_DAYS));
        // The record exists before anyone can click a link.
        self.put_json(&key, &record, keep_until).await?;
        self.ports
            .queue
            .send(
                DelayedMessage {
                    id: format!("approval-expiry:{id}"),
                    kind: "approval_expiry".into(),
                    body: json!({"namespace": action.namespace, "tenant": action.tenant, "id": id}),
                },
                expires_at,
            )
            .await?;
        let notification = Action {
            id: format!("{id}:notification"),
            provider: notify_provider.to_string(),
            action_type: "approval_notification".into(),
            payload: json!({
                "subject": format!("Approval Required: {}", action.action_type),
                "body": format!(
                    "{}\nApprove: {approve_url}\nReject: {reject_url}",
                    message.unwrap_or("An action requires approval.")
                ),
                "message": message,
                "approval_url": approve_url,
                "reject_url": reject_url,
                "action_id": action.id,
                "action_type": action.action_type,
                "namespace": action.namespace,
                "tenant": action.tenant,
                "expires_at": expires_at,
            }),
            dedup_key: None,
            metadata: Default::default(),
            created_at: now,
            ..action.clone()
        };
        let sent = self
            .executor
            .execute(
                &self.providers,
                notify_provider,
                &notification,
                &notification.id,
            )
            .await
            .is_ok();
        if sent {
            record.notification_sent = true;
            self.put_json(&key, &record, keep_until).await?;
        }
        Ok(ActionOutcome::PendingApproval {
            approval_id: id,
            expires_at,
            approve_url,
            reject_url,
            notification_sent: sent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_bind_every_field() {
        let signer =
            ApprovalSigner::from_hex(Some("00112233445566778899aabbccddeeff")).expect("key");
        let sig = signer.sign("ns", "t", "id-1", 1_700_000_000);
        assert!(signer.verify("ns", "t", "id-1", 1_700_000_000, &sig));
        assert!(
            !signer.verify("ns", "t", "id-1", 1_700_000_001, &sig),
            "expiry is signed"
        );
        assert!(
            !signer.verify("ns", "t", "id-2", 1_700_000_000, &sig),
            "id is signed"
        );
        assert!(
            !signer.verify("n", "st", "id-1", 1_700_000_000, &sig),
            "field boundaries are signed"
        );
        assert!(
            !signer.verify("ns", "t", "id-1", 1_700_000_000, "zz"),
            "garbage is refused"
        );
        let other =
            ApprovalSigner::from_hex(Some("ffeeddccbbaa99887766554433221100")).expect("key");
        assert!(
            !other.verify("ns", "t", "id-1", 1_700_000_000, &sig),
            "other keys fail"
        );
    }
}
