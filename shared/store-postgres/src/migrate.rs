//! Versioned schema migrations, applied at start.
//!
//! Each version is applied once, in one transaction with its row in
//! `<prefix>schema_migrations`, under a transaction-scoped advisory lock
//! named after the schema and prefix: two instances starting together
//! apply it once (the second waits, then finds it applied).

use switchyard_store::StoreError;

use crate::connect::Postgres;
use crate::error::unavailable;

/// (version, name, SQL with `{state}`, `{leases}`, `{audit}`, `{queue}`,
/// `{gate}` and `{prefix}` placeholders). Append only: a version once shipped never changes.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "initial", include_str!("schema_v1.sql"))];

/// The SQL of a migration for one deployment's names.
fn render(sql: &str, pg: &Postgres) -> String {
    let s = &pg.settings;
    sql.replace("{state}", &s.table("state"))
        .replace("{leases}", &s.table("leases"))
        .replace("{audit}", &s.table("audit"))
        .replace("{queue}", &s.table("queue"))
        .replace("{gate}", &s.table("gate"))
        .replace("{prefix}", &s.prefix)
}

pub(crate) async fn run(pg: &Postgres) -> Result<(), StoreError> {
    let fail = |e: tokio_postgres::Error| {
        unavailable(
            "migration",
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string()),
        )
    };
    let mut client = pg.client().await?;
    let tx = client.transaction().await.map_err(fail)?;
    let lock_name = format!(
        "switchyard-migrations:{}:{}",
        pg.settings.schema.as_deref().unwrap_or(""),
        pg.settings.prefix
    );
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_name])
        .await
        .map_err(fail)?;
    if let Some(schema) = &pg.settings.schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(fail)?;
    }
    let versions = pg.settings.table("schema_migrations");
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {versions} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(fail)?;
    let applied: Option<i32> = tx
        .query_one(&format!("SELECT max(version) FROM {versions}"), &[])
        .await
        .map_err(fail)?
        .get(0);
    let applied = applied.unwrap_or(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > newest {
        return Err(StoreError::Invalid(format!(
            "the database schema is at version {applied}, newer than this build knows ({newest}): run the newer Switchyard"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
        tx.batch_execute(&render(sql, pg)).await.map_err(fail)?;
        tx.execute(
            &format!("INSERT INTO {versions} (version, name) VALUES ($1, $2)"),
            &[version, name],
        )
        .await
        .map_err(fail)?;
        tracing::info!(version, name, "PostgreSQL schema migrated");
    }
    tx.commit().await.map_err(fail)
}
