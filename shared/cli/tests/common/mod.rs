//! What the binary's tests share: starting it, reading its address, JSON over HTTP.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn switchyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

pub fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Kills the server even when an assertion fails.
pub struct Child(pub std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `switchyard` with `args`; its first line of output (the address).
pub async fn serve(args: &[&str], stderr: Stdio) -> (Child, String) {
    serve_in(&std::env::temp_dir(), args, stderr).await
}

/// [`serve`] from the working directory `cwd`.
pub async fn serve_in(cwd: &std::path::Path, args: &[&str], stderr: Stdio) -> (Child, String) {
    let mut child = Child(
        switchyard()
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .expect("prints in time")
        .expect("task");
    (child, line)
}

/// The address a server's first line announces.
pub fn announced(line: &str) -> String {
    line.trim()
        .strip_prefix("Listening on ")
        .expect("announces its address")
        .to_string()
}

pub async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url)
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

pub async fn post_json(url: &str, body: &serde_json::Value) -> serde_json::Value {
    reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}
