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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchyard_config::BreakerMode;
use switchyard_core::{Action, ActionOutcome};
use switchyard_store::StateKey;

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::Metrics;

const CACHE: Duration = Duration::from_secs(1);
/// How long a half-open probe may take before another request may probe.
const PROBE_SLOT: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerPhase {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerPhase {
    /// The snake_case name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            BreakerPhase::Closed => "closed",
            BreakerPhase::Open => "open",
            BreakerPhase::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerState {
    pub phase: BreakerPhase,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub opened_at: Option<DateTime<Utc>>,
    pub probe_until: Option<DateTime<Utc>>,
    /// Probes in flight while half-open (at most `half_open_max_probes`).
    #[serde(default)]
    pub probes: u32,
    pub last_error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for BreakerState {
    fn default() -> Self {
        Self {
            phase: BreakerPhase::Closed,
            consecutive_failures: 0,
            consecutive_successes: 0,
            opened_at: None,
            probe_until: None,
            probes: 0,
            last_error: None,
            updated_at: None,
        }
    }
}

/// Effective settings of one provider's breaker.
#[derive(Debug, Clone)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub recovery_timeout: chrono::Duration,
    pub fallback: Option<String>,
    pub mode: BreakerMode,
    pub error_rate_threshold_percent: u32,
    pub window: chrono::Duration,
    pub window_size: usize,
    pub minimum_requests: usize,
    pub half_open_max_probes: u32,
}

impl BreakerSettings {
    /// Settings for a provider reached only as a fallback, without a breaker of its own.
    fn never_opens() -> Self {
        Self {
            failure_threshold: u32::MAX,
            success_threshold: 1,
            recovery_timeout: chrono::Duration::zero(),
            fallback: None,
            mode: BreakerMode::Consecutive,
            error_rate_threshold_percent: 100,
            window: chrono::Duration::zero(),
            window_size: 1,
            minimum_requests: usize::MAX,
            half_open_max_probes: 1,
        }
    }
}

/// Cached breaker states: provider → (read at, state, version).
type CachedStates = HashMap<String, (std::time::Instant, BreakerState, u64)>;
/// Recent call results per provider, for the error-rate mode: this instance's
/// own sample of the provider's health (the resulting state is shared).
type Samples = HashMap<String, std::collections::VecDeque<(DateTime<Utc>, bool)>>;

#[derive(Default)]
pub(crate) struct BreakerCache(Mutex<CachedStates>, Mutex<Samples>);

enum Permit {
    Call,
    /// This call is the half-open probe.
    Probe,
    Refused,
}

fn key(provider: &str) -> StateKey {
    StateKey::new("_system", "_breakers", "circuit_breaker", provider)
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
            && let Some((at, state, version)) = self
                .breakers
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(provider)
            && at.elapsed() < CACHE
        {
            return Ok((state.clone(), *version));
        }
        let (state, version) = match self.ports.state.get(&key(provider)).await? {
            Some(v) => (
                crate::handlers::decode(&key(provider), &v.value)?,
                v.version,
            ),
            None => (BreakerState::default(), 0),
        };
        self.remember(provider, &state, version);
        Ok((state, version))
    }

    fn remember(&self, provider: &str, state: &BreakerState, version: u64) {
        self.breakers
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                provider.to_string(),
                (std::time::Instant::now(), state.clone(), version),
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
        let body =
            serde_json::to_string(&new).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let Some(new_version) = self
            .ports
            .state
            .compare_and_swap(&key(provider), version, &body, None)
            .await?
        else {
            // Lost a race: forget the cache so the next call reads the winner.
            self.breakers
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(provider);
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
            let now = self.ports.clock.now();
            match state.phase {
                BreakerPhase::Closed => return Ok(Permit::Call),
                BreakerPhase::Open => {
                    let reopen_at = state.opened_at.unwrap_or(now) + settings.recovery_timeout;
                    if now < reopen_at {
                        return Ok(Permit::Refused);
                    }
                    let probe = BreakerState {
                        phase: BreakerPhase::HalfOpen,
                        consecutive_successes: 0,
                        probes: 1,
                        probe_until: Some(now + chrono::Duration::seconds(PROBE_SLOT)),
                        ..state.clone()
                    };
                    let (fresh, version) = self.load_breaker(provider, true).await?;
                    if fresh != state {
                        continue;
                    }
                    if self.save_breaker(provider, &state, probe, version).await? {
                        return Ok(Permit::Probe);
                    }
                }
                BreakerPhase::HalfOpen => {
                    // Probes whose slot ran out (their caller crashed) no longer count.
                    let in_flight = if state.probe_until.is_some_and(|until| until > now) {
                        state.probes
                    } else {
                        0
                    };
                    if in_flight >= settings.half_open_max_probes {
                        return Ok(Permit::Refused);
                    }
                    let probe = BreakerState {
                        probes: in_flight + 1,
                        probe_until: Some(now + chrono::Duration::seconds(PROBE_SLOT)),
                        ..state.clone()
                    };
                    if self.save_breaker(provider, &state, probe, version).await? {
                        return Ok(Permit::Probe);
                    }
                }
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
        let mut samples = self.breakers.1.lock().unwrap_or_else(|p| p.into_inner());
        let window = samples.entry(provider.to_string()).or_default();
        window.push_back((now, success));
        while window.len() > settings.window_size
            || window
                .front()
                .is_some_and(|(at, _)| *at + settings.window <= now)
        {
            window.pop_front();
        }
        let failures = window.iter().filter(|(_, ok)| !ok).count();
        window.len() >= settings.minimum_requests
            && failures * 100 >= settings.error_rate_threshold_percent as usize * window.len()
    }

    fn forget_samples(&self, provider: &str) {
        self.breakers
            .1
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
        for _ in 0..4 {
            let (state, version) = self.load_breaker(provider, true).await?;
            let now = self.ports.clock.now();
            let open = |failures: u32| BreakerState {
                phase: BreakerPhase::Open,
                consecutive_failures: failures,
                consecutive_successes: 0,
                opened_at: Some(now),
                probe_until: None,
                probes: 0,
                last_error: error.clone(),
                updated_at: state.updated_at,
            };
            let next = match (state.phase, success) {
                (BreakerPhase::Closed, _) if trips_now => {
                    open(state.consecutive_failures + u32::from(!success))
                }
                (BreakerPhase::Closed, true) => BreakerState {
                    consecutive_failures: 0,
                    ..state.clone()
                },
                (BreakerPhase::Closed, false) => {
                    let failures = state.consecutive_failures + 1;
                    if settings.mode == BreakerMode::Consecutive
                        && failures >= settings.failure_threshold
                    {
                        open(failures)
                    } else {
                        BreakerState {
                            consecutive_failures: failures,
                            last_error: error.clone(),
                            ..state.clone()
                        }
                    }
                }
                (BreakerPhase::HalfOpen, true) => {
                    let successes = state.consecutive_successes + 1;
                    if successes >= settings.success_threshold {
                        BreakerState::default()
                    } else {
                        BreakerState {
                            consecutive_successes: successes,
                            probes: state.probes.saturating_sub(1),
                            ..state.clone()
                        }
                    }
                }
                (BreakerPhase::HalfOpen | BreakerPhase::Open, false) => {
                    open(state.consecutive_failures + 1)
                }
                (BreakerPhase::Open, true) => return Ok(()),
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
            let now = self.ports.clock.now();
            let recovered = match state.phase {
                BreakerPhase::Open
                    if state.opened_at.unwrap_or(now) + settings.recovery_timeout <= now =>
                {
                    BreakerState {
                        phase: BreakerPhase::HalfOpen,
                        consecutive_successes: 0,
                        probes: 0,
                        probe_until: None,
                        ..state.clone()
                    }
                }
                BreakerPhase::HalfOpen
                    if state.probes > 0 && state.probe_until.is_none_or(|until| until <= now) =>
                {
                    BreakerState {
                        probes: 0,
                        probe_until: None,
                        ..state.clone()
                    }
                }
                _ => continue,
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
            out.push(json!({
                "provider": name,
                "type": kind,
                "healthy": phase.is_none_or(|p| p == BreakerPhase::Closed),
                "circuit_breaker_state": phase,
            }));
        }
        Ok(out)
    }
}
