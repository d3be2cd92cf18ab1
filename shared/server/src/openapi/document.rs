//! Assembling the document: operations as [`super::operations`] lists
//! them, schemas from the types' `utoipa` derives, security from the
//! authorization table.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::openapi::path::ParameterIn;
use utoipa::{IntoParams, ToSchema};

use crate::access::{self, Access};
use crate::error::ErrorBody;

/// The whole OpenAPI 3.1 document.
pub fn describe() -> Value {
    let mut doc = Doc::default();
    super::operations::describe(&mut doc);
    let error = doc.schema::<ErrorBody>();
    let Doc { schemas, paths } = doc;
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(path, mut operations)| {
            for operation in operations.values_mut() {
                operation["responses"]["4XX"] = json!({
                    "description": "The request was refused: the body says what and where",
                    "content": {"application/json": {"schema": error.clone()}},
                });
            }
            (path, Value::Object(operations))
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchyard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An actions gateway: rules decide what happens to each action before a provider is called. Compatible with Acteon's HTTP API.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, or a token from POST /v1/auth/login",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "An API key, for when an authorizer in front owns the Authorization header",
                },
            },
        },
    })
}

#[derive(Default)]
pub(super) struct Doc {
    schemas: BTreeMap<String, Value>,
    paths: BTreeMap<String, Map<String, Value>>,
}

impl Doc {
    /// Start describing `method path`.
    pub(super) fn op(&mut self, method: &'static str, path: &'static str, summary: &str) -> Op<'_> {
        Op {
            doc: self,
            method,
            path,
            summary: summary.to_string(),
            parameters: Vec::new(),
            body: None,
            responses: Map::new(),
        }
    }

    /// A reference to `T`'s schema, registering it and what it refers to.
    pub(super) fn schema<T: ToSchema>(&mut self) -> Value {
        let mut found = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut found);
        for (name, schema) in found {
            let value = serde_json::to_value(schema).unwrap_or_default();
            self.schemas.entry(name).or_insert(value);
        }
        json!({"$ref": format!("#/components/schemas/{}", T::name())})
    }

    /// `T`'s schema itself (not a reference), to combine with another.
    pub(super) fn inline<T: ToSchema>(&mut self) -> Value {
        let reference = self.schema::<T>();
        let name = reference["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        self.schemas.get(&name).cloned().unwrap_or_default()
    }
}

pub(super) struct Op<'d> {
    doc: &'d mut Doc,
    method: &'static str,
    path: &'static str,
    summary: String,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Map<String, Value>,
}

impl Op<'_> {
    /// The query string, as the handler's query type reads it.
    pub(super) fn query<T: IntoParams>(mut self) -> Self {
        for parameter in T::into_params(|| Some(ParameterIn::Query)) {
            self.parameters
                .push(serde_json::to_value(parameter).unwrap_or_default());
        }
        self
    }

    /// One optional string in the query string.
    pub(super) fn query_field(mut self, name: &str, description: &str) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": {"type": "string"},
        }));
        self
    }

    /// A required JSON body read as `T`.
    pub(super) fn body<T: ToSchema>(self) -> Self {
        let schema = self.doc.schema::<T>();
        self.body_schema(schema)
    }

    /// A required JSON body of this schema.
    pub(super) fn body_schema(mut self, schema: Value) -> Self {
        self.body = Some(json!({
            "required": true,
            "content": {"application/json": {"schema": schema}},
        }));
        self
    }

    /// An optional JSON body read as `T`.
    pub(super) fn optional_body<T: ToSchema>(mut self) -> Self {
        let schema = self.doc.schema::<T>();
        self.body = Some(json!({
            "required": false,
            "content": {"application/json": {"schema": schema}},
        }));
        self
    }

    pub(super) fn json(mut self, status: u16, description: &str, schema: Value) -> Self {
        self.responses.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    pub(super) fn text(mut self, description: &str, content_type: &str) -> Self {
        self.responses.insert(
            "200".into(),
            json!({"description": description, "content": {content_type: {"schema": {"type": "string"}}}}),
        );
        self
    }

    pub(super) fn empty(mut self, status: u16, description: &str) -> Self {
        self.responses
            .insert(status.to_string(), json!({"description": description}));
        self
    }

    pub(super) fn header(mut self, status: u16, name: &str, description: &str) -> Self {
        if let Some(response) = self.responses.get_mut(&status.to_string()) {
            response["headers"][name] =
                json!({"description": description, "schema": {"type": "string"}});
        }
        self
    }

    /// Put the operation in the document.
    pub(super) fn add(self) {
        let Op {
            doc,
            method,
            path,
            summary,
            mut parameters,
            body,
            responses,
        } = self;
        let mut path_parameters: Vec<Value> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": identifier()}))
            .collect();
        for parameter in &mut parameters {
            let named = parameter["name"].as_str().unwrap_or_default();
            if IDENTIFIERS.contains(&named) {
                parameter["schema"] = identifier();
            }
        }
        path_parameters.append(&mut parameters);
        let access = access::lookup(method, path);
        let mut operation = json!({
            "operationId": operation_id(method, path),
            "summary": summary,
            "description": who_may_call(access),
            "tags": [tag(path)],
            "security": security(access),
            "responses": responses,
        });
        if !path_parameters.is_empty() {
            operation["parameters"] = Value::Array(path_parameters);
        }
        if let Some(body) = body {
            operation["requestBody"] = body;
        }
        doc.paths
            .entry(path.to_string())
            .or_default()
            .insert(method.to_ascii_lowercase(), operation);
    }
}

/// Query parameters that name a record or a tenant's dimension.
const IDENTIFIERS: &[&str] = &[
    "namespace",
    "tenant",
    "provider",
    "action_type",
    "chain_id",
    "action_id",
    "group_id",
];

/// What the server takes as a name or id: 1 to 256 bytes, not only
/// spaces, no control characters (C0, DEL, C1) and no `:` (the store's key
/// separator).
fn identifier() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 256,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f:]*[^\\x00-\\x20\\x7f-\\x9f:][^\\x00-\\x1f\\x7f-\\x9f:]*$",
    })
}

/// `GET /v1/quotas/{id}/usage` → `get_v1_quotas_id_usage`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for part in path.split(['/', '{', '}', '-']).filter(|p| !p.is_empty()) {
        id.push('_');
        id.push_str(part);
    }
    id
}

/// The first segment after `/v1/`: `audit`, `quotas`, …; `operations` otherwise.
fn tag(path: &str) -> String {
    match path.strip_prefix("/v1/") {
        Some(rest) => rest.split('/').next().unwrap_or(rest).to_string(),
        None => "operations".into(),
    }
}

fn who_may_call(access: Option<Access>) -> String {
    match access {
        Some(access) => format!("Who may call it: {}.", access.describe()),
        None => "Not in the authorization table: refused.".into(),
    }
}

/// No credential for public routes; for a signed approval link, none or a
/// key; else a key (role and grants are checked by the server).
fn security(access: Option<Access>) -> Value {
    let key = [json!({"bearer": []}), json!({"apiKey": []})];
    match access {
        Some(Access::Public) => json!([]),
        Some(Access::LinkOrRole(_)) => json!([{}, key[0], key[1]]),
        _ => json!(key),
    }
}
