//! Deciding approvals: approve or reject by signed link or caller, the
//! status and list views, expiry, and the final audit of one that did not
//! execute.

use serde_json::json;
use switchyard_core::Caller;
use switchyard_store::{RecordRef, StateKey};

use super::{
    APPROVAL_KIND, ApprovalRecord, ApprovalStatus, KEEP_AFTER_EXPIRY_SECONDS, LinkPurpose,
    approval_key,
};
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    Approve,
    Reject,
}

/// What authorizes a decision: a signed link, or an authenticated caller
/// (whose grants the HTTP layer has checked).
#[derive(Debug, Clone, Copy)]
pub enum Decider<'a> {
    Link(&'a ApprovalLink),
    Caller(&'a Caller),
}

impl ApprovalDecision {
    fn purpose(self) -> LinkPurpose {
        match self {
            ApprovalDecision::Approve => LinkPurpose::Approve,
            ApprovalDecision::Reject => LinkPurpose::Reject,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("invalid approval signature")]
    BadSignature,
    #[error("the caller that dispatched this action cannot decide its approval")]
    SelfApproval,
    #[error("approval link expired")]
    Expired,
    #[error("approval not found")]
    NotFound,
    #[error("approval already decided: {0}")]
    AlreadyDecided(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// The signed part of an approval link.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ApprovalLink {
    pub sig: String,
    pub expires_at: i64,
    #[serde(default)]
    pub kid: Option<String>,
}

fn status_name(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Rejected => "rejected",
        ApprovalStatus::Expired => "expired",
    }
}

impl ApprovalRecord {
    /// The public view (no action payload).
    pub fn view(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "token": self.id,
            "namespace": self.namespace,
            "tenant": self.tenant,
            "status": status_name(self.status),
            "rule": self.rule,
            "action_id": self.action.id,
            "action_type": self.action.action_type,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_at": self.decided_at,
            "message": self.message,
            "notification_sent": self.notification_sent,
            "requested_by": self.requested_by,
            "decided_by": self.decided_by,
        })
    }
}

impl Gateway {
    /// Check a link: the signature first (constant time), then its expiry.
    /// Check a link signed for one of `purposes`.
    fn check_link(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        link: &ApprovalLink,
        purposes: &[LinkPurpose],
    ) -> Result<(), ApprovalError> {
        let valid = purposes.iter().any(|purpose| {
            self.signer.verify(
                namespace,
                tenant,
                id,
                link.expires_at,
                *purpose,
                link.kid.as_deref(),
                &link.sig,
            )
        });
        if valid {
            Ok(())
        } else {
            Err(ApprovalError::BadSignature)
        }
    }

    /// The record, read after its link was checked (or without a link, for
    /// an authenticated caller: `expires_at` then comes from the record).
    async fn load_record(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        link_expiry: Option<i64>,
    ) -> Result<(StateKey, ApprovalRecord, u64), ApprovalError> {
        let key = approval_key(namespace, tenant, id);
        let stored = self
            .ports
            .state
            .get(&key)
            .await
            .map_err(GatewayError::from)?;
        let Some(stored) = stored else {
            return Err(
                if link_expiry.is_some_and(|at| self.ports.clock.now().timestamp() > at) {
                    ApprovalError::Expired
                } else {
                    ApprovalError::NotFound
                },
            );
        };
        let record: ApprovalRecord = crate::records::decode(&key, &stored.value)?;
        Ok((key, record, stored.version))
    }

