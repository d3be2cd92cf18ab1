//! Dispatch through the gates: concurrent duplicates and throttle windows across tasks, quotas at the limit and across windows, gates mode (modify and dedup before the deciding rule), bad input and failures, dry runs without side effects.

use serde_json::json;
use std::time::Duration;
use switchyard_core::{Action, ActionOutcome};
use switchyard_gateway::{DispatchOptions, GatewayError};
mod common;
use common::{NOON_ET, dispatch, ecommerce, harness, kind, order};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_execute_exactly_once() {
    let h = ecommerce(NOON_ET);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let gateway = h.gateway.clone();
        tasks.push(tokio::spawn(async move {
            let action =
                order(&format!("c{i}"), json!({"total_cents": 100})).with_dedup_key("same-order");
            gateway
                .dispatch(action, DispatchOptions::default())
                .await
                .expect("dispatch")
        }));
    }
    let mut executed = 0;
    let mut deduplicated = 0;
    for task in tasks {
        match task.await.expect("task") {
            ActionOutcome::Executed(_) => executed += 1,
            ActionOutcome::Deduplicated => deduplicated += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((executed, deduplicated), (1, 99));
    assert_eq!(h.gateway.metrics().executed, 1);
}

const LOG_PROVIDERS: &str = "[[providers]]\nname = \"log\"\ntype = \"log\"\n[[providers]]\nname = \"alerts\"\ntype = \"log\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dispatches_respect_the_throttle_window() {
    let rules = "rules:\n  - name: throttle-ten\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: throttle\n      max_count: 10\n      window_seconds: 60\n";
    let h = harness(LOG_PROVIDERS, rules, "2026-01-05T17:00:05Z");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let gateway = h.gateway.clone();
        tasks.push(tokio::spawn(async move {
            let action = Action::builder("ns", "t", "log", "event", json!({}));
            gateway
                .dispatch(action, DispatchOptions::default())
                .await
                .expect("dispatch")
        }));
    }
    let mut executed = 0;
    for task in tasks {
        match task.await.expect("task") {
            ActionOutcome::Executed(_) => executed += 1,
            ActionOutcome::Throttled { retry_after } => {
                assert_eq!(retry_after, Duration::from_secs(55))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(executed, 10);
    // The next window starts fresh.
    h.clock.advance(chrono::Duration::seconds(55));
    let next = dispatch(&h, Action::builder("ns", "t", "log", "event", json!({}))).await;
    assert_eq!(kind(&next), "executed");
}

#[tokio::test]
async fn quotas_block_at_the_limit_and_reset_with_the_window() {
    use switchyard_gateway::quotas::{OverageBehavior, QuotaPolicy, QuotaWindow};
    let h = harness(LOG_PROVIDERS, "rules: []\n", "2026-01-05T17:00:00Z");
    let now = h.clock_now();
    h.gateway
        .quotas
        .create(QuotaPolicy {
            id: "q1".into(),
            namespace: "ns".into(),
            tenant: "t".into(),
            provider: None,
            max_actions: 3,
            window: QuotaWindow::Hourly,
            overage_behavior: OverageBehavior::Block,
            enabled: true,
            description: None,
            created_at: now,
            updated_at: now,
            labels: Default::default(),
        })
        .await
        .expect("create");
    let send = || dispatch(&h, Action::builder("ns", "t", "log", "event", json!({})));
    for _ in 0..3 {
        assert_eq!(kind(&send().await), "executed");
    }
    assert_eq!(
        send().await,
        ActionOutcome::QuotaExceeded {
            tenant: "t".into(),
            limit: 3,
            used: 3,
            overage_behavior: "block".into()
        }
    );
    let other_tenant = dispatch(
        &h,
        Action::builder("ns", "other", "log", "event", json!({})),
    )
    .await;
    assert_eq!(kind(&other_tenant), "executed", "quotas are per tenant");
    h.clock.advance(chrono::Duration::hours(1));
    assert_eq!(kind(&send().await), "executed", "a new hour, a new window");
}

const IOT_GATES: &str = r#"rules:
  - name: enrich
    priority: 0
    condition:
      field: action.tenant
      eq: t
    action:
      type: modify
      changes:
        enriched: true
  - name: dedup
    priority: 1
    condition:
      field: action.action_type
      eq: reading
    action:
      type: deduplicate
      ttl_seconds: 60
  - name: critical
    priority: 2
    condition:
      all:
        - field: action.payload.value
          gt: 85
        - field: action.payload.enriched
          eq: true
    action:
      type: reroute
      target_provider: alerts
"#;

#[tokio::test]
async fn rules_reload_keeps_the_old_set_on_error() {
    let h = ecommerce(NOON_ET);
    let dir = std::env::temp_dir().join(format!("switchyard-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.yaml"), "rules:\n  - name: x\n    condition:\n      field: action.nope\n      eq: 1\n    action:\n      type: allow\n").expect("write");
    let err = h.gateway.reload_rules(Some(&dir)).expect_err("bad file");
    assert!(err.to_string().contains("bad.yaml:4:14"), "{err}");
    assert_eq!(h.gateway.rules().len(), 6, "previous set still serving");
    std::fs::write(dir.join("bad.yaml"), "rules:\n  - name: reroute-ghost\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: reroute\n      target_provider: ghost\n").expect("write");
    let err = h
        .gateway
        .reload_rules(Some(&dir))
        .expect_err("unknown provider");
    assert!(
        err.to_string().contains("no provider named 'ghost'"),
        "{err}"
    );
    std::fs::write(dir.join("bad.yaml"), "rules:\n  - name: only\n    condition:\n      field: action.tenant\n      eq: t\n    action:\n      type: allow\n").expect("write");
    assert_eq!(h.gateway.reload_rules(Some(&dir)).expect("good"), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn gates_mode_applies_modify_and_dedup_then_the_deciding_rule() {
    let config = format!("{LOG_PROVIDERS}[rules]\nevaluation = \"gates\"\n");
    let h = harness(&config, IOT_GATES, NOON_ET);
    let hot =
        Action::builder("ns", "t", "log", "reading", json!({"value": 90})).with_dedup_key("r1");
    let outcome = dispatch(&h, hot.clone().with_id("a1")).await;
    let ActionOutcome::Rerouted {
        original_provider,
        new_provider,
        ..
    } = &outcome
    else {
        panic!("expected Rerouted, got {outcome:?}");
    };
    assert_eq!(
        (original_provider.as_str(), new_provider.as_str()),
        ("log", "alerts")
    );
    assert_eq!(
        dispatch(&h, hot.with_id("a2")).await,
        ActionOutcome::Deduplicated
    );
    let normal = dispatch(
        &h,
        Action::builder("ns", "t", "log", "reading", json!({"value": 20})).with_dedup_key("r2"),
    )
    .await;
    assert_eq!(kind(&normal), "executed");
    let record = h
        .gateway
        .audit_for_action("a1")
        .await
        .expect("q")
        .expect("record");
    assert_eq!(record.verdict, "reroute");
    assert_eq!(record.provider, "alerts");
    assert_eq!(
        record.verdict_details,
        json!({"gates": ["enrich", "dedup"]})
    );
    // In first-match mode the same rules stop at the modify rule.
    let h = harness(LOG_PROVIDERS, IOT_GATES, NOON_ET);
    let outcome = dispatch(
        &h,
        Action::builder("ns", "t", "log", "reading", json!({"value": 90})),
    )
    .await;
    assert_eq!(kind(&outcome), "executed");
}

#[tokio::test]
async fn bad_input_and_failures_are_reported() {
    let h = harness(
        "[[providers]]\nname = \"log\"\ntype = \"log\"\n[[providers]]\nname = \"dead\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\ntimeout_seconds = 1\n[executor]\nmax_retries = 2\nbackoff_base_ms = 1\nbackoff_max_ms = 2\n",
        "rules: []\n",
        NOON_ET,
    );
    let err = h
        .gateway
        .dispatch(
            Action::builder("ns", "t", "nope", "e", json!({})),
            DispatchOptions::default(),
        )
        .await
        .expect_err("unknown provider");
    assert!(
        matches!(err, GatewayError::Invalid { ref field, .. } if field == "provider"),
        "{err:?}"
    );
    let failed = dispatch(
        &h,
        Action::builder("ns", "t", "dead", "e", json!({})).with_id("f1"),
    )
    .await;
    let ActionOutcome::Failed {
        code,
        retryable,
        attempts,
        ..
    } = &failed
    else {
        panic!("expected Failed, got {failed:?}");
    };
    assert_eq!(
        (code.as_str(), *retryable, *attempts),
        ("CONNECTION", true, 3)
    );
    let record = h
        .gateway
        .audit_for_action("f1")
        .await
        .expect("q")
        .expect("audited");
    assert_eq!(record.outcome, "failed");
}

#[tokio::test]
async fn dry_run_has_no_side_effects() {
    let h = ecommerce(NOON_ET);
    let action = order("dry-1", json!({"total_cents": 100})).with_dedup_key("dry");
    for _ in 0..2 {
        let outcome = h
            .gateway
            .dispatch(
                action.clone(),
                DispatchOptions {
                    dry_run: true,
                    ..DispatchOptions::default()
                },
            )
            .await
            .expect("dry run");
        assert_eq!(
            outcome,
            ActionOutcome::DryRun {
                verdict: "deduplicate".into(),
                matched_rule: Some("dedup-double-submit".into()),
                would_be_provider: "payment-gateway".into()
            }
        );
    }
    assert!(
        h.gateway
            .audit_for_action("dry-1")
            .await
            .expect("q")
            .is_none(),
        "no audit"
    );
    assert_eq!(
        kind(&dispatch(&h, action).await),
        "executed",
        "no dedup key was claimed"
    );
}
