//! `switchyard`: the local entry point.

mod logging;
mod rules_cmd;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// jemalloc instead of glibc's malloc: a dispatch allocates and frees many
/// small objects across worker threads, and glibc's malloc and free took
/// about a quarter of the server's CPU in a profile of `bench/ceiling-run`.
/// With jemalloc the same run serves 1.3x the dispatches at the same p99
/// (mimalloc: 1.1x, with twice the p99). The Lambda functions keep the
/// system allocator (one request at a time per instance).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Serverless actions gateway (local entry point)"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = logging::Format::Pretty, global = true, env = "SWITCHYARD_LOG_FORMAT")]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway locally on the in-memory store.
    Serve {
        /// Gateway configuration (TOML). Without it, the bundled e-commerce example is served.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Override [server] host.
        #[arg(long)]
        host: Option<String>,
        /// Override [server] port (0 picks a free port).
        #[arg(long)]
        port: Option<u16>,
        /// Serve without authentication on a non-loopback address (anyone
        /// who reaches it is an admin). Without it, a gateway with auth
        /// disabled listens on loopback only.
        #[arg(long)]
        allow_anonymous: bool,
    },
    /// Check and dry-run rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load every rule file of a directory and report the first error (file:line:column).
    Check {
        dir: PathBuf,
        /// Also check the providers and chains the rules name against this configuration.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a directory's rules and write their compiled form beside them
    /// (`rules.compiled.json`), which start-up reads instead of parsing the
    /// YAML while it matches the files exactly.
    Compile { dir: PathBuf },
    /// Show which rule an action would match and the outcome it would produce. No side effects.
    Test {
        dir: PathBuf,
        /// The action, as JSON (as sent to POST /v1/dispatch).
        action: PathBuf,
        /// Evaluate at this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// Default time zone for `time.*` fields (overrides the configuration).
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long, value_enum)]
        mode: Option<Mode>,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
        /// Trace the rules after the deciding one too.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    FirstMatch,
    Gates,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Serve {
            config,
            host,
            port,
            allow_anonymous,
        } => serve::run(serve::ServeArgs {
            config_path: config,
            host,
            port,
            allow_anonymous,
        }),
        Command::Rules { command } => match command {
            RulesCommand::Check { dir, config } => rules_cmd::check(&dir, config.as_deref()),
            RulesCommand::Compile { dir } => rules_cmd::compile(&dir),
            RulesCommand::Test {
                dir,
                action,
                at,
                timezone,
                config,
                mode,
                json,
                all,
            } => rules_cmd::test(rules_cmd::TestArgs {
                dir: &dir,
                action: &action,
                at,
                timezone: timezone.as_deref(),
                config: config.as_deref(),
                mode: mode.map(|m| match m {
                    Mode::FirstMatch => switchyard_rules::EvaluationMode::FirstMatch,
                    Mode::Gates => switchyard_rules::EvaluationMode::Gates,
                }),
                json,
                evaluate_all: all,
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
