//! State machines: event records keyed by fingerprint, moved by
//! `state_machine` rules or `PUT /v1/events/{fingerprint}/transition`, with
//! optional timeouts carried by the delay queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_config::StateMachineConfig;
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::{Deferred, DelayedMessage};

use crate::deferred::handled::Handled;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::records::decode;

pub use crate::keys::EVENT_KIND;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventState {
    pub fingerprint: String,
    pub state_machine: String,
    pub state: String,
    pub action_type: String,
    pub namespace: String,
    pub tenant: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<Transition>,
}

impl EventState {
    pub fn view(&self) -> Value {
        json!({
            "fingerprint": self.fingerprint,
            "state": self.state,
            "state_machine": self.state_machine,
            "action_type": self.action_type,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("event not found: {0}")]
    NotFound(String),
    #[error("state '{to}' is not a state of '{machine}' (states: {states})")]
    UnknownState {
        to: String,
        machine: String,
        states: String,
    },
    #[error("illegal transition {from} -> {to} (allowed from {from}: {allowed})")]
    Illegal {
        from: String,
        to: String,
        allowed: String,
    },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

impl Gateway {
    fn machine(&self, name: &str) -> Result<&StateMachineConfig, GatewayError> {
        self.config.state_machine(name).ok_or_else(|| {
            GatewayError::Internal(format!("state machine '{name}' is not configured"))
        })
    }

    async fn load_event(
        &self,
        namespace: &str,
        tenant: &str,
        fingerprint: &str,
    ) -> Result<Option<(EventState, u64)>, GatewayError> {
        let key = crate::keys::event(namespace, tenant, fingerprint);
        match self.ports.state.get(&key).await? {
            Some(s) => Ok(Some((decode(&key, &s.value)?, s.version))),
            None => Ok(None),
        }
    }

    /// Write an event if nobody changed it since `version`, and arm the new
    /// state's timeout.
    async fn save_event(&self, event: &EventState, version: u64) -> Result<bool, GatewayError> {
        let key = crate::keys::event(&event.namespace, &event.tenant, &event.fingerprint);
        let Some(new_version) = self.swap_json(&key, version, event, None).await? else {
            return Ok(false);
        };
        let machine = self.machine(&event.state_machine)?;
        if let Some(timeout) = machine.timeouts.iter().find(|t| t.in_state == event.state) {
            self.ports
                .queue
                .send(
                    DelayedMessage::new(
                        format!("event-timeout:{}:{new_version}", event.fingerprint),
                        Deferred::EventTimeout {
                            namespace: event.namespace.clone(),
                            tenant: event.tenant.clone(),
                            id: event.fingerprint.clone(),
                            version: new_version,
                        },
                    ),
                    switchyard_core::after_seconds(self.ports.clock.now(), timeout.after_seconds),
                )
                .await?;
        }
        Ok(true)
    }

    /// A `state_machine` rule: move the event toward `action.status` when the
    /// machine allows it.
    pub(crate) async fn apply_state_machine(
        &self,
        action: &Action,
        machine_name: &str,
        fields: &[String],
    ) -> Result<ActionOutcome, GatewayError> {
        let machine = self.machine(machine_name)?.clone();
        let fingerprint = match &action.fingerprint {
            Some(fp) => fp.clone(),
            None => crate::groups::fingerprint_of(action, fields).0,
        };
        for _ in 0..16 {
            let now = self.ports.clock.now();
            let (mut event, version) = match self
                .load_event(&action.namespace, &action.tenant, &fingerprint)
                .await?
            {
                Some(found) => found,
                None => (
                    EventState {
                        fingerprint: fingerprint.clone(),
                        state_machine: machine.name.clone(),
                        state: machine.initial_state.clone(),
                        action_type: action.action_type.clone(),
                        namespace: action.namespace.clone(),
                        tenant: action.tenant.clone(),
                        created_at: now,
                        updated_at: now,
                        history: Vec::new(),
                    },
                    0,
                ),
            };
            let previous = event.state.clone();
            let target = action.status.clone().unwrap_or_else(|| previous.clone());
            let transition = machine
                .transitions
                .iter()
                .find(|t| t.from == previous && t.to == target);
            let (new_state, notify) = match transition {
                Some(t) => (target.clone(), t.notify),
                None => (previous.clone(), false),
            };
            if new_state != previous {
                event.history.push(Transition {
                    from: previous.clone(),
                    to: new_state.clone(),
                    at: now,
                    by: format!("action:{}", action.id),
                });
            }
            event.state = new_state.clone();
            event.updated_at = now;
            event.action_type = action.action_type.clone();
            if self.save_event(&event, version).await? {
                return Ok(ActionOutcome::StateChanged {
                    fingerprint,
                    previous_state: previous,
                    new_state,
                    notify,
                });
            }
        }
        Err(GatewayError::Unavailable(
            "event is too contended; retry".into(),
        ))
    }

    /// Start tracking an executed action as an event in its machine's initial state.
    pub(crate) async fn track_event(&self, action: &Action) -> Result<(), GatewayError> {
        for machine in self
            .config
            .state_machines
            .iter()
            .filter(|m| m.track_action_types.contains(&action.action_type))
        {
            let fingerprint = match &machine.fingerprint_field {
                Some(field) => crate::groups::fingerprint_field(action, field),
                None => action.fingerprint.clone(),
            };
            let Some(fingerprint) = fingerprint else {
                continue;
            };
            let now = self.ports.clock.now();
            let event = EventState {
                fingerprint,
                state_machine: machine.name.clone(),
                state: machine.initial_state.clone(),
                action_type: action.action_type.clone(),
                namespace: action.namespace.clone(),
                tenant: action.tenant.clone(),
                created_at: now,
                updated_at: now,
                history: Vec::new(),
            };
            // Only the first executed action creates it (version 0 = absent).
            self.save_event(&event, 0).await?;
        }
        Ok(())
    }

    /// `PUT /v1/events/{fingerprint}/transition`: only transitions the machine allows.
    pub async fn transition_event(
        &self,
        namespace: &str,
        tenant: &str,
        fingerprint: &str,
        to: &str,
        by: &str,
    ) -> Result<Value, TransitionError> {
        for _ in 0..16 {
            let Some((mut event, version)) =
                self.load_event(namespace, tenant, fingerprint).await?
            else {
                return Err(TransitionError::NotFound(fingerprint.to_string()));
            };
            let machine = self.machine(&event.state_machine)?;
            if !machine.states.iter().any(|s| s == to) {
                return Err(TransitionError::UnknownState {
                    to: to.into(),
                    machine: machine.name.clone(),
                    states: machine.states.join(", "),
                });
            }
            let allowed = machine.allowed_from(&event.state);
            let Some(transition) = machine
                .transitions
                .iter()
                .find(|t| t.from == event.state && t.to == to)
            else {
                return Err(TransitionError::Illegal {
                    from: event.state.clone(),
                    to: to.into(),
                    allowed: if allowed.is_empty() {
                        "none (final state)".into()
                    } else {
                        allowed.join(", ")
                    },
                });
            };
            let notify = transition.notify;
            let previous = event.state.clone();
            let now = self.ports.clock.now();
            event.history.push(Transition {
                from: previous.clone(),
                to: to.into(),
                at: now,
                by: by.into(),
            });
            event.state = to.to_string();
            event.updated_at = now;
            if self.save_event(&event, version).await? {
                return Ok(
                    json!({"fingerprint": fingerprint, "previous_state": previous, "new_state": to, "notify": notify}),
                );
            }
        }
        Err(GatewayError::Unavailable("event is too contended; retry".into()).into())
    }

    pub async fn get_event(
        &self,
        namespace: &str,
        tenant: &str,
        fingerprint: &str,
    ) -> Result<Option<EventState>, GatewayError> {
        Ok(self
            .load_event(namespace, tenant, fingerprint)
            .await?
            .map(|(e, _)| e))
    }

    pub async fn list_events(
        &self,
        namespace: &str,
        tenant: &str,
    ) -> Result<Vec<EventState>, GatewayError> {
        self.list_records(namespace, tenant, EVENT_KIND).await
    }

    /// The timeout message: move the event if it is still where it was.
    pub(crate) async fn time_out_event(
        &self,
        b: &switchyard_store::RecordRef,
        armed_at_version: u64,
    ) -> Result<Handled, GatewayError> {
        let Some((mut event, version)) = self.load_event(&b.namespace, &b.tenant, &b.id).await?
        else {
            return Ok(Handled::Done);
        };
        if version != armed_at_version {
            return Ok(Handled::Done); // It moved since the timeout was armed.
        }
        let machine = self.machine(&event.state_machine)?;
        let Some(timeout) = machine.timeouts.iter().find(|t| t.in_state == event.state) else {
            return Ok(Handled::Done);
        };
        let now = self.ports.clock.now();
        event.history.push(Transition {
            from: event.state.clone(),
            to: timeout.transition_to.clone(),
            at: now,
            by: "timeout".into(),
        });
        event.state = timeout.transition_to.clone();
        event.updated_at = now;
        self.save_event(&event, version).await?;
        Ok(Handled::Done)
    }
}
