//! Circuit breakers shared by every instance: one record per provider in the
//! state store, moved between closed / open / half-open by compare-and-swap,
//! so fifty Lambda instances agree on a provider's state.
//!
//! Acteon's model: `failure_threshold` consecutive retryable failures open the
//! breaker; after `recovery_timeout_seconds` one request is let through as a
//! probe (half-open); `success_threshold` probe successes close it, a probe
//! failure re-opens it. Requests refused by an open breaker go to the
//! provider's `fallback_provider` chain, else end as `CircuitOpen`.
//!
//! Reads are cached per process for [`CACHE`]: a healthy provider costs no
//! round trip per call; only failures and transitions write.

use serde_json::{Value, json};
use switchyard_config::BreakerMode;
use switchyard_core::{Action, ActionOutcome};

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;

pub(crate) mod model;

use model::{Admission, CallResult};
pub use model::{BreakerPhase, BreakerSettings, BreakerState};

enum Permit {
    Call,
    /// This call is the half-open probe.
    Probe,
    Refused,
}

impl Gateway {
    pub fn breaker_settings(&self, provider: &str) -> Option<BreakerSettings> {
        let config = &self.config.circuit_breaker;
        if !config.enabled {
            return None;
        }
        let over = config.providers.get(provider);
        Some(BreakerSettings {
            failure_threshold: over
                .and_then(|o| o.failure_threshold)
                .unwrap_or(config.failure_threshold)
                .max(1),
            success_threshold: over
                .and_then(|o| o.success_threshold)
                .unwrap_or(config.success_threshold)
                .max(1),
            recovery_timeout: chrono::Duration::seconds(
                over.and_then(|o| o.recovery_timeout_seconds)
                    .unwrap_or(config.recovery_timeout_seconds) as i64,
            ),
            fallback: over.and_then(|o| o.fallback_provider.clone()),
            mode: over.and_then(|o| o.mode).unwrap_or(config.mode),
            error_rate_threshold_percent: over
                .and_then(|o| o.error_rate_threshold_percent)
                .unwrap_or(config.error_rate_threshold_percent)
                .clamp(1, 100),
            window: chrono::Duration::seconds(
                over.and_then(|o| o.window_seconds)
                    .unwrap_or(config.window_seconds)
                    .max(1) as i64,
            ),
            window_size: over
                .and_then(|o| o.window_size)
                .unwrap_or(config.window_size)
                .max(1),
            minimum_requests: over
                .and_then(|o| o.minimum_requests)
                .unwrap_or(config.minimum_requests)
                .max(1),
            half_open_max_probes: over
                .and_then(|o| o.half_open_max_probes)
                .unwrap_or(config.half_open_max_probes)
                .max(1),
        })
    }

    async fn load_breaker(
        &self,
        provider: &str,
        fresh: bool,
    ) -> Result<(BreakerState, u64), GatewayError> {
        if !fresh
            && let Some(cached) = self
                .breakers
                .states
                .get(&provider.to_string(), self.ports.clock.now())
        {
            return Ok(cached);
        }
        let (state, version) = match self
            .ports
            .state
            .get(&crate::keys::breaker(provider))
            .await?
        {
            Some(v) => (
                crate::records::decode(&crate::keys::breaker(provider), &v.value)?,
                v.version,
            ),
            None => (BreakerState::default(), 0),
        };
        self.remember(provider, &state, version);
        Ok((state, version))
    }

    fn remember(&self, provider: &str, state: &BreakerState, version: u64) {
        self.breakers.states.insert(
            provider.to_string(),
            (state.clone(), version),
            self.ports.clock.now(),
        );
    }

    /// Write a new state if nobody changed it; audit phase changes.
    async fn save_breaker(
        &self,
        provider: &str,
        old: &BreakerState,
        mut new: BreakerState,
        version: u64,
    ) -> Result<bool, GatewayError> {
        new.updated_at = Some(self.ports.clock.now());
        let Some(new_version) = self
            .swap_json(&crate::keys::breaker(provider), version, &new, None)
            .await?
        else {
            // Lost a race: forget the cache so the next call reads the winner.
            self.breakers.states.forget(&provider.to_string());
            return Ok(false);
        };
        self.remember(provider, &new, new_version);
        if old.phase != new.phase {
            Metrics::bump(&self.metrics.circuit_transitions);
            self.audit_transition(provider, old.phase, &new).await;
        }
        Ok(true)
    }

