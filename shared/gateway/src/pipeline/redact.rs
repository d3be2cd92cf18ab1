use std::collections::HashSet;

use serde_json::Value;
use switchyard_config::RedactConfig;

/// Replaces configured fields before a payload leaves the process (audit,
/// stream). A field is a key name matched at any depth (case-insensitive) or
/// a dotted path from the payload root.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    names: HashSet<String>,
    paths: Vec<Vec<String>>,
    placeholder: String,
}

impl Redactor {
    pub fn from_config(config: &RedactConfig) -> Self {
        if !config.enabled {
            return Self::default();
        }
        let mut redactor = Self {
            placeholder: config.placeholder.clone(),
            ..Self::default()
        };
        for field in &config.fields {
            let field = field.to_ascii_lowercase();
            if field.contains('.') {
                redactor
                    .paths
                    .push(field.split('.').map(str::to_string).collect());
            } else {
                redactor.names.insert(field);
            }
        }
        redactor
    }

    pub fn is_active(&self) -> bool {
        !self.names.is_empty() || !self.paths.is_empty()
    }

    pub fn redact(&self, value: &Value) -> Value {
        let mut out = value.clone();
        if self.is_active() {
            self.walk(&mut out, &mut Vec::new());
        }
        out
    }

    fn walk(&self, value: &mut Value, path: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let lower = key.to_ascii_lowercase();
                    path.push(lower);
                    if self.names.contains(&path[path.len() - 1])
                        || self.paths.iter().any(|p| p == path)
                    {
                        *child = Value::String(self.placeholder.clone());
                    } else {
                        self.walk(child, path);
                    }
                    path.pop();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.walk(item, path)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_names_at_any_depth_and_dotted_paths() {
        let redactor = Redactor::from_config(&RedactConfig {
            enabled: true,
            fields: vec![
                "card_number".into(),
                "Billing_Zip".into(),
                "customer.ssn".into(),
            ],
            placeholder: "[REDACTED]".into(),
        });
        let payload = json!({
            "card_number": "4111",
            "nested": {"BILLING_ZIP": "02139", "items": [{"card_number": "x", "sku": "a"}]},
            "customer": {"ssn": "123", "name": "Ann"},
            "ssn": "top-level ssn is not the dotted path"
        });
        assert_eq!(
            redactor.redact(&payload),
            json!({
                "card_number": "[REDACTED]",
                "nested": {"BILLING_ZIP": "[REDACTED]", "items": [{"card_number": "[REDACTED]", "sku": "a"}]},
                "customer": {"ssn": "[REDACTED]", "name": "Ann"},
                "ssn": "top-level ssn is not the dotted path"
            })
        );
        let off = Redactor::from_config(&RedactConfig {
            enabled: false,
            ..RedactConfig::default()
        });
        assert_eq!(off.redact(&payload), payload);
    }
}
