//! Provider credentials written as `ssm:/name` in the configuration: each
//! is read (a SecureString, decrypted) once at start and put in place of
//! the reference, before the providers are built. The parameters are read
//! concurrently, so many credentials cost one round trip of start-up.

use aws_config::SdkConfig;
use futures_util::future::try_join_all;
use switchyard_config::Config;

/// Resolve every `ssm:` reference among the providers' credentials;
/// returns how many were read.
pub async fn resolve(sdk: &SdkConfig, config: &mut Config) -> anyhow::Result<usize> {
    let mut slots = Vec::new();
    for provider in &mut config.providers {
        let name = provider.name.clone();
        for (key, value) in provider.secrets_mut() {
            if let Some(parameter) = value.strip_prefix("ssm:").map(str::to_string) {
                slots.push((format!("provider '{name}' {key}"), parameter, value));
            }
        }
    }
    let values = try_join_all(
        slots
            .iter()
            .map(|(what, parameter, _)| crate::init::secure_parameter(sdk, what, parameter)),
    )
    .await?;
    let read = values.len();
    for ((_, _, slot), value) in slots.into_iter().zip(values) {
        *slot = value;
    }
    Ok(read)
}
