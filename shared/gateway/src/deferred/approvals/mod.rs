//! Approval requests: a stored record, HMAC-signed approve/reject links, a
//! notification, and an expiry message on the delay queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchyard_core::{Action, ActionOutcome, Caller};
use switchyard_store::{Deferred, DelayedMessage, RecordRef};

pub use crate::approval_signer::{ApprovalSigner, LinkPurpose};
use crate::error::GatewayError;
use crate::gateway::Gateway;

mod decide;
mod notify_retry;

pub use decide::{ApprovalDecision, ApprovalError, ApprovalLink, Decider};

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
    /// Who dispatched the action: that caller may not approve it.
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Who decided (a link holder, or an authenticated approver).
    #[serde(default)]
    pub decided_by: Option<String>,
}

pub use crate::keys::APPROVAL_KIND;
/// Decided and expired approvals stay readable this long (to answer 409/410).
const KEEP_AFTER_EXPIRY_SECONDS: u64 = 7 * 86_400;

pub(crate) use crate::keys::approval as approval_key;

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

/// What the approval rule asks for.
pub(crate) struct ApprovalRequest<'a> {
    pub rule: &'a str,
    pub rule_priority: i32,
    pub notify_provider: &'a str,
    pub timeout_seconds: u64,
    pub message: Option<&'a str>,
}

impl Gateway {
    pub(crate) fn approval_url(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        expires_at: i64,
        purpose: LinkPurpose,
    ) -> String {
        let sig = self.signer.sign(namespace, tenant, id, expires_at, purpose);
        format!(
            "{}/v1/approvals/{}/{}/{}/{}?sig={sig}&expires_at={expires_at}&kid={}",
            self.external_url,
            segment(namespace),
            segment(tenant),
            segment(id),
            purpose.as_str(),
            self.signer.kid()
        )
    }

    pub(crate) async fn request_approval(
        &self,
        action: &Action,
        request: ApprovalRequest<'_>,
        caller: &Caller,
    ) -> Result<ActionOutcome, GatewayError> {
        let ApprovalRequest {
            rule,
            rule_priority,
            notify_provider,
            timeout_seconds,
            message,
        } = request;
        let now = self.ports.clock.now();
        let id = uuid::Uuid::new_v4().to_string();
        let expires_at = switchyard_core::after_seconds(now, timeout_seconds);
        let expires_unix = expires_at.timestamp();
        let approve_url = self.approval_url(
            &action.namespace,
            &action.tenant,
            &id,
            expires_unix,
            LinkPurpose::Approve,
        );
        let reject_url = self.approval_url(
            &action.namespace,
            &action.tenant,
            &id,
            expires_unix,
            LinkPurpose::Reject,
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
            requested_by: Some(caller.id.clone()),
            decided_by: None,
        };
        let key = approval_key(&action.namespace, &action.tenant, &id);
        let keep_until = Some(switchyard_core::after_seconds(
            expires_at,
            KEEP_AFTER_EXPIRY_SECONDS,
        ));
        // The record exists before anyone can click a link.
        self.create_json(&key, &record, keep_until).await?;
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    format!("approval-expiry:{id}"),
                    Deferred::ApprovalExpiry(RecordRef {
                        namespace: action.namespace.clone(),
                        tenant: action.tenant.clone(),
                        id: id.clone(),
                    }),
                ),
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
                &notification.idempotency_key(),
            )
            .await
            .is_ok();
        if sent {
            record.notification_sent = true;
            self.put_json(&key, &record, keep_until).await?;
        } else {
            // The upkeep pass sends it again until it goes out or the approval ends.
            self.remember_failed_notification(
                &notify_retry::PendingNotification {
                    namespace: action.namespace.clone(),
                    tenant: action.tenant.clone(),
                    approval_id: id.clone(),
                    notify_provider: notify_provider.to_string(),
                    notification,
                    attempts: 1,
                },
                expires_at,
            )
            .await?;
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
