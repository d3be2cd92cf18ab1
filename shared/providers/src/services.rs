//! Building the chat, paging and SMS providers from their configuration:
//! credentials resolved (literal or `env:NAME`), API roots defaulted.

use std::sync::Arc;

use switchyard_config::ProviderConfig;
use switchyard_core::Provider;

use crate::http::Transport;
use crate::secret::Secret;

/// The provider for a service type (or SMTP email), `None` for other types.
pub(crate) fn build(
    config: &ProviderConfig,
    transport: Transport,
) -> Option<Result<Arc<dyn Provider>, String>> {
    let built = match config.kind.as_str() {
        "slack" | "teams" | "discord" => chat(config, transport),
        "pagerduty" | "opsgenie" => paging(config, transport),
        "twilio" => sms(config, transport),
        "email" if config.email_backend() == "smtp" => smtp(config, transport),
        _ => return None,
    };
    Some(built)
}

/// A type whose family this build leaves out.
#[allow(dead_code)]
fn not_built(config: &ProviderConfig, feature: &str) -> Result<Arc<dyn Provider>, String> {
    Err(format!(
        "type '{}' is not in this build (Cargo feature `{feature}` of switchyard-providers)",
        config.kind
    ))
}

#[cfg(feature = "chat")]
fn chat(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    use crate::chat::{DiscordProvider, TeamsProvider};
    match config.kind.as_str() {
        "slack" => slack(config, transport),
        "teams" => Ok(Arc::new(TeamsProvider {
            name: config.name.clone(),
            webhook_url: required(config, "webhook_url", &config.webhook_url)?,
            transport,
        })),
        _ => Ok(Arc::new(DiscordProvider {
            name: config.name.clone(),
            webhook_url: required(config, "webhook_url", &config.webhook_url)?,
            transport,
        })),
    }
}

#[cfg(not(feature = "chat"))]
fn chat(config: &ProviderConfig, _: Transport) -> Result<Arc<dyn Provider>, String> {
    not_built(config, "chat")
}

#[cfg(feature = "paging")]
fn paging(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    use crate::incident::{PAGERDUTY_API, PagerDutyProvider};
    match config.kind.as_str() {
        "pagerduty" => Ok(Arc::new(PagerDutyProvider {
            name: config.name.clone(),
            routing_key: required(config, "routing_key", &config.routing_key)?,
            api: api_root(config, PAGERDUTY_API),
            transport,
        })),
        _ => opsgenie(config, transport),
    }
}

#[cfg(not(feature = "paging"))]
fn paging(config: &ProviderConfig, _: Transport) -> Result<Arc<dyn Provider>, String> {
    not_built(config, "paging")
}

#[cfg(not(feature = "sms"))]
fn sms(config: &ProviderConfig, _: Transport) -> Result<Arc<dyn Provider>, String> {
    not_built(config, "sms")
}

#[cfg(feature = "smtp")]
fn smtp(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    Ok(Arc::new(crate::smtp::SmtpProvider::from_config(
        config,
        transport.timeout,
    )?))
}

#[cfg(not(feature = "smtp"))]
fn smtp(config: &ProviderConfig, _: Transport) -> Result<Arc<dyn Provider>, String> {
    not_built(config, "smtp")
}

#[allow(dead_code)]
fn required(config: &ProviderConfig, key: &str, value: &Option<String>) -> Result<Secret, String> {
    let value = value
        .as_deref()
        .ok_or_else(|| format!("missing `{}`", key))?;
    Secret::resolve(&format!("{}.{key}", config.name), value)
}

#[allow(dead_code)]
fn api_root(config: &ProviderConfig, default: &str) -> String {
    config
        .api_base_url
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

#[cfg(feature = "chat")]
fn slack(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    use crate::chat::{SlackProvider, SlackTarget};
    let target = match (&config.webhook_url, &config.token) {
        (Some(_), None) => {
            SlackTarget::Webhook(required(config, "webhook_url", &config.webhook_url)?)
        }
        (None, Some(_)) => SlackTarget::Bot {
            token: required(config, "token", &config.token)?,
            api: api_root(config, "https://slack.com/api"),
        },
        _ => return Err("give exactly one of `webhook_url` or `token`".into()),
    };
    Ok(Arc::new(SlackProvider {
        name: config.name.clone(),
        target,
        default_channel: config.default_channel.clone(),
        transport,
    }))
}

#[cfg(feature = "paging")]
fn opsgenie(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    use crate::incident::OpsgenieProvider;
    let settings = config.opsgenie.clone().unwrap_or_default();
    let api_key = required(config, "opsgenie.api_key", &settings.api_key)?;
    Ok(Arc::new(OpsgenieProvider {
        name: config.name.clone(),
        api_key,
        api: OpsgenieProvider::api_for(&settings),
        settings,
        transport,
    }))
}

#[cfg(feature = "sms")]
fn sms(config: &ProviderConfig, transport: Transport) -> Result<Arc<dyn Provider>, String> {
    use crate::twilio::{TWILIO_API, TwilioProvider};
    let account_sid = required(config, "account_sid", &config.account_sid)?;
    Ok(Arc::new(TwilioProvider {
        name: config.name.clone(),
        account_sid: account_sid.expose().to_string(),
        auth_token: required(config, "auth_token", &config.auth_token)?,
        from_number: config.from_number.clone(),
        api: api_root(config, TWILIO_API),
        transport,
    }))
}
