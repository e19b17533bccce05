//! The DataStorage daemon: the setup script re-executes its own binary with the `datastorage`
//! subcommand so that the service outlives the script. Stops on SIGTERM (sent by the run's
//! supervisor) or SIGINT.

use std::path::PathBuf;

use anyhow::Context as _;

/// `ds-bootstrap datastorage` arguments.
#[derive(clap::Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    datastorage: datastorage::Args,
    /// Where to write the address the service listens on, once it listens (with
    /// `--listen 127.0.0.1:0` the port is only known then).
    #[arg(long)]
    addr_file: PathBuf,
}

pub fn run(args: DaemonArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not build the tokio runtime")?
        .block_on(serve(args))
}

async fn serve(args: DaemonArgs) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let config = args
        .datastorage
        .into_config()
        .context("invalid DataStorage configuration")?;
    let running = datastorage::start(config)
        .await
        .context("DataStorage failed to start")?;
    // Write then rename: the setup script never reads a half-written address.
    let tmp = args.addr_file.with_extension("tmp");
    std::fs::write(&tmp, running.local_addr().to_string())
        .with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.addr_file)
        .with_context(|| format!("could not write {}", args.addr_file.display()))?;
    let stop = running.shutdown_token();
    let mut term =
        signal(SignalKind::terminate()).context("could not install the SIGTERM handler")?;
    let mut int =
        signal(SignalKind::interrupt()).context("could not install the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("signal received; shutting down");
        stop.cancel();
    });
    running
        .wait()
        .await
        .context("DataStorage stopped with an error")
}
