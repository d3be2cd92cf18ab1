//! Providers: where executed actions go.

mod log;
mod registry;
mod webhook;

pub use log::LogProvider;
pub use registry::{ProviderFactory, ProviderRegistry};
pub use webhook::WebhookProvider;
