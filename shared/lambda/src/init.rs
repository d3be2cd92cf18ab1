//! Start-up: once per execution environment (cold start), never per request.

use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use switchyard_config::Config;
use switchyard_core::{Clock, SystemClock};
use switchyard_gateway::{Gateway, GatewayPorts};
use switchyard_queue_aws::AwsDelayQueue;
use switchyard_rules::Rule;
use switchyard_store_dynamodb::{DynamoAuditStore, DynamoStateStore};

use crate::rules_source::{self, RulesOrigin, RulesWatcher};
use crate::settings::Settings;
use crate::ssm::{Wanted, secure_parameters};

/// One function instance's gateway and what keeps its rules fresh.
pub struct Runtime {
    pub gateway: Arc<Gateway>,
    pub settings: Settings,
    /// The first admin key's hash, from `ADMIN_KEY_HASH_PARAMETER`.
    pub admin_key_hash: Option<String>,
    /// What the cold start read its rules from.
    pub rules_origin: RulesOrigin,
    rules: Option<RulesWatcher>,
    invocations: crate::emf::InvocationMetrics,
}

impl Runtime {
    /// A runtime around a ready gateway, with bundled rules (tests).
    #[cfg(test)]
    pub(crate) fn for_tests(
        gateway: Arc<Gateway>,
        settings: Settings,
        admin_key_hash: Option<String>,
    ) -> Self {
        Self {
            gateway,
            settings,
            admin_key_hash,
            rules_origin: RulesOrigin::Bundled,
            rules: None,
            invocations: Default::default(),
        }
    }

    /// End of an invocation of `function`: one EMF object with the counters
    /// it moved (see [`crate::emf`]).
    pub fn report_invocation(&self, function: &str) {
        self.invocations.report(function, &self.gateway.metrics());
    }

    /// Reload the rules from S3 when they changed (at most every
    /// `RULES_REFRESH_SECONDS`); a no-op with bundled rules.
    pub async fn refresh_rules(&self) -> Option<usize> {
        match &self.rules {
            Some(watcher) => watcher.refresh_if_due(&self.gateway).await,
            None => None,
        }
    }
}

/// What every function's `main` does first: JSON logs, then [`init`], with
/// a failed start-up logged before the runtime reports it.
pub async fn start() -> anyhow::Result<Runtime> {
    crate::logging::init();
    init().await.inspect_err(crate::logging::init_failed)
}

/// Start from the environment with the default AWS configuration (the
/// function's role; `AWS_ENDPOINT_URL` points every client at an emulator).
pub async fn init() -> anyhow::Result<Runtime> {
    let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    init_with(settings, &sdk, Arc::new(SystemClock)).await
}

