//! Tokens issued by `POST /v1/auth/login`: HS256 JWTs carrying the user's
//! role and grants, checked against our clock (so tests can move time).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::grant::Grant;
use crate::principal::{AuthMethod, Principal, Role};

const ISSUER: &str = "switchyard";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    grants: Vec<Grant>,
    iat: i64,
    exp: i64,
    iss: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub expiry_seconds: u64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("expiry_seconds", &self.expiry_seconds)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn new(secret: &str, expiry_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the gateway's clock below.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            expiry_seconds,
        }
    }

    pub fn issue(
        &self,
        user: &str,
        role: Role,
        grants: &[Grant],
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let claims = Claims {
            sub: user.to_string(),
            role,
            grants: grants.to_vec(),
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(self.expiry_seconds as i64),
            iss: ISSUER.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| format!("cannot sign a token: {e}"))
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, String> {
        let (principal, expires) = self.verify_signature(token)?;
        check_expiry(expires, now)?;
        Ok(principal)
    }

    /// The signed claims, whatever the time: `(principal, exp)`.
    pub fn verify_signature(&self, token: &str) -> Result<(Principal, i64), String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| format!("invalid token: {e}"))?;
        Ok((
            Principal {
                id: data.claims.sub,
                role: data.claims.role,
                grants: data.claims.grants,
                method: AuthMethod::Jwt,
            },
            data.claims.exp,
        ))
    }
}

/// A token is valid up to (not including) its `exp` second.
pub fn check_expiry(exp: i64, now: DateTime<Utc>) -> Result<(), String> {
    if exp <= now.timestamp() {
        Err("token expired".into())
    } else {
        Ok(())
    }
}

/// Looks like a JWT (three base64url parts): try it as one before as a key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire() {
        let keys = JwtKeys::new("a-secret-of-at-least-thirty-two-characters", 60);
        let now = Utc::now();
        let token = keys
            .issue("alice", Role::Operator, &[Grant::everything()], now)
            .expect("token");
        assert!(looks_like_jwt(&token));
        let principal = keys.verify(&token, now).expect("valid");
        assert_eq!(principal.id, "alice");
        assert_eq!(principal.role, Role::Operator);
        assert_eq!(principal.method, AuthMethod::Jwt);
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(
            keys.verify(&token, later).expect_err("expired"),
            "token expired"
        );
        let other = JwtKeys::new("another-secret-of-at-least-thirty-two-chars", 60);
        assert!(
            other.verify(&token, now).is_err(),
            "signed with another secret"
        );
        let mut tampered = token.clone();
        tampered.insert(token.len() - 3, 'x');
        assert!(keys.verify(&tampered, now).is_err());
    }
}
