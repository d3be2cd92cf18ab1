//! The dispatch pipeline end to end on the memory adapters.

use serde_json::json;
use switchyard_core::{Action, ActionOutcome, AuditQuery};

mod common;
use common::{EVENING_ET, NOON_ET, dispatch, ecommerce, kind, order};

#[tokio::test]
async fn ecommerce_orders_during_business_hours() {
    let h = ecommerce(NOON_ET);
    let standard = dispatch(
        &h,
        order("o1", json!({"total_cents": 4999, "shipping_country": "US"}))
            .with_dedup_key("order-1"),
    )
    .await;
    assert_eq!(
        standard,
        ActionOutcome::Executed(switchyard_core::ProviderResponse::success(
            json!({"provider": "payment-gateway", "logged": true})
        ))
    );
    let sanctioned = dispatch(
        &h,
        order("o2", json!({"total_cents": 4999, "shipping_country": "SY"})),
    )
    .await;
    assert_eq!(
        sanctioned,
        ActionOutcome::Suppressed {
            rule: "deny-sanctioned-regions".into()
        }
    );
    let first = dispatch(
        &h,
        order("o3", json!({"total_cents": 100})).with_dedup_key("dup"),
    )
    .await;
    let second = dispatch(
        &h,
        order("o4", json!({"total_cents": 100})).with_dedup_key("dup"),
    )
    .await;
    assert_eq!((kind(&first), kind(&second)), ("executed", "deduplicated"));
    // The dedup window is 300 s: after it the same key executes again.
    h.clock.advance(chrono::Duration::seconds(301));
    let third = dispatch(
        &h,
        order("o5", json!({"total_cents": 100})).with_dedup_key("dup"),
    )
    .await;
    assert_eq!(kind(&third), "executed");

    let high = dispatch(&h, order("o6", json!({"total_cents": 75000}))).await;
    let ActionOutcome::PendingApproval {
        approve_url,
        reject_url,
        notification_sent,
        expires_at,
        ..
    } = high
    else {
        panic!("expected PendingApproval, got {high:?}");
    };
    assert!(notification_sent, "email-service is a log provider");
    assert!(approve_url.starts_with("http://127.0.0.1:8080/v1/approvals/ecommerce/acme-store/"));
    assert!(approve_url.contains("/approve?sig=") && reject_url.contains("/reject?sig="));
    assert_eq!((expires_at - h.clock_now()).num_seconds(), 60);
    let unmatched = dispatch(
        &h,
        Action::builder("ecommerce", "acme-store", "warehouse", "restock", json!({})),
    )
    .await;
    assert_eq!(
        unmatched,
        ActionOutcome::Suppressed {
            rule: "deny-unmatched".into()
        }
    );
}

#[tokio::test]
async fn ecommerce_orders_after_hours_are_scheduled() {
    let h = ecommerce(EVENING_ET);
    let outcome = dispatch(&h, order("late-1", json!({"total_cents": 4999}))).await;
    let ActionOutcome::Scheduled {
        scheduled_for,
        action_id,
    } = outcome
    else {
        panic!("expected Scheduled, got {outcome:?}");
    };
    assert_eq!((scheduled_for - h.clock_now()).num_seconds(), 30);
    assert_eq!(action_id, "late-1", "the outcome names the action itself");
    assert_eq!(h.memory.queue.len(), 1, "one release message is waiting");
    assert_eq!(h.memory.queue.next_due(), Some(scheduled_for));
    // Sanctioned orders are denied at any hour.
    let denied = dispatch(&h, order("late-2", json!({"shipping_country": "IR"}))).await;
    assert_eq!(kind(&denied), "suppressed");
}

#[tokio::test]
async fn audit_records_are_redacted_and_filterable() {
    let h = ecommerce(NOON_ET);
    dispatch(
        &h,
        order(
            "audit-1",
            json!({"total_cents": 100, "card_number": "4111111111111111", "billing": {"billing_zip": "02139"}, "card_last4": "1111"}),
        ),
    )
    .await;
    dispatch(&h, order("audit-2", json!({"shipping_country": "NK"}))).await;
    let record = h
        .gateway
        .audit_for_action("audit-1")
        .await
        .expect("query")
        .expect("record");
    assert_eq!(record.outcome, "executed");
    assert_eq!(record.verdict, "deduplicate");
    assert_eq!(record.matched_rule.as_deref(), Some("dedup-double-submit"));
    assert_eq!(
        record.action_payload,
        Some(
            json!({"total_cents": 100, "card_number": "[REDACTED]", "billing": {"billing_zip": "[REDACTED]"}, "card_last4": "[REDACTED]"})
        )
    );
    assert_eq!(
        record
            .expires_at
            .map(|e| (e - record.dispatched_at).num_days()),
        Some(14)
    );
    let suppressed = h
        .gateway
        .audit_query(&AuditQuery {
            namespace: Some("ecommerce".into()),
            outcome: Some("suppressed".into()),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(suppressed.total, 1);
    assert_eq!(suppressed.records[0].action_id, "audit-2");
    assert_eq!(suppressed.records[0].verdict, "deny");
}
