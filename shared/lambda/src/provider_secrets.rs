//! Provider credentials written as `ssm:/name` in the configuration: each
//! is read (a SecureString, decrypted) once at start and put in place of
//! the reference, before the providers are built. The parameters are read
//! together (10 to a request, the requests at once), so many credentials
//! cost one round trip of start-up.

use aws_config::SdkConfig;
use switchyard_config::Config;

use crate::ssm::{Wanted, secure_parameters};

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
    let wanted: Vec<Wanted> = slots
        .iter()
        .map(|(what, name, _)| Wanted {
            what: what.clone(),
            name: name.clone(),
        })
        .collect();
    let values = secure_parameters(sdk, &wanted).await?;
    let read = values.len();
    for ((_, _, slot), value) in slots.into_iter().zip(values) {
        *slot = value;
    }
    Ok(read)
}
