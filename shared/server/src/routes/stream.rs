//! `GET /v1/stream`: server-sent events fed from the audit change feed.
//!
//! The feed is the audit store itself (records ordered by their UUIDv7 id), not
//! an in-process broadcast, so a client sees what every instance dispatched —
//! which is what many Lambda instances behind one API need.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use switchyard_core::AuditRecord;

use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamFilter {
    namespace: Option<String>,
    tenant: Option<String>,
    action_type: Option<String>,
    outcome: Option<String>,
    event_type: Option<String>,
    chain_id: Option<String>,
    group_id: Option<String>,
    action_id: Option<String>,
}

/// The stream event type of an audit record.
pub(crate) fn event_type(record: &AuditRecord) -> &'static str {
    if record.chain_id.is_some() && record.verdict == "chain" {
        if record.outcome.starts_with("chain_") {
            "chain_completed"
        } else {
            "chain_step_completed"
        }
    } else if record.verdict == "circuit_breaker" {
        "circuit_breaker_transition"
    } else if record.action_type == "group_notification" {
        "group_flushed"
    } else if record.outcome.starts_with("approval_") {
        "approval_resolved"
    } else if record.verdict_details.get("released_from").is_some() {
        "scheduled_action_due"
    } else {
        "action_dispatched"
    }
}

impl StreamFilter {
    fn matches(&self, r: &AuditRecord) -> bool {
        let eq = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|f| f == v);
        let group_id = r
            .verdict_details
            .get("group_id")
            .and_then(|g| g.as_str())
            .unwrap_or_default();
        eq(&self.namespace, &r.namespace)
            && eq(&self.tenant, &r.tenant)
            && eq(&self.action_type, &r.action_type)
            && eq(&self.outcome, &r.outcome)
            && eq(&self.event_type, event_type(r))
            && eq(&self.chain_id, r.chain_id.as_deref().unwrap_or_default())
            && eq(&self.group_id, group_id)
            && eq(&self.action_id, &r.action_id)
    }
}

/// A sanitized event: outcome summaries only (no provider bodies, no approval links).
fn to_event(r: &AuditRecord) -> Event {
    let kind = event_type(r);
    let data = json!({
        "id": r.id,
        "timestamp": r.completed_at,
        "type": kind,
        "namespace": r.namespace,
        "tenant": r.tenant,
        "action_type": r.action_type,
        "action_id": r.action_id,
        "provider": r.provider,
        "verdict": r.verdict,
        "matched_rule": r.matched_rule,
        "outcome": r.outcome,
        "outcome_details": r.outcome_details,
        "chain_id": r.chain_id,
    });
    Event::default()
        .id(r.id.clone())
        .event(kind)
        .data(data.to_string())
}

/// A cursor that sorts just below every UUIDv7 minted from `ms` on.
fn cursor_at(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        ms >> 16,
        ms & 0xffff
    )
}

const POLL: Duration = Duration::from_millis(250);
/// How far behind the newest id the feed looks again for late writers.
const LATE_WRITE_MARGIN_MS: i64 = 2_000;

pub(crate) async fn stream(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    filter: Result<Query<StreamFilter>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(filter) =
        filter.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    if let (Some(namespace), Some(tenant)) = (&filter.namespace, &filter.tenant) {
        authed.tenant(namespace, tenant)?;
    }
    // Audit ids are minted from the system clock, so the cursor is too.
    let now_ms = chrono::Utc::now().timestamp_millis();
    // Resume after Last-Event-ID, else start now.
    let cursor = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| cursor_at(now_ms));
    let feed = Feed {
        state,
        authed,
        filter,
        cursor,
        seen: VecDeque::new(),
        seen_set: HashSet::new(),
        pending: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        loop {
            if let Some(event) = feed.pending.pop_front() {
                return Some((Ok(event), feed));
            }
            tokio::time::sleep(POLL).await;
            feed.poll().await;
        }
    });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("ping"),
    ))
}

struct Feed {
    state: AppState,
    /// Only records the caller's grants cover are sent (filtered here, on
    /// the server, whatever the client's filter says).
    authed: Authed,
    filter: StreamFilter,
    cursor: String,
    /// Ids already sent within the late-write margin, oldest first.
    seen: VecDeque<String>,
    seen_set: HashSet<String>,
    pending: VecDeque<Event>,
}

impl Feed {
    async fn poll(&mut self) {
        let records = match self
            .state
            .gateway
            .ports()
            .audit
            .since(&self.lower_bound(), 500)
            .await
        {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(error = %err, "stream poll failed");
                return;
            }
        };
        for record in records {
            if self.seen_set.contains(&record.id) {
                continue;
            }
            if record.id > self.cursor {
                self.cursor = record.id.clone();
            }
            self.seen_set.insert(record.id.clone());
            self.seen.push_back(record.id.clone());
            if self.filter.matches(&record)
                && self.authed.sees_action(
                    &record.namespace,
                    &record.tenant,
                    &record.provider,
                    &record.action_type,
                )
            {
                self.pending.push_back(to_event(&record));
            }
        }
        while self.seen.len() > 10_000 {
            if let Some(old) = self.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
    }

    /// Look back a little before the cursor: a record minted earlier but
    /// written later than its neighbours is still delivered, once.
    fn lower_bound(&self) -> String {
        let hex: String = self.cursor.chars().filter(|c| *c != '-').take(12).collect();
        match i64::from_str_radix(&hex, 16) {
            Ok(ms) if !self.seen.is_empty() => cursor_at(ms - LATE_WRITE_MARGIN_MS),
            _ => self.cursor.clone(),
        }
    }
}
