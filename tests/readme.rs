//! README.md's curl examples, run as written (by bash and curl) against the
//! e-commerce example at a fixed clock, so the documentation cannot drift
//! from the binary: every example answers 2xx, and an example followed by a
//! `# → <json>` line answers exactly that JSON. The prose claims next to the
//! first example (the same again, a sanctioned country, a large order) are
//! run too, by editing that example's body as the prose says.

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard_tests::{TestServer, at, repo_path, start_ecommerce};

const MONDAY_NOON_ET: &str = "2026-01-05T17:00:00Z";

/// One example: a complete shell command and what the README says it answers.
#[derive(Debug, Clone)]
struct Example {
    line: usize,
    command: String,
    expected: Option<Value>,
}

/// Is `text` a complete shell command (no open quote or continuation)?
fn complete(text: &str) -> bool {
    !text.trim_end().ends_with('\\')
        && std::process::Command::new("bash")
            .args(["-n", "-c", text])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Every curl command of the README's ```bash blocks, joined across lines.
fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_bash = false;
    let mut pending: Option<Example> = None;
    for (index, line) in readme.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_bash = !in_bash && trimmed == "```bash";
            continue;
        }
        if !in_bash {
            continue;
        }
        if let Some(mut example) = pending.take() {
            example.command.push('\n');
            example.command.push_str(line);
            if complete(&example.command) {
                out.push(example);
            } else {
                pending = Some(example);
            }
            continue;
        }
        if let Some(json) = trimmed.strip_prefix("# → ") {
            let last = out.last_mut().expect("a `# →` line follows an example");
            last.expected = Some(
                serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("README.md:{}: `# →` is not JSON: {e}", index + 1)),
            );
            continue;
        }
        if trimmed.starts_with("curl ") {
            let example = Example {
                line: index + 1,
                command: line.to_string(),
                expected: None,
            };
            if complete(&example.command) {
                out.push(example);
            } else {
                pending = Some(example);
            }
        }
    }
    assert!(pending.is_none(), "an unterminated example: {pending:?}");
    out
}

/// Statuses and bodies of one command's curl calls.
struct Ran {
    statuses: Vec<u16>,
    bodies: Vec<String>,
}

const MARK: &str = "@@STATUS ";

