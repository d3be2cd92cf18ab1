//! Identity and authorization for the gateway's API, in Acteon's model:
//! API keys (hashed) and users (argon2 passwords exchanged for JWTs), each
//! with a [`Role`] and [`Grant`]s over tenants, namespaces, providers and
//! action types. Nothing here knows HTTP or AWS: the server crate maps
//! headers to a [`Credential`] and routes to roles.

pub mod authenticator;
pub mod file;
pub mod grant;
pub mod jwt;
pub mod keys;
pub mod principal;
pub mod rate_limit;

pub use authenticator::{AuthError, Authenticator, Credential, KeyError, NewKey};
pub use file::AuthFile;
pub use grant::{Grant, Resource};
pub use keys::{StoredKey, hash_key};
pub use principal::{AuthMethod, Denied, Principal, Role};
pub use rate_limit::{RateLimiter, retry_after_seconds};
