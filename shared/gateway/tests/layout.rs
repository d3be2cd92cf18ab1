//! The gateway's files import each other without a loop: `gateway.rs` (the
//! `Gateway` struct and its ports) imports only leaf modules (errors,
//! metrics, caches, keys, records, the executor), and every feature module
//! extends `Gateway` with its own `impl` block on top of it.

use std::process::Command;

#[test]
fn no_import_loop_between_gateway_files() {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let output = Command::new("python3")
        .arg(format!("{crate_dir}/../../tests/import_loops.py"))
        .arg(format!("{crate_dir}/src"))
        .output()
        .expect("run tests/import_loops.py");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import loop in shared/gateway/src: {report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("largest loop: 0"), "{report}");
}
