//! The DataStorage daemon: the setup script re-executes its own binary with the `datastorage`
//! subcommand so that the service outlives the script. The same process serves the
//! HolmesGPT-API mock when asked (`--hapi-addr-file`): one daemon, no second binary to build.
//! Stops on SIGTERM (sent by the run's supervisor) or SIGINT.

use std::path::PathBuf;

/// How long the mock may take to finish its in-flight requests at shutdown.
const HAPI_SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// Also serve the HolmesGPT-API mock on 127.0.0.1:0 and write its address here (before
    /// DataStorage's, so a ready DataStorage means a ready mock).
    #[arg(long)]
    hapi_addr_file: Option<PathBuf>,
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees a
/// half-written address.
fn write_atomically(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("could not write {}", path.display()))
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
    let hapi = match &args.hapi_addr_file {
        Some(path) => {
            let mock = hapi_mock::start(std::net::SocketAddr::from((
                std::net::Ipv4Addr::LOCALHOST,
                0,
            )))
            .await
            .context("the HolmesGPT-API mock failed to start")?;
            write_atomically(path, &mock.local_addr().to_string())?;
            Some(mock)
        }
        None => None,
    };
    let running = datastorage::start(config)
        .await
        .context("DataStorage failed to start")?;
    write_atomically(&args.addr_file, &running.local_addr().to_string())?;
    let stop = running.shutdown_token();
    let stop_hapi = hapi.as_ref().map(hapi_mock::RunningMock::shutdown_token);
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
        if let Some(stop_hapi) = stop_hapi {
            stop_hapi.cancel();
        }
    });
    let stopped = running
        .wait()
        .await
        .context("DataStorage stopped with an error");
    if let Some(hapi) = hapi {
        // DataStorage stopping for any reason ends the daemon; the mock goes with it.
        // Bounded: a test stuck in a slow mock response must not keep the daemon alive.
        match tokio::time::timeout(HAPI_SHUTDOWN_LIMIT, hapi.shutdown()).await {
            Ok(stopped) => stopped.context("the HolmesGPT-API mock stopped with an error")?,
            Err(_) => eprintln!(
                "ds-bootstrap daemon: the HolmesGPT-API mock still had requests in flight after {HAPI_SHUTDOWN_LIMIT:?}; exiting without them"
            ),
        }
    }
    stopped
}
