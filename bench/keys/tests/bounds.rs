//! The scale bounds at a CI-sized run: with the default shard counts no
//! partition key of the state table or of any audit index passes
//! DynamoDB's per-partition ceilings in either scenario, while the layout
//! before sharding does (so the simulator does see hot keys).

use switchyard_keys::{Layout, Scenario, Workload, report};
use switchyard_store_dynamodb::{DEFAULT_AUDIT_SHARDS, DEFAULT_STATE_SHARDS};

fn scenario(tenants: usize, rate: f64) -> Scenario {
    Scenario {
        title: format!("{tenants} tenants at {rate}/s"),
        workload: Workload {
            dispatches: 10_000,
            tenants,
            zipf_s: 1.1,
            chain_share: 0.1,
            seed: 7,
        },
        rate,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_keys_stay_under_partition_ceilings() {
    for (tenants, rate) in [(1_000, 10_000.0), (1, 3_000.0)] {
        let layouts = Layout::before_and_after(DEFAULT_STATE_SHARDS, DEFAULT_AUDIT_SHARDS);
        let report = report(scenario(tenants, rate), &layouts)
            .await
            .expect("simulation");
        assert_eq!(report.run.executed, 10_000, "every synthetic action ran");
        assert!(
            report.run.chains_started > 800
                && report.run.chains_completed == report.run.chains_started,
            "a tenth of the actions start a chain and every chain ends: {} / {}",
            report.run.chains_started,
            report.run.chains_completed
        );
        let over = report.over_ceiling("sharded");
        assert!(
            over.is_empty(),
            "{tenants} tenants at {rate}/s: {over:?}\n{}",
            report.markdown()
        );
        let before: Vec<&str> = report
            .over_ceiling("unsharded")
            .iter()
            .map(|(index, _, _)| *index)
            .collect();
        for hot in ["state", "by_time", "by_tenant"] {
            assert!(
                before.contains(&hot),
                "the unsharded {hot} is a hot key at {rate}/s: {before:?}"
            );
        }
    }
}
