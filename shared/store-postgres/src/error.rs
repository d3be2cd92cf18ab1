//! PostgreSQL errors as the store port's.

use switchyard_store::StoreError;

/// Every driver or pool failure is "unavailable": nothing a caller sent was
/// applied (each statement is atomic), so it may retry.
pub(crate) fn unavailable(operation: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL {operation}: {err}"))
}

/// Deadlocks and serialization failures roll the statement back: the same
/// statement sent again may pass.
pub(crate) fn is_transient(err: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    err.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

pub(crate) fn corrupt(key: impl Into<String>, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        message: err.to_string(),
    }
}
