//! The composition root: the one place that knows every adapter. It builds a
//! gateway with every provider (AWS included), bundles the in-memory ports,
//! picks the local process's backends and runs its background loops. The
//! HTTP crate (`switchyard-server`) and the gateway know none of this, so
//! neither links an AWS SDK; `switchyard serve` and the Lambda functions
//! both assemble here.

mod backends;
mod gateway;
pub mod local;
mod memory;
mod postgres;

pub use backends::use_dynamodb;
pub use gateway::build_gateway;
pub use memory::MemoryPorts;
pub use postgres::use_postgres;
