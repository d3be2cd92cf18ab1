//! From credentials to a [`Principal`]: keys of the auth file, keys in the
//! state store (cached per process for `[auth] key_cache_seconds`), and JWTs
//! issued to the file's users.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use switchyard_core::Clock;
use switchyard_store::{StateStore, StoreError};

use crate::file::{AuthFile, UserEntry};
use crate::grant::Grant;
use crate::jwt::{JwtKeys, looks_like_jwt};
use crate::keys::{KeyStore, StoredKey, hash_key, mint, minted_id, same_hash};
use crate::principal::{AuthMethod, Principal, Role};

/// What a request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`: a JWT or an API key.
    Bearer(String),
    /// `X-API-Key: <key>`.
    ApiKey(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing authentication credentials")]
    Missing,
    #[error("invalid API key")]
    InvalidKey,
    #[error("{0}")]
    InvalidToken(String),
    #[error("invalid username or password")]
    BadLogin,
    #[error("login is not available: the auth file has no [settings] jwt_secret")]
    NoLogin,
    #[error("key store unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Unavailable(e.to_string())
    }
}

/// An argon2 hash of a random password (made once, on the first login of
/// an unknown user name).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        use argon2::PasswordHasher;
        let salt = argon2::password_hash::SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .expect("16 bytes encode as a salt");
        argon2::Argon2::default()
            .hash_password(&rand::random::<[u8; 16]>(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A store key as one process remembers it (or that no such key exists).
#[derive(Clone)]
struct Cached(Option<(String, Arc<Principal>)>);

/// Longest key accepted in a header: more is not a key.
const MAX_CREDENTIAL_BYTES: usize = 4096;

pub struct Authenticator {
    file_keys: HashMap<String, Arc<Principal>>,
    users: HashMap<String, UserEntry>,
    jwt: Option<JwtKeys>,
    store: KeyStore,
    cache: Option<Cache<String, Cached>>,
    /// Tokens whose signature was checked, with their `exp` (a token never
    /// changes, so only its expiry is re-checked on each use).
    verified_tokens: Cache<String, (i64, Arc<Principal>)>,
    clock: Arc<dyn Clock>,
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub grants: Vec<Grant>,
    pub description: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("forbidden: a key cannot grant more than its creator holds")]
    Escalation,
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Authenticator {
    pub fn new(
        file: Option<AuthFile>,
        state: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        key_cache: Duration,
    ) -> Self {
        let mut file_keys = HashMap::new();
        let mut users = HashMap::new();
        let mut jwt = None;
        if let Some(file) = file {
            for key in file.api_keys {
                file_keys.insert(
                    key.key_hash.clone(),
                    Arc::new(Principal {
                        id: key.name,
                        role: key.role,
                        grants: key.grants,
                        method: AuthMethod::ApiKey,
                    }),
                );
            }
            for user in file.users {
                users.insert(user.username.clone(), user);
            }
            jwt = file
                .settings
                .map(|s| JwtKeys::new(&s.jwt_secret, s.jwt_expiry_seconds));
        }
        let cache = (!key_cache.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(10_000)
                .time_to_live(key_cache)
                .build()
        });
        Self {
            file_keys,
            users,
            jwt,
            store: KeyStore::new(state),
            cache,
            verified_tokens: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
            clock,
        }
    }

    /// An admin key known only by its hash (on AWS: from an SSM parameter
    /// the deploy created), with every grant.
    pub fn add_admin_key_hash(&mut self, name: &str, hash: &str) -> Result<(), String> {
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "admin key hash '{name}': expected a hex SHA-256 (64 characters)"
            ));
        }
        self.file_keys.insert(
            hash,
            Arc::new(Principal {
                id: name.to_string(),
                role: Role::Admin,
                grants: vec![Grant::everything()],
                method: AuthMethod::ApiKey,
            }),
        );
        Ok(())
    }

    pub fn key_count(&self) -> usize {
        self.file_keys.len()
    }

    pub async fn authenticate(&self, credential: &Credential) -> Result<Arc<Principal>, AuthError> {
        let (token, bearer) = match credential {
            Credential::Bearer(t) => (t.as_str(), true),
            Credential::ApiKey(k) => (k.as_str(), false),
        };
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_CREDENTIAL_BYTES {
            return Err(AuthError::InvalidKey);
        }
        let mut jwt_error = None;
        if bearer
            && looks_like_jwt(token)
            && let Some(jwt) = &self.jwt
        {
            let verified = match self.verified_tokens.get(token) {
                Some(hit) => Ok(hit),
                None => jwt.verify_signature(token).map(|(principal, exp)| {
                    let entry = (exp, Arc::new(principal));
                    self.verified_tokens
                        .insert(token.to_string(), entry.clone());
                    entry
                }),
            };
            match verified.and_then(|(exp, principal)| {
                crate::jwt::check_expiry(exp, self.clock.now()).map(|()| principal)
            }) {
                Ok(principal) => return Ok(principal),
                Err(e) => jwt_error = Some(e),
            }
        }
        match self.api_key(token).await? {
            Some(principal) => Ok(principal),
            None => Err(jwt_error.map_or(AuthError::InvalidKey, AuthError::InvalidToken)),
        }
    }

    async fn api_key(&self, raw: &str) -> Result<Option<Arc<Principal>>, AuthError> {
        let hash = hash_key(raw);
        if let Some(principal) = self.file_keys.get(&hash) {
            return Ok(Some(principal.clone()));
        }
        let Some(id) = minted_id(raw) else {
            return Ok(None);
        };
        let cached = match self.cache.as_ref().and_then(|c| c.get(id)) {
            Some(hit) => hit,
            None => {
                let now = self.clock.now();
                let found = self
                    .store
                    .get(id)
                    .await?
                    .filter(|k| k.expires_at.is_none_or(|at| at > now))
                    .map(|k| (k.key_hash.clone(), Arc::new(k.principal())));
                let entry = Cached(found);
                if let Some(cache) = &self.cache {
                    cache.insert(id.to_string(), entry.clone());
                }
                entry
            }
        };
        Ok(cached
            .0
            .filter(|(stored_hash, _)| same_hash(stored_hash, &hash))
            .map(|(_, principal)| principal))
    }

    /// Exchange a user's password for a token: `(token, expires_in)`.
    pub async fn login(&self, username: &str, password: &str) -> Result<(String, u64), AuthError> {
        let jwt = self.jwt.as_ref().ok_or(AuthError::NoLogin)?;
        let user = self.users.get(username);
        // An unknown name costs the same argon2 work as a wrong password, so
        // timing does not tell which user names exist.
        let hash = match user {
            Some(user) => user.password_hash.clone(),
            None => decoy_hash().to_string(),
        };
        let password = password.to_string();
        // argon2 is slow on purpose: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || {
            use argon2::PasswordVerifier;
            argon2::PasswordHash::new(&hash).is_ok_and(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        let Some(user) = user.filter(|_| verified) else {
            return Err(AuthError::BadLogin);
        };
        let token = jwt
            .issue(&user.username, user.role, &user.grants, self.clock.now())
            .map_err(AuthError::InvalidToken)?;
        Ok((token, jwt.expiry_seconds))
    }

    /// Mint a key for `creator`: returns the record and the raw key, shown once.
    pub async fn create_key(
        &self,
        creator: &Principal,
        new: NewKey,
    ) -> Result<(StoredKey, String), KeyError> {
        let invalid = |field: &str, message: String| KeyError::Invalid {
            field: field.into(),
            message,
        };
        if new.name.trim().is_empty()
            || new.name.len() > 256
            || new.name.chars().any(char::is_control)
        {
            return Err(invalid(
                "name",
                "1 to 256 bytes, no control characters".into(),
            ));
        }
        if new.grants.is_empty() {
            return Err(invalid("grants", "list at least one grant".into()));
        }
        if new.grants.len() > 64 {
            return Err(invalid("grants", "at most 64 grants".into()));
        }
        for (i, grant) in new.grants.iter().enumerate() {
            grant
                .validate()
                .map_err(|e| invalid(&format!("grants[{i}]"), e))?;
        }
        if new.description.as_ref().is_some_and(|d| d.len() > 1024) {
            return Err(invalid("description", "at most 1024 bytes".into()));
        }
        let now = self.clock.now();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(invalid("expires_at", "must be in the future".into()));
        }
        if new.role > creator.role || !creator.may_delegate(&new.grants) {
            return Err(KeyError::Escalation);
        }
        if self.store.list().await.map_err(AuthError::from)?.len() >= crate::keys::MAX_STORED_KEYS {
            return Err(invalid(
                "name",
                format!("at most {} stored keys", crate::keys::MAX_STORED_KEYS),
            ));
        }
        let (id, raw) = mint();
        let key = StoredKey {
            id,
            name: new.name,
            key_hash: hash_key(&raw),
            role: new.role,
            grants: new.grants,
            description: new.description,
            created_at: now,
            created_by: creator.id.clone(),
            expires_at: new.expires_at,
        };
        if !self.store.create(&key).await.map_err(AuthError::from)? {
            return Err(AuthError::Unavailable("key id collision; try again".into()).into());
        }
        Ok((key, raw))
    }

    /// Keys of the file (names, roles, grants) and of the store, no secrets.
    pub async fn list_keys(&self) -> Result<Vec<serde_json::Value>, AuthError> {
        let mut out: Vec<serde_json::Value> = self
            .file_keys
            .values()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.id, "role": p.role, "grants": p.grants, "source": "file",
                })
            })
            .collect();
        out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        out.extend(self.store.list().await?.iter().map(StoredKey::view));
        Ok(out)
    }

    /// Revoke a stored key: refused here at once, on other instances within
    /// the key cache's lifetime.
    pub async fn revoke_key(&self, id: &str) -> Result<bool, AuthError> {
        let removed = self.store.delete(id).await?;
        if let Some(cache) = &self.cache {
            cache.invalidate(id);
        }
        Ok(removed)
    }

    pub async fn stored_key(&self, id: &str) -> Result<Option<StoredKey>, AuthError> {
        Ok(self.store.get(id).await?)
    }
}
