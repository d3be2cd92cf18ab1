//! `[state] backend = "postgres"` and `[audit] backend = "postgres"`: the
//! local process on PostgreSQL. State takes the delay queue with it (both
//! must survive a restart together: a scheduled action's record and the
//! message that releases it).

use std::sync::Arc;

use anyhow::Context;
use switchyard_config::{AuditBackend, Config, StateBackend};
use switchyard_core::Clock;
use switchyard_store_postgres::{
    Postgres, PostgresAuditStore, PostgresDelayQueue, PostgresSettings, PostgresStateStore,
};

use crate::MemoryPorts;

/// Where the URL comes from when the section names none.
pub const URL_VARIABLE: &str = "DATABASE_URL";

fn settings(
    section: &str,
    url: Option<&str>,
    prefix: Option<&str>,
    schema: Option<&str>,
    pool_size: Option<usize>,
) -> anyhow::Result<PostgresSettings> {
    let url = match url {
        Some(url) => url.to_string(),
        None => std::env::var(URL_VARIABLE).map_err(|_| {
            anyhow::anyhow!(
                "[{section}] backend = \"postgres\" needs a url: set [{section}] url or the {URL_VARIABLE} environment variable"
            )
        })?,
    };
    let defaults = PostgresSettings::new(url);
    let settings = PostgresSettings {
        prefix: prefix.map_or(defaults.prefix.clone(), str::to_string),
        schema: schema.map(str::to_string),
        pool_size: pool_size.unwrap_or(defaults.pool_size),
        ..defaults
    };
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("[{section}] {e}"))?;
    Ok(settings)
}

/// Swap in the PostgreSQL adapters the configuration asks for (nothing
/// when it names none). Connects and migrates the schema first, so a bad
/// URL or an unreachable server stops the start with the reason.
pub async fn use_postgres(
    config: &Config,
    memory: &mut MemoryPorts,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let state = config.state.backend == StateBackend::Postgres;
    let audit = config.audit.backend == AuditBackend::Postgres;
    if !state && !audit {
        return Ok(());
    }
    let mut pools: Vec<Postgres> = Vec::new();
    let mut pool_for =
        async |section: &str, wanted: PostgresSettings| -> anyhow::Result<Postgres> {
            // One pool when both sections name the same database and tables.
            if let Some(pg) = pools.iter().find(|pg| *pg.settings() == wanted) {
                return Ok(pg.clone());
            }
            let pg = Postgres::connect(wanted)
                .await
                .with_context(|| format!("[{section}] PostgreSQL backend"))?;
            pools.push(pg.clone());
            Ok(pg)
        };
    if state {
        let s = &config.state;
        let wanted = settings(
            "state",
            s.url.as_deref(),
            s.prefix.as_deref(),
            s.schema.as_deref(),
            s.pool_size,
        )?;
        let pg = pool_for("state", wanted).await?;
        memory.ports.state = Arc::new(PostgresStateStore::new(pg.clone(), clock.clone()));
        let queue = Arc::new(PostgresDelayQueue::new(pg.clone(), clock.clone()));
        memory.ports.queue = queue.clone();
        memory.worker_queue = queue;
        tracing::info!(prefix = %pg.settings().prefix, schema = ?pg.settings().schema, pool_size = pg.settings().pool_size, "state and delay queue on PostgreSQL");
    }
    if audit {
        let a = &config.audit;
        let url = a
            .url
            .as_deref()
            .or(state.then_some(config.state.url.as_deref()).flatten());
        let wanted = settings(
            "audit",
            url,
            a.prefix.as_deref().or(config.state.prefix.as_deref()),
            a.schema.as_deref().or(config.state.schema.as_deref()),
            a.pool_size,
        )?;
        let pg = pool_for("audit", wanted).await?;
        memory.ports.audit = Arc::new(PostgresAuditStore::new(pg.clone(), clock));
        tracing::info!(prefix = %pg.settings().prefix, schema = ?pg.settings().schema, "audit on PostgreSQL");
    }
    Ok(())
}
