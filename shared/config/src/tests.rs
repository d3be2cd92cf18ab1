use super::*;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse("test.toml", text).map_err(|e| e.to_string())
}

#[test]
fn empty_config_has_working_defaults() {
    let config = parse("").expect("empty config is valid");
    assert_eq!(config.server.port, 8080);
    assert_eq!(config.server.max_body_bytes, 256 * 1024);
    assert!(config.audit.enabled);
    assert!(config.providers.is_empty());
}

#[test]
fn ecommerce_example_loads() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/ecommerce/gateway.toml");
    let config = Config::load(&path).expect("example config is valid");
    assert_eq!(config.providers.len(), 6);
    assert_eq!(config.chains.definitions.len(), 2);
    assert_eq!(config.rules.default_timezone.as_deref(), Some("US/Eastern"));
    assert!(
        config
            .rules_directory()
            .expect("dir")
            .join("fraud.yaml")
            .is_file()
    );
    let validate = &config.chain("order-processing").expect("chain").steps[0];
    assert_eq!(validate.branches[0].target, "charge");
}

#[test]
fn unknown_keys_are_named_with_their_position() {
    let err = parse("[server]\nport = 8080\nprot = 1\n").expect_err("typo");
    assert!(err.contains("prot") && err.contains("line 3"), "{err}");
    let err = parse("[servre]\n").expect_err("unknown section");
    assert!(err.contains("servre"), "{err}");
}

