//! Settings, the connection pool, and the one place statements are sent
//! (which counts round trips and bounds each call's time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use switchyard_store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error::{is_transient, unavailable};

/// Connections per process unless `pool_size` says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The most connections one process may hold (PostgreSQL's own default
/// `max_connections` is 100).
pub const MAX_POOL_SIZE: usize = 256;
/// Table names start with this unless `prefix` says otherwise.
pub const DEFAULT_PREFIX: &str = "switchyard_";

/// How long one statement (or waiting for a pooled connection) may take
/// before the call answers "unavailable": a silent server must not hang
/// requests.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadlocks are retried this many times (each rolls its statement back).
const TRANSIENT_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database?sslmode=…` (never logged).
    pub url: String,
    pub pool_size: usize,
    /// Prefix of every table name (letters, digits and `_`).
    pub prefix: String,
    /// Schema holding the tables; `None`: the connection's search path.
    pub schema: Option<String>,
}

impl PostgresSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: DEFAULT_POOL_SIZE,
            prefix: DEFAULT_PREFIX.into(),
            schema: None,
        }
    }

    /// Check what is spliced into SQL (names cannot be bound parameters).
    pub fn validate(&self) -> Result<(), String> {
        fn identifier(what: &str, value: &str, may_be_empty: bool) -> Result<(), String> {
            let ok_chars = value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            let ok_start = value
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_lowercase() || c == '_');
            if !ok_chars || !ok_start || value.len() > 40 || (value.is_empty() && !may_be_empty) {
                return Err(format!(
                    "{what} {value:?} must be at most 40 lowercase letters, digits or '_', not starting with a digit"
                ));
            }
            Ok(())
        }
        identifier("prefix", &self.prefix, true)?;
        if let Some(schema) = &self.schema {
            identifier("schema", schema, false)?;
        }
        if !(1..=MAX_POOL_SIZE).contains(&self.pool_size) {
            return Err(format!(
                "pool_size must be between 1 and {MAX_POOL_SIZE}, not {}",
                self.pool_size
            ));
        }
        Ok(())
    }

    /// A table's qualified name.
    pub(crate) fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}{name}", self.prefix),
            None => format!("{}{name}", self.prefix),
        }
    }
}

/// Statements sent (executions, retries included): what a dispatch costs in
/// round trips. Cloned handles share one count.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<AtomicU64>);

impl RoundTrips {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A pool on one database, with the table names of one deployment.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    pub(crate) settings: Arc<PostgresSettings>,
    round_trips: RoundTrips,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("Postgres")
            .field("prefix", &self.settings.prefix)
            .field("schema", &self.settings.schema)
            .field("pool_size", &self.settings.pool_size)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Open a pool and bring the schema up to date (see [`crate::migrate`]).
    pub async fn connect(settings: PostgresSettings) -> Result<Self, StoreError> {
        settings.validate().map_err(StoreError::Invalid)?;
        let mut config: tokio_postgres::Config = settings.url.parse().map_err(|e| {
            // The parser's message never contains the URL itself.
            StoreError::Invalid(format!("PostgreSQL url: {e}"))
        })?;
        config.application_name("switchyard");
        config.connect_timeout(Duration::from_secs(5));
        let tls = {
            use rustls_platform_verifier::ConfigVerifierExt;
            let client = rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| unavailable("TLS set-up", e))?;
            tokio_postgres_rustls::MakeRustlsConnect::new(client)
        };
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CALL_TIMEOUT))
            .recycle_timeout(Some(CALL_TIMEOUT))
            .build()
            .map_err(|e| unavailable("pool", e))?;
        let pg = Self {
            pool,
            settings: Arc::new(settings),
            round_trips: RoundTrips::default(),
        };
        crate::migrate::run(&pg).await?;
        Ok(pg)
    }

    /// The same pool counting its statements into `round_trips`.
    pub fn counted(&self, round_trips: RoundTrips) -> Self {
        Self {
            round_trips,
            ..self.clone()
        }
    }

    pub fn round_trips(&self) -> &RoundTrips {
        &self.round_trips
    }

    pub fn settings(&self) -> &PostgresSettings {
        &self.settings
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| unavailable("connection", with_causes(&e)))
    }

    /// Run one statement (prepared once per connection and cached), bounded
    /// in time, again after a deadlock. `operation` names it in errors.
    pub(crate) async fn query(
        &self,
        operation: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.client().await?;
            self.round_trips.bump();
            let run = async {
                let statement = client.prepare_cached(sql).await?;
                client.query(&statement, params).await
            };
            match tokio::time::timeout(CALL_TIMEOUT, run).await {
                Ok(Ok(rows)) => return Ok(rows),
                Ok(Err(err)) if is_transient(&err) && attempt < TRANSIENT_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                }
                Ok(Err(err)) => return Err(unavailable(operation, describe(&err))),
                Err(_) => {
                    return Err(unavailable(
                        operation,
                        format!("no answer within {CALL_TIMEOUT:?}"),
                    ));
                }
            }
        }
    }
}

/// The server's own message when there is one (the driver's `Display` says
/// only "db error").
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// An error with its causes ("error connecting to server: Connection
/// refused"): the pool's own message names none.
fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = inner.source();
    }
    text
}
