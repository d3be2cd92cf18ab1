//! `aws-s3`: put one object under `object_prefix`. The key is `payload.key`
//! or derived from the idempotency key, so a retried put writes the same
//! object instead of a second one.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use switchyard_config::ProviderConfig;
use switchyard_core::{Provider, ProviderError, ProviderRequest, ProviderResponse};

use crate::common::{AwsSettings, classify, dedup_id, missing, str_field, text};

pub(crate) struct S3Provider {
    name: String,
    bucket: String,
    prefix: String,
    client: Client,
}

impl S3Provider {
    pub fn new(config: &ProviderConfig, settings: &AwsSettings) -> Result<Self, String> {
        let bucket = config
            .bucket_name
            .clone()
            .ok_or_else(|| missing("bucket_name"))?;
        if bucket.len() < 3 {
            return Err(format!(
                "`bucket_name` '{bucket}' is shorter than 3 characters"
            ));
        }
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(settings.credentials.clone())
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
        if let Some(url) = &settings.endpoint_url {
            // Emulators serve buckets by path, not by virtual host.
            builder = builder.endpoint_url(url).force_path_style(true);
        }
        Ok(Self {
            name: config.name.clone(),
            bucket,
            prefix: config.object_prefix.clone().unwrap_or_default(),
            client: Client::from_conf(builder.build()),
        })
    }
}

#[async_trait]
impl Provider for S3Provider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "aws-s3"
    }

    async fn execute(
        &self,
        request: ProviderRequest<'_>,
    ) -> Result<ProviderResponse, ProviderError> {
        let payload = &request.action.payload;
        let bucket = str_field(payload, "bucket_name")
            .unwrap_or(&self.bucket)
            .to_string();
        let name = str_field(payload, "key").map_or_else(
            || format!("{}.json", dedup_id(request.idempotency_key)),
            str::to_string,
        );
        let key = format!("{}{name}", self.prefix);
        let body = match payload.get("body") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => payload.to_string(),
        };
        let mut call = self
            .client
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type(str_field(payload, "content_type").unwrap_or("application/json"))
            .body(ByteStream::from(body.into_bytes()));
        if let Some(Value::Object(metadata)) = payload.get("metadata") {
            let map: HashMap<String, String> =
                metadata.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            call = call.set_metadata(Some(map));
        }
        let out = call.send().await.map_err(|e| classify("S3 PutObject", e))?;
        Ok(ProviderResponse::success(json!({
            "bucket": bucket,
            "key": key,
            "etag": out.e_tag(),
            "status": "stored",
        })))
    }
}