/// Run `command` with bash in the repository root, `localhost:8080` (and the
/// configured `127.0.0.1:8080` of approval links) meaning the test server; each curl call reports its status after its body.
async fn run(server: &TestServer, command: &str) -> Ran {
    let host = server.base.trim_start_matches("http://");
    let script = format!(
        "curl() {{ command curl --max-time 3 -w '\\n{MARK}%{{http_code}}\\n' \"$@\"; }}\n{}",
        command
            .replace("localhost:8080", host)
            .replace("127.0.0.1:8080", host)
    );
    let output = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(repo_path(""))
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut ran = Ran {
        statuses: Vec::new(),
        bodies: Vec::new(),
    };
    let mut body = String::new();
    for line in stdout.lines() {
        match line.strip_prefix(MARK) {
            Some(code) => {
                ran.statuses.push(code.trim().parse().unwrap_or(0));
                ran.bodies.push(std::mem::take(&mut body));
            }
            None => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    ran
}

fn json(body: &str) -> Value {
    serde_json::from_str(body.trim()).unwrap_or(Value::Null)
}

/// The placeholders an example may use, filled from earlier answers.
fn placeholder(command: &str) -> Option<String> {
    let start = command.find('<')?;
    let end = command[start..].find('>')?;
    Some(command[start..start + end + 1].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_curl_examples_run_as_written() {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README.md");
    let all = examples(&readme);
    let server = start_ecommerce(at(MONDAY_NOON_ET)).await;
    let mut filled: BTreeMap<String, String> = BTreeMap::new();
    let mut ran_count = 0;
    let mut not_run = Vec::new();
    let mut first_dispatch: Option<Example> = None;
    for example in &all {
        let mut command = example.command.clone();
        // Examples for a server with authentication on need its keys.
        if ["$KEY", "$ADMIN_KEY", "$TOKEN", "/v1/auth/"]
            .iter()
            .any(|needs_auth| command.contains(needs_auth))
        {
            not_run.push(format!("README.md:{} (needs auth keys)", example.line));
            continue;
        }
        while let Some(name) = placeholder(&command) {
            match filled.get(&name) {
                Some(value) => command = command.replace(&name, value),
                None => break,
            }
        }
        if let Some(name) = placeholder(&command) {
            not_run.push(format!("README.md:{} ({name})", example.line));
            continue;
        }
        let ran = run(&server, &command).await;
        ran_count += 1;
        assert!(
            !ran.statuses.is_empty(),
            "README.md:{}: no answer: {command}",
            example.line
        );
        for (status, body) in ran.statuses.iter().zip(&ran.bodies) {
            assert!(
                (200..300).contains(status),
                "README.md:{}: {status} {body}\n{command}",
                example.line
            );
        }
        if let Some(expected) = &example.expected {
            assert_eq!(
                &json(&ran.bodies[0]),
                expected,
                "README.md:{}: the answer differs from the documented one",
                example.line
            );
        }
        let body = json(ran.bodies.last().map_or("", String::as_str));
        if command.contains("/v1/recurring") && body["id"].is_string() {
            filled.insert("<id>".into(), body["id"].as_str().unwrap_or("").to_string());
        }
        if first_dispatch.is_none() && command.contains("/v1/dispatch -H") {
            first_dispatch = Some(Example {
                command: command.clone(),
                ..example.clone()
            });
            // The prose beside it: the same again, a sanctioned country, a large order.
            let again = run(&server, &command).await;
            assert_eq!(json(&again.bodies[0]), "Deduplicated", "the same again");
            let nk = command
                .replace("\"US\"", "\"NK\"")
                .replace("order-1001", "order-nk");
            let suppressed = json(&run(&server, &nk).await.bodies[0]);
            assert_eq!(
                suppressed,
                serde_json::json!({"Suppressed": {"rule": "deny-sanctioned-regions"}})
            );
            let large = command
                .replace("4999", "75000")
                .replace("order-1001", "order-large")
                .replace("act-1001", "act-large");
            let pending = json(&run(&server, &large).await.bodies[0]);
            let approve = pending["PendingApproval"]["approve_url"]
                .as_str()
                .unwrap_or_else(|| panic!("a large order waits for approval: {pending}"));
            filled.insert("<approve_url from the outcome>".into(), approve.to_string());
        }
    }
    assert!(
        first_dispatch.is_some(),
        "the README's first dispatch example ran"
    );
    // Run as written: everything except what needs keys or a value only a
    // live system has (a group's key).
    assert!(ran_count >= 24, "only {ran_count} examples ran");
    for skipped in &not_run {
        assert!(
            skipped.contains("auth keys") || skipped.contains("<group key>"),
            "an example was not run: {skipped}"
        );
    }
    eprintln!(
        "{ran_count} README examples ran; not run: {}",
        not_run.join(", ")
    );
}

/// Every repository path README names (`shared/…`, `functions/…`,
/// `infra/…`, `tests/…`, `bench/…`) exists: the architecture map and the
/// prose never point at a file that moved.
#[test]
fn readme_paths_exist() {
    let readme = std::fs::read_to_string(switchyard_tests::repo_path("README.md")).expect("README");
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, quoted) in readme.split('`').enumerate() {
        // Odd pieces are inside backticks.
        if i % 2 == 0 || quoted.contains(['*', ' ', '<', '{']) {
            continue;
        }
        let roots = ["shared/", "functions/", "infra/", "tests/", "bench/"];
        if !roots.iter().any(|root| quoted.starts_with(root)) {
            continue;
        }
        let path = quoted
            .split([':', '#'])
            .next()
            .unwrap_or(quoted)
            .trim_end_matches('/');
        checked += 1;
        if !switchyard_tests::repo_path(path).exists() {
            missing.push(path.to_string());
        }
    }
    assert!(checked > 40, "README names only {checked} paths");
    assert!(
        missing.is_empty(),
        "README names paths that do not exist: {missing:?}"
    );
}
