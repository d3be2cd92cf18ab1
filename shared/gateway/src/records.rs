//! Records in and out of the store as JSON, and reading every page of a
//! kind: free functions, so any module may use them without the gateway.
//! The typed compare-and-swap helpers on `Gateway` (`swap_json`, …) sit in
//! `gateway.rs` and build on these.

use serde::Serialize;
use switchyard_store::{StateKey, StateStore, StoreError, Versioned};

use crate::error::GatewayError;

/// Records per page when reading a whole kind.
const PAGE: usize = 200;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, GatewayError> {
    serde_json::to_string(value).map_err(|e| GatewayError::Internal(e.to_string()))
}

/// Every live record of one kind in a partition, page after page.
pub(crate) async fn list_all(
    store: &dyn StateStore,
    namespace: &str,
    tenant: &str,
    kind: &str,
) -> Result<Vec<(StateKey, Versioned)>, StoreError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list(namespace, tenant, kind, cursor.as_deref(), PAGE)
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// A stored record read back as `T`; a record that does not read is an
/// internal error naming its key.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    key: &StateKey,
    value: &str,
) -> Result<T, GatewayError> {
    serde_json::from_str(value)
        .map_err(|e| GatewayError::Internal(format!("corrupt record {}: {e}", key.display())))
}
