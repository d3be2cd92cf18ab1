//! Groups: actions with the same `group_by` values collect in one open group
//! record; a flush message (at `notify_at`, or at once when the group is full)
//! dispatches one batched action that resumes evaluation after the group rule.
//!
//! Flushing first copies the open group into a batch record, then closes the
//! open record with a conditional write (so no event slips between snapshot
//! and close), dispatches the batch, and deletes it. A crash after the close
//! redelivers the message, which finds the batch record and dispatches it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{Deferred, DelayedMessage};

use crate::deferred::handled::{HANDLER_LEASE, Handled};
use crate::dispatch::Resume;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::records::decode;

pub use crate::keys::GROUP_KIND;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub group_id: String,
    pub group_key: String,
    pub namespace: String,
    pub tenant: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub events: Vec<Value>,
    pub action_ids: Vec<String>,
    pub notify_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub rule: String,
    pub rule_priority: i32,
    pub max_group_size: u64,
    /// A closed record only marks the key free for the next group (and
    /// remembers the last notification, for `group_interval` and repeats).
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub group_interval_seconds: u64,
    #[serde(default)]
    pub repeat_interval_seconds: Option<u64>,
    /// When this key last sent a notification.
    #[serde(default)]
    pub last_notified_at: Option<DateTime<Utc>>,
    /// When the last event joined (repeats stop [`REPEAT_HORIZON_SECONDS`] after it).
    #[serde(default)]
    pub last_event_at: Option<DateTime<Utc>>,
    /// When the next repeat of the last notification is due.
    #[serde(default)]
    pub repeat_due_at: Option<DateTime<Utc>>,
    /// Repeats sent since the last real flush.
    #[serde(default)]
    pub repeats: u32,
}

impl GroupState {
    /// How long a closed record is kept: a day, or as long as
    /// `group_interval` or repeats still need it.
    fn keep_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let repeats = self
            .repeat_interval_seconds
            .map_or(0, |r| r.saturating_add(REPEAT_HORIZON_SECONDS));
        let keep = 86_400u64.max(self.group_interval_seconds).max(repeats);
        switchyard_core::after_seconds(now, keep)
    }
}

/// Alertmanager's three timers, from the group rule.
#[derive(Debug, Clone, Copy)]
pub struct GroupTiming {
    /// Before a new group's first notification.
    pub wait_seconds: u64,
    /// The least time between two notifications of one group key.
    pub interval_seconds: u64,
    /// Send the last notification again this often while events keep coming.
    pub repeat_interval_seconds: Option<u64>,
}

/// Repeats stop once a group has had no new event for this long: nothing
/// here tells a group is resolved, and reminders must not go on forever.
pub const REPEAT_HORIZON_SECONDS: u64 = 86_400;

impl GroupTiming {
    /// When a group opening now flushes: after the group wait, unless the
    /// key notified less than `group_interval` ago (then when that is over).
    fn first_notify_at(
        &self,
        now: DateTime<Utc>,
        last_notified: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        match last_notified.map(|last| switchyard_core::after_seconds(last, self.interval_seconds))
        {
            Some(next_allowed) if next_allowed > now => next_allowed,
            _ => switchyard_core::after_seconds(now, self.wait_seconds),
        }
    }
}

impl GroupState {
    pub fn view(&self) -> Value {
        json!({
            "group_id": self.group_id,
            "group_key": self.group_key,
            "event_count": self.events.len(),
            "state": "pending",
            "labels": self.labels,
            "notify_at": self.notify_at,
            "created_at": self.created_at,
            "rule": self.rule,
        })
    }
}

/// The value of a `group_by` field for an action, as text.
fn group_value(action: &Action, field: &str) -> Option<String> {
    let field = field.strip_prefix("action.").unwrap_or(field);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match field {
        "namespace" => Some(action.namespace.clone()),
        "tenant" => Some(action.tenant.clone()),
        "provider" => Some(action.provider.clone()),
        "action_type" => Some(action.action_type.clone()),
        "status" => action.status.clone(),
        other => {
            if let Some(key) = other.strip_prefix("metadata.") {
                return action.metadata.get(key).cloned();
            }
            let path = other.strip_prefix("payload.")?;
            path.split('.')
                .try_fold(&action.payload, |v, seg| v.get(seg))
                .filter(|v| !v.is_null())
                .map(text)
        }
    }
}