    async fn audit_transition(&self, provider: &str, from: BreakerPhase, to: &BreakerState) {
        let now = self.ports.clock.now();
        let mut action = Action::builder(
            "_system",
            "_breakers",
            provider,
            "circuit_breaker_transition",
            json!({
                "provider": provider, "from": from, "to": to.phase, "consecutive_failures": to.consecutive_failures,
                "last_error": to.last_error,
            }),
        );
        action.created_at = now;
        let record = self.audit_record(
            crate::audit::AuditContext {
                event: switchyard_core::AuditEvent::CircuitBreakerTransition,
                action: &action,
                provider,
                verdict: "circuit_breaker",
                matched_rule: None,
                verdict_details: json!({"from": from, "to": to.phase}),
                chain_id: None,
                dispatched_at: now,
            },
            crate::audit::RecordOutcome::Named {
                tag: format!("circuit_{}", to.phase.name()),
                details: json!({"from": from, "to": to.phase}),
            },
        );
        self.write_audit(record).await;
        tracing::warn!(provider, ?from, to = ?to.phase, "circuit breaker transition");
    }

    async fn permit(
        &self,
        provider: &str,
        settings: &BreakerSettings,
    ) -> Result<Permit, GatewayError> {
        for _ in 0..4 {
            let (state, version) = self.load_breaker(provider, false).await?;
            let probe = match model::admit(&state, settings, self.ports.clock.now()) {
                Admission::Call => return Ok(Permit::Call),
                Admission::Refused => return Ok(Permit::Refused),
                Admission::Probe(probe) => probe,
            };
            // The cached state may be stale: probe only from the live one.
            let (fresh, version) = if state.phase == BreakerPhase::Open {
                let (fresh, version) = self.load_breaker(provider, true).await?;
                if fresh != state {
                    continue;
                }
                (fresh, version)
            } else {
                (state, version)
            };
            if self.save_breaker(provider, &fresh, probe, version).await? {
                return Ok(Permit::Probe);
            }
        }
        Ok(Permit::Refused)
    }

    /// Whether this instance's recent sample crosses the error-rate threshold.
    fn error_rate_exceeded(
        &self,
        provider: &str,
        settings: &BreakerSettings,
        success: bool,
    ) -> bool {
        let now = self.ports.clock.now();
        let mut samples = self
            .breakers
            .samples
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        samples
            .entry(provider.to_string())
            .or_default()
            .add(settings, now, success)
    }

    fn forget_samples(&self, provider: &str) {
        self.breakers
            .samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(provider);
    }

