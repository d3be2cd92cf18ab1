//! Scheduled actions: a record in the store plus a message on the delay queue
//! that releases it when due.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{Deferred, DelayedMessage, RecordRef};

use crate::error::GatewayError;
use crate::gateway::Gateway;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledAction {
    pub id: String,
    pub action: Action,
    /// The rule that deferred it: evaluation resumes after it on release.
    pub rule: String,
    pub rule_priority: i32,
    pub scheduled_for: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Gateway {
    pub(crate) async fn schedule(
        &self,
        action: &Action,
        rule: &str,
        rule_priority: i32,
        delay_seconds: u64,
    ) -> Result<ActionOutcome, GatewayError> {
        let now = self.ports.clock.now();
        let id = uuid::Uuid::new_v4().to_string();
        let scheduled_for = switchyard_core::after_seconds(now, delay_seconds);
        let record = ScheduledAction {
            id: id.clone(),
            action: action.clone(),
            rule: rule.to_string(),
            rule_priority,
            scheduled_for,
            created_at: now,
        };
        let key = crate::keys::scheduled(&action.namespace, &action.tenant, &id);
        // Kept a day past due so a late or repeated release still finds it.
        self.create_json(
            &key,
            &record,
            Some(switchyard_core::after_seconds(scheduled_for, 86_400)),
        )
        .await?;
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    format!("scheduled:{id}"),
                    Deferred::ScheduledAction(RecordRef {
                        namespace: action.namespace.clone(),
                        tenant: action.tenant.clone(),
                        id: id.clone(),
                    }),
                ),
                scheduled_for,
            )
            .await?;
        // The action's own id (what its audit record is found by), not the
        // record's: action ids are the client's and need not be unique.
        Ok(ActionOutcome::Scheduled {
            action_id: action.id.clone(),
            scheduled_for,
        })
    }
}
