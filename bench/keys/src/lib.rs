//! Key-distribution simulator. Synthetic dispatches and chains go through
//! the real gateway on in-memory ports; every store call is also keyed by
//! the DynamoDB adapter's own key builders, for the layout before sharding
//! and the sharded one, so the report shows the busiest partition key of
//! the state table and of each audit index at a given request rate.

pub mod recording;
pub mod tally;
pub mod workload;

pub use recording::Layout;
pub use tally::Hottest;
pub use workload::{Run, Workload, run};

/// DynamoDB's per-partition ceilings (units a second).
pub const PARTITION_WRITE_UNITS: f64 = 1_000.0;
pub const PARTITION_READ_UNITS: f64 = 3_000.0;

/// One scenario of the report: a workload at a rate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub title: String,
    pub workload: Workload,
    /// Dispatches a second the figures are scaled to.
    pub rate: f64,
}

/// A scenario's busiest keys, per layout and index, with the verdict.
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub run: Run,
    pub writes: Vec<Hottest>,
    pub reads: Vec<Hottest>,
}

impl ScenarioReport {
    /// Indexes of `layout` whose busiest key passes a partition's ceiling
    /// at the scenario's rate: (index, write units/s, read units/s).
    pub fn over_ceiling(&self, layout: &str) -> Vec<(&'static str, f64, f64)> {
        let rate = self.scenario.rate;
        let n = self.run.dispatches;
        let mut over = Vec::new();
        for hot in self.writes.iter().filter(|h| h.layout == layout) {
            let w = hot.per_second(n, rate);
            if w > PARTITION_WRITE_UNITS {
                over.push((hot.index, w, 0.0));
            }
        }
        for hot in self.reads.iter().filter(|h| h.layout == layout) {
            let r = hot.per_second(n, rate);
            if r > PARTITION_READ_UNITS {
                over.push((hot.index, 0.0, r));
            }
        }
        over
    }

    /// The scenario as a Markdown table.
    pub fn markdown(&self) -> String {
        let rate = self.scenario.rate;
        let n = self.run.dispatches;
        let mut out = format!(
            "### {}\n\n{} dispatches ({} executed, {} chains started, {} completed, {} chain steps and other deferred work), scaled to {} dispatches/s.\n\n",
            self.scenario.title,
            n,
            self.run.executed,
            self.run.chains_started,
            self.run.chains_completed,
            self.run.deferred_handled,
            rate
        );
        out.push_str("| layout | table / index | partition keys | busiest key | its share | its write units/s | its read units/s | verdict |\n|---|---|---|---|---|---|---|---|\n");
        for hot in &self.writes {
            let reads = self
                .reads
                .iter()
                .find(|r| r.layout == hot.layout && r.index == hot.index)
                .map_or(0.0, |r| r.per_second(n, rate));
            let writes = hot.per_second(n, rate);
            let verdict = if writes <= PARTITION_WRITE_UNITS && reads <= PARTITION_READ_UNITS {
                "PASS"
            } else {
                "MISS"
            };
            out.push_str(&format!(
                "| {} | {} | {} | `{}` | {:.2}% | {:.0} | {:.0} | {} |\n",
                hot.layout,
                hot.index,
                hot.partition_keys,
                printable(&hot.busiest_key),
                hot.share() * 100.0,
                writes,
                reads,
                verdict
            ));
        }
        out
    }
}

/// A key for a table cell: the unit separator shown as `/`, long ids cut.
fn printable(key: &str) -> String {
    let shown: String = key.replace('\u{1f}', "/").chars().take(40).collect();
    shown.replace('|', "\\|")
}

/// Run a scenario under each layout at once.
pub async fn report(scenario: Scenario, layouts: &[Layout]) -> anyhow::Result<ScenarioReport> {
    let run = run(&scenario.workload, layouts).await?;
    let writes = run.tally.hottest_writes();
    let reads = run.tally.hottest_reads();
    Ok(ScenarioReport {
        scenario,
        run,
        writes,
        reads,
    })
}
