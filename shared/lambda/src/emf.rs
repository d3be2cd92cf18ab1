//! One CloudWatch Embedded Metric Format object per invocation: the
//! gateway's counters that moved during it (the process serves one
//! invocation at a time, so the change since the last report is this
//! invocation's), in the function's log stream. CloudWatch turns each named
//! field into a metric of the `Switchyard` namespace, by function.

use std::sync::Mutex;

use serde_json::{Map, Value, json};
use switchyard_gateway::MetricsSnapshot;

/// The CloudWatch namespace of every measure.
pub const NAMESPACE: &str = "Switchyard";

/// The counters as last reported.
#[derive(Debug, Default)]
pub struct InvocationMetrics {
    last: Mutex<Option<Value>>,
}

/// The EMF object for the counters that changed from `before` to `now`
/// (`None` when nothing did: no metric, no log line).
pub fn emf_object(function: &str, before: &Value, now: &Value, at_ms: i64) -> Option<Value> {
    let (Value::Object(before), Value::Object(now)) = (before, now) else {
        return None;
    };
    let mut fields = Map::new();
    let mut metrics = Vec::new();
    for (name, value) in now {
        let (Some(value), previous) = (value.as_u64(), before.get(name).and_then(Value::as_u64))
        else {
            continue;
        };
        let delta = value.saturating_sub(previous.unwrap_or(0));
        // Gauges (audit_pending) and counters that did not move are left out.
        if delta == 0 || name == "audit_pending" {
            continue;
        }
        fields.insert(name.clone(), json!(delta));
        metrics.push(json!({"Name": name, "Unit": "Count"}));
    }
    if metrics.is_empty() {
        return None;
    }
    fields.insert("Function".into(), json!(function));
    fields.insert(
        "_aws".into(),
        json!({
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics,
            }],
        }),
    );
    Some(Value::Object(fields))
}

impl InvocationMetrics {
    /// Print this invocation's object (one line on stdout, where Lambda
    /// ships it to CloudWatch Logs) and remember the counters.
    pub fn report(&self, function: &str, counters: &MetricsSnapshot) {
        let now = serde_json::to_value(counters).unwrap_or(Value::Null);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let before = last.take().unwrap_or_else(|| json!({}));
        let at = chrono::Utc::now().timestamp_millis();
        if let Some(object) = emf_object(function, &before, &now, at) {
            println!("{object}");
        }
        *last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_moved_in_this_invocation_is_reported() {
        let before = json!({"dispatched": 10, "executed": 8, "failed": 2, "audit_pending": 1});
        let now = json!({"dispatched": 13, "executed": 11, "failed": 2, "audit_pending": 4});
        let object = emf_object("dispatch", &before, &now, 1_700_000_000_000).expect("moved");
        assert_eq!(object["dispatched"], 3);
        assert_eq!(object["executed"], 3);
        assert!(
            object.get("failed").is_none(),
            "unchanged counters are left out"
        );
        assert!(
            object.get("audit_pending").is_none(),
            "a gauge is not a count"
        );
        assert_eq!(object["Function"], "dispatch");
        let directive = &object["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["dispatched", "executed"]);
        assert_eq!(object["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(
            emf_object("dispatch", &now, &now, 0),
            None,
            "nothing moved: no line"
        );
    }

    #[test]
    fn the_first_report_counts_from_zero() {
        let object = emf_object(
            "reaper",
            &json!({}),
            &json!({"retention_deleted_state": 5}),
            0,
        )
        .expect("moved");
        assert_eq!(object["retention_deleted_state"], 5);
    }
}
