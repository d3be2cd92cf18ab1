//! Background work is isolated per message: a message whose handler panics is
//! dead-lettered (audited with its reason) and the next due message is still
//! delivered; a failing retention policy does not stop the pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use switchyard_assembly::MemoryPorts;
use switchyard_config::Config;
use switchyard_core::{
    Action, AuditQuery, ManualClock, Provider, ProviderError, ProviderRequest, ProviderResponse,
};
use switchyard_gateway::{DispatchOptions, Gateway};
use switchyard_providers::ProviderRegistry;

/// Executes normally, except that an action whose payload says `boom`
/// panics inside the provider call: a stand-in for any bug a record can
/// reach in a handler.
struct Fragile {
    calls: AtomicUsize,
    /// The idempotency keys providers were given, in call order.
    keys: std::sync::Mutex<Vec<String>>,
    /// Actions that already crashed once (see `crash_once`).
    crashed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Fragile {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            keys: Default::default(),
            crashed: Default::default(),
        })
    }
}

#[async_trait]
impl Provider for Fragile {
    fn name(&self) -> &str {
        "fragile"
    }
    fn kind(&self) -> &str {
        "log"
    }
    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        // The request reached the provider, then the handler died before
        // its result was saved: the message will be delivered again.
        if request.action.payload["crash_once"] == json!(true)
            && self
                .crashed
                .lock()
                .expect("crashed")
                .insert(request.action.id.clone())
        {
            self.keys
                .lock()
                .expect("keys")
                .push(request.idempotency_key.to_string());
            panic!("crashed after the provider call for {}", request.action.id);
        }
        if request.action.payload["boom"] == json!(true) {
            panic!("injected fault for action {}", request.action.id);
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.keys
            .lock()
            .expect("keys")
            .push(request.idempotency_key.to_string());
        Ok(ProviderResponse::success(json!({"ok": true})))
    }
}

const CONFIG: &str = r#"
[executor]
max_retries = 0

[[providers]]
name = "fragile"
type = "log"
"#;

const RULES: &str = r#"
rules:
  - name: later
    condition:
      field: action.action_type
      eq: "later"
    action:
      type: schedule
      delay_seconds: 10
"#;

fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().expect("timestamp")
}

fn gateway(fragile: Arc<Fragile>) -> (Arc<Gateway>, Arc<ManualClock>, MemoryPorts) {
    let config = Config::parse("test.toml", CONFIG).expect("config");
    let clock = Arc::new(ManualClock::new(at("2026-03-02T12:00:00Z")));
    let memory = MemoryPorts::new(clock.clone(), 10_000);
    let mut providers =
        ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
            .expect("providers");
    providers.insert(fragile);
    let rules = switchyard_rules::load_str("rules.yaml", RULES).expect("rules");
    let gateway =
        Gateway::with_rules(config, memory.ports.clone(), providers, rules).expect("gateway");
    (Arc::new(gateway), clock, memory)
}

fn later(id: &str, boom: bool) -> Action {
    Action::builder("shop", "acme", "fragile", "later", json!({"boom": boom})).with_id(id)
}

