//! The synthetic workload: tenants drawn from a Zipf distribution, each
//! action deduplicated, a share of them starting a 4-step chain, all run
//! through the real gateway on in-memory ports wrapped by the recorders.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use switchyard_assembly::MemoryPorts;
use switchyard_core::{Action, ManualClock};
use switchyard_gateway::{DispatchOptions, Gateway};

use crate::recording::{Layout, RecordingAudit, RecordingState};
use crate::tally::Tally;

/// Every action is deduplicated (the gate's claim); `place_order` starts
/// the `fulfil` chain when executed.
const RULES: &str = r#"
rules:
  - name: dedup-every-action
    priority: 10
    condition:
      field: action.action_type
      in_list: ["notify", "place_order"]
    action:
      type: deduplicate
      ttl_seconds: 300
"#;

const CONFIG: &str = r#"
[[providers]]
name = "log"
type = "log"

[chains]
completed_chain_ttl_seconds = 3600

[[chains.on_executed]]
action_type = "place_order"
chain = "fulfil"

[[chains.definitions]]
name = "fulfil"
timeout_seconds = 600

[[chains.definitions.steps]]
name = "validate"
provider = "log"
action_type = "validate_order"
payload_template = { order_id = "{{origin.payload.order_id}}" }

[[chains.definitions.steps]]
name = "charge"
provider = "log"
action_type = "charge_card"
payload_template = { order_id = "{{origin.payload.order_id}}" }

[[chains.definitions.steps]]
name = "fulfil"
provider = "log"
action_type = "ship_order"
payload_template = { order_id = "{{origin.payload.order_id}}" }

[[chains.definitions.steps]]
name = "notify"
provider = "log"
action_type = "order_confirmation"
payload_template = { order_id = "{{origin.payload.order_id}}" }
"#;

#[derive(Debug, Clone)]
pub struct Workload {
    pub dispatches: usize,
    /// How many tenants; 1 puts every action on one tenant.
    pub tenants: usize,
    /// Zipf exponent of the tenants' shares (tenant k gets ∝ 1/k^s).
    pub zipf_s: f64,
    /// Share of actions that start a 4-step chain.
    pub chain_share: f64,
    pub seed: u64,
}

/// Draws tenant ranks 1..=n with probability ∝ 1/k^s.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        Self {
            cumulative: cumulative.iter().map(|c| c / total).collect(),
        }
    }

    /// A rank, 0-based.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cumulative
            .partition_point(|c| *c < u)
            .min(self.cumulative.len() - 1)
    }
}

/// What a run saw: the tally and how many actions and chain steps ran.
pub struct Run {
    pub tally: Arc<Tally>,
    pub dispatches: usize,
    pub chains_started: u64,
    pub chains_completed: u64,
    pub executed: u64,
    pub deferred_handled: usize,
}

/// How many dispatches are in flight at once.
const CONCURRENCY: usize = 256;

pub async fn run(workload: &Workload, layouts: &[Layout]) -> anyhow::Result<Run> {
    let start: DateTime<Utc> = "2026-01-05T17:00:00Z".parse()?;
    let clock = Arc::new(ManualClock::new(start));
    let mut memory = MemoryPorts::new(clock.clone(), 10_000);
    let tally = Arc::new(Tally::default());
    memory.ports.state = Arc::new(RecordingState {
        inner: memory.ports.state.clone(),
        tally: tally.clone(),
        layouts: layouts.to_vec(),
    });
    memory.ports.audit = Arc::new(RecordingAudit {
        inner: memory.ports.audit.clone(),
        tally: tally.clone(),
        layouts: layouts.to_vec(),
    });
    let config = switchyard_config::Config::parse("keys.toml", CONFIG)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rules =
        switchyard_rules::load_str("keys.yaml", RULES).map_err(|e| anyhow::anyhow!("{e}"))?;
    let gateway = switchyard_assembly::build_gateway(config, memory.ports.clone(), Some(rules))
        .map_err(anyhow::Error::msg)?;
    let zipf = Zipf::new(workload.tenants, workload.zipf_s);
    let mut rng = StdRng::seed_from_u64(workload.seed);
    let mut deferred_handled = 0;
    let mut sent = 0;
    while sent < workload.dispatches {
        let batch = CONCURRENCY.min(workload.dispatches - sent);
        let actions: Vec<Action> = (0..batch)
            .map(|i| synthetic_action(&zipf, &mut rng, workload.chain_share, sent + i))
            .collect();
        let outcomes = futures_util::future::join_all(
            actions
                .into_iter()
                .map(|action| gateway.dispatch(action, DispatchOptions::default())),
        )
        .await;
        for outcome in outcomes {
            outcome.map_err(|e| anyhow::anyhow!("dispatch failed: {e}"))?;
        }
        sent += batch;
        deferred_handled += drain(&gateway, &memory, &clock).await;
    }
    Ok(Run {
        tally,
        dispatches: workload.dispatches,
        chains_started: gateway.metrics().chains_created,
        chains_completed: gateway.metrics().chains_completed,
        executed: gateway.metrics().executed,
        deferred_handled,
    })
}

/// Run every chain step that is due, moving the clock past step delays.
async fn drain(gateway: &Gateway, memory: &MemoryPorts, clock: &ManualClock) -> usize {
    let mut handled = 0;
    for _ in 0..16 {
        let n = gateway.process_due(&memory.queue).await;
        handled += n;
        if n == 0 {
            break;
        }
        clock.advance(chrono::Duration::milliseconds(100));
    }
    handled
}

fn synthetic_action(zipf: &Zipf, rng: &mut StdRng, chain_share: f64, n: usize) -> Action {
    let tenant = format!("tenant-{:04}", zipf.sample(rng));
    let order = rng.random::<f64>() < chain_share;
    let (provider, action_type) = if order {
        ("log", "place_order")
    } else {
        ("log", "notify")
    };
    let mut action = Action::builder(
        "shop",
        tenant,
        provider,
        action_type,
        json!({"order_id": format!("o-{n}"), "total_cents": 2_599, "customer": "c@example.com"}),
    );
    action.dedup_key = Some(format!("req-{n}"));
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_low_ranks_and_covers_the_range() {
        let zipf = Zipf::new(1_000, 1.1);
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = vec![0usize; 1_000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // Rank 1 takes about 1/H(1000, 1.1) ≈ 16% of the draws.
        assert!((13_000..19_000).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[0] > counts[1] && counts[1] > counts[9]);
        assert!(counts[900..].iter().sum::<usize>() > 0);
        let single = Zipf::new(1, 1.1);
        assert_eq!(single.sample(&mut rng), 0);
    }
}
