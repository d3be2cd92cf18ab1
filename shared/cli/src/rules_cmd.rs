use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use switchyard_assembly::MemoryPorts;
use switchyard_config::Config;
use switchyard_core::{Action, ManualClock};
use switchyard_rules::{EvaluationMode, RuleSet};

/// Load a directory. With a configuration, the rules are loaded into a
/// throwaway gateway, which checks every provider and chain they name exactly
/// as `serve` would. Without one, the rules alone are checked (syntax,
/// operators, names, time zones): they may well be meant for a configuration
/// that names providers this machine has never seen.
fn load(
    dir: &Path,
    config_path: Option<&Path>,
    timezone: Option<&str>,
) -> anyhow::Result<(Arc<RuleSet>, Config)> {
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(tz) = timezone {
        switchyard_rules::parse_timezone(tz).map_err(anyhow::Error::msg)?;
        config.rules.default_timezone = Some(tz.to_string());
    }
    let rules = switchyard_rules::load_dir(dir)?;
    if config_path.is_none() {
        let zone = match &config.rules.default_timezone {
            Some(tz) => switchyard_rules::parse_timezone(tz).map_err(anyhow::Error::msg)?,
            None => chrono_tz::UTC,
        };
        return Ok((Arc::new(RuleSet::new(rules, zone)?), config));
    }
    let memory = MemoryPorts::new(Arc::new(ManualClock::new(chrono::Utc::now())), 1);
    let gateway = switchyard_assembly::build_gateway(config.clone(), memory.ports, Some(rules))
        .map_err(anyhow::Error::msg)?;
    Ok((gateway.rules(), config))
}

/// Print what a command built. A reader that went away (`| head`) is not
/// an error: the command did its work.
fn emit(out: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

pub fn check(dir: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let (set, _) = load(dir, config, None)?;
    let mut out = String::new();
    writeln!(out, "{}: {} rules OK", dir.display(), set.len())?;
    for rule in set.rules() {
        writeln!(
            out,
            "  {:>5}  {:<32} {:<17} {}",
            rule.priority,
            rule.name,
            rule.action.type_name(),
            if rule.is_enabled() { "" } else { "(disabled)" }
        )?;
    }
    emit(&out)
}

/// Write `dir`'s compiled rule artifact (checked to load back as the YAML
/// compiles); the YAML stays the source, and an artifact that no longer
/// matches it is ignored at start-up with a warning.
pub fn compile(dir: &Path) -> anyhow::Result<()> {
    let (sources, _) = switchyard_rules::read_dir(dir)?;
    anyhow::ensure!(
        !sources.is_empty(),
        "{}: no rule files (*.yaml, *.yml) to compile",
        dir.display()
    );
    let (rules, artifact) = switchyard_rules::compile_artifact(&sources)?;
    let path = dir.join(switchyard_rules::ARTIFACT_FILE);
    // Written whole, then renamed: a reader never sees half an artifact.
    let partial = dir.join(format!(".{}.partial", switchyard_rules::ARTIFACT_FILE));
    std::fs::write(&partial, &artifact).with_context(|| format!("write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("write {}", path.display()))?;
    emit(&format!(
        "{}: {} rules from {} files compiled ({} bytes)\n",
        path.display(),
        rules.len(),
        sources.len(),
        artifact.len()
    ))
}

pub struct TestArgs<'a> {
    pub dir: &'a Path,
    pub action: &'a Path,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub timezone: Option<&'a str>,
    pub config: Option<&'a Path>,
    pub mode: Option<EvaluationMode>,
    pub json: bool,
    pub evaluate_all: bool,
}

pub fn test(args: TestArgs<'_>) -> anyhow::Result<()> {
    let (set, config) = load(args.dir, args.config, args.timezone)?;
    let text = std::fs::read_to_string(args.action)
        .with_context(|| format!("cannot read {}", args.action.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", args.action.display()))?;
    let now = args.at.unwrap_or_else(chrono::Utc::now);
    let action = Action::from_json(value, now)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.action.display()))?;
    let mode = args.mode.unwrap_or(config.rules.evaluation);
    let explanation = switchyard_gateway::explain::explain(
        &set,
        (mode, config.rules.on_type_error),
        action,
        now,
        switchyard_gateway::rule_trace::TraceOptions {
            include_disabled: false,
            evaluate_all: args.evaluate_all,
        },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.action.display()))?;
    let mut out = String::new();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&explanation)?)?;
        return emit(&out);
    }
    writeln!(
        out,
        "evaluated at:  {} ({})",
        now.to_rfc3339(),
        set.default_timezone()
    )?;
    match (
        &explanation.matched_rule,
        explanation.matched_priority,
        &explanation.matched_source,
    ) {
        (Some(name), Some(priority), Some(source)) => {
            writeln!(out, "matched rule:  {name} (priority {priority}, {source})")?
        }
        _ => writeln!(
            out,
            "matched rule:  none (no rule matched: the action executes as requested)"
        )?,
    }
    if !explanation.passed_through.is_empty() {
        writeln!(
            out,
            "gates passed:  {}",
            explanation.passed_through.join(", ")
        )?;
    }
    writeln!(out, "verdict:       {}", explanation.verdict)?;
    writeln!(out, "provider:      {}", explanation.would_be_provider)?;
    writeln!(out, "outcome:       {}", explanation.outcome)?;
    writeln!(out, "trace:")?;
    for line in &explanation.trace {
        let why = match (line.result, &line.reason, &line.skip_reason) {
            ("skipped", _, Some(skip)) => format!("skipped: {skip}"),
            ("matched", _, _) if line.decided => "matched: decides".to_string(),
            ("matched", _, _) if line.applied_as_gate => {
                "matched: applied, evaluation goes on".to_string()
            }
            (result, Some(reason), _) => format!("{result}: {reason}"),
            (result, _, _) => result.to_string(),
        };
        writeln!(
            out,
            "  {:>5}  {}  ({})  {why}",
            line.priority, line.rule_name, line.action
        )?;
    }
    emit(&out)
}