#[tokio::test]
async fn a_panicking_message_is_dead_lettered_and_the_next_one_delivered() {
    let fragile = Fragile::new();
    let (gateway, clock, memory) = gateway(fragile.clone());
    for action in [later("poison", true), later("healthy", false)] {
        let outcome = gateway
            .dispatch(action, DispatchOptions::default())
            .await
            .expect("scheduled");
        assert_eq!(outcome.tag(), "scheduled");
    }
    clock.advance(chrono::Duration::seconds(11));
    // Both are due in the same pass: the panic of the first must not keep
    // the second from its provider.
    // A panicking handler leaves its lease to expire (60 s) before the next
    // delivery can take the record, so time moves a lease at a time.
    for _ in 0..20 {
        gateway.process_due(&memory.queue).await;
        if memory.queue.is_empty() {
            break;
        }
        clock.advance(chrono::Duration::seconds(61));
    }
    assert_eq!(
        fragile.calls.load(Ordering::SeqCst),
        1,
        "the healthy action ran"
    );
    assert!(memory.queue.is_empty(), "nothing left to retry forever");
    let metrics = gateway.metrics();
    assert_eq!(
        metrics.handler_panics, 5,
        "five deliveries, then the dead letter"
    );
    assert_eq!(metrics.dead_lettered, 1);
    let dead = gateway
        .audit_query(&AuditQuery {
            namespace: Some("shop".into()),
            tenant: Some("acme".into()),
            verdict: Some("dead_letter".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .expect("audit");
    let record = dead
        .records
        .iter()
        .find(|r| r.verdict == "dead_letter")
        .expect("the dead letter is audited");
    assert!(
        record.outcome_details["message"]
            .as_str()
            .is_some_and(|m| m.contains("handler panicked: injected fault for action poison")),
        "{}",
        record.outcome_details
    );
    // The worker is still alive for what comes next.
    gateway
        .dispatch(later("after", false), DispatchOptions::default())
        .await
        .expect("scheduled");
    clock.advance(chrono::Duration::seconds(11));
    gateway.process_due(&memory.queue).await;
    assert_eq!(fragile.calls.load(Ordering::SeqCst), 2);
}

/// A handler that dies after the provider received the request is
/// delivered again (SQS redelivery, the local worker's retry): the provider
/// sees the second call under the same idempotency key as the first, so it
/// can tell the repeat.
#[tokio::test]
async fn a_redelivered_message_reaches_the_provider_with_the_same_idempotency_key() {
    let fragile = Fragile::new();
    let (gateway, clock, memory) = gateway(fragile.clone());
    let action = Action::builder(
        "shop",
        "acme",
        "fragile",
        "later",
        json!({"crash_once": true}),
    )
    .with_id("o-42");
    gateway
        .dispatch(action, DispatchOptions::default())
        .await
        .expect("scheduled");
    clock.advance(chrono::Duration::seconds(11));
    for _ in 0..5 {
        gateway.process_due(&memory.queue).await;
        if memory.queue.is_empty() {
            break;
        }
        // The dead handler's lease (60 s) runs out before the next delivery.
        clock.advance(chrono::Duration::seconds(61));
    }
    assert!(memory.queue.is_empty(), "delivered until it succeeded");
    let keys = fragile.keys.lock().expect("keys").clone();
    assert_eq!(
        keys,
        ["shop/acme/o-42", "shop/acme/o-42"],
        "two calls, one key"
    );
    assert_eq!(gateway.metrics().dead_lettered, 0);
}

/// Two tenants choosing the same action id reach the provider with
/// different idempotency keys, so neither dedupes the other downstream.
#[tokio::test]
async fn idempotency_keys_are_scoped_by_namespace_and_tenant() {
    let fragile = Fragile::new();
    let (gateway, _, _) = gateway(fragile.clone());
    for tenant in ["acme", "globex"] {
        let action = Action::builder("shop", tenant, "fragile", "now", json!({"boom": false}))
            .with_id("o-1");
        let outcome = gateway
            .dispatch(action, DispatchOptions::default())
            .await
            .expect("dispatch");
        assert_eq!(outcome.tag(), "executed");
    }
    let keys = fragile.keys.lock().expect("keys").clone();
    assert_eq!(keys, ["shop/acme/o-1", "shop/globex/o-1"]);
}

/// An audit store that refuses every write while `down` is set.
struct Unreachable {
    inner: switchyard_store::MemoryAuditStore,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl switchyard_store::AuditStore for Unreachable {
    async fn append(
        &self,
        record: switchyard_core::AuditRecord,
    ) -> Result<(), switchyard_store::StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(switchyard_store::StoreError::Unavailable(
                "connection refused".into(),
            ));
        }
        self.inner.append(record).await
    }
    async fn query(
        &self,
        query: &AuditQuery,
    ) -> Result<switchyard_core::AuditPage, switchyard_store::StoreError> {
        self.inner.query(query).await
    }
    async fn latest_for_action(
        &self,
        action_id: &str,
        accept: &(dyn for<'r> Fn(&'r switchyard_core::AuditRecord) -> bool + Send + Sync),
    ) -> Result<Option<switchyard_core::AuditRecord>, switchyard_store::StoreError> {
        self.inner.latest_for_action(action_id, accept).await
    }
    async fn since(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<switchyard_core::AuditRecord>, switchyard_store::StoreError> {
        self.inner.since(after, limit).await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, switchyard_store::StoreError> {
        self.inner.purge_expired(now).await
    }
}

/// An action that executed while the audit store was unreachable is audited
/// once the store is back: the record waits and is written again, once.
#[tokio::test]
async fn an_audit_write_that_fails_is_retried_until_the_store_takes_it() {
    let config = Config::parse("test.toml", CONFIG).expect("config");
    let clock = Arc::new(ManualClock::new(at("2026-03-02T12:00:00Z")));
    let mut memory = MemoryPorts::new(clock.clone(), 10_000);
    let audit = Arc::new(Unreachable {
        inner: memory.audit.clone(),
        down: std::sync::atomic::AtomicBool::new(true),
    });
    memory.ports.audit = audit.clone();
    let fragile = Fragile::new();
    let mut providers =
        ProviderRegistry::from_config(&config.providers, Duration::from_secs(5), None)
            .expect("providers");
    providers.insert(fragile.clone());
    let gateway =
        Gateway::with_rules(config, memory.ports.clone(), providers, Vec::new()).expect("gateway");
    let action =
        Action::builder("shop", "acme", "fragile", "now", json!({"boom": false})).with_id("o-9");
    let outcome = gateway
        .dispatch(action, DispatchOptions::default())
        .await
        .expect("the provider ran");
    assert_eq!(outcome.tag(), "executed");
    assert_eq!(gateway.metrics().audit_pending, 1, "the record waits");
    assert!(
        gateway
            .audit_for_action("o-9")
            .await
            .expect("read")
            .is_none()
    );
    audit.down.store(false, Ordering::SeqCst);
    let mut found = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        found = gateway.audit_for_action("o-9").await.expect("read");
        if found.is_some() {
            break;
        }
    }
    let record = found.expect("audited once the store is back");
    assert_eq!(record.outcome, "executed");
    let metrics = gateway.metrics();
    assert_eq!(
        (
            metrics.audit_retried,
            metrics.audit_pending,
            metrics.audit_dropped
        ),
        (1, 0, 0)
    );
    let page = gateway
        .audit_query(&AuditQuery {
            action_id: Some("o-9".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(page.total, 1, "exactly once");
}
