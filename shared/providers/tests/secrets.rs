//! Provider credentials from the environment (`env:NAME`). Its own test
//! binary with one test: it sets a variable, which must not race with
//! other threads of the process.

#![cfg(feature = "chat")]

use std::time::Duration;

use serde_json::json;
use switchyard_config::ProviderConfig;
use switchyard_core::{Action, ProviderRequest};
use switchyard_providers::{ProviderRegistry, Secret};

fn config(kind: &str, url: &str) -> ProviderConfig {
    ProviderConfig {
        name: format!("my-{kind}"),
        kind: kind.into(),
        webhook_url: Some(url.into()),
        ..ProviderConfig::default()
    }
}

#[tokio::test]
async fn secrets_come_from_the_environment_and_stay_out_of_errors() {
    // Nothing listens on port 9 of loopback: the call fails to connect.
    let secret_url = "http://127.0.0.1:9/services/T1/B2/very-secret-token";
    // SAFETY: the only test of this binary, before anything else runs.
    unsafe { std::env::set_var("SWITCHYARD_TEST_SLACK_WEBHOOK", secret_url) };
    let slack = config("slack", "env:SWITCHYARD_TEST_SLACK_WEBHOOK");
    let registry = ProviderRegistry::from_config(&[slack], Duration::from_secs(5), None)
        .expect("built from the environment");
    let provider = registry.get("my-slack").expect("registered");
    let action = Action::builder("shop", "acme", "my-slack", "notify", json!({"text": "hi"}));
    let key = action.idempotency_key();
    let error = provider
        .execute(ProviderRequest {
            action: &action,
            idempotency_key: &key,
        })
        .await
        .unwrap_err();
    assert_eq!((error.code.as_str(), error.retryable), ("CONNECTION", true));
    assert!(
        !error.message.contains("very-secret-token"),
        "{}",
        error.message
    );

    // A resolved secret never prints its value.
    let secret = Secret::resolve("webhook_url", "env:SWITCHYARD_TEST_SLACK_WEBHOOK").expect("set");
    assert_eq!(secret.expose(), secret_url);
    assert!(!format!("{secret:?}").contains("very-secret-token"));

    let unset = config("teams", "env:SWITCHYARD_TEST_UNSET_TEAMS_URL");
    let refused =
        ProviderRegistry::from_config(&[unset], Duration::from_secs(5), None).unwrap_err();
    assert!(
        refused.contains("SWITCHYARD_TEST_UNSET_TEAMS_URL"),
        "{refused}"
    );
}
