//! The state, audit and delay-queue ports on PostgreSQL: a durable home for
//! `switchyard serve` outside AWS.
//!
//! Every decision under concurrency is one statement (or one function call)
//! that PostgreSQL runs atomically: claims and leases are
//! `INSERT … ON CONFLICT DO UPDATE … WHERE`, compare-and-swap is an
//! `UPDATE … WHERE version = $expected`, and the gate is one call of a
//! PL/pgSQL function that applies every op or, when one fails, rolls all of
//! them back. Expiry is decided against the gateway's clock, never the
//! server's, so tests move time by hand as on the other adapters.

mod audit;
mod connect;
mod error;
mod gate;
mod migrate;
mod queue;
mod state;

pub use audit::PostgresAuditStore;
pub use connect::{
    DEFAULT_POOL_SIZE, DEFAULT_PREFIX, MAX_POOL_SIZE, Postgres, PostgresSettings, RoundTrips,
};
pub use migrate::MIGRATIONS;
pub use queue::{PostgresDelayQueue, VISIBILITY_TIMEOUT};
pub use state::PostgresStateStore;
