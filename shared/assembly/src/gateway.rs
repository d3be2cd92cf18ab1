//! A gateway from configuration: every provider type (the AWS ones
//! included), then the rules.

use switchyard_gateway::{Gateway, GatewayPorts};

/// Assemble a gateway from configuration on the given ports: build every
/// provider, then load rules (the configured directory, or `rules` when given).
pub fn build_gateway(
    config: switchyard_config::Config,
    ports: GatewayPorts,
    rules: Option<Vec<switchyard_rules::Rule>>,
) -> Result<Gateway, String> {
    let timeout = std::time::Duration::from_secs(config.executor.timeout_seconds.max(1));
    let providers = switchyard_providers::ProviderRegistry::from_config(
        &config.providers,
        timeout,
        Some(&switchyard_providers_aws::AwsProviders),
    )?;
    match rules {
        Some(rules) => Gateway::with_rules(config, ports, providers, rules),
        None => Gateway::new(config, ports, providers),
    }
}
