//! The e-commerce example's requests and reads, shared by the tests that
//! drive it over HTTP.

use serde_json::{Value, json};

use crate::TestServer;

/// Monday noon in New York: business hours (orders execute).
pub const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";
/// Monday 8 pm in New York: after hours (orders are scheduled).
pub const MONDAY_EVENING_ET: &str = "2026-01-06T01:00:00Z";

/// Order `n` of the example (`act-<n>`, dedup key `order-<n>`).
pub fn order(n: u32, total_cents: u64) -> Value {
    json!({
        "id": format!("act-{n}"),
        "namespace": "ecommerce", "tenant": "acme-store", "provider": "payment-gateway",
        "action_type": "place_order", "dedup_key": format!("order-{n}"),
        "payload": {"order_id": format!("ORD-{n}"), "total_cents": total_cents, "currency": "USD",
                    "shipping_country": "US", "customer_email": "c@example.com", "card_last4": "4242",
                    "items": [{"sku": "SKU-1", "qty": 2}]}
    })
}

/// Order `n` as an [`switchyard_core::Action`] for tests that call the
/// gateway directly (`rt-<n>`, dedup key `order-<n>`).
pub fn order_action(n: u32, total_cents: u64, country: &str) -> switchyard_core::Action {
    switchyard_core::Action::builder(
        "ecommerce",
        "acme-store",
        "payment-gateway",
        "place_order",
        json!({"order_id": format!("ORD-{n}"), "total_cents": total_cents, "shipping_country": country}),
    )
    .with_id(format!("rt-{n}"))
    .with_dedup_key(format!("order-{n}"))
}

/// A quota policy of `max_actions` an hour on the example's tenant.
pub fn hourly_quota(
    id: &str,
    max_actions: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> switchyard_gateway::quotas::QuotaPolicy {
    use switchyard_gateway::quotas::{OverageBehavior, QuotaPolicy, QuotaWindow};
    QuotaPolicy {
        id: id.into(),
        namespace: "ecommerce".into(),
        tenant: "acme-store".into(),
        provider: None,
        max_actions,
        window: QuotaWindow::Hourly,
        overage_behavior: OverageBehavior::Block,
        enabled: true,
        description: None,
        created_at: at,
        updated_at: at,
        labels: Default::default(),
    }
}

/// The path and query of a link (the host in it is the configured external URL).
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_string())
}

/// The latest audit record of `action_id`, which must exist.
pub async fn audit_for(server: &TestServer, action_id: &str) -> Value {
    let (status, record) = server.get(&format!("/v1/audit/{action_id}")).await;
    assert_eq!(status, 200, "audit for {action_id}: {record}");
    record
}

/// The order-processing chain started by `action_id`.
pub async fn chain_for(server: &TestServer, action_id: &str) -> Value {
    let (status, chain) = server
        .get(&format!(
            "/v1/chains/order-processing-{action_id}?namespace=ecommerce&tenant=acme-store"
        ))
        .await;
    assert_eq!(status, 200, "{chain}");
    chain
}
