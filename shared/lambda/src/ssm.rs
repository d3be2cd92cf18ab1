//! SecureString parameters from SSM Parameter Store, decrypted: whatever a
//! start-up needs in as few `GetParameters` requests as the API allows (10
//! names each), all sent at once, so a cold start pays one round trip.

use std::collections::{BTreeSet, HashMap};

use anyhow::anyhow;
use aws_config::SdkConfig;
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::Parameter;
use futures_util::future::try_join_all;

/// Names one `GetParameters` request takes at most.
const NAMES_PER_REQUEST: usize = 10;

/// One parameter a start-up reads: what it is (for errors) and its name.
pub(crate) struct Wanted {
    pub what: String,
    pub name: String,
}

/// The values of `wanted`, in its order. A parameter that does not exist,
/// cannot be read or is empty is an error naming it and what it is for.
pub(crate) async fn secure_parameters(
    sdk: &SdkConfig,
    wanted: &[Wanted],
) -> anyhow::Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let client = aws_sdk_ssm::Client::new(sdk);
    let names: Vec<String> = wanted
        .iter()
        .map(|w| w.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let answers = try_join_all(names.chunks(NAMES_PER_REQUEST).map(|chunk| {
        client
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
    }))
    .await
    .map_err(|e| {
        anyhow!(
            "SSM GetParameters [{}]: {}",
            names.join(", "),
            DisplayErrorContext(e)
        )
    })?;
    let mut values: HashMap<String, String> = HashMap::new();
    for parameter in answers.iter().flat_map(|a| a.parameters()) {
        for requested in requested_as(parameter) {
            values.insert(requested, parameter.value().unwrap_or_default().to_string());
        }
    }
    wanted
        .iter()
        .map(|Wanted { what, name }| match values.get(name) {
            Some(value) if !value.is_empty() => Ok(value.clone()),
            Some(_) => Err(anyhow!("{what}: SSM parameter {name} is empty")),
            None => Err(anyhow!(
                "{what}: SSM parameter {name} does not exist or cannot be read"
            )),
        })
        .collect()
}

/// The ways a request can have named `parameter`: its name, its ARN, either
/// with the version or label selector it was asked with.
fn requested_as(parameter: &Parameter) -> Vec<String> {
    let selector = parameter.selector().unwrap_or_default();
    [parameter.name(), parameter.arn()]
        .into_iter()
        .flatten()
        .map(|name| format!("{name}{selector}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_answers_to_its_name_or_arn_with_its_selector() {
        let parameter = Parameter::builder()
            .name("/stack/key")
            .arn("arn:aws:ssm:us-east-1:123456789012:parameter/stack/key")
            .selector(":3")
            .value("v")
            .build();
        assert_eq!(
            requested_as(&parameter),
            [
                "/stack/key:3",
                "arn:aws:ssm:us-east-1:123456789012:parameter/stack/key:3"
            ]
        );
        let plain = Parameter::builder().name("/stack/key").build();
        assert_eq!(requested_as(&plain), ["/stack/key"]);
    }
}
