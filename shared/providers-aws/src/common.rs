use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use switchyard_config::ProviderConfig;
use switchyard_core::ProviderError;
use tokio::sync::OnceCell;

/// Region, endpoint and credentials of one provider.
#[derive(Debug, Clone)]
pub(crate) struct AwsSettings {
    pub region: String,
    pub endpoint_url: Option<String>,
    pub credentials: SharedCredentialsProvider,
}

impl AwsSettings {
    pub fn from_config(config: &ProviderConfig) -> Self {
        let region = config
            .aws_region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let credentials = match (&config.aws_endpoint_url, &config.aws_role_arn) {
            // Emulators accept any credentials; a role still goes through (the emulator's) STS.
            (Some(_), None) => SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "emulator",
            )),
            _ => SharedCredentialsProvider::new(LazyCredentials {
                region: region.clone(),
                endpoint_url: config.aws_endpoint_url.clone(),
                role_arn: config.aws_role_arn.clone(),
                session_name: config.aws_session_name.clone(),
                external_id: config.aws_external_id.clone(),
                provider: OnceCell::new(),
            }),
        };
        Self {
            region,
            endpoint_url: config.aws_endpoint_url.clone(),
            credentials,
        }
    }
}

/// The default credential chain, or an STS assume-role provider on top of it
/// (which refreshes its credentials before they expire), created on first use.
#[derive(Debug)]
struct LazyCredentials {
    region: String,
    endpoint_url: Option<String>,
    role_arn: Option<String>,
    session_name: Option<String>,
    external_id: Option<String>,
    provider: OnceCell<SharedCredentialsProvider>,
}

impl LazyCredentials {
    async fn resolve(&self) -> SharedCredentialsProvider {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()));
        if let Some(url) = &self.endpoint_url {
            // Against an emulator, its STS with dummy base credentials.
            loader = loader
                .endpoint_url(url)
                .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
        }
        let base = loader.load().await;
        let Some(role) = &self.role_arn else {
            return base.credentials_provider().unwrap_or_else(|| {
                SharedCredentialsProvider::new(Credentials::new("", "", None, None, "none"))
            });
        };
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.clone())
            .configure(&base)
            .session_name(
                self.session_name
                    .clone()
                    .unwrap_or_else(|| "switchyard".into()),
            );
        if let Some(id) = &self.external_id {
            builder = builder.external_id(id.clone());
        }
        SharedCredentialsProvider::new(builder.build().await)
    }
}

impl ProvideCredentials for LazyCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let provider = self.provider.get_or_init(|| self.resolve()).await;
            provider.provide_credentials().await
        })
    }
}

/// Error codes that mean "try again later".
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "KMSThrottlingException",
    "EC2ThrottledException",
];

/// An SDK error as a provider error: transport failures, throttling and 5xx
/// are retryable; validation, not-found and access errors are not.
pub(crate) fn classify<E>(operation: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) => {
            ProviderError::retryable("TIMEOUT", format!("{operation}: {detail}"))
        }
        SdkError::DispatchFailure(_) => {
            ProviderError::retryable("CONNECTION", format!("{operation}: {detail}"))
        }
        SdkError::ResponseError(_) => {
            ProviderError::retryable("BAD_RESPONSE", format!("{operation}: {detail}"))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let status = service.raw().status().as_u16();
            let retryable =
                status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code.as_str());
            ProviderError {
                code: format!("AWS_{code}"),
                message: format!("{operation}: {detail}"),
                retryable,
                retry_after: None,
            }
        }
        _ => ProviderError::permanent("AWS_ERROR", format!("{operation}: {detail}")),
    }
}

/// A payload field as text: strings as they are, anything else as JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn str_field<'a>(payload: &'a Value, name: &str) -> Option<&'a str> {
    payload.get(name).and_then(Value::as_str)
}

/// A deduplication id DynamoDB-free services accept (≤ 128 chars of [A-Za-z0-9]):
/// the SHA-256 of the idempotency key.
pub(crate) fn dedup_id(idempotency_key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(idempotency_key.as_bytes()))
}

pub(crate) fn missing(name: &str) -> String {
    format!("missing required key `{name}`")
}