#[test]
fn provider_errors_name_provider_and_key() {
    let err = parse("[[providers]]\nname = \"p\"\ntype = \"carrier-pigeon\"\n").expect_err("type");
    assert!(
        err.contains("provider 'p'") && err.contains("carrier-pigeon"),
        "{err}"
    );
    let err = parse("[[providers]]\nname = \"alerts\"\ntype = \"aws-sns\"\n").expect_err("missing");
    assert!(
        err.contains("provider 'alerts'") && err.contains("topic_arn"),
        "{err}"
    );
    let err = parse("[[providers]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"ftp://x\"\n")
        .expect_err("url");
    assert!(err.contains("provider 'h'") && err.contains("url"), "{err}");
    let err = parse("[[providers]]\nname = \"l\"\ntype = \"log\"\nurl = \"http://x\"\n")
        .expect_err("key");
    assert!(
        err.contains("provider 'l'") && err.contains("`url` does not apply"),
        "{err}"
    );
    let err = parse("[[providers]]\nname = \"l\"\ntype = \"log\"\n[[providers]]\nname = \"l\"\ntype = \"log\"\n")
        .expect_err("dup");
    assert!(err.contains("defined twice"), "{err}");
}

#[test]
fn cross_references_are_checked() {
    let err =
        parse("[circuit_breaker.providers.ghost]\nfailure_threshold = 1\n").expect_err("ghost");
    assert!(err.contains("ghost"), "{err}");
    let err = parse("[rules]\ndefault_timezone = \"Nowhere/Land\"\n").expect_err("tz");
    assert!(err.contains("default_timezone"), "{err}");
    let err = parse("[server]\napproval_secret = \"zz\"\n").expect_err("hex");
    assert!(err.contains("approval_secret"), "{err}");
}

const LOG: &str = "[[providers]]\nname = \"log\"\ntype = \"log\"\n";

#[test]
fn chain_graphs_are_validated() {
    let step = |name: &str, extra: &str| {
        format!(
            "[[chains.definitions.steps]]\nname = \"{name}\"\nprovider = \"log\"\naction_type = \"t\"\n{extra}"
        )
    };
    let chain = |body: String| format!("{LOG}[[chains.definitions]]\nname = \"c\"\n{body}");
    parse(&chain(step("a", "") + &step("b", ""))).expect("simple chain");
    let err = parse(&chain(
        step("a", "default_next = \"b\"\n") + &step("b", "default_next = \"a\"\n"),
    ))
    .expect_err("cycle");
    assert!(err.contains("cycle"), "{err}");
    let err = parse(&chain(
        step("a", "") + "  [[chains.definitions.steps.branches]]\n  field = \"success\"\n  operator = \"eq\"\n  value = true\n  target = \"zzz\"\n",
    ))
    .expect_err("target");
    assert!(err.contains("zzz"), "{err}");
    let err = parse(&chain(
        "[[chains.definitions.steps]]\nname = \"s\"\nsub_chain = \"c\"\n".to_string(),
    ))
    .expect_err("self sub-chain");
    assert!(err.contains("cycle"), "{err}");
    let err = parse(&format!(
        "{LOG}[[chains.definitions]]\nname = \"c\"\n[[chains.definitions.steps]]\nname = \"s\"\nprovider = \"nope\"\naction_type = \"t\"\n"
    ))
    .expect_err("provider");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn default_next_after_a_branch_header_counts_for_the_step() {
    let text = format!(
        "{LOG}[[chains.definitions]]\nname = \"c\"\n\
         [[chains.definitions.steps]]\nname = \"a\"\nprovider = \"log\"\naction_type = \"t\"\n\
         [[chains.definitions.steps.branches]]\nfield = \"success\"\noperator = \"eq\"\nvalue = false\ntarget = \"c\"\ndefault_next = \"c\"\n\
         [[chains.definitions.steps]]\nname = \"b\"\nprovider = \"log\"\naction_type = \"t\"\n\
         [[chains.definitions.steps]]\nname = \"c\"\nprovider = \"log\"\naction_type = \"t\"\n"
    );
    let config = parse(&text).expect("valid");
    assert_eq!(
        config.chains.definitions[0].steps[0].default_next(),
        Some("c")
    );
}

/// An Acteon config with several settings we lack fails once, naming each.
#[test]
fn every_unsupported_setting_is_listed_in_one_error() {
    let err = parse(
        "[server]\nfoo = 1\n[state]\nbackend = \"redis\"\n[telemetry]\nenabled = true\n\
         [[providers]]\nname = \"chat\"\ntype = \"telegram\"\n[[providers]]\nname = \"pager\"\ntype = \"victorops\"\n",
    )
    .expect_err("unsupported");
    for needle in [
        "5 setting(s)",
        "line 2, column 1: unknown field `foo`",
        "line 4, column 11: unknown variant `redis`",
        "line 5, column 2: unknown field `telemetry`",
        "provider 'chat': type 'telegram'",
        "provider 'pager': type 'victorops'",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
}

/// Acteon's guides start the server from the repository root with a rules
/// directory relative to it; ours put it beside the config. Both resolve, and
/// the answer says which.
#[test]
fn rules_directory_resolves_beside_the_config_or_in_the_working_directory() {
    let root = std::env::temp_dir().join(format!("sy-rules-dir-{}", std::process::id()));
    let example = root.join("examples/shop");
    std::fs::create_dir_all(example.join("rules")).expect("dirs");
    let mut config = Config {
        base_dir: Some(example.clone()),
        ..Config::default()
    };
    config.rules.directory = Some("rules".into());
    let beside = config.resolve_rules_directory().expect("set");
    assert_eq!(beside.path, example.join("rules"));
    assert_eq!(beside.origin, RulesDirectoryOrigin::ConfigFolder);

    // Written relative to the working directory (the repository root): no
    // such folder beside the config, so the working-directory reading wins.
    config.rules.directory = Some("examples/shop/rules".into());
    let cwd = config.resolve_rules_directory().expect("set");
    assert_eq!(cwd.origin, RulesDirectoryOrigin::WorkingDirectory);
    assert_eq!(cwd.path, std::path::PathBuf::from("examples/shop/rules"));

    let absolute = example.join("rules");
    config.rules.directory = Some(absolute.clone());
    let abs = config.resolve_rules_directory().expect("set");
    assert_eq!(
        (abs.path, abs.origin),
        (absolute, RulesDirectoryOrigin::Absolute)
    );
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[test]
fn step_retry_tables_compute_bounded_backoffs() {
    let retry = |strategy: &str| {
        let text = format!(
            "[[providers]]\nname = \"p\"\ntype = \"log\"\n[[chains.definitions]]\nname = \"c\"\n\
             [[chains.definitions.steps]]\nname = \"s\"\nprovider = \"p\"\naction_type = \"a\"\n\
             retry = {{ max_retries = 3, backoff_ms = 1000, strategy = \"{strategy}\", jitter_ms = 100 }}\n"
        );
        let config = Config::parse("retry.toml", &text).expect("retry table");
        config.chains.definitions[0].steps[0]
            .retry
            .clone()
            .expect("retry")
    };
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let exponential = retry("exponential");
    assert_eq!(
        (1..=3)
            .map(|n| ms(exponential.delay(n, 0.0)))
            .collect::<Vec<_>>(),
        [1000, 2000, 4000]
    );
    assert_eq!(ms(exponential.delay(3, 1.0)), 4100, "plus the jitter");
    assert_eq!(
        ms(exponential.delay(60, 0.0)),
        MAX_STEP_BACKOFF_MS,
        "capped"
    );
    let linear = retry("linear");
    assert_eq!(ms(linear.delay(3, 0.0)), 3000);
    assert_eq!(ms(retry("constant").delay(3, 0.0)), 1000);
    let err = parse(
        "[[providers]]\nname = \"p\"\ntype = \"log\"\n[[chains.definitions]]\nname = \"c\"\n\
         [[chains.definitions.steps]]\nname = \"s\"\nprovider = \"p\"\naction_type = \"a\"\n\
         retry = { max_retries = 1000 }\n",
    )
    .expect_err("too many retries");
    assert!(err.contains("retry.max_retries"), "{err}");
}
