//! API keys: what is hashed, what is minted, and the keys kept in the state
//! store (created through the API, valid on every instance that shares it).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use switchyard_store::{StateKey, StateStore, StoreError};

use crate::grant::Grant;
use crate::principal::{AuthMethod, Principal, Role};

/// Lowercase hex SHA-256 of a raw key (Acteon's `key_hash`).
pub fn hash_key(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Constant-time equality of two hashes.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Keys minted here read `syk_<id>_<secret>`: the id finds the record in one
/// read, the secret (32 random bytes) is what the hash protects.
const PREFIX: &str = "syk_";
const ID_HEX: usize = 16;

/// A new key: `(id, raw key)`.
pub fn mint() -> (String, String) {
    let id = hex::encode(rand::random::<[u8; ID_HEX / 2]>());
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let raw = format!("{PREFIX}{id}_{secret}");
    (id, raw)
}

/// The record id inside a minted key, if it is one.
pub fn minted_id(raw: &str) -> Option<&str> {
    let rest = raw.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == ID_HEX && secret.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(id)
}

/// A key kept in the state store (never its raw value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub id: String,
    pub name: String,
    pub key_hash: String,
    pub role: Role,
    pub grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl StoredKey {
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            role: self.role,
            grants: self.grants.clone(),
            method: AuthMethod::ApiKey,
        }
    }

    /// What `GET /v1/auth/keys` shows: everything but the hash.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "grants": self.grants,
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "expires_at": self.expires_at,
            "source": "store",
        })
    }
}

/// Where stored keys live: one partition no tenant can name (tenant
/// identifiers never start with `~`).
const NAMESPACE: &str = "~switchyard";
const TENANT: &str = "~auth";
const KIND: &str = "api_key";
/// Most keys listed or kept (a bound on what one list can cost).
pub const MAX_STORED_KEYS: usize = 1000;

fn key_of(id: &str) -> StateKey {
    StateKey::new(NAMESPACE, TENANT, KIND, id)
}

/// The stored keys, on whatever state store the gateway runs on.
#[derive(Clone)]
pub struct KeyStore {
    state: Arc<dyn StateStore>,
}

impl KeyStore {
    pub fn new(state: Arc<dyn StateStore>) -> Self {
        Self { state }
    }

    /// Create-only: a second write of the same id fails rather than replace.
    pub async fn create(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let body = serde_json::to_string(key).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(self
            .state
            .compare_and_swap(&key_of(&key.id), 0, &body, key.expires_at)
            .await?
            .is_some())
    }

    pub async fn get(&self, id: &str) -> Result<Option<StoredKey>, StoreError> {
        match self.state.get(&key_of(id)).await? {
            Some(stored) => {
                serde_json::from_str(&stored.value)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key: key_of(id).display(),
                        message: e.to_string(),
                    })
            }
            None => Ok(None),
        }
    }

    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.state.delete(&key_of(id)).await
    }

    pub async fn list(&self) -> Result<Vec<StoredKey>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .state
                .list(NAMESPACE, TENANT, KIND, cursor.as_deref(), 100)
                .await?;
            for (_, stored) in page.items {
                match serde_json::from_str::<StoredKey>(&stored.value) {
                    Ok(key) => keys.push(key),
                    Err(e) => tracing::warn!(error = %e, "unreadable stored API key skipped"),
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() || keys.len() >= MAX_STORED_KEYS {
                return Ok(keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_carry_their_id_and_hash_stably() {
        let (id, raw) = mint();
        assert_eq!(minted_id(&raw), Some(id.as_str()));
        assert_eq!(hash_key(&raw), hash_key(&raw));
        assert_eq!(hash_key(&raw).len(), 64);
        let (_, other) = mint();
        assert_ne!(raw, other);
        assert_eq!(minted_id("syk_short_x"), None);
        assert_eq!(minted_id("plain-key"), None);
        assert!(same_hash(&hash_key("a"), &hash_key("a")));
        assert!(!same_hash(&hash_key("a"), &hash_key("b")));
    }
}
