//! The HTTP crate knows no AWS type: the composition root
//! (`switchyard-assembly`) wires the AWS adapters, so the router builds and
//! its tests compile without any AWS SDK.

use std::process::Command;

#[test]
fn the_http_crate_links_no_aws_sdk() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "switchyard-server",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        tree.lines().any(|l| l.starts_with("switchyard-gateway ")),
        "the tree lists the crate's dependencies:\n{tree}"
    );
    let aws: Vec<&str> = tree
        .lines()
        .filter(|l| {
            // aws-lc-rs is rustls's cryptography, not AWS's SDK.
            ["aws-sdk-", "aws-config ", "aws-smithy-", "aws-types "]
                .iter()
                .chain(&[
                    "switchyard-providers-aws ",
                    "switchyard-store-dynamodb ",
                    "switchyard-queue-aws ",
                ])
                .any(|prefix| l.starts_with(prefix))
        })
        .collect();
    assert!(
        aws.is_empty(),
        "AWS crates under switchyard-server: {aws:?}"
    );
}