/// Stable digest of the tenant and the group's field values.
pub(crate) fn fingerprint_of(
    action: &Action,
    fields: &[String],
) -> (String, BTreeMap<String, String>) {
    let mut labels = BTreeMap::new();
    let mut hasher = Sha256::new();
    hasher.update(format!("{}:{}:", action.namespace, action.tenant));
    for field in fields {
        if let Some(value) = group_value(action, field) {
            hasher.update(format!("{field}={value};"));
            labels.insert(field.clone(), value);
        }
    }
    (hex::encode(hasher.finalize()), labels)
}

/// Reads and compare-and-swaps of one group before an append gives up with
/// 503: enough for every member of a burst of hundreds on one group (each
/// round lets one through), bounded in time by [`GROUP_APPEND_BACKOFF`]
/// (at most 64 × 50 ms of waiting).
const GROUP_APPEND_ATTEMPTS: u32 = 64;
const GROUP_APPEND_BACKOFF: switchyard_core::Backoff =
    switchyard_core::Backoff::new(Duration::from_millis(1), Duration::from_millis(50));

impl Gateway {
    /// Add an action to its open group (creating it if needed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_to_group(
        &self,
        action: &Action,
        rule: &str,
        rule_priority: i32,
        group_by: &[String],
        (wait_seconds, interval_seconds, repeat_interval_seconds): (u64, u64, Option<u64>),
        max_group_size: u64,
    ) -> Result<ActionOutcome, GatewayError> {
        let timing = GroupTiming {
            wait_seconds,
            interval_seconds,
            repeat_interval_seconds,
        };
        let (group_key, labels) = fingerprint_of(action, group_by);
        let key = crate::keys::group(&action.namespace, &action.tenant, &group_key);
        for attempt in 0..GROUP_APPEND_ATTEMPTS {
            if attempt > 0 {
                // Another member won the last round: wait a jittered moment so
                // the losers do not all come back in the same instant.
                let wait = GROUP_APPEND_BACKOFF.jittered(attempt - 1, rand::random::<f64>());
                tokio::time::sleep(wait).await;
            }
            let now = self.ports.clock.now();
            let new_group = |last_notified_at: Option<DateTime<Utc>>| GroupState {
                group_id: uuid::Uuid::new_v4().to_string(),
                group_key: group_key.clone(),
                namespace: action.namespace.clone(),
                tenant: action.tenant.clone(),
                provider: action.provider.clone(),
                labels: labels.clone(),
                events: Vec::new(),
                action_ids: Vec::new(),
                notify_at: timing.first_notify_at(now, last_notified_at),
                created_at: now,
                rule: rule.to_string(),
                rule_priority,
                max_group_size,
                closed: false,
                group_interval_seconds: timing.interval_seconds,
                repeat_interval_seconds: timing.repeat_interval_seconds,
                last_notified_at,
                last_event_at: Some(now),
                repeat_due_at: None,
                repeats: 0,
            };
            let (mut group, version, fresh) = match self.ports.state.get(&key).await? {
                Some(stored) => {
                    let g: GroupState = decode(&key, &stored.value)?;
                    if g.closed {
                        (new_group(g.last_notified_at), stored.version, true)
                    } else {
                        (g, stored.version, false)
                    }
                }
                None => (new_group(None), 0, true),
            };
            group.last_event_at = Some(now);
            group.events.push(action.payload.clone());
            group.action_ids.push(action.id.clone());
            if self.swap_json(&key, version, &group, None).await?.is_none() {
                continue; // Another member changed the group: read again.
            }
            if fresh {
                // Found by its key alone (`GET /v1/groups/{key}`, unscoped
                // listing); the pointer outlives the group's wait by a day.
                let until = switchyard_core::after_seconds(group.notify_at, 86_400);
                self.index_put_until(
                    GROUP_KIND,
                    &group_key,
                    &group.namespace,
                    &group.tenant,
                    Some(until),
                )
                .await?;
            }
            let full = group.events.len() as u64 >= max_group_size;
            if fresh || full {
                let at = if full { now } else { group.notify_at };
                self.ports
                    .queue
                    .send(
                        DelayedMessage::new(
                            format!(
                                "group:{}:{}",
                                group.group_id,
                                if full { "full" } else { "due" }
                            ),
                            Deferred::GroupFlush {
                                namespace: group.namespace.clone(),
                                tenant: group.tenant.clone(),
                                id: group_key.clone(),
                                group_id: Some(group.group_id.clone()),
                            },
                        ),
                        at,
                    )
                    .await?;
            }
            return Ok(ActionOutcome::Grouped {
                group_id: group.group_id,
                group_size: group.events.len() as u64,
                notify_at: group.notify_at,
            });
        }
        Err(GatewayError::Unavailable(
            "group is too contended; retry".into(),
        ))
    }

    /// The flush message (or `DELETE /v1/groups/{key}` with `force`).
    pub async fn flush_group(
        &self,
        namespace: &str,
        tenant: &str,
        group_key: &str,
        group_id: Option<&str>,
        force: bool,
    ) -> Result<Handled, GatewayError> {
        let lease = crate::keys::group_lease(namespace, tenant, group_key);
        let owner = uuid::Uuid::new_v4().to_string();
        if !self
            .ports
            .state
            .try_lock(&lease, &owner, HANDLER_LEASE)
            .await?
        {
            return Ok(Handled::RetryLater(Duration::from_secs(5)));
        }
        let result = self
            .flush_locked(namespace, tenant, group_key, group_id, force)
            .await;
        self.ports.state.unlock(&lease, &owner).await?;
        result
    }

    async fn flush_locked(
        &self,
        namespace: &str,
        tenant: &str,
        group_key: &str,
        group_id: Option<&str>,
        force: bool,
    ) -> Result<Handled, GatewayError> {
        // A batch left by a crashed flush goes out first.
        if let Some(id) = group_id
            && self.dispatch_batch(namespace, tenant, id).await?
        {
            return Ok(Handled::Done);
        }
        let key = crate::keys::group(namespace, tenant, group_key);
        loop {
            let Some(stored) = self.ports.state.get(&key).await? else {
                return Ok(Handled::Done);
            };
            let group: GroupState = decode(&key, &stored.value)?;
            if group.closed && group_id == Some(group.group_id.as_str()) {
                return self.repeat_locked(&key, stored.version, group).await;
            }
            if group.closed || group_id.is_some_and(|id| id != group.group_id) {
                return Ok(Handled::Done);
            }
            let now = self.ports.clock.now();
            if !force && now < group.notify_at && (group.events.len() as u64) < group.max_group_size
            {
                return Ok(Handled::RetryLater(
                    (group.notify_at - now).to_std().unwrap_or_default(),
                ));
            }
            self.put_json(
                &crate::keys::group_batch(namespace, tenant, &group.group_id),
                &group,
                None,
            )
            .await?;
            // Closed, it remembers this notification (for group_interval)
            // and, when repeats are on, what to repeat.
            let closed = GroupState {
                closed: true,
                events: if group.repeat_interval_seconds.is_some() {
                    group.events.clone()
                } else {
                    Vec::new()
                },
                action_ids: Vec::new(),
                last_notified_at: Some(now),
                repeat_due_at: group
                    .repeat_interval_seconds
                    .map(|r| switchyard_core::after_seconds(now, r)),
                repeats: 0,
                ..group.clone()
            };
            if self
                .swap_json(&key, stored.version, &closed, Some(closed.keep_until(now)))
                .await?
                .is_some()
            {
                self.dispatch_batch(namespace, tenant, &group.group_id)
                    .await?;
                self.send_repeat(&closed).await?;
                return Ok(Handled::Done);
            }
        }
    }

    /// A repeat message for a closed group: send its last notification again
    /// if it is due and events came within the horizon, then arm the next.
    async fn repeat_locked(
        &self,
        key: &switchyard_store::StateKey,
        version: u64,
        group: GroupState,
    ) -> Result<Handled, GatewayError> {
        let now = self.ports.clock.now();
        let (Some(repeat), Some(due)) = (group.repeat_interval_seconds, group.repeat_due_at) else {
            return Ok(Handled::Done);
        };
        if due > now {
            return Ok(Handled::RetryLater(
                (due - now).to_std().unwrap_or_default(),
            ));
        }
        let quiet_since = group.last_event_at.unwrap_or(group.created_at);
        if switchyard_core::after_seconds(quiet_since, REPEAT_HORIZON_SECONDS) <= now {
            return Ok(Handled::Done); // Nothing new for a day: reminders stop.
        }
        let repeated = GroupState {
            repeat_due_at: Some(switchyard_core::after_seconds(now, repeat)),
            repeats: group.repeats.saturating_add(1),
            last_notified_at: Some(now),
            ..group
        };
        // Whoever wins this swap sends the repeat; a duplicate message loses.
        if self
            .swap_json(key, version, &repeated, Some(repeated.keep_until(now)))
            .await?
            .is_none()
        {
            return Ok(Handled::Done);
        }
        let batch_id = format!("{}:repeat:{}", repeated.group_id, repeated.repeats);
        self.put_json(
            &crate::keys::group_batch(&repeated.namespace, &repeated.tenant, &batch_id),
            &repeated,
            None,
        )
        .await?;
        self.dispatch_batch(&repeated.namespace, &repeated.tenant, &batch_id)
            .await?;
        self.send_repeat(&repeated).await?;
        Ok(Handled::Done)
    }

    /// Arm the next repeat of a closed group's notification, if it has one.
    async fn send_repeat(&self, group: &GroupState) -> Result<(), GatewayError> {
        let Some(at) = group.repeat_due_at else {
            return Ok(());
        };
        self.ports
            .queue
            .send(
                DelayedMessage::new(
                    format!("group:{}:repeat:{}", group.group_id, group.repeats),
                    Deferred::GroupFlush {
                        namespace: group.namespace.clone(),
                        tenant: group.tenant.clone(),
                        id: group.group_key.clone(),
                        group_id: Some(group.group_id.clone()),
                    },
                ),
                at,
            )
            .await?;
        Ok(())
    }

    /// Dispatch a detached batch; false when there is none.
    async fn dispatch_batch(
        &self,
        namespace: &str,
        tenant: &str,
        batch_id: &str,
    ) -> Result<bool, GatewayError> {
        let key = crate::keys::group_batch(namespace, tenant, batch_id);
        let Some(stored) = self.ports.state.get(&key).await? else {
            return Ok(false);
        };
        let group: GroupState = decode(&key, &stored.value)?;
        let now = self.ports.clock.now();
        let mut action = Action::builder(
            &group.namespace,
            &group.tenant,
            &group.provider,
            "group_notification",
            json!({
                "group_id": group.group_id,
                "group_key": group.group_key,
                "event_count": group.events.len(),
                "events": group.events,
                "labels": group.labels,
                "flushed_at": now,
                "repeat": group.repeats,
            }),
        )
        .with_id(batch_id.to_string());
        action.created_at = now;
        Metrics::bump(&self.metrics.groups_flushed);
        self.run_pipeline(
            action,
            Resume::After { rule: &group.rule, priority: group.rule_priority },
            json!({"group_id": group.group_id, "group_key": group.group_key, "event_count": group.events.len(), "action_ids": group.action_ids}),
            &switchyard_core::Caller::system(),
            switchyard_core::AuditEvent::GroupFlushed,
        )
        .await?;
        self.ports.state.delete(&key).await?;
        Ok(true)
    }

    pub async fn list_groups(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<GroupState>, GatewayError> {
        let groups: Vec<GroupState> = self.list_records(namespace, tenant, GROUP_KIND).await?;
        Ok(groups.into_iter().filter(|g| !g.closed).collect())
    }

    /// Every open group of every tenant (through the key index).
    pub async fn list_all_groups(&self) -> Result<Vec<GroupState>, GatewayError> {
        let mut out = Vec::new();
        for (group_key, namespace, tenant) in self.index_list(GROUP_KIND).await? {
            if let Some(group) = self.get_group(&namespace, &tenant, &group_key).await? {
                out.push(group);
            }
        }
        Ok(out)
    }

    /// The open group with this key, whichever tenant holds it.
    pub async fn find_group(&self, group_key: &str) -> Result<Option<GroupState>, GatewayError> {
        match self.index_get(GROUP_KIND, group_key).await? {
            Some((namespace, tenant)) => self.get_group(&namespace, &tenant, group_key).await,
            None => Ok(None),
        }
    }

    pub async fn get_group(
        &self,
        namespace: &str,
        tenant: &str,
        group_key: &str,
    ) -> Result<Option<GroupState>, GatewayError> {
        let key = crate::keys::group(namespace, tenant, group_key);
        match self.ports.state.get(&key).await? {
            Some(s) => {
                let g: GroupState = decode(&key, &s.value)?;
                Ok((!g.closed).then_some(g))
            }
            None => Ok(None),
        }
    }
}

/// A fingerprint read from one field (`payload.order_id`, `metadata.k`…).
pub(crate) fn fingerprint_field(action: &Action, field: &str) -> Option<String> {
    group_value(action, field)
}
