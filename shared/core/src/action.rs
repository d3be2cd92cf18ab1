//! The action: what a client asks the gateway to do.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A validated action. Construct it with [`Action::from_json`] (client input) or
/// [`Action::builder`] (internal and test use); both guarantee the invariants
/// (non-empty routing fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: String,
    pub namespace: String,
    pub tenant: String,
    pub provider: String,
    pub action_type: String,
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trace_context: BTreeMap<String, String>,
}

/// What is wrong with a client's action, and where (a JSON path such as
/// `payload` or `metadata.env`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ActionValidationError {
    pub field: String,
    pub message: String,
}

impl ActionValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

const MAX_ROUTING_FIELD_LEN: usize = 256;
/// Longest `dedup_key` or `fingerprint`.
pub const MAX_KEY_LEN: usize = 1024;

/// Names starting with this are Switchyard's own partitions (stored API keys).
pub const RESERVED_PREFIX: char = '~';

fn reserved(name: &str, value: String) -> Result<String, ActionValidationError> {
    if value.starts_with(RESERVED_PREFIX) {
        return Err(ActionValidationError::new(
            name,
            format!("names starting with '{RESERVED_PREFIX}' are reserved"),
        ));
    }
    Ok(value)
}

impl Action {
    /// The key a provider sees for this action, stable across retries:
    /// namespace, tenant and id, so two tenants that pick the same action id
    /// never dedupe each other downstream. `/` inside a part is escaped, so
    /// distinct scopes give distinct keys.
    pub fn idempotency_key(&self) -> String {
        let part = |s: &str| s.replace('%', "%25").replace('/', "%2F");
        format!(
            "{}/{}/{}",
            part(&self.namespace),
            part(&self.tenant),
            part(&self.id)
        )
    }

    /// Parse and validate a client's JSON action. Unknown top-level fields are
    /// ignored (Acteon clients send extra ones); `id` and `created_at` default to a
    /// fresh UUID and `now`.
    pub fn from_json(value: Value, now: DateTime<Utc>) -> Result<Action, ActionValidationError> {
        let mut fields = match value {
            Value::Object(fields) => fields,
            other => {
                return Err(ActionValidationError::new(
                    "$",
                    format!("expected a JSON object, found {}", json_type_name(&other)),
                ));
            }
        };
        let mut take = |name: &str| fields.remove(name).filter(|v| !v.is_null());
        let wire = ActionWire {
            id: field(take("id"), "id")?,
            namespace: field(take("namespace"), "namespace")?,
            tenant: field(take("tenant"), "tenant")?,
            provider: field(take("provider"), "provider")?,
            action_type: field(take("action_type"), "action_type")?,
            payload: take("payload"),
            dedup_key: field(take("dedup_key"), "dedup_key")?,
            metadata: string_map(take("metadata"), "metadata")?,
            status: field(take("status"), "status")?,
            fingerprint: field(take("fingerprint"), "fingerprint")?,
            starts_at: field(take("starts_at"), "starts_at")?,
            ends_at: field(take("ends_at"), "ends_at")?,
            created_at: field(take("created_at"), "created_at")?,
            template: field(take("template"), "template")?,
            trace_context: string_map(take("trace_context"), "trace_context")?,
        };
        let required = |name: &str, v: Option<String>| -> Result<String, ActionValidationError> {
            match v {
                None => Err(ActionValidationError::new(name, "missing required field")),
                Some(s) if s.trim().is_empty() => Err(ActionValidationError::new(
                    name,
                    "must be a non-empty string",
                )),
                Some(s) if s.chars().any(char::is_control) => Err(ActionValidationError::new(
                    name,
                    "must not contain control characters",
                )),
                Some(s) if s.len() > MAX_ROUTING_FIELD_LEN => Err(ActionValidationError::new(
                    name,
                    format!("longer than {MAX_ROUTING_FIELD_LEN} bytes"),
                )),
                Some(s) => Ok(s),
            }
        };
        let namespace = reserved("namespace", required("namespace", wire.namespace)?)?;
        let tenant = reserved("tenant", required("tenant", wire.tenant)?)?;
        let provider = required("provider", wire.provider)?;
        let action_type = required("action_type", wire.action_type)?;
        let payload = wire
            .payload
            .ok_or_else(|| ActionValidationError::new("payload", "missing required field"))?;
        let id = match wire.id {
            Some(id) => required("id", Some(id))?,
            None => uuid::Uuid::new_v4().to_string(),
        };
        if let Some(key) = &wire.dedup_key
            && key.is_empty()
        {
            return Err(ActionValidationError::new(
                "dedup_key",
                "must be a non-empty string when present",
            ));
        }
        // They become store keys: bounded, like every identifier.
        for (name, value) in [
            ("dedup_key", &wire.dedup_key),
            ("fingerprint", &wire.fingerprint),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_KEY_LEN) {
                return Err(ActionValidationError::new(
                    name,
                    format!("longer than {MAX_KEY_LEN} bytes"),
                ));
            }
        }
        Ok(Action {
            id,
            namespace,
            tenant,
            provider,
            action_type,
            payload,
            dedup_key: wire.dedup_key,
            metadata: wire.metadata.unwrap_or_default(),
            status: wire.status,
            fingerprint: wire.fingerprint,
            starts_at: wire.starts_at,
            ends_at: wire.ends_at,
            created_at: wire.created_at.unwrap_or(now),
            template: wire.template,
            trace_context: wire.trace_context.unwrap_or_default(),
        })
    }

    /// Start building an action from its routing fields (for internal actions
    /// such as chain steps and for tests).
    pub fn builder(
        namespace: impl Into<String>,
        tenant: impl Into<String>,
        provider: impl Into<String>,
        action_type: impl Into<String>,
        payload: Value,
    ) -> Action {
        Action {
            id: uuid::Uuid::new_v4().to_string(),
            namespace: namespace.into(),
            tenant: tenant.into(),
            provider: provider.into(),
            action_type: action_type.into(),
            payload,
            dedup_key: None,
            metadata: BTreeMap::new(),
            status: None,
            fingerprint: None,
            starts_at: None,
            ends_at: None,
            created_at: Utc::now(),
            template: None,
            trace_context: BTreeMap::new(),
        }
    }

    pub fn with_dedup_key(mut self, key: impl Into<String>) -> Action {
        self.dedup_key = Some(key.into());
        self
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Action {
        self.id = id.into();
        self
    }
}