/// Start with explicit settings, SDK configuration and clock (tests).
pub async fn init_with(
    settings: Settings,
    sdk: &SdkConfig,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Runtime> {
    // The rules and the keys come from different services: read both at
    // once so a cold start pays one round trip, not two.
    let (
        LoadedRules {
            mut config,
            rules,
            origin,
            watcher,
        },
        StartKeys {
            approval_secret: secret,
            admin_key_hash,
        },
    ) = tokio::try_join!(load_rules(&settings, sdk), StartKeys::read(&settings, sdk))?;
    if admin_key_hash.is_some() {
        config.auth.enabled = true;
    }
    crate::provider_secrets::resolve(sdk, &mut config).await?;
    if config.auth.config_path.is_some() {
        anyhow::bail!(
            "[auth] config_path is not read on Lambda: create keys with POST /v1/auth/keys \
             and give the first admin key through ADMIN_KEY_HASH_PARAMETER"
        );
    }
    // Rules come from the bundle or S3, never from a directory in the package.
    config.rules.directory = None;
    if let Some(url) = &settings.external_url {
        config.server.external_url = Some(url.clone());
    }
    if let (Some(value), Some(name)) = (&secret, &settings.approval_secret_parameter) {
        crate::approval_keys::apply(&mut config.server, name, value).map_err(anyhow::Error::msg)?;
    }
    if config.server.approval_secret.is_none() {
        anyhow::bail!(
            "APPROVAL_SECRET_PARAMETER is not set and the configuration has no [server] approval_secret: \
             approval links signed by one instance would not verify on another"
        );
    }

    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(4),
            )
            .build(),
    );
    let queue = AwsDelayQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        aws_sdk_scheduler::Client::new(sdk),
        settings.queues.clone(),
        clock.clone(),
    );
    let ports = GatewayPorts {
        state: Arc::new(
            DynamoStateStore::new(dynamodb.clone(), &settings.state_table, clock.clone())
                .with_shards(settings.state_shards),
        ),
        audit: Arc::new(
            DynamoAuditStore::new(dynamodb, &settings.audit_table, clock.clone())
                .with_shards(settings.audit_shards),
        ),
        queue: Arc::new(queue),
        clock,
    };
    let gateway = switchyard_assembly::build_gateway(config, ports, Some(rules))
        .map_err(anyhow::Error::msg)
        .context("gateway configuration")?;
    tracing::info!(
        rules = gateway.rules().len(),
        from = ?origin,
        source = %settings.rules.as_ref().map_or("bundled e-commerce example".to_string(), ToString::to_string),
        state_table = %settings.state_table,
        "gateway ready"
    );
    if gateway.rules().is_empty() {
        // No rule allows everything, including what deny rules were meant to stop.
        tracing::warn!(
            source = %settings.rules.as_ref().map_or(String::new(), ToString::to_string),
            "NO RULES LOADED: every action will be allowed; check RULES_S3_URI"
        );
    }
    Ok(Runtime {
        gateway: Arc::new(gateway),
        settings,
        admin_key_hash,
        rules_origin: origin,
        rules: watcher,
        invocations: Default::default(),
    })
}

struct LoadedRules {
    config: Config,
    rules: Vec<Rule>,
    origin: RulesOrigin,
    watcher: Option<RulesWatcher>,
}

/// The configuration and rules: bundled, or every file under `RULES_S3_URI`.
async fn load_rules(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<LoadedRules> {
    let Some(at) = &settings.rules else {
        return Ok(LoadedRules {
            config: switchyard_server::example::config().map_err(anyhow::Error::msg)?,
            rules: switchyard_server::example::rules().map_err(anyhow::Error::msg)?,
            origin: RulesOrigin::Bundled,
            watcher: None,
        });
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build(),
    );
    let files = rules_source::load(&s3, at).await?;
    let config = match &files.config {
        Some((uri, text)) => Config::parse(uri, text)?,
        None => switchyard_server::example::config().map_err(anyhow::Error::msg)?,
    };
    let watcher = RulesWatcher::new(s3, at.clone(), settings.rules_refresh, files.listing);
    Ok(LoadedRules {
        config,
        rules: files.rules,
        origin: files.origin,
        watcher: Some(watcher),
    })
}

/// The keys a start-up reads from SSM, in one request.
struct StartKeys {
    approval_secret: Option<String>,
    admin_key_hash: Option<String>,
}

impl StartKeys {
    async fn read(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let named = [
            ("approval secret", &settings.approval_secret_parameter),
            ("admin key hash", &settings.admin_key_hash_parameter),
        ];
        let wanted: Vec<Wanted> = named
            .iter()
            .filter_map(|(what, name)| {
                Some(Wanted {
                    what: what.to_string(),
                    name: (*name).clone()?,
                })
            })
            .collect();
        let mut values = secure_parameters(sdk, &wanted).await?.into_iter();
        let mut next_if = |name: &Option<String>| name.as_ref().and_then(|_| values.next());
        Ok(Self {
            approval_secret: next_if(&settings.approval_secret_parameter),
            admin_key_hash: next_if(&settings.admin_key_hash_parameter),
        })
    }
}
