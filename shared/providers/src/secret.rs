//! Credentials of providers: a token, password or secret URL in the
//! configuration, `env:NAME` to read it from the environment at start, or
//! (on Lambda) `ssm:/name`, a SecureString the function reads at start and
//! puts in place before the providers are built. A [`Secret`] never prints
//! its value.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value of a configured credential; `key` names it in errors.
    pub fn resolve(key: &str, configured: &str) -> Result<Secret, String> {
        if let Some(name) = configured.strip_prefix("ssm:") {
            return Err(format!(
                "`{key}` names the SSM parameter {name}: the Lambda functions read those at start; \
                 elsewhere use env:NAME"
            ));
        }
        if configured.starts_with("ENC[") {
            return Err(format!(
                "`{key}` is an Acteon-encrypted value (ENC[...]), which Switchyard does not \
                 decrypt: give it as env:NAME or, on Lambda, ssm:/name"
            ));
        }
        let value = match configured.strip_prefix("env:") {
            Some(name) => std::env::var(name).map_err(|_| {
                format!("`{key}` names the environment variable {name}, which is not set")
            })?,
            None => configured.to_string(),
        };
        if value.trim().is_empty() {
            return Err(format!("`{key}` is empty"));
        }
        Ok(Secret(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_environment_values_and_no_printing() {
        let literal = Secret::resolve("token", "xoxb-1").expect("literal");
        assert_eq!(literal.expose(), "xoxb-1");
        assert_eq!(format!("{literal:?}"), "Secret([redacted])");
        // PATH is set wherever tests run.
        let from_env = Secret::resolve("token", "env:PATH").expect("env");
        assert_eq!(from_env.expose(), std::env::var("PATH").expect("PATH"));
        let missing = Secret::resolve("token", "env:SWITCHYARD_NO_SUCH_VARIABLE_9").unwrap_err();
        assert!(
            missing.contains("SWITCHYARD_NO_SUCH_VARIABLE_9"),
            "{missing}"
        );
        assert!(Secret::resolve("token", " ").is_err());
        let ssm = Secret::resolve("token", "ssm:/switchyard/providers/slack").unwrap_err();
        assert!(ssm.contains("Lambda"), "{ssm}");
        let encrypted = Secret::resolve("token", "ENC[abc]").unwrap_err();
        assert!(encrypted.contains("env:NAME"), "{encrypted}");
    }
}
