//! PostgreSQL for the end-to-end tests: the cluster `tests/run` starts, a
//! fresh table prefix per test, adapters with a pool of their own.

use std::sync::Arc;

use switchyard_core::ManualClock;

use crate::Adapters;

/// Set to skip the tests that need PostgreSQL; without it, a missing server
/// fails them.
pub const SKIP_POSTGRES: &str = "SWITCHYARD_SKIP_POSTGRES";

/// The URL of the throw-away cluster `tests/run` starts
/// (`tests/postgres/start`). Its absence is a failure unless
/// [`SKIP_POSTGRES`] says to skip.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SWITCHYARD_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os(SKIP_POSTGRES).is_none() => panic!(
            "SWITCHYARD_POSTGRES_URL is not set: run the tests with tests/run, which starts PostgreSQL (or set {SKIP_POSTGRES}=1 to skip them, knowingly)"
        ),
        Err(_) => {
            eprintln!("skipped on purpose ({SKIP_POSTGRES} is set): needs PostgreSQL");
            None
        }
    }
}

/// Settings for tables of this test's own (a fresh prefix) on the cluster.
pub fn fresh_postgres(url: &str, test: &str) -> switchyard_store_postgres::PostgresSettings {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    switchyard_store_postgres::PostgresSettings {
        prefix: format!("e2e_{test}_{}_", &suffix[..10]),
        pool_size: 4,
        ..switchyard_store_postgres::PostgresSettings::new(url)
    }
}

/// State and audit adapters on `settings`' tables through a pool of their
/// own (as a separate process has), counting statements into `round_trips`.
pub async fn postgres_adapters(
    settings: &switchyard_store_postgres::PostgresSettings,
    clock: Arc<ManualClock>,
    round_trips: Option<switchyard_store_postgres::RoundTrips>,
) -> Adapters {
    use switchyard_store_postgres::{Postgres, PostgresAuditStore, PostgresStateStore};
    let mut pg = Postgres::connect(settings.clone())
        .await
        .expect("PostgreSQL");
    if let Some(trips) = round_trips {
        pg = pg.counted(trips);
    }
    (
        Arc::new(PostgresStateStore::new(pg.clone(), clock.clone())),
        Arc::new(PostgresAuditStore::new(pg, clock)),
    )
}
