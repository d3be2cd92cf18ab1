//! Recurring actions: a cron expression in a time zone and an action template.
//! Each fire time is one delay-queue message (EventBridge Scheduler in AWS);
//! its handler claims `(id, fire time)` with a conditional write, so a tick
//! runs at most once however many handlers receive it, then sends the next
//! tick before dispatching.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_core::Action;
use switchyard_store::{Deferred, DelayedMessage, GateOp, GateResult, RecordRef};

use crate::deferred::handled::Handled;
use crate::dispatch::Resume;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::records::decode;

pub use crate::keys::RECURRING_KIND;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurringAction {
    pub id: String,
    pub namespace: String,
    pub tenant: String,
    pub cron_expression: String,
    pub timezone: String,
    pub provider: String,
    pub action_type: String,
    pub payload: Value,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub enabled: bool,
    pub description: Option<String>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_fired_at: Option<DateTime<Utc>>,
    pub fire_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A label for people (Acteon's `name`).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Given to every dispatched action, so the dedup rules see it.
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// No tick fires after this instant (Acteon's `end_date`).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// No tick fires once this many have.
    #[serde(default)]
    pub max_executions: Option<u64>,
}

impl RecurringAction {
    /// Whether a tick at `at` may still fire.
    fn may_fire(&self, at: DateTime<Utc>) -> bool {
        self.ends_at.is_none_or(|end| at <= end)
            && self.max_executions.is_none_or(|max| self.fire_count < max)
    }

    /// `active`, `paused`, or `completed` (its end date or execution limit reached).
    pub fn status(&self) -> &'static str {
        if self.enabled {
            "active"
        } else if self.ends_at.is_some_and(|_| self.next_fire_at.is_none())
            || self
                .max_executions
                .is_some_and(|max| self.fire_count >= max)
        {
            "completed"
        } else {
            "paused"
        }
    }
}

/// Parse a cron expression (5 or 6 fields) and a time zone; the error names the field.
pub fn parse_schedule(expression: &str, timezone: &str) -> Result<(Cron, Tz), GatewayError> {
    let cron = Cron::from_str(expression).map_err(|e| GatewayError::Invalid {
        field: "cron_expression".into(),
        message: format!("invalid cron expression '{expression}': {e}"),
    })?;
    let tz = switchyard_rules::parse_timezone(timezone).map_err(|e| GatewayError::Invalid {
        field: "timezone".into(),
        message: e,
    })?;
    Ok((cron, tz))
}

/// The first fire time strictly after `after` (public for the fuzz harness).
pub fn next_after(
    cron: &Cron,
    tz: Tz,
    after: DateTime<Utc>,
) -> Result<DateTime<Utc>, GatewayError> {
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| GatewayError::Invalid {
            field: "cron_expression".into(),
            message: format!("no next occurrence: {e}"),
        })
}

impl Gateway {
    /// Schedule the next tick, or end the schedule when none may fire.
    async fn arm(&self, recurring: &mut RecurringAction) -> Result<(), GatewayError> {
        let (cron, tz) = parse_schedule(&recurring.cron_expression, &recurring.timezone)?;
        let next = next_after(&cron, tz, self.ports.clock.now())?;
        if !recurring.may_fire(next) {
            recurring.next_fire_at = None;
            recurring.enabled = false;
            return Ok(());
        }
        recurring.next_fire_at = Some(next);
        self.send_fire(recurring, next).await
    }

