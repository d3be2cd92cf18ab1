//! Field paths (`action.payload.order.total`, `time.hour`), parsed once.

use serde_json::Value;
use switchyard_core::Action;

use crate::time::{LocalTime, TimeField};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPath {
    Namespace,
    Tenant,
    Provider,
    ActionType,
    Id,
    DedupKey,
    Status,
    Fingerprint,
    Template,
    /// `action.payload` followed by object keys (a numeric segment also indexes arrays).
    Payload(Vec<String>),
    /// `action.metadata.<key>`.
    Metadata(String),
    Time(TimeField),
}

/// A resolved field: borrowed from the action where possible.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Str(&'a str),
    Json(&'a Value),
    Int(i64),
}

impl FieldPath {
    pub fn parse(path: &str) -> Result<FieldPath, String> {
        let mut parts = path.split('.');
        let root = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        if rest.iter().any(|p| p.is_empty()) {
            return Err(format!("field path '{path}' has an empty segment"));
        }
        match root {
            "action" => Self::parse_action(path, &rest),
            "time" => match rest.as_slice() {
                [name] => TimeField::parse(name).map(FieldPath::Time).ok_or_else(|| {
                    format!(
                        "unknown time field '{name}' in '{path}' (expected one of {})",
                        TimeField::NAMES
                    )
                }),
                _ => Err(format!(
                    "time paths have exactly one part after 'time.' ({}), got '{path}'",
                    TimeField::NAMES
                )),
            },
            "now" if rest.is_empty() => Ok(FieldPath::Time(TimeField::Timestamp)),
            _ => Err(format!(
                "unknown field path '{path}' (paths start with 'action.' or 'time.')"
            )),
        }
    }

    fn parse_action(path: &str, rest: &[&str]) -> Result<FieldPath, String> {
        let simple = |f: FieldPath| {
            if rest.len() == 1 {
                Ok(f)
            } else {
                Err(format!("'{path}' is a string field and has no sub-fields"))
            }
        };
        match rest.first().copied() {
            Some("namespace") => simple(FieldPath::Namespace),
            Some("tenant") => simple(FieldPath::Tenant),
            Some("provider") => simple(FieldPath::Provider),
            Some("action_type") => simple(FieldPath::ActionType),
            Some("id") => simple(FieldPath::Id),
            Some("dedup_key") => simple(FieldPath::DedupKey),
            Some("status") => simple(FieldPath::Status),
            Some("fingerprint") => simple(FieldPath::Fingerprint),
            Some("template") => simple(FieldPath::Template),
            Some("payload") => Ok(FieldPath::Payload(
                rest[1..].iter().map(|s| s.to_string()).collect(),
            )),
            Some("metadata") => match rest {
                [_, key] => Ok(FieldPath::Metadata(key.to_string())),
                _ => Err(format!(
                    "metadata paths are 'action.metadata.<key>' (labels are flat), got '{path}'"
                )),
            },
            _ => Err(format!(
                "unknown field path '{path}' (expected action.namespace|tenant|provider|action_type|id|dedup_key|status|fingerprint|template, action.payload.<path> or action.metadata.<key>)"
            )),
        }
    }

    /// Look the field up; `None` when it is absent (a missing field never matches).
    pub fn resolve<'a>(
        &self,
        action: &'a Action,
        local_time: impl FnOnce() -> LocalTime,
    ) -> Option<Resolved<'a>> {
        match self {
            FieldPath::Namespace => Some(Resolved::Str(&action.namespace)),
            FieldPath::Tenant => Some(Resolved::Str(&action.tenant)),
            FieldPath::Provider => Some(Resolved::Str(&action.provider)),
            FieldPath::ActionType => Some(Resolved::Str(&action.action_type)),
            FieldPath::Id => Some(Resolved::Str(&action.id)),
            FieldPath::DedupKey => action.dedup_key.as_deref().map(Resolved::Str),
            FieldPath::Status => action.status.as_deref().map(Resolved::Str),
            FieldPath::Fingerprint => action.fingerprint.as_deref().map(Resolved::Str),
            FieldPath::Template => action.template.as_deref().map(Resolved::Str),
            FieldPath::Payload(segments) => {
                lookup_json(&action.payload, segments).map(Resolved::Json)
            }
            FieldPath::Metadata(key) => action.metadata.get(key).map(|s| Resolved::Str(s)),
            FieldPath::Time(field) => {
                let t = local_time();
                Some(match field {
                    TimeField::Hour => Resolved::Int(t.hour),
                    TimeField::Minute => Resolved::Int(t.minute),
                    TimeField::Second => Resolved::Int(t.second),
                    TimeField::Day => Resolved::Int(t.day),
                    TimeField::Month => Resolved::Int(t.month),
                    TimeField::Year => Resolved::Int(t.year),
                    TimeField::WeekdayNum => Resolved::Int(t.weekday_num),
                    TimeField::Timestamp => Resolved::Int(t.timestamp),
                    TimeField::Weekday => Resolved::Str(t.weekday_name()),
                })
            }
        }
    }

    pub fn is_time(&self) -> bool {
        matches!(self, FieldPath::Time(_))
    }
}

/// Walk object keys (and numeric array indices) down a JSON value.
pub fn lookup_json<'a>(root: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments
        .iter()
        .try_fold(root, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_paths() {
        assert_eq!(FieldPath::parse("action.tenant"), Ok(FieldPath::Tenant));
        assert_eq!(
            FieldPath::parse("action.payload.a.b"),
            Ok(FieldPath::Payload(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            FieldPath::parse("time.weekday_num"),
            Ok(FieldPath::Time(TimeField::WeekdayNum))
        );
    }

    #[test]
    fn rejects_unknown_paths() {
        for bad in [
            "payload.x",
            "action.tenantx",
            "action.tenant.x",
            "time.decade",
            "action..x",
            "action.metadata.a.b",
        ] {
            assert!(FieldPath::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn json_lookup_follows_arrays() {
        let v = serde_json::json!({"items": [{"sku": "a"}]});
        let segs: Vec<String> = ["items", "0", "sku"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(lookup_json(&v, &segs), Some(&serde_json::json!("a")));
        assert_eq!(
            lookup_json(&v, &segs[..1]).map(|v| v.is_array()),
            Some(true)
        );
        assert_eq!(lookup_json(&v, &["items".into(), "9".into()]), None);
    }
}
