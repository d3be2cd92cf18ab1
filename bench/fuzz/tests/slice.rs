//! The CI slice of the fuzz harness: every target, a fixed seed (so a red
//! CI run is reproducible and never random), a few thousand cases. The full
//! run (`bench/fuzz-run`, a million cases from a random seed) is in
//! BENCHMARKS.md.

use switchyard_fuzz::{TARGETS, run};

const SEED: u64 = 20_261_203;

#[tokio::test]
async fn every_target_holds_its_contract_on_a_slice() {
    for target in TARGETS {
        let report = run(target, 2_000, SEED).await.expect("target runs");
        assert_eq!(report.cases, 2_000);
        assert_eq!(
            (report.panics, report.failures),
            (0, 0),
            "{target}: {:#?}",
            report.examples
        );
        if *target == "router" {
            assert!(
                report.rejected > 100,
                "the router slice reaches the error paths ({} 4xx)",
                report.rejected
            );
        }
    }
}
