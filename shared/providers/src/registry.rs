use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchyard_config::ProviderConfig;
use switchyard_core::Provider;

use crate::log::LogProvider;
use crate::webhook::WebhookProvider;

/// Builds providers of types the built-ins do not cover (the AWS ones).
pub trait ProviderFactory: Send + Sync {
    /// `None` when this factory does not handle `config.kind`.
    fn build(&self, config: &ProviderConfig) -> Option<Result<Arc<dyn Provider>, String>>;
}

/// Every configured provider by name, built once at start-up.
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    providers: HashMap<String, Arc<dyn Provider>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.providers.keys().collect();
        names.sort();
        f.debug_struct("ProviderRegistry")
            .field("providers", &names)
            .finish()
    }
}

impl ProviderRegistry {
    /// Build every provider; an error names the provider and what is wrong.
    /// `default_timeout` applies to webhooks without their own `timeout_seconds`.
    pub fn from_config(
        configs: &[ProviderConfig],
        default_timeout: Duration,
        extra: Option<&dyn ProviderFactory>,
    ) -> Result<ProviderRegistry, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        let mut registry = ProviderRegistry::default();
        for config in configs {
            let fail = |message: String| {
                format!(
                    "provider '{}' (type {}): {message}",
                    config.name, config.kind
                )
            };
            let timeout = config
                .timeout_seconds
                .map_or(default_timeout, Duration::from_secs);
            let provider: Arc<dyn Provider> = match config.kind.as_str() {
                "log" => Arc::new(LogProvider::new(&config.name)),
                "webhook" => {
                    let url = config
                        .url
                        .as_deref()
                        .ok_or_else(|| fail("missing `url`".into()))?;
                    Arc::new(
                        WebhookProvider::new(
                            &config.name,
                            url,
                            config.method.as_deref().unwrap_or("POST"),
                            config.headers.clone().unwrap_or_default(),
                            timeout,
                            http.clone(),
                        )
                        .map_err(fail)?,
                    )
                }
                other => match crate::services::build(
                    config,
                    crate::http::Transport {
                        client: http.clone(),
                        timeout,
                    },
                )
                .or_else(|| extra.and_then(|f| f.build(config)))
                {
                    Some(built) => built.map_err(fail)?,
                    None => {
                        return Err(fail(format!(
                            "type '{other}' is not available in this build (the AWS providers are not linked in)"
                        )));
                    }
                },
            };
            registry.insert(provider);
        }
        Ok(registry)
    }

    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(provider.name().to_string(), provider);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.providers.keys().cloned().collect();
        names.sort();
        names
    }
}