    async fn record(
        &self,
        provider: &str,
        settings: &BreakerSettings,
        success: bool,
        retryable: bool,
        error: Option<String>,
    ) -> Result<(), GatewayError> {
        if !success && !retryable {
            return Ok(()); // A permanent error says nothing about the provider's health.
        }
        let (cached, _) = self.load_breaker(provider, false).await?;
        let trips_now = match (settings.mode, cached.phase) {
            (BreakerMode::ErrorRate, BreakerPhase::Closed) => {
                if !self.error_rate_exceeded(provider, settings, success) {
                    return Ok(()); // Below the threshold: nothing to write.
                }
                true
            }
            (BreakerMode::Consecutive, BreakerPhase::Closed)
                if success && cached.consecutive_failures == 0 =>
            {
                return Ok(()); // Healthy: nothing to write.
            }
            _ => false,
        };
        let call = CallResult {
            success,
            trips: trips_now,
            error,
        };
        for _ in 0..4 {
            let (state, version) = self.load_breaker(provider, true).await?;
            let Some(next) = model::after_call(&state, settings, self.ports.clock.now(), &call)
            else {
                return Ok(());
            };
            let transition = next.phase != state.phase;
            if self.save_breaker(provider, &state, next, version).await? {
                if transition {
                    // A fresh sample after every transition.
                    self.forget_samples(provider);
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// Call `provider` through its breaker, walking the fallback chain when it
    /// is open. Without `[circuit_breaker] enabled`, a plain call.
    pub(crate) async fn call_provider(&self, action: &Action, provider: &str) -> ActionOutcome {
        let Some(first) = self.breaker_settings(provider) else {
            return self.execute(action, provider).await;
        };
        let mut tried: Vec<String> = Vec::new();
        let mut current = provider.to_string();
        let mut settings = first;
        loop {
            let permit = match self.permit(&current, &settings).await {
                Ok(p) => p,
                Err(err) => {
                    // Breaker state unreadable: fail open (call the provider), as Acteon does.
                    tracing::warn!(provider = %current, error = %err, "circuit breaker state unavailable");
                    Permit::Call
                }
            };
            if !matches!(permit, Permit::Refused) {
                let outcome = self.execute(action, &current).await;
                let (success, retryable, error) = match &outcome {
                    ActionOutcome::Executed(_) => (true, false, None),
                    ActionOutcome::Failed {
                        code,
                        message,
                        retryable,
                        ..
                    } => (false, *retryable, Some(format!("{code}: {message}"))),
                    _ => (true, false, None),
                };
                if let Err(err) = self
                    .record(&current, &settings, success, retryable, error)
                    .await
                {
                    tracing::warn!(provider = %current, error = %err, "could not record the call on the breaker");
                }
                if current == provider {
                    return outcome;
                }
                Metrics::bump(&self.metrics.circuit_fallbacks);
                return match outcome {
                    ActionOutcome::Executed(response) => ActionOutcome::Rerouted {
                        original_provider: provider.to_string(),
                        new_provider: current,
                        response,
                    },
                    other => other,
                };
            }
            tried.push(current.clone());
            let next = settings
                .fallback
                .clone()
                .filter(|f| !tried.contains(f) && f != provider);
            match next {
                Some(fallback) => {
                    settings = self
                        .breaker_settings(&fallback)
                        .unwrap_or_else(BreakerSettings::never_opens);
                    current = fallback;
                }
                None => {
                    return ActionOutcome::CircuitOpen {
                        provider: provider.to_string(),
                        fallback_chain: tried.into_iter().skip(1).collect(),
                    };
                }
            }
        }
    }

    /// The reaper's pass: an open breaker whose recovery timeout has passed
    /// becomes half-open (the next call probes at once, and the API shows it),
    /// and probe slots whose callers died are released. Returns how many
    /// breakers changed. Every change is a compare-and-swap; losing a race to
    /// a live call is fine (that call moved the breaker on).
    pub(crate) async fn recover_breakers(&self) -> Result<u64, GatewayError> {
        let mut changed = 0;
        for name in self.providers.names() {
            let Some(settings) = self.breaker_settings(&name) else {
                continue;
            };
            let (state, version) = self.load_breaker(&name, true).await?;
            let Some(recovered) = model::recovered(&state, &settings, self.ports.clock.now())
            else {
                continue;
            };
            if self.save_breaker(&name, &state, recovered, version).await? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// `GET /v1/circuit-breakers`: every configured provider's breaker.
    pub async fn circuit_breakers(&self) -> Result<Vec<Value>, GatewayError> {
        let mut out = Vec::new();
        for name in self.providers.names() {
            let Some(settings) = self.breaker_settings(&name) else {
                continue;
            };
            let (state, _) = self.load_breaker(&name, true).await?;
            out.push(json!({
                "provider": name,
                "state": state.phase,
                "consecutive_failures": state.consecutive_failures,
                "consecutive_successes": state.consecutive_successes,
                "opened_at": state.opened_at,
                "last_error": state.last_error,
                "failure_threshold": settings.failure_threshold,
                "success_threshold": settings.success_threshold,
                "recovery_timeout_seconds": settings.recovery_timeout.num_seconds(),
                "fallback_provider": settings.fallback,
            }));
        }
        Ok(out)
    }

    /// `GET /v1/providers/health`.
    pub async fn provider_health(&self) -> Result<Vec<Value>, GatewayError> {
        let mut out = Vec::new();
        for name in self.providers.names() {
            let phase = match self.breaker_settings(&name) {
                Some(_) => Some(self.load_breaker(&name, true).await?.0.phase),
                None => None,
            };
            let kind = self.providers.get(&name).map(|p| p.kind().to_string());
            let mut entry = json!(self.executor.stats.figures(&name));
            entry["provider"] = json!(name);
            entry["type"] = json!(kind);
            entry["healthy"] = json!(phase.is_none_or(|p| p == BreakerPhase::Closed));
            // Acteon's clients need a state; a provider without a breaker never opens.
            entry["circuit_breaker_state"] = json!(phase.unwrap_or(BreakerPhase::Closed));
            entry["circuit_breaker"] = json!(phase.is_some());
            out.push(entry);
        }
        Ok(out)
    }
}