/// The known optional fields of a client's action, each already type-checked.
struct ActionWire {
    id: Option<String>,
    namespace: Option<String>,
    tenant: Option<String>,
    provider: Option<String>,
    action_type: Option<String>,
    payload: Option<Value>,
    dedup_key: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    status: Option<String>,
    fingerprint: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    template: Option<String>,
    trace_context: Option<BTreeMap<String, String>>,
}

/// Deserialize one top-level field, naming it in the error.
fn field<T: serde::de::DeserializeOwned>(
    value: Option<Value>,
    name: &str,
) -> Result<Option<T>, ActionValidationError> {
    value
        .map(|v| {
            let found = json_type_name(&v);
            serde_json::from_value(v)
                .map_err(|err| ActionValidationError::new(name, format!("{err} (found {found})")))
        })
        .transpose()
}

/// A flat map of string labels; names the first entry that is not a string.
fn string_map(
    value: Option<Value>,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, ActionValidationError> {
    match value {
        None => Ok(None),
        Some(Value::Object(map)) => map
            .into_iter()
            .map(|(key, v)| match v {
                Value::String(s) => Ok((key, s)),
                other => Err(ActionValidationError::new(
                    format!("{name}.{key}"),
                    format!("expected a string, found {}", json_type_name(&other)),
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(other) => Err(ActionValidationError::new(
            name,
            format!(
                "expected an object of strings, found {}",
                json_type_name(&other)
            ),
        )),
    }
}

pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-01-05T15:00:00Z".parse().expect("valid timestamp")
    }

    #[test]
    fn parses_minimal_action_and_fills_defaults() {
        let action = Action::from_json(
            json!({"namespace":"ns","tenant":"t","provider":"p","action_type":"a","payload":{"x":1}}),
            now(),
        )
        .expect("valid");
        assert_eq!(action.created_at, now());
        assert_eq!(action.id.len(), 36);
        assert_eq!(action.payload, json!({"x":1}));
    }

    #[test]
    fn names_the_missing_field() {
        let err = Action::from_json(
            json!({"namespace":"ns","tenant":"t","provider":"p","payload":{}}),
            now(),
        )
        .expect_err("missing action_type");
        assert_eq!(err.field, "action_type");
    }

    #[test]
    fn names_the_field_with_the_wrong_type() {
        let err = Action::from_json(
            json!({"namespace":"ns","tenant":5,"provider":"p","action_type":"a","payload":{}}),
            now(),
        )
        .expect_err("tenant is a number");
        assert_eq!(err.field, "tenant");
        let err = Action::from_json(
            json!({"namespace":"ns","tenant":"t","provider":"p","action_type":"a","payload":{},
                   "metadata":{"env":"prod","n":3}}),
            now(),
        )
        .expect_err("metadata value is a number");
        assert_eq!(err.field, "metadata.n");
        let err = Action::from_json(
            json!({"namespace":"ns","tenant":"t","provider":"p","action_type":"a","payload":{},
                   "created_at":"yesterday"}),
            now(),
        )
        .expect_err("bad timestamp");
        assert_eq!(err.field, "created_at");
    }

    #[test]
    fn rejects_empty_routing_fields_and_non_objects() {
        let err = Action::from_json(
            json!({"namespace":" ","tenant":"t","provider":"p","action_type":"a","payload":{}}),
            now(),
        )
        .expect_err("blank namespace");
        assert_eq!(err.field, "namespace");
        let err = Action::from_json(
            json!({"namespace":"ns","tenant":"a\u{1f}b","provider":"p","action_type":"a","payload":{}}),
            now(),
        )
        .expect_err("control character");
        assert_eq!(err.field, "tenant");
        let err = Action::from_json(json!([1, 2]), now()).expect_err("array");
        assert_eq!(err.field, "$");
    }

    #[test]
    fn ignores_unknown_fields() {
        let action = Action::from_json(
            json!({"namespace":"ns","tenant":"t","provider":"p","action_type":"a","payload":1,
                   "attachments":[],"signature":null}),
            now(),
        );
        assert!(action.is_ok());
    }
}

#[cfg(test)]
mod idempotency_key_tests {
    use super::*;

    #[test]
    fn keys_are_scoped_and_unambiguous() {
        let a = Action::builder("shop", "acme", "p", "t", serde_json::json!({})).with_id("o-1");
        let b = Action::builder("shop", "globex", "p", "t", serde_json::json!({})).with_id("o-1");
        assert_eq!(a.idempotency_key(), "shop/acme/o-1");
        assert_ne!(a.idempotency_key(), b.idempotency_key());
        let slash = Action::builder("x/a", "b", "p", "t", serde_json::json!({})).with_id("i");
        let moved = Action::builder("x", "a/b", "p", "t", serde_json::json!({})).with_id("i");
        assert_ne!(slash.idempotency_key(), moved.idempotency_key());
    }
}
