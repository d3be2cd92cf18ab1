//! `GET /openapi.json`: an OpenAPI 3.1 description of every route.
//!
//! Request bodies and query strings are described by the handlers' own
//! types (their `utoipa` derives), so a field added to a handler's struct
//! shows here. Which credential a route takes comes from the authorization
//! table ([`crate::access`]), path parameters from the route's pattern, and
//! every operation answers errors as [`crate::error::ErrorBody`]. A test
//! checks that the operations here and the routes of the router are the
//! same set.

mod document;
mod operations;
mod schemas;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;

pub use document::describe;

/// The document never changes while the process runs: built once.
pub(crate) async fn openapi_json() -> impl IntoResponse {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| describe().to_string());
    ([(header::CONTENT_TYPE, "application/json")], text.as_str())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::describe;
    use crate::access::ROUTES;

    fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                found.push((method.to_ascii_uppercase(), path.clone(), operation));
            }
        }
        found
    }

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let doc = describe();
        let described: BTreeSet<(String, String)> = operations(&doc)
            .into_iter()
            .map(|(m, p, _)| (m, p))
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(described, routed);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn operations_carry_parameters_answers_and_credentials() {
        let doc = describe();
        let mut ids = BTreeSet::new();
        for (method, path, operation) in operations(&doc) {
            let name = format!("{method} {path}");
            assert!(ids.insert(operation["operationId"].to_string()), "{name}");
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.keys().any(|s| s.starts_with('2')), "{name}");
            assert_eq!(
                responses["4XX"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{name}"
            );
            let in_path = path.matches('{').count();
            let declared = operation["parameters"]
                .as_array()
                .map(|p| p.iter().filter(|p| p["in"] == "path").count())
                .unwrap_or(0);
            assert_eq!(in_path, declared, "{name}");
            let public = operation["security"].as_array().is_some_and(Vec::is_empty);
            assert_eq!(
                public,
                matches!(
                    crate::access::lookup(&method, &path),
                    Some(crate::access::Access::Public)
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn schemas_come_from_the_handlers_types_and_references_resolve() {
        let doc = describe();
        let schemas = &doc["components"]["schemas"];
        // `CreateQuota` as the handler reads it, the window one of four
        // names (from `QuotaWindow`).
        let quota = &schemas["CreateQuota"];
        let required: BTreeSet<&str> = quota["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            required,
            BTreeSet::from(["namespace", "tenant", "max_actions", "window"])
        );
        let window = &schemas["QuotaWindow"]["enum"];
        assert_eq!(
            window,
            &serde_json::json!(["hourly", "daily", "weekly", "monthly"])
        );
        // Every reference points at a schema the document has.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap_or_default();
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(schemas.get(name).is_some(), "dangling {target}");
        }
        // The playground's body is an action with the options beside it.
        let evaluate = &doc["paths"]["/v1/rules/evaluate"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"];
        assert!(evaluate.get("namespace").is_some() && evaluate.get("evaluate_at").is_some());
    }
}
