//! Typed access to state records: JSON in and out, create-if-absent and
//! compare-and-swap, and reading every page of a kind. The one place that
//! serializes a record for the store.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_store::{StateKey, StateStore, StoreError, Versioned};

use crate::error::GatewayError;
use crate::gateway::Gateway;

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

impl Gateway {
    /// Write `value` if the record is still at `expected` (0: absent); the
    /// new version, or `None` when someone else wrote first.
    pub(crate) async fn swap_json<T: Serialize>(
        &self,
        key: &StateKey,
        expected: u64,
        value: &T,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, GatewayError> {
        let body = encode(value)?;
        Ok(self
            .ports
            .state
            .compare_and_swap(key, expected, &body, expires_at)
            .await?)
    }

    /// Create a record that must not exist yet (fresh ids): one conditional write.
    pub(crate) async fn create_json<T: Serialize>(
        &self,
        key: &StateKey,
        value: &T,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), GatewayError> {
        match self.swap_json(key, 0, value, expires_at).await? {
            Some(_) => Ok(()),
            None => Err(GatewayError::Internal(format!(
                "record {} already exists",
                key.display()
            ))),
        }
    }

    pub(crate) async fn put_json<T: Serialize>(
        &self,
        key: &StateKey,
        value: &T,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<u64, GatewayError> {
        let body = encode(value)?;
        Ok(self.ports.state.put(key, &body, expires_at).await?)
    }

    /// Every live record of one kind in a tenant, decoded.
    pub(crate) async fn list_records<T: DeserializeOwned>(
        &self,
        namespace: &str,
        tenant: &str,
        kind: &str,
    ) -> Result<Vec<T>, GatewayError> {
        list_all(self.ports.state.as_ref(), namespace, tenant, kind)
            .await?
            .iter()
            .map(|(key, stored)| crate::deferred::decode(key, &stored.value))
            .collect()
    }
}
