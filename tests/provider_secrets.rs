//! Provider credentials written as `ssm:/name`, read by the Lambda start-up
//! from SSM Parameter Store (the emulator's) and put in place before the
//! providers are built.

use aws_sdk_ssm::types::ParameterType;
use switchyard_config::Config;
use switchyard_tests::aws::{emulator_sdk, suffix};
use switchyard_tests::{aws_client as client, dynamodb_endpoint};

#[tokio::test]
async fn ssm_references_in_provider_credentials_are_read_at_start() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let sdk = emulator_sdk(&endpoint).await;
    let ssm = client!(aws_sdk_ssm, &endpoint);
    let id = suffix();
    let webhook = format!("/switchyard/providers/slack-{id}");
    let key = format!("/switchyard/providers/opsgenie-{id}");
    for (name, value) in [
        (&webhook, "https://hooks.example/services/x"),
        (&key, "genie-from-ssm"),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put parameter");
    }
    let text = format!(
        "[[providers]]\nname = \"slack\"\ntype = \"slack\"\nwebhook_url = \"ssm:{webhook}\"\n\n\
         [[providers]]\nname = \"pager\"\ntype = \"opsgenie\"\nopsgenie.api_key = \"ssm:{key}\"\n\n\
         [[providers]]\nname = \"pd\"\ntype = \"pagerduty\"\nrouting_key = \"literal-key\"\n"
    );
    let mut config = Config::parse("gateway.toml", &text).expect("config");
    let read = switchyard_lambda::provider_secrets::resolve(&sdk, &mut config)
        .await
        .expect("resolved");
    assert_eq!(read, 2);
    assert_eq!(
        config.providers[0].webhook_url.as_deref(),
        Some("https://hooks.example/services/x")
    );
    let opsgenie = config.providers[1].opsgenie.clone().expect("opsgenie");
    assert_eq!(opsgenie.api_key.as_deref(), Some("genie-from-ssm"));
    assert_eq!(
        config.providers[2].routing_key.as_deref(),
        Some("literal-key")
    );

    // More references than one GetParameters request takes (10 names), one
    // parameter referenced twice: each gets its own value.
    let mut text = String::new();
    for n in 0..12 {
        let name = format!("/switchyard/providers/hook-{id}-{}", n % 11);
        if n < 11 {
            ssm.put_parameter()
                .name(&name)
                .value(format!("https://hooks.example/{n}"))
                .r#type(ParameterType::SecureString)
                .send()
                .await
                .expect("put parameter");
        }
        text.push_str(&format!(
            "[[providers]]\nname = \"chat-{n}\"\ntype = \"slack\"\nwebhook_url = \"ssm:{name}\"\n\n"
        ));
    }
    let mut config = Config::parse("gateway.toml", &text).expect("config");
    let read = switchyard_lambda::provider_secrets::resolve(&sdk, &mut config)
        .await
        .expect("resolved");
    assert_eq!(read, 12);
    let urls: Vec<String> = config
        .providers
        .iter()
        .map(|p| p.webhook_url.clone().expect("url"))
        .collect();
    let expected: Vec<String> = (0..12)
        .map(|n| format!("https://hooks.example/{}", n % 11))
        .collect();
    assert_eq!(urls, expected);

    // A parameter that does not exist stops start-up, naming it and the provider.
    let missing = format!("/switchyard/providers/missing-{id}");
    let mut config = Config::parse(
        "gateway.toml",
        &format!("[[providers]]\nname = \"sms\"\ntype = \"twilio\"\naccount_sid = \"AC1\"\nauth_token = \"ssm:{missing}\"\n"),
    )
    .expect("config");
    let error = switchyard_lambda::provider_secrets::resolve(&sdk, &mut config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&missing) && error.contains("provider 'sms' auth_token"),
        "{error}"
    );
}
