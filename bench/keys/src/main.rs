//! `switchyard-keys`: run the key-distribution scenarios of the scale issue
//! and print the report (Markdown) that `bench/keys-run` puts in
//! BENCHMARKS.md.

use clap::Parser;
use switchyard_keys::{Layout, Scenario, Workload, report};
use switchyard_store_dynamodb::{DEFAULT_AUDIT_SHARDS, DEFAULT_STATE_SHARDS};

#[derive(Parser)]
struct Args {
    /// Synthetic dispatches per scenario.
    #[arg(long, default_value_t = 1_000_000)]
    dispatches: usize,
    /// Share of actions that start a 4-step chain.
    #[arg(long, default_value_t = 0.1)]
    chain_share: f64,
    #[arg(long, default_value_t = DEFAULT_STATE_SHARDS)]
    state_shards: u32,
    #[arg(long, default_value_t = DEFAULT_AUDIT_SHARDS)]
    audit_shards: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let layouts = Layout::before_and_after(args.state_shards, args.audit_shards);
    let scenarios = [
        Scenario {
            title: "1,000 tenants (Zipf s = 1.1) at 10,000 dispatches/s".into(),
            workload: Workload {
                dispatches: args.dispatches,
                tenants: 1_000,
                zipf_s: 1.1,
                chain_share: args.chain_share,
                seed: args.seed,
            },
            rate: 10_000.0,
        },
        Scenario {
            title: "One tenant at 3,000 dispatches/s".into(),
            workload: Workload {
                dispatches: args.dispatches,
                tenants: 1,
                zipf_s: 1.1,
                chain_share: args.chain_share,
                seed: args.seed,
            },
            rate: 3_000.0,
        },
    ];
    println!(
        "## Key distribution (`bench/keys`, {} dispatches per scenario)\n\nEvery store call of the real gateway (in-memory ports) keyed by the DynamoDB adapter's own key builders (`shared/store-dynamodb/src/layout.rs`), for the layout before sharding (`unsharded`: one partition per tenant, one audit feed) and the sharded one ({} state shards, {} audit shards). Every action is deduplicated; {:.0}% start a 4-step chain. Units: 1 write unit per KB (2 in a transaction), 1 strongly consistent read unit per 4 KB. Target: no partition key over 1,000 write units/s or 3,000 read units/s.\n",
        args.dispatches,
        args.state_shards,
        args.audit_shards,
        args.chain_share * 100.0
    );
    for scenario in scenarios {
        let report = report(scenario, &layouts).await?;
        println!("{}", report.markdown());
    }
    Ok(())
}
