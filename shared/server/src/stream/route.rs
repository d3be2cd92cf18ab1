//! The `GET /v1/stream` handler: admit the connection (grants, bounds,
//! `Last-Event-ID`), replay what it missed from the store, then relay what
//! the hub delivers.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use switchyard_core::AuditRecord;

use super::cursor::{cursor_at, parse_event_id};
use super::event::{closing, to_event};
use super::filter::StreamFilter;
use super::hub::{PAGE, Refused, Subscription};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;

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
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(raw) => Some(raw.to_str().ok().and_then(parse_event_id).ok_or_else(|| {
            ApiError::invalid_field(
                "Last-Event-ID",
                "must be the id of an event this stream sent (a UUID)",
            )
        })?),
    };
    let server = &state.gateway.config().server;
    // One tenant's streams, or one caller's unfiltered ones, share a bound.
    let scope = match &filter.tenant {
        Some(tenant) => format!("tenant:{tenant}"),
        None => format!("caller:{}", authed.0.id),
    };
    let subscription = state
        .streams
        .subscribe(scope, filter.clone(), authed.clone())
        .map_err(too_many)?;
    // Audit ids are minted from the system clock, so the window is too.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let window_ms = i64::try_from(server.sse_replay_window_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let oldest = cursor_at(now_ms.saturating_sub(window_ms));
    let mut pending = VecDeque::new();
    // What the client has seen, by its own account: live records at or
    // below it (written late, after the feed passed them) are not sent.
    let floor = last_event_id.clone();
    let replay = last_event_id.map(|id| {
        if id < oldest {
            pending.push_back(closing(
                "replay_truncated",
                "Last-Event-ID is older than the replay window; replaying the window",
            ));
            Replay {
                after: oldest.clone(),
                read: 0,
            }
        } else {
            Replay { after: id, read: 0 }
        }
    });
    let connection = Connection {
        state: state.clone(),
        authed,
        filter,
        subscription,
        replay,
        replay_max: server.sse_replay_max_events,
        replayed: HashSet::new(),
        floor,
        pending,
        done: false,
    };
    let events = futures_util::stream::unfold(connection, |mut c| async move {
        c.next_event().await.map(|event| (Ok(event), c))
    });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("ping"),
    ))
}

fn too_many(refused: Refused) -> ApiError {
    let message = match refused {
        Refused::Scope(n) => format!(
            "this tenant already has {n} open streams ([server] max_sse_connections_per_tenant)"
        ),
        Refused::Total(n) => {
            format!("the server already holds {n} open streams ([server] max_sse_connections)")
        }
    };
    ApiError {
        retry_after: Some(5),
        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_STREAMS", message)
    }
}

/// Where a replay stands: read forward from `after`.
struct Replay {
    after: String,
    read: usize,
}

struct Connection {
    state: AppState,
    authed: Authed,
    filter: StreamFilter,
    subscription: Subscription,
    replay: Option<Replay>,
    replay_max: usize,
    /// Ids sent by the replay that the hub may deliver again.
    replayed: HashSet<String>,
    /// The client's `Last-Event-ID`: a resume delivers only what follows it.
    floor: Option<String>,
    pending: VecDeque<Event>,
    done: bool,
}

impl Connection {
    fn wants(&self, r: &AuditRecord) -> bool {
        self.filter.matches(r)
            && self
                .authed
                .sees_action(&r.namespace, &r.tenant, &r.provider, &r.action_type)
    }

    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            if self.replay.is_some() {
                self.replay_page().await;
                continue;
            }
            match self.subscription.records.recv().await {
                Some(record) => {
                    let seen_by_client = self.floor.as_ref().is_some_and(|f| record.id <= *f);
                    if !self.replayed.remove(&record.id) && !seen_by_client {
                        self.pending.push_back(to_event(&record));
                    }
                }
                None => {
                    if self.subscription.lagged.load(Ordering::Relaxed) {
                        self.pending.push_back(closing(
                            "lagged",
                            "the client read too slowly; reconnect with Last-Event-ID to resume",
                        ));
                    }
                    self.done = true;
                }
            }
        }
    }

    /// One page of the replay; ends it when caught up or at the bound.
    async fn replay_page(&mut self) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let wanted_records = PAGE.min(self.replay_max.saturating_sub(replay.read)).max(1);
        let page = match self
            .state
            .streams
            .audit()
            .since(&replay.after, wanted_records)
            .await
        {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(error = %err, "stream replay failed");
                self.pending.push_back(closing(
                    "error",
                    "the audit store is unavailable; reconnect later",
                ));
                self.done = true;
                return;
            }
        };
        let caught_up = page.len() < wanted_records;
        replay.read += page.len();
        let over = replay.read >= self.replay_max;
        if let Some(last) = page.last() {
            replay.after = last.id.clone();
        }
        let wanted: Vec<Arc<AuditRecord>> = page
            .into_iter()
            .filter(|r| self.wants(r))
            .map(Arc::new)
            .collect();
        for record in wanted {
            self.replayed.insert(record.id.clone());
            self.pending.push_back(to_event(&record));
        }
        if caught_up {
            self.replay = None;
        } else if over {
            self.replay = None;
            self.pending.push_back(closing(
                "replay_truncated",
                "replay stopped at [server] sse_replay_max_events; live events follow",
            ));
        }
    }
}
