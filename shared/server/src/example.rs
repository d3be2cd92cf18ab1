//! The e-commerce example, compiled in: what `switchyard serve` runs without
//! a configuration and what the Lambda functions run without `RULES_S3_URI`.

use switchyard_config::Config;
use switchyard_rules::Rule;

const CONFIG: &str = include_str!("../../../rules/ecommerce/gateway.toml");
const RULE_FILES: [(&str, &str); 3] = [
    (
        "rules/ecommerce/fraud.yaml",
        include_str!("../../../rules/ecommerce/fraud.yaml"),
    ),
    (
        "rules/ecommerce/processing.yaml",
        include_str!("../../../rules/ecommerce/processing.yaml"),
    ),
    (
        "rules/ecommerce/safety.yaml",
        include_str!("../../../rules/ecommerce/safety.yaml"),
    ),
];

pub fn config() -> Result<Config, String> {
    let mut config = Config::parse("rules/ecommerce/gateway.toml (bundled)", CONFIG)
        .map_err(|e| e.to_string())?;
    // The rules come from the binary, not from a directory.
    config.rules.directory = None;
    Ok(config)
}

pub fn rules() -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (name, text) in RULE_FILES {
        rules.extend(switchyard_rules::load_str(name, text).map_err(|e| e.to_string())?);
    }
    Ok(rules)
}