    /// Approve (execute the original action, resuming after the approval rule)
    /// or reject. Single use: the first decision wins, atomically.
    pub async fn decide_approval(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        by: Decider<'_>,
        decision: ApprovalDecision,
    ) -> Result<serde_json::Value, ApprovalError> {
        let link_expiry = match by {
            Decider::Link(link) => {
                self.check_link(namespace, tenant, id, link, &[decision.purpose()])?;
                Some(link.expires_at)
            }
            Decider::Caller(_) => None,
        };
        let (key, mut record, version) =
            self.load_record(namespace, tenant, id, link_expiry).await?;
        let now = self.ports.clock.now();
        let decider = match by {
            Decider::Link(_) => Caller::new("approval-link", "approval_link"),
            Decider::Caller(caller) => caller.clone(),
        };
        if let Decider::Caller(caller) = by
            && record.requested_by.as_deref() == Some(caller.id.as_str())
            && caller.auth_method != "anonymous"
        {
            self.audit_final(
                &record,
                "approval_refused",
                json!({"approval_id": id, "reason": "self_approval", "decision": decision.purpose().as_str()}),
                &decider,
            )
            .await;
            return Err(ApprovalError::SelfApproval);
        }
        if record.status == ApprovalStatus::Expired {
            return Err(ApprovalError::Expired);
        }
        if record.status != ApprovalStatus::Pending {
            return Err(ApprovalError::AlreadyDecided(
                status_name(record.status).into(),
            ));
        }
        if now > record.expires_at {
            return Err(ApprovalError::Expired);
        }
        record.status = match decision {
            ApprovalDecision::Approve => ApprovalStatus::Approved,
            ApprovalDecision::Reject => ApprovalStatus::Rejected,
        };
        record.decided_at = Some(now);
        record.decided_by = Some(decider.id.clone());
        let keep_until = Some(switchyard_core::after_seconds(
            record.expires_at,
            KEEP_AFTER_EXPIRY_SECONDS,
        ));
        if self
            .swap_json(&key, version, &record, keep_until)
            .await?
            .is_none()
        {
            // Someone decided between our read and our write.
            let current = self
                .load_record(namespace, tenant, id, link_expiry)
                .await?
                .1;
            return Err(ApprovalError::AlreadyDecided(
                status_name(current.status).into(),
            ));
        }
        let details = json!({"approval_id": id, "decision": status_name(record.status)});
        match decision {
            ApprovalDecision::Approve => {
                crate::metrics::Metrics::bump(&self.metrics.approvals_approved);
                let outcome = self
                    .run_pipeline(
                        record.action.clone(),
                        crate::dispatch::Resume::After {
                            rule: &record.rule,
                            priority: record.rule_priority,
                        },
                        details,
                        &decider,
                        switchyard_core::AuditEvent::ActionDispatched,
                    )
                    .await?;
                Ok(json!({"id": id, "status": "approved", "outcome": outcome}))
            }
            ApprovalDecision::Reject => {
                crate::metrics::Metrics::bump(&self.metrics.approvals_rejected);
                self.audit_final(&record, "approval_rejected", details, &decider)
                    .await;
                Ok(json!({"id": id, "status": "rejected"}))
            }
        }
    }

    pub async fn approval_status(
        &self,
        namespace: &str,
        tenant: &str,
        id: &str,
        link: Option<&ApprovalLink>,
    ) -> Result<serde_json::Value, ApprovalError> {
        let expiry = match link {
            Some(link) => {
                self.check_link(
                    namespace,
                    tenant,
                    id,
                    link,
                    &[LinkPurpose::Approve, LinkPurpose::Reject],
                )?;
                Some(link.expires_at)
            }
            None => None,
        };
        Ok(self
            .load_record(namespace, tenant, id, expiry)
            .await?
            .1
            .view())
    }

    /// Approvals of a tenant (every status), oldest id first.
    pub async fn list_approvals(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<serde_json::Value>, GatewayError> {
        let records: Vec<ApprovalRecord> =
            self.list_records(namespace, tenant, APPROVAL_KIND).await?;
        Ok(records.iter().map(ApprovalRecord::view).collect())
    }

    /// The expiry message: a still-pending approval becomes `expired`.
    pub(crate) async fn expire_approval(
        &self,
        r: &RecordRef,
    ) -> Result<crate::deferred::handled::Handled, GatewayError> {
        use crate::deferred::handled::Handled;
        let key = approval_key(&r.namespace, &r.tenant, &r.id);
        let Some(stored) = self.ports.state.get(&key).await? else {
            return Ok(Handled::Done);
        };
        let mut record: ApprovalRecord = crate::records::decode(&key, &stored.value)?;
        if record.status != ApprovalStatus::Pending {
            return Ok(Handled::Done);
        }
        let now = self.ports.clock.now();
        if now < record.expires_at {
            return Ok(Handled::RetryLater(
                (record.expires_at - now).to_std().unwrap_or_default(),
            ));
        }
        record.status = ApprovalStatus::Expired;
        record.decided_at = Some(now);
        let keep_until = Some(switchyard_core::after_seconds(
            record.expires_at,
            KEEP_AFTER_EXPIRY_SECONDS,
        ));
        if self
            .swap_json(&key, stored.version, &record, keep_until)
            .await?
            .is_some()
        {
            crate::metrics::Metrics::bump(&self.metrics.approvals_expired);
            self.audit_final(
                &record,
                "approval_expired",
                json!({"approval_id": record.id}),
                &Caller::system(),
            )
            .await;
        }
        Ok(Handled::Done)
    }

    /// The final audit record of an approval that did not execute.
    async fn audit_final(
        &self,
        record: &ApprovalRecord,
        outcome: &str,
        details: serde_json::Value,
        caller: &Caller,
    ) {
        let now = self.ports.clock.now();
        let mut audit = self.audit_record(
            crate::audit::AuditContext {
                event: switchyard_core::AuditEvent::ApprovalResolved,
                action: &record.action,
                provider: &record.action.provider,
                verdict: "request_approval",
                matched_rule: Some(&record.rule),
                verdict_details: details,
                chain_id: None,
                dispatched_at: now,
            },
            crate::audit::RecordOutcome::Named {
                tag: outcome.to_string(),
                details: json!({"approval_id": record.id}),
            },
        );
        audit.caller_id = caller.id.clone();
        audit.auth_method = caller.auth_method.clone();
        self.write_audit(audit).await;
    }
}
