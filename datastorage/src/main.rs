//! The `datastorage` binary: parses [`datastorage::Args`], starts the service and stops it on
//! SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "datastorage",
    about = "The audit REST service (PostgreSQL + Redis dead-letter queue)"
)]
struct Cli {
    #[command(flatten)]
    args: datastorage::Args,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // Plain text when stdout is a file or pipe (the setup script's log, a test reading the address).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let config = Cli::parse()
        .args
        .into_config()
        .context("invalid DataStorage configuration")?;
    let running = datastorage::start(config)
        .await
        .context("DataStorage failed to start")?;
    let stop = running.shutdown_token();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
        tracing::info!("signal received; shutting down");
        stop.cancel();
    });
    running
        .wait()
        .await
        .context("DataStorage stopped with an error")
}
