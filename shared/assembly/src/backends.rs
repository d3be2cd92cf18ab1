//! The local process's choice of adapters: memory by default, DynamoDB
//! for state and/or audit when the configuration asks for it.

use std::sync::Arc;

use switchyard_config::{Config, StateBackend};
use switchyard_core::Clock;

use crate::MemoryPorts;

/// `[state] backend = "dynamodb"` (and `[audit] backend = "dynamodb"`): the
/// same adapters the Lambda functions use. Against an emulator
/// (`endpoint_url`), the tables are created from `infra/template.yaml`.
pub async fn use_dynamodb(
    config: &Config,
    memory: &mut MemoryPorts,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    use switchyard_config::AuditBackend;
    use switchyard_store_dynamodb::{
        DynamoAuditStore, DynamoSettings, DynamoStateStore, connect, schema,
    };
    let state = config.state.backend == StateBackend::Dynamodb;
    let audit = config.audit.backend == AuditBackend::Dynamodb;
    if !state && !audit {
        return Ok(());
    }
    let defaults = DynamoSettings::default();
    let settings = DynamoSettings {
        region: config
            .state
            .region
            .clone()
            .or(config.audit.region.clone())
            .unwrap_or(defaults.region),
        endpoint_url: config
            .state
            .endpoint_url
            .clone()
            .or(config.audit.endpoint_url.clone()),
        state_table: config
            .state
            .table_name
            .clone()
            .unwrap_or(defaults.state_table),
        audit_table: config
            .audit
            .table_name
            .clone()
            .unwrap_or(defaults.audit_table),
        state_shards: config.state.shards.unwrap_or(defaults.state_shards),
        audit_shards: config.audit.shards.unwrap_or(defaults.audit_shards),
    };
    let client = connect(&settings, None).await;
    if settings.endpoint_url.is_some() {
        for (logical, name, wanted) in [
            ("StateTable", &settings.state_table, state),
            ("AuditTable", &settings.audit_table, audit),
        ] {
            if wanted {
                schema::create_table(&client, logical, name)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
        }
    }
    if state {
        memory.ports.state = Arc::new(DynamoStateStore::from_settings(
            client.clone(),
            &settings,
            clock.clone(),
        ));
    }
    if audit {
        memory.ports.audit = Arc::new(DynamoAuditStore::from_settings(client, &settings, clock));
    }
    tracing::info!(state_table = %settings.state_table, audit_table = %settings.audit_table, state_shards = settings.state_shards, audit_shards = settings.audit_shards, endpoint = ?settings.endpoint_url, state, audit, "DynamoDB backend");
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The config crate cannot see the adapter's bounds; a shard count the
    /// config accepts must be one the adapter keeps as given.
    #[test]
    fn config_and_adapter_agree_on_shard_bounds() {
        assert_eq!(
            switchyard_config::MAX_STATE_SHARDS,
            switchyard_store_dynamodb::MAX_STATE_SHARDS
        );
        assert_eq!(
            switchyard_config::MAX_AUDIT_SHARDS,
            switchyard_store_dynamodb::MAX_AUDIT_SHARDS
        );
    }
}
