//! Providers: where executed actions go. The chat, paging, SMS and SMTP
//! families are Cargo features (all on by default), so a build links only
//! the clients it enables.

#[cfg(feature = "chat")]
mod chat;
mod http;
#[cfg(feature = "paging")]
mod incident;
mod log;
mod registry;
mod secret;
mod services;
#[cfg(feature = "smtp")]
mod smtp;
#[cfg(feature = "sms")]
mod twilio;
mod webhook;

#[cfg(feature = "chat")]
pub use chat::{DiscordProvider, SlackProvider, SlackTarget, TeamsProvider};
pub use http::Transport;
#[cfg(feature = "paging")]
pub use incident::{OpsgenieProvider, PagerDutyProvider};
pub use log::LogProvider;
pub use registry::{ProviderFactory, ProviderRegistry};
pub use secret::Secret;
#[cfg(feature = "smtp")]
pub use smtp::SmtpProvider;
#[cfg(feature = "sms")]
pub use twilio::TwilioProvider;
pub use webhook::WebhookProvider;
