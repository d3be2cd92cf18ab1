//! What the provider tests share: build a provider from its configuration
//! (as start-up does) and send it one action.

use std::time::Duration;

use serde_json::Value;
use switchyard_config::ProviderConfig;
use switchyard_core::{Action, ProviderError, ProviderRequest, ProviderResponse};
use switchyard_providers::ProviderRegistry;

/// Execute an action of tenant `shop`/`acme` (id `a-1`) with `payload` on
/// the provider `config` describes.
pub async fn execute(
    config: ProviderConfig,
    payload: Value,
) -> Result<ProviderResponse, ProviderError> {
    let registry =
        ProviderRegistry::from_config(std::slice::from_ref(&config), Duration::from_secs(10), None)
            .expect("the provider builds");
    let provider = registry.get(&config.name).expect("registered");
    let action =
        Action::builder("shop", "acme", &config.name, "order_confirmation", payload).with_id("a-1");
    let key = action.idempotency_key();
    provider
        .execute(ProviderRequest {
            action: &action,
            idempotency_key: &key,
        })
        .await
}
