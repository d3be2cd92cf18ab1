//! AWS providers: `aws-sns`, `aws-sqs`, `aws-eventbridge`, `aws-lambda`,
//! `aws-s3` and `email` (SESv2). One SDK client per provider, built once at
//! start-up; credentials are resolved on first use (default chain, or STS
//! assume-role with automatic refresh when `aws_role_arn` is set), so building
//! the registry needs no network. The SDK's own retries are off: the gateway's
//! executor retries with backoff, per-attempt timeouts and one idempotency key.

// With some provider types left out of the build, some helpers go unused.
#[cfg_attr(
    not(all(
        feature = "aws-sns",
        feature = "aws-sqs",
        feature = "aws-eventbridge",
        feature = "aws-lambda",
        feature = "aws-s3",
        feature = "aws-ses"
    )),
    allow(dead_code)
)]
mod common;
#[cfg(feature = "aws-eventbridge")]
mod eventbridge;
#[cfg(feature = "aws-lambda")]
mod lambda;
#[cfg(feature = "aws-s3")]
mod s3;
#[cfg(feature = "aws-ses")]
mod ses;
#[cfg(feature = "aws-sns")]
mod sns;
#[cfg(feature = "aws-sqs")]
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
        let built = match config.kind.as_str() {
            "aws-sns" => sns(config),
            "aws-sqs" => sqs(config),
            "aws-eventbridge" => eventbridge(config),
            "aws-lambda" => lambda(config),
            "aws-s3" => s3(config),
            "email" => ses(config),
            _ => return None,
        };
        Some(built)
    }
}

/// A builder per provider type: the provider when its Cargo feature is on,
/// an error naming the feature when this build leaves the type out.
macro_rules! provider_type {
    ($build:ident, $feature:literal, $provider:path) => {
        #[cfg(feature = $feature)]
        fn $build(config: &ProviderConfig) -> Result<Arc<dyn Provider>, String> {
            let settings = common::AwsSettings::from_config(config);
            <$provider>::new(config, &settings).map(|p| Arc::new(p) as Arc<dyn Provider>)
        }

        #[cfg(not(feature = $feature))]
        fn $build(config: &ProviderConfig) -> Result<Arc<dyn Provider>, String> {
            Err(format!(
                "type '{}' is not in this build (Cargo feature `{}` of switchyard-providers-aws)",
                config.kind, $feature
            ))
        }
    };
}

provider_type!(sns, "aws-sns", sns::SnsProvider);
provider_type!(sqs, "aws-sqs", sqs::SqsProvider);
provider_type!(
    eventbridge,
    "aws-eventbridge",
    eventbridge::EventBridgeProvider
);
provider_type!(lambda, "aws-lambda", lambda::LambdaProvider);
provider_type!(s3, "aws-s3", s3::S3Provider);
provider_type!(ses, "aws-ses", ses::SesProvider);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each type, configured completely: built when its feature is on, an
    /// error naming the feature when it is off (CI runs this both ways).
    #[test]
    fn each_type_is_built_or_names_its_feature() {
        let types = [
            ("aws-sns", "aws-sns", cfg!(feature = "aws-sns")),
            ("aws-sqs", "aws-sqs", cfg!(feature = "aws-sqs")),
            (
                "aws-eventbridge",
                "aws-eventbridge",
                cfg!(feature = "aws-eventbridge"),
            ),
            ("aws-lambda", "aws-lambda", cfg!(feature = "aws-lambda")),
            ("aws-s3", "aws-s3", cfg!(feature = "aws-s3")),
            ("email", "aws-ses", cfg!(feature = "aws-ses")),
        ];
        for (kind, feature, built_in) in types {
            let config = ProviderConfig {
                name: format!("p-{kind}"),
                kind: kind.into(),
                topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()),
                queue_url: Some("http://127.0.0.1:1/123456789012/q".into()),
                event_bus_name: Some("bus".into()),
                function_name: Some("f".into()),
                bucket_name: Some("bucket".into()),
                from_address: Some("from@example.com".into()),
                aws_endpoint_url: Some("http://127.0.0.1:1".into()),
                ..ProviderConfig::default()
            };
            match AwsProviders.build(&config) {
                Some(Ok(provider)) if built_in => assert_eq!(provider.name(), config.name),
                Some(Err(message)) if !built_in => {
                    assert!(
                        message.contains(&format!("`{feature}`")),
                        "{kind}: {message}"
                    );
                }
                Some(Ok(_)) => panic!("{kind} was built without feature {feature}"),
                Some(Err(message)) => panic!("{kind} with feature {feature}: {message}"),
                None => panic!("{kind} is not an AWS provider type"),
            }
        }
        let other = ProviderConfig {
            kind: "webhook".into(),
            ..ProviderConfig::default()
        };
        assert!(AwsProviders.build(&other).is_none());
    }
}
