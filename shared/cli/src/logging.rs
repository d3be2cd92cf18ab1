use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Pretty,
    Json,
}

/// Logs go to stderr (stdout carries command output); `RUST_LOG` filters.
pub fn init(format: Format) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        Format::Pretty => builder.init(),
        Format::Json => builder.json().flatten_event(true).init(),
    }
}
