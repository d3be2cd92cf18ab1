use async_trait::async_trait;
use serde_json::json;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

/// Writes the action to the log and succeeds; stands in for real integrations.
#[derive(Debug, Clone)]
pub struct LogProvider {
    name: String,
}

impl LogProvider {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

#[async_trait]
impl Provider for LogProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "log"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let action = request.action;
        tracing::info!(
            provider = %self.name,
            action_id = %action.id,
            namespace = %action.namespace,
            tenant = %action.tenant,
            action_type = %action.action_type,
            idempotency_key = %request.idempotency_key,
            "log provider executed action"
        );
        Ok(ProviderResponse::success(
            json!({"provider": self.name, "logged": true}),
        ))
    }
}
