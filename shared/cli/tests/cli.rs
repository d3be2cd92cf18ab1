//! The binary as a user runs it.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Child, announced, get_json, post_json, repo, serve, serve_in, switchyard};

#[tokio::test]
async fn serve_without_config_runs_the_bundled_example() {
    let (_child, line) = serve(&["serve", "--port", "0"], Stdio::null()).await;
    let base = announced(&line);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let health = get_json(&format!("{base}/health")).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["rules"], 6);
    let order = serde_json::json!({"namespace": "ecommerce", "tenant": "acme-store", "provider": "payment-gateway",
        "action_type": "place_order", "payload": {"total_cents": 100, "shipping_country": "NK"}});
    let outcome = post_json(&format!("{base}/v1/dispatch"), &order).await;
    assert_eq!(
        outcome,
        serde_json::json!({"Suppressed": {"rule": "deny-sanctioned-regions"}})
    );
}

#[test]
fn rules_check_reports_the_location_of_an_error() {
    let ok = switchyard()
        .args([
            "rules",
            "check",
            &repo("rules/ecommerce"),
            "--config",
            &repo("rules/ecommerce/gateway.toml"),
        ])
        .output()
        .expect("run");
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("6 rules OK"));

    let dir = std::env::temp_dir().join(format!("switchyard-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.yml"), "rules:\n  - name: r\n    condition:\n      field: action.payload.x\n      gte: [1]\n    action:\n      type: allow\n").expect("write");
    let bad = switchyard()
        .args(["rules", "check"])
        .arg(&dir)
        .output()
        .expect("run");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.yml:5:12: rule 'r': `gte` compares with a number or a string"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A reader that stops early (`rules check DIR | head`) ends the output,
