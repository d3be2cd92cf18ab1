//! Approval notifications that failed are sent again by the upkeep pass
//! (Acteon's approval-retry sweep), until one is delivered or the approval
//! is decided or expires: a manager who never got the link cannot approve.

use serde::{Deserialize, Serialize};
use switchyard_core::Action;

use super::{ApprovalRecord, ApprovalStatus, approval_key};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::records::decode;

/// A notification waiting to be sent again: the exact action the first try
/// sent (its links carry the signatures), and where its approval is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingNotification {
    pub namespace: String,
    pub tenant: String,
    pub approval_id: String,
    pub notify_provider: String,
    pub notification: Action,
    pub attempts: u32,
}

impl Gateway {
    /// Remember a notification that failed; it lives no longer than its approval.
    pub(crate) async fn remember_failed_notification(
        &self,
        pending: &PendingNotification,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), GatewayError> {
        self.put_json(
            &crate::keys::pending_notification(&pending.approval_id),
            pending,
            Some(expires_at),
        )
        .await?;
        Ok(())
    }

    /// Send every remembered notification once more; returns how many went out.
    pub(crate) async fn retry_approval_notifications(&self) -> Result<u64, GatewayError> {
        let (namespace, tenant) = crate::keys::PENDING_NOTIFICATIONS;
        let waiting = crate::records::list_all(
            self.ports.state.as_ref(),
            namespace,
            tenant,
            crate::keys::PENDING_NOTIFICATION_KIND,
        )
        .await?;
        let mut sent = 0;
        for (pointer, stored) in waiting {
            let mut pending: PendingNotification = decode(&pointer, &stored.value)?;
            let key = approval_key(&pending.namespace, &pending.tenant, &pending.approval_id);
            let now = self.ports.clock.now();
            let approval = match self.ports.state.get(&key).await? {
                Some(s) => Some((
                    decode::<ApprovalRecord>(&key, &s.value)?,
                    s.version,
                    s.expires_at,
                )),
                None => None,
            };
            let Some((mut record, version, keep)) = approval.filter(|(r, _, _)| {
                r.status == ApprovalStatus::Pending && !r.notification_sent && now <= r.expires_at
            }) else {
                // Decided, expired or gone: nothing to tell anyone any more.
                self.ports.state.delete(&pointer).await?;
                continue;
            };
            let delivered = self
                .executor
                .execute(
                    &self.providers,
                    &pending.notify_provider,
                    &pending.notification,
                    &pending.notification.idempotency_key(),
                )
                .await
                .is_ok();
            if delivered {
                record.notification_sent = true;
                // A decision that landed meanwhile wins: then the flag stays unset.
                let _ = self.swap_json(&key, version, &record, keep).await?;
                self.ports.state.delete(&pointer).await?;
                sent += 1;
            } else {
                pending.attempts += 1;
                self.put_json(&pointer, &pending, Some(record.expires_at))
                    .await?;
            }
        }
        Ok(sent)
    }
}
