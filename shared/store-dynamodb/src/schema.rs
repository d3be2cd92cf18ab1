//! Table definitions, read from `infra/template.yaml` (the single source of
//! truth): tests and the local server create tables from them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    resources: std::collections::BTreeMap<String, Resource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

impl ProjectionDef {
    fn build(&self) -> Projection {
        let projected = Some(self.non_key_attributes.clone()).filter(|a| !a.is_empty());
        Projection::builder()
            .projection_type(ProjectionType::from(self.projection_type.as_str()))
            .set_non_key_attributes(projected)
            .build()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

/// The `AWS::DynamoDB::Table` resource named `logical_id` in the template.
pub fn table(logical_id: &str) -> Result<TableDefinition, String> {
    let template: Template =
        serde_saphyr::from_str(TEMPLATE).map_err(|e| format!("infra/template.yaml: {e}"))?;
    let resource = template
        .resources
        .get(logical_id)
        .filter(|r| r.kind == "AWS::DynamoDB::Table")
        .ok_or_else(|| format!("infra/template.yaml has no DynamoDB table '{logical_id}'"))?;
    serde_json::from_value(resource.properties.clone())
        .map_err(|e| format!("infra/template.yaml {logical_id}: {e}"))
}

fn keys(defs: &[KeyDef]) -> Result<Vec<KeySchemaElement>, String> {
    defs.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Create `name` with the layout of `logical_id` (on-demand billing), and
/// enable its TTL attribute. An existing table is left as it is.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    name: &str,
) -> Result<(), String> {
    let def = table(logical_id)?;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for a in &def.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    request = request.set_key_schema(Some(keys(&def.key_schema)?));
    for index in &def.global_secondary_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(index.projection.build())
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return same_key(client, name, &def.key_schema).await;
        }
        Err(err) => {
            return Err(format!(
                "create table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(err)
            ));
        }
    }
    if let Some(ttl) = def.time_to_live_specification.filter(|t| t.enabled) {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl.attribute_name)
                    .enabled(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| {
                format!(
                    "enable TTL on {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
    }
    Ok(())
}

/// An existing table must have the key this version writes: an older audit
/// table (keyed by `id` alone) would take the writes and then fail every
/// lookup by action, so it is refused at start-up instead.
async fn same_key(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    expected: &[KeyDef],
) -> Result<(), String> {
    let table = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "describe table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    let found: Vec<&str> = table
        .table()
        .map(|t| t.key_schema())
        .unwrap_or_default()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    let wanted: Vec<&str> = expected.iter().map(|k| k.attribute_name.as_str()).collect();
    if found == wanted {
        Ok(())
    } else {
        Err(format!(
            "table {name} exists with the key ({}), but this version keys it ({}): \
             give this version a new table (docs/dynamodb.md, \"Upgrading\")",
            found.join(", "),
            wanted.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_tables_parse() {
        let state = super::table("StateTable").expect("state table");
        assert_eq!(state.key_schema.len(), 2);
        let audit = super::table("AuditTable").expect("audit table");
        let names: Vec<&str> = audit
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(names, ["by_tenant", "by_time", "by_chain"]);
        for index in &audit.global_secondary_indexes {
            assert_eq!(
                (
                    index.projection.projection_type.as_str(),
                    index.projection.non_key_attributes.as_slice()
                ),
                (
                    "INCLUDE",
                    [crate::audit_entry::SUMMARY.to_string()].as_slice()
                ),
                "{} projects the summary alone: the records stay in the table",
                index.index_name
            );
        }
        let key: Vec<&str> = audit
            .key_schema
            .iter()
            .map(|k| k.attribute_name.as_str())
            .collect();
        assert_eq!(
            key,
            ["action_id", "id"],
            "a lookup by action is on the table"
        );
        assert_eq!(
            audit.time_to_live_specification.map(|t| t.attribute_name),
            Some("ttl".to_string())
        );
    }
}
