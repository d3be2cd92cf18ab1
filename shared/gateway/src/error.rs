use switchyard_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The client's request is wrong; `field` says where.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A rule could not evaluate the action (`[rules] on_type_error =
    /// "reject"`): nothing was executed.
    #[error("rule '{rule}': {message}")]
    Unprocessable {
        rule: String,
        field: String,
        message: String,
    },
    /// The request conflicts with what is stored (a limit reached, a duplicate).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A dependency is unavailable; nothing was executed, the client may retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for GatewayError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => GatewayError::Unavailable(m),
            other => GatewayError::Internal(other.to_string()),
        }
    }
}
