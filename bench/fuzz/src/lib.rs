//! A fuzz and property harness that runs on stable Rust: no nightly, no
//! libFuzzer. Each target draws inputs from a seeded generator (mutations of
//! valid inputs and small grammars), catches panics, and checks a contract;
//! a failing case is reported with its seed so it can be replayed.

pub mod inputs;
pub mod router;
pub mod targets;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub const TARGETS: &[&str] = &[
    "rule_loader",
    "conditions",
    "templates",
    "cron_and_zones",
    "router",
];

/// What a target's run found.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub cases: u64,
    pub panics: u64,
    /// Broken contracts (5xx, non-JSON errors, disagreeing evaluations…), first few kept.
    pub failures: u64,
    pub examples: Vec<String>,
    /// Router only: answers refused with a 4xx (the error paths were reached).
    pub rejected: u64,
    pub elapsed: Duration,
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run `cases` cases of `target`; case `i` draws from the seed `seed + i`,
/// so any case replays alone.
pub async fn run(target: &'static str, cases: u64, seed: u64) -> anyhow::Result<Report> {
    let app = if target == "router" {
        Some(router::app()?)
    } else {
        None
    };
    let mut report = Report {
        target,
        cases: 0,
        panics: 0,
        failures: 0,
        examples: Vec::new(),
        rejected: 0,
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    for i in 0..cases {
        let case_seed = seed.wrapping_add(i);
        let mut rng = StdRng::seed_from_u64(case_seed);
        let outcome = match (target, &app) {
            ("router", Some(app)) => AssertUnwindSafe(router::request(app, &mut rng))
                .catch_unwind()
                .await
                .map(|answer| {
                    answer.map(|status| {
                        if (400..500).contains(&status) {
                            report.rejected += 1;
                        }
                    })
                }),
            _ => std::panic::catch_unwind(AssertUnwindSafe(|| match target {
                "rule_loader" => targets::rule_loader(&mut rng),
                "conditions" => targets::conditions(&mut rng),
                "templates" => targets::templates(&mut rng),
                "cron_and_zones" => targets::cron_and_zones(&mut rng),
                other => Err(format!("unknown target {other}")),
            })),
        };
        report.cases += 1;
        let problem = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(broken)) => {
                report.failures += 1;
                broken
            }
            Err(panic) => {
                report.panics += 1;
                format!("panic: {}", panic_text(panic.as_ref()))
            }
        };
        if report.examples.len() < 5 {
            report.examples.push(format!(
                "seed {case_seed}: {}",
                problem.chars().take(600).collect::<String>()
            ));
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
