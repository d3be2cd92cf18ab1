//! Acteon's `auth.toml`: `[settings]` (JWT secret and lifetime), `[[users]]`
//! (argon2 password hashes) and `[[api_keys]]` (SHA-256 key hashes).

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::grant::Grant;
use crate::principal::Role;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    /// Acteon requires it; a file with API keys only may leave it out here.
    #[serde(default)]
    pub settings: Option<AuthSettings>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyEntry>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: String,
    #[serde(default = "one_hour")]
    pub jwt_expiry_seconds: u64,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_expiry_seconds", &self.jwt_expiry_seconds)
            .finish_non_exhaustive()
    }
}

fn one_hour() -> u64 {
    3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    pub name: String,
    pub key_hash: String,
    pub role: Role,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// Longest JWT lifetime accepted from the file (a day).
pub const MAX_JWT_EXPIRY_SECONDS: u64 = 86_400;

impl AuthFile {
    pub fn load(path: &Path) -> Result<AuthFile, String> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        Self::parse(&name, &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<AuthFile, String> {
        let file: AuthFile = toml::from_str(text)
            .map_err(|e| format!("{name}: {}", e.to_string().trim().replace('\n', " | ")))?;
        file.validate().map_err(|e| format!("{name}: {e}"))?;
        Ok(file)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(settings) = &self.settings {
            if settings.jwt_secret.starts_with("ENC[") {
                return Err("[settings] jwt_secret: encrypted (ENC[…]) values are not supported; put the secret in the file or use API keys".into());
            }
            if settings.jwt_secret.len() < 32 {
                return Err("[settings] jwt_secret: use at least 32 characters".into());
            }
            if settings.jwt_expiry_seconds == 0
                || settings.jwt_expiry_seconds > MAX_JWT_EXPIRY_SECONDS
            {
                return Err(format!(
                    "[settings] jwt_expiry_seconds: between 1 and {MAX_JWT_EXPIRY_SECONDS}"
                ));
            }
        }
        if !self.users.is_empty() && self.settings.is_none() {
            return Err("[[users]] need [settings] jwt_secret to sign their tokens".into());
        }
        let mut ids = BTreeSet::new();
        for user in &self.users {
            let at = format!("[[users]] '{}'", user.username);
            if !ids.insert(user.username.as_str()) {
                return Err(format!("{at}: the name is used twice"));
            }
            if user.password_hash.starts_with("ENC[") {
                return Err(format!(
                    "{at} password_hash: encrypted (ENC[…]) values are not supported"
                ));
            }
            argon2::PasswordHash::new(&user.password_hash)
                .map_err(|e| format!("{at} password_hash: not an argon2 hash ({e})"))?;
            validate_grants(&at, &user.grants)?;
        }
        for key in &self.api_keys {
            let at = format!("[[api_keys]] '{}'", key.name);
            if !ids.insert(key.name.as_str()) {
                return Err(format!(
                    "{at}: the name is used twice (users and keys share names)"
                ));
            }
            if key.key_hash.len() != 64
                || !key
                    .key_hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!(
                    "{at} key_hash: expected the lowercase hex SHA-256 of the key (64 characters)"
                ));
            }
            validate_grants(&at, &key.grants)?;
        }
        Ok(())
    }
}

fn validate_grants(at: &str, grants: &[Grant]) -> Result<(), String> {
    if grants.is_empty() {
        return Err(format!("{at}: no grants, so it could reach nothing"));
    }
    for grant in grants {
        grant.validate().map_err(|e| format!("{at}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acteon_layout_loads() {
        let text = format!(
            r#"
[settings]
jwt_secret = "a-secret-of-at-least-thirty-two-characters"

[[users]]
username = "alice"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$WIp8I4dLuV7EDJIKq9bCe0lDZw7E1QVT3qz0Zm1sBvA"
role = "admin"
grants = [{{ tenants = ["*"], namespaces = ["*"], providers = ["*"], actions = ["*"] }}]

[[api_keys]]
name = "acme-ci"
key_hash = "{}"
role = "operator"
grants = [{{ tenants = ["acme"], namespaces = ["shop"], actions = ["*"] }}]
"#,
            crate::keys::hash_key("raw-key"),
        );
        let file = AuthFile::parse("auth.toml", &text).expect("loads");
        assert_eq!(file.users[0].role, Role::Admin);
        assert_eq!(file.api_keys[0].grants[0].providers, vec!["*"]);
        assert_eq!(file.settings.expect("settings").jwt_expiry_seconds, 3600);
    }

    #[test]
    fn mistakes_are_named() {
        let err = AuthFile::parse(
            "auth.toml",
            "[[api_keys]]\nname = \"k\"\nkey_hash = \"ABC\"\nrole = \"admin\"\ngrants = []\n",
        )
        .expect_err("bad hash");
        assert!(err.contains("key_hash"), "{err}");
        let text = format!(
            "[[api_keys]]\nname = \"k\"\nkey_hash = \"{}\"\nrole = \"root\"\n",
            crate::keys::hash_key("raw-key")
        );
        let err = AuthFile::parse("auth.toml", &text).expect_err("bad role");
        assert!(err.contains("role") || err.contains("root"), "{err}");
    }
}
