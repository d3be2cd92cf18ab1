use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchyard_assembly::local::{RULES_WATCH_INTERVAL, reap, sweep, watch_rules, work};
use switchyard_assembly::{MemoryPorts, build_gateway, use_dynamodb, use_postgres};
use switchyard_config::Config;
use switchyard_core::{Clock, SystemClock};
use switchyard_server::{AppState, router};

use switchyard_server::example;

pub struct ServeArgs {
    pub config_path: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub allow_anonymous: bool,
}

/// A host that only this machine can reach.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Auth disabled means every caller is an admin: only loopback may see that,
/// unless the operator says otherwise out loud.
fn check_exposure(config: &Config, allow_anonymous: bool) -> anyhow::Result<()> {
    if config.auth.enabled || is_loopback(&config.server.host) {
        return Ok(());
    }
    if !allow_anonymous {
        anyhow::bail!(
            "refusing to listen on {} with [auth] disabled: anyone who reaches it could change rules, \
             quotas and keys and read every tenant's audit. Enable [auth] (see README \"Identity\"), \
             listen on 127.0.0.1, or pass --allow-anonymous",
            config.server.host
        );
    }
    tracing::warn!(
        host = %config.server.host,
        "--allow-anonymous: serving WITHOUT authentication on a non-loopback address; every caller is an admin"
    );
    Ok(())
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        config_path,
        host,
        port,
        allow_anonymous,
    } = args;
    let (mut config, rules) = match &config_path {
        Some(path) => (Config::load(path)?, None),
        None => (
            example::config().map_err(anyhow::Error::msg)?,
            Some(example::rules().map_err(anyhow::Error::msg)?),
        ),
    };
    if let Some(host) = host {
        config.server.host = host;
    }
    if let Some(port) = port {
        config.server.port = port;
    }
    check_exposure(&config, allow_anonymous)?;
    if config.server.approval_secret.is_none() {
        tracing::warn!(
            "no [server] approval_secret configured: approval links are signed with a random per-process key and die with it"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, rules, config_path))
}

async fn serve(
    config: Config,
    rules: Option<Vec<switchyard_rules::Rule>>,
    source: Option<PathBuf>,
) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut memory = MemoryPorts::new(clock.clone(), config.audit.max_records);
    memory.audit.set_max_bytes(config.audit.max_bytes);
    use_dynamodb(&config, &mut memory, clock.clone()).await?;
    use_postgres(&config, &mut memory, clock).await?;
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let sweep_every = Duration::from_secs(config.state.memory_sweep_interval_secs);
    let gateway =
        Arc::new(build_gateway(config, memory.ports.clone(), rules).map_err(anyhow::Error::msg)?);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local: SocketAddr = listener.local_addr()?;
    match &source {
        Some(path) => {
            tracing::info!(config = %path.display(), rules = gateway.rules().len(), "configuration loaded")
        }
        None => tracing::info!(
            rules = gateway.rules().len(),
            "serving the bundled e-commerce example (rules/ecommerce)"
        ),
    }
    if gateway.rules().is_empty() {
        // No rule allows everything, including what deny rules were meant to stop.
        tracing::warn!(
            rules_directory = ?gateway.config().rules_directory(),
            "NO RULES LOADED: every action will be allowed; check [rules] directory"
        );
    }
    // The one line scripts wait for.
    println!("Listening on http://{local}");
    let sweeper = tokio::spawn(sweep(memory.clone(), sweep_every));
    let worker = tokio::spawn(work(gateway.clone(), memory.clone()));
    let reaper = tokio::spawn(reap(gateway.clone()));
    // Acteon's default: rule files are watched unless `[rules] watch = false`.
    let watcher = (gateway.config().rules.watch != Some(false))
        .then(|| tokio::spawn(watch_rules(gateway.clone(), RULES_WATCH_INTERVAL)));
    let state = AppState::new(gateway).map_err(anyhow::Error::msg)?;
    if state.security.enabled() {
        tracing::info!(
            "authentication enabled: every route but /health, /metrics, login and signed approval links needs a key"
        );
    } else {
        tracing::warn!(
            "authentication disabled: every caller is an anonymous admin (loopback only)"
        );
    }
    let limits =
        switchyard_server::listen::ListenLimits::from_config(&state.gateway.config().server);
    let app = router(state);
    switchyard_server::listen::serve(listener, app, limits, shutdown_signal()).await;
    sweeper.abort();
    worker.abort();
    reaper.abort();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn auth_off_stays_on_loopback_unless_allowed() {
        let mut config = Config::default();
        config.server.host = "0.0.0.0".into();
        let err = check_exposure(&config, false).expect_err("refused");
        assert!(err.to_string().contains("--allow-anonymous"), "{err}");
        assert!(check_exposure(&config, true).is_ok());
        config.auth.enabled = true;
        assert!(check_exposure(&config, false).is_ok());
        config.auth.enabled = false;
        config.server.host = "127.0.0.1".into();
        assert!(check_exposure(&config, false).is_ok());
    }
}
