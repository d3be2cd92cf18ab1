//! `aws-lambda`: invoke a function (`RequestResponse` by default, or `Event`).
//! A function error (`FunctionError` in the response) is a provider failure
//! carrying the function's error payload; it is not retried.

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{BehaviorVersion, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::{Value, json};
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, missing, str_field};

pub(crate) struct LambdaProvider {
    name: String,
    function_name: String,
    qualifier: Option<String>,
    invocation_type: String,
    client: Client,
}

impl LambdaProvider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let function_name = config
            .function_name
            .clone()
            .ok_or_else(|| missing("function_name"))?;
        let mut builder = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            name: config.name.clone(),
            function_name,
            qualifier: config.qualifier.clone(),
            invocation_type: config
                .invocation_type
                .clone()
                .unwrap_or_else(|| "RequestResponse".into()),
            client: Client::from_conf(builder.build()),
        })
    }
}

#[async_trait]
impl Provider for LambdaProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "aws-lambda"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let function = str_field(payload, "function_name")
            .unwrap_or(&self.function_name)
            .to_string();
        let invocation = str_field(payload, "invocation_type").unwrap_or(&self.invocation_type);
        let input = payload
            .get("payload")
            .cloned()
            .unwrap_or_else(|| payload.clone());
        let mut call = self
            .client
            .invoke()
            .function_name(&function)
            .invocation_type(InvocationType::from(invocation))
            .payload(Blob::new(input.to_string()));
        if let Some(q) = str_field(payload, "qualifier").or(self.qualifier.as_deref()) {
            call = call.qualifier(q);
        }
        let out = call
            .send()
            .await
            .map_err(|e| classify("Lambda Invoke", e))?;
        let response: Value = out
            .payload()
            .map(|b| {
                serde_json::from_slice(b.as_ref())
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b.as_ref()).into()))
            })
            .unwrap_or(Value::Null);
        if let Some(kind) = out.function_error() {
            return Err(ProviderError::permanent(
                "LAMBDA_FUNCTION_ERROR",
                format!("{function} failed ({kind}): {response}"),
            ));
        }
        Ok(ProviderResponse::success(json!({
            "function_name": function,
            "status_code": out.status_code(),
            "response": response,
        })))
    }
}