/// not the command: exit 0 and no panic about a broken pipe.
#[test]
fn rules_check_into_a_closed_pipe_exits_cleanly() {
    let mut child = switchyard()
        .args(["rules", "check", &repo("rules/ecommerce")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // Closed before the command has loaded its rules, so its one write fails.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Rule files written for another configuration (providers and chains this
/// machine has never heard of) pass `rules check` alone; with `--config`,
/// the references are checked too and a missing provider is named.
#[test]
fn rules_check_alone_ignores_references_and_with_config_checks_them() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-refs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("alerts.yaml"),
        "rules:\n  - name: page-on-call\n    condition:\n      field: action.payload.severity\n      eq: critical\n    action:\n      type: reroute\n      target_provider: slack\n  - name: escalate\n    condition:\n      field: action.action_type\n      eq: incident\n    action:\n      type: chain\n      chain: incident-escalation\n",
    )
    .expect("write");
    let alone = switchyard()
        .args(["rules", "check"])
        .arg(&dir)
        .output()
        .expect("run");
    assert!(
        alone.status.success(),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
    assert!(String::from_utf8_lossy(&alone.stdout).contains("2 rules OK"));
    let with_config = switchyard()
        .args(["rules", "check"])
        .arg(&dir)
        .args(["--config", &repo("rules/ecommerce/gateway.toml")])
        .output()
        .expect("run");
    assert!(!with_config.status.success());
    let stderr = String::from_utf8_lossy(&with_config.stderr);
    assert!(stderr.contains("no provider named 'slack'"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rules_test_explains_without_side_effects() {
    let run = |at: &str| {
        let out = switchyard()
            .args([
                "rules",
                "test",
                &repo("rules/ecommerce"),
                &repo("rules/ecommerce/samples/standard-order.json"),
            ])
            .args([
                "--config",
                &repo("rules/ecommerce/gateway.toml"),
                "--at",
                at,
                "--json",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let noon = run("2026-01-05T17:00:00Z");
    assert_eq!(noon["matched_rule"], "dedup-double-submit");
    assert_eq!(noon["verdict"], "deduplicate");
    let evening = run("2026-01-06T01:00:00Z");
    assert_eq!(evening["matched_rule"], "schedule-after-hours");
    assert!(
        evening["outcome"]
            .as_str()
            .expect("text")
            .starts_with("Scheduled")
    );
}

#[test]
fn serve_refuses_a_public_address_without_auth() {
    let output = switchyard()
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!output.status.success(), "must not start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0") && stderr.contains("--allow-anonymous"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "never printed a listening address"
    );
}

#[tokio::test]
async fn allow_anonymous_serves_a_public_address_with_a_warning() {
    let (mut child, line) = serve(
        &[
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--allow-anonymous",
        ],
        Stdio::piped(),
    )
    .await;
    assert!(line.starts_with("Listening on http://0.0.0.0:"), "{line}");
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(stderr.contains("WITHOUT authentication"), "{stderr}");
}

/// The local worker runs the reaper's pass: an open breaker whose recovery
/// timeout has passed turns half-open with no request arriving, as the
/// `reaper` function does on Lambda (here with retention switched off).
#[tokio::test]
async fn the_local_worker_recovers_open_breakers() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-breaker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        r#"
[executor]
max_retries = 0
timeout_seconds = 1

[[providers]]
name = "down"
type = "webhook"
url = "http://127.0.0.1:9/hook"

[circuit_breaker]
enabled = true
failure_threshold = 1
recovery_timeout_seconds = 1

[background]
enabled = true
enable_retention_reaper = false
retention_check_interval_seconds = 1
"#,
    )
    .expect("write");
    let config = config.to_string_lossy().to_string();
    let (_child, line) = serve(
        &["serve", "--port", "0", "--config", &config],
        Stdio::null(),
    )
    .await;
    let base = announced(&line);
    let state = || async {
        get_json(&format!("{base}/v1/circuit-breakers")).await["circuit_breakers"][0]["state"]
            .clone()
    };
    let outcome = post_json(
        &format!("{base}/v1/dispatch"),
        &serde_json::json!({"namespace": "n", "tenant": "t", "provider": "down", "action_type": "x", "payload": {}}),
    )
    .await;
    assert!(outcome.get("Failed").is_some(), "{outcome}");
    assert_eq!(state().await, "open");
    let mut seen = state().await;
    for _ in 0..40 {
        if seen == "half_open" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        seen = state().await;
    }
    assert_eq!(
        seen, "half_open",
        "recovered by the worker, no request needed"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A rules directory that yields no rule is said loudly at start: an empty
/// rule set allows everything, including what deny rules were meant to stop.
#[tokio::test]
async fn an_empty_rule_set_is_a_loud_warning_at_start() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-norules-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rules")).expect("dir");
    let config = dir.join("gateway.toml");
    std::fs::write(&config, "[rules]\ndirectory = \"rules\"\n").expect("write");
    let config = config.to_string_lossy().to_string();
    let (child, _line) = serve(
        &["serve", "--port", "0", "--config", &config],
        Stdio::piped(),
    )
    .await;
    let stderr = stderr_of(child);
    assert!(stderr.contains("NO RULES LOADED"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The stderr of a server that has been stopped.
fn stderr_of(mut child: Child) -> String {
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    stderr
}

/// An Acteon user's repository: its `acteon.toml` names the rules folder
/// relative to the repository root, where Acteon's guide starts the server.
/// Started the same way, Switchyard loads the same rules and says how it
/// found them; the same file with PostgreSQL state fails naming each
/// setting it cannot honour.
#[tokio::test]
async fn an_acteon_config_run_from_the_repository_root_loads_its_rules() {
    let root = std::env::temp_dir().join(format!("switchyard-acteon-user-{}", std::process::id()));
    let example = root.join("examples/ecommerce-order-pipeline");
    std::fs::create_dir_all(example.join("rules")).expect("dirs");
    for file in ["fraud.yaml", "processing.yaml", "safety.yaml"] {
        std::fs::copy(
            repo(&format!("rules/ecommerce/{file}")),
            example.join("rules").join(file),
        )
        .expect("copy rules");
    }
    let fixture =
        std::fs::read_to_string(repo("tests/fixtures/acteon/acteon.toml")).expect("fixture");
    std::fs::write(example.join("acteon.toml"), &fixture).expect("config");
    let config = "examples/ecommerce-order-pipeline/acteon.toml";
    let (child, line) = serve_in(
        &root,
        &["serve", "--port", "0", "-c", config],
        Stdio::piped(),
    )
    .await;
    let health = get_json(&format!("{}/health", announced(&line))).await;
    assert_eq!(health["rules"], 6, "{health}");
    let stderr = stderr_of(child);
    assert!(
        stderr.contains("relative to the working directory"),
        "{stderr}"
    );

    let redis = fixture.replace(
        "backend = \"memory\"",
        "backend = \"redis\"\nurl = \"redis://localhost:6379\"\n[telemetry]\nenabled = true",
    );
    std::fs::write(example.join("acteon.toml"), redis).expect("config");
    let output = switchyard()
        .args(["serve", "--port", "0", "-c", config])
        .current_dir(&root)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("2 setting(s) Switchyard does not support"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown variant `redis`"), "{stderr}");
    assert!(stderr.contains("unknown field `telemetry`"), "{stderr}");
    std::fs::remove_dir_all(&root).ok();
}

/// `[rules] watch` (on by default, as in Acteon): a rule file added to the
/// folder is served within a few seconds; a broken one keeps the rules that
/// serve.
#[tokio::test]
async fn rule_files_are_watched() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-watch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rules")).expect("dir");
    let rule = |name: &str| {
        format!(
            "rules:\n  - name: {name}\n    condition:\n      field: action.action_type\n      eq: {name}\n    action: {{type: deny}}\n"
        )
    };
    std::fs::write(dir.join("rules/a.yaml"), rule("a")).expect("write");
    let config = dir.join("gateway.toml");
    std::fs::write(&config, "[rules]\ndirectory = \"rules\"\n").expect("write");
    let config = config.to_string_lossy().to_string();
    let (child, line) = serve(
        &["serve", "--port", "0", "--config", &config],
        Stdio::piped(),
    )
    .await;
    let base = announced(&line);
    let rules_served = || async { get_json(&format!("{base}/health")).await["rules"].clone() };
    assert_eq!(rules_served().await, 1);
    std::fs::write(dir.join("rules/b.yaml"), rule("b")).expect("write");
    let mut served = serde_json::Value::Null;
    for _ in 0..100 {
        served = rules_served().await;
        if served == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served, 2, "the new file is served");
    std::fs::write(dir.join("rules/c.yaml"), "rules: [oops").expect("write");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rules_served().await, 2, "a broken file keeps the rules");
    let stderr = stderr_of(child);
    assert!(stderr.contains("do not load"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
