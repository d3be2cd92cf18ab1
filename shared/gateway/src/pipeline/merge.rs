use serde_json::Value;

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes a key,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null, "n": 1}, "new": {"x": true}}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e", "n": 1}, "keep": [1], "new": {"x": true}})
        );
        let mut scalar = json!(5);
        merge_patch(&mut scalar, &json!({"a": 1}));
        assert_eq!(scalar, json!({"a": 1}));
    }
}
