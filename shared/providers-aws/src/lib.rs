//! AWS providers: `aws-sns`, `aws-sqs`, `aws-eventbridge`, `aws-lambda`,
//! `aws-s3` and `email` (SESv2). One SDK client per provider, built once at
//! start-up; credentials are resolved on first use (default chain, or STS
//! assume-role with automatic refresh when `aws_role_arn` is set), so building
//! the registry needs no network. The SDK's own retries are off: the gateway's
//! executor retries with backoff, per-attempt timeouts and one idempotency key.

mod common;
mod eventbridge;
mod lambda;
mod s3;
mod ses;
mod sns;
mod sqs;

use std::sync::Arc;

use switchyard_config::ProviderConfig;
use switchyard_core::Provider;
use switchyard_providers::ProviderFactory;

/// Builds the AWS provider types for [`switchyard_providers::ProviderRegistry`].
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsProviders;

impl ProviderFactory for AwsProviders {
    fn build(&self, config: &ProviderConfig) -> Option<Result<Arc<dyn Provider>, String>> {
        let settings = common::AwsSettings::from_config(config);
        let built: Result<Arc<dyn Provider>, String> =
            match config.kind.as_str() {
                "aws-sns" => sns::SnsProvider::new(config, &settings)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>),
                "aws-sqs" => sqs::SqsProvider::new(config, &settings)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>),
                "aws-eventbridge" => eventbridge::EventBridgeProvider::new(config, &settings)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>),
                "aws-lambda" => lambda::LambdaProvider::new(config, &settings)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>),
                "aws-s3" => {
                    s3::S3Provider::new(config, &settings).map(|p| Arc::new(p) as Arc<dyn Provider>)
                }
                "email" => ses::SesProvider::new(config, &settings)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>),
                _ => return None,
            };
        Some(built)
    }
}
