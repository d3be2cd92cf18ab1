#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused the call for now (throttling,
    /// 5xx, timeouts): the caller may retry; nothing was applied.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded.
    #[error("corrupt stored value at {key}: {message}")]
    Corrupt { key: String, message: String },
    /// The request itself is invalid (e.g. too many gate operations).
    #[error("invalid store request: {0}")]
    Invalid(String),
}
