//! Periodic maintenance: retention and the reaper's pass (breaker
//! recovery lives with the breaker, in `pipeline/breaker`).

pub(crate) mod reaper;
pub mod retention;
