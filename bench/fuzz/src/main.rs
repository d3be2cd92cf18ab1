//! `switchyard-fuzz`: run the targets and print (or write) a report.
//! `bench/fuzz` runs a million cases and puts the figures in BENCHMARKS.md.

use std::io::Write;

use clap::Parser;
use switchyard_fuzz::{Report, TARGETS, run};

#[derive(Parser)]
#[command(
    about = "Fuzz the rule loader, conditions, templates, cron/time zones and the HTTP router"
)]
struct Args {
    /// Cases in total, shared among the targets by weight.
    #[arg(long, default_value_t = 100_000)]
    cases: u64,
    /// First seed (random when absent; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Only this target.
    #[arg(long)]
    target: Option<String>,
    /// Write the Markdown report here.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Share of the cases per target: the router costs the most per case.
fn weight(target: &str) -> u64 {
    match target {
        "router" => 2,
        _ => 2,
    }
}

fn table(reports: &[Report], seed: u64) -> String {
    let mut text = format!(
        "Seed {seed}. Each case draws from `seed + i` and replays alone (`--seed N --cases 1 --target T`).\n\n| target | cases | panics | contract failures | 4xx answers | time | cases/s |\n|---|---:|---:|---:|---:|---:|---:|\n"
    );
    let (mut cases, mut secs) = (0, 0.0);
    for r in reports {
        let s = r.elapsed.as_secs_f64();
        cases += r.cases;
        secs += s;
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} s | {:.0} |\n",
            r.target,
            r.cases,
            r.panics,
            r.failures,
            if r.target == "router" {
                r.rejected.to_string()
            } else {
                "–".into()
            },
            s,
            r.cases as f64 / s.max(1e-9)
        ));
    }
    let panics: u64 = reports.iter().map(|r| r.panics).sum();
    let failures: u64 = reports.iter().map(|r| r.failures).sum();
    text.push_str(&format!(
        "| **total** | **{cases}** | **{panics}** | **{failures}** | | **{secs:.1} s** | |\n"
    ));
    for r in reports {
        for example in &r.examples {
            text.push_str(&format!("\n- `{}` {example}", r.target));
        }
    }
    text
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let targets: Vec<&'static str> = TARGETS
        .iter()
        .copied()
        .filter(|t| args.target.as_deref().is_none_or(|only| only == *t))
        .collect();
    let total_weight: u64 = targets.iter().map(|t| weight(t)).sum::<u64>().max(1);
    let mut reports = Vec::new();
    for target in targets {
        let cases = (args.cases * weight(target) / total_weight).max(1);
        eprintln!("{target}: {cases} cases from seed {seed}");
        reports.push(run(target, cases, seed).await?);
    }
    let text = table(&reports, seed);
    println!("{text}");
    if let Some(out) = args.out {
        std::fs::File::create(&out)?.write_all(text.as_bytes())?;
    }
    let bad: u64 = reports.iter().map(|r| r.panics + r.failures).sum();
    if bad > 0 {
        anyhow::bail!("{bad} failing cases");
    }
    Ok(())
}