    async fn send_fire(
        &self,
        recurring: &RecurringAction,
        at: DateTime<Utc>,
    ) -> Result<(), GatewayError> {
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    format!("recurring:{}:{}", recurring.id, at.timestamp()),
                    Deferred::RecurringFire {
                        namespace: recurring.namespace.clone(),
                        tenant: recurring.tenant.clone(),
                        id: recurring.id.clone(),
                        fire_at: at,
                    },
                ),
                at,
            )
            .await?;
        Ok(())
    }

    pub async fn create_recurring(
        &self,
        recurring: RecurringAction,
    ) -> Result<RecurringAction, GatewayError> {
        if !self.providers.contains(&recurring.provider) {
            return Err(GatewayError::Invalid {
                field: "provider".into(),
                message: format!("unknown provider '{}'", recurring.provider),
            });
        }
        // Count and create under one per-tenant lease, so concurrent creates
        // cannot pass the limit together.
        let lease = crate::keys::recurring_create_lease(&recurring.namespace, &recurring.tenant);
        let owner = uuid::Uuid::new_v4().to_string();
        if !self
            .ports
            .state
            .try_lock(&lease, &owner, crate::deferred::HANDLER_LEASE)
            .await?
        {
            return Err(GatewayError::Unavailable(
                "another recurring action of this tenant is being created; retry".into(),
            ));
        }
        let created = self.create_recurring_locked(recurring).await;
        self.ports.state.unlock(&lease, &owner).await?;
        created
    }

    async fn create_recurring_locked(
        &self,
        mut recurring: RecurringAction,
    ) -> Result<RecurringAction, GatewayError> {
        if let Some(max) = self.config.background.max_recurring_actions_per_tenant {
            let count = self
                .list_recurring(&recurring.namespace, &recurring.tenant)
                .await?
                .len();
            if count as u64 >= max {
                return Err(GatewayError::Conflict(format!(
                    "tenant {}/{} already has {count} recurring actions (max_recurring_actions_per_tenant = {max})",
                    recurring.namespace, recurring.tenant
                )));
            }
        }
        let now = self.ports.clock.now();
        recurring.created_at = now;
        recurring.updated_at = now;
        if recurring.enabled {
            self.arm(&mut recurring).await?;
        } else {
            parse_schedule(&recurring.cron_expression, &recurring.timezone)?;
        }
        self.put_json(
            &crate::keys::recurring(&recurring.namespace, &recurring.tenant, &recurring.id),
            &recurring,
            None,
        )
        .await?;
        self.index_put(
            RECURRING_KIND,
            &recurring.id,
            &recurring.namespace,
            &recurring.tenant,
        )
        .await?;
        Ok(recurring)
    }

    pub async fn get_recurring(&self, id: &str) -> Result<Option<RecurringAction>, GatewayError> {
        let Some((ns, tenant)) = self.index_get(RECURRING_KIND, id).await? else {
            return Ok(None);
        };
        let key = crate::keys::recurring(&ns, &tenant, id);
        match self.ports.state.get(&key).await? {
            Some(v) => Ok(Some(decode(&key, &v.value)?)),
            None => Ok(None),
        }
    }

    pub async fn list_recurring(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<RecurringAction>, GatewayError> {
        self.list_records(namespace, tenant, RECURRING_KIND).await
    }

    /// Every recurring action of every tenant (through the id index).
    pub async fn list_all_recurring(&self) -> Result<Vec<RecurringAction>, GatewayError> {
        let mut out = Vec::new();
        for (id, namespace, tenant) in self.index_list(RECURRING_KIND).await? {
            let key = crate::keys::recurring(&namespace, &tenant, &id);
            if let Some(stored) = self.ports.state.get(&key).await? {
                out.push(decode(&key, &stored.value)?);
            }
        }
        Ok(out)
    }

    /// Replace a recurring action's schedule, template or state; re-arms it.
    pub async fn update_recurring(
        &self,
        mut recurring: RecurringAction,
    ) -> Result<RecurringAction, GatewayError> {
        recurring.updated_at = self.ports.clock.now();
        recurring.next_fire_at = None;
        if recurring.enabled {
            self.arm(&mut recurring).await?;
        } else {
            parse_schedule(&recurring.cron_expression, &recurring.timezone)?;
        }
        self.put_json(
            &crate::keys::recurring(&recurring.namespace, &recurring.tenant, &recurring.id),
            &recurring,
            None,
        )
        .await?;
        Ok(recurring)
    }

    pub async fn delete_recurring(&self, id: &str) -> Result<bool, GatewayError> {
        let Some(recurring) = self.get_recurring(id).await? else {
            return Ok(false);
        };
        self.ports
            .state
            .delete(&crate::keys::recurring(
                &recurring.namespace,
                &recurring.tenant,
                id,
            ))
            .await?;
        self.index_delete(RECURRING_KIND, id).await?;
        Ok(true)
    }

    /// A fire message: claim the tick, send the next one, dispatch.
    pub(crate) async fn fire_recurring(
        &self,
        b: &RecordRef,
        fire_at: DateTime<Utc>,
    ) -> Result<Handled, GatewayError> {
        let key = crate::keys::recurring(&b.namespace, &b.tenant, &b.id);
        let Some(stored) = self.ports.state.get(&key).await? else {
            return Ok(Handled::Done); // Deleted.
        };
        let mut recurring: RecurringAction = decode(&key, &stored.value)?;
        if !recurring.enabled || recurring.next_fire_at != Some(fire_at) {
            return Ok(Handled::Done); // Paused, or re-armed since this message was sent.
        }
        if !recurring.may_fire(fire_at) {
            return Ok(Handled::Done); // Past its end: nothing more fires.
        }
        let claim = GateOp::Claim {
            key: crate::keys::recurring_tick(&b.namespace, &b.tenant, &b.id, fire_at.timestamp()),
            expires_at: Some(switchyard_core::after_seconds(fire_at, 2 * 86_400)),
        };
        if self.ports.state.gate(&[claim]).await? != GateResult::Passed {
            return Ok(Handled::Done); // Another handler has this tick.
        }
        let now = self.ports.clock.now();
        let (cron, tz) = parse_schedule(&recurring.cron_expression, &recurring.timezone)?;
        // After downtime, skip missed ticks instead of firing them in a burst.
        let next = next_after(&cron, tz, fire_at.max(now))?;
        recurring.last_fired_at = Some(fire_at);
        recurring.fire_count += 1;
        if recurring.may_fire(next) {
            recurring.next_fire_at = Some(next);
            self.put_json(&key, &recurring, None).await?;
            self.send_fire(&recurring, next).await?;
        } else {
            // This was the last tick: the schedule is complete.
            recurring.next_fire_at = None;
            recurring.enabled = false;
            self.put_json(&key, &recurring, None).await?;
        }
        let mut action = Action::builder(
            &recurring.namespace,
            &recurring.tenant,
            &recurring.provider,
            &recurring.action_type,
            recurring.payload.clone(),
        )
        .with_id(format!("{}:{}", recurring.id, fire_at.timestamp()));
        action.metadata = recurring.metadata.clone();
        action.dedup_key = recurring.dedup_key.clone();
        action.created_at = now;
        Metrics::bump(&self.metrics.recurring_dispatched);
        self.run_pipeline(
            action,
            Resume::FromStart,
            json!({"recurring_id": recurring.id, "fire_at": fire_at}),
            &switchyard_core::Caller::system(),
            switchyard_core::AuditEvent::ActionDispatched,
        )
        .await?;
        Ok(Handled::Done)
    }
}
