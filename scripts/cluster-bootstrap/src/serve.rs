//! Serves the project's API server in this process: the standalone cluster of a run, started
//! by the setup script as a daemon (`cluster-bootstrap serve-apiserver`), so that the script
//! needs no separate build of the `apiserver` binary.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};

/// `cluster-bootstrap serve-apiserver`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the kubeconfig (mode 0600).
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// PEM certificate of the CA that signs the server's certificate (the run's CA).
    #[arg(long)]
    pub ca_cert: PathBuf,
    /// PKCS#8 PEM private key of that CA.
    #[arg(long)]
    pub ca_key: PathBuf,
}

/// Serves on a free loopback port, with garbage collection and namespace deletion on (a
/// cluster's behaviour), prints its URL as the first stdout line, writes the kubeconfig, and
/// stops on SIGTERM or SIGINT.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("creating a tokio runtime")?;
    runtime.block_on(async {
        let mut sigterm =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut sigint =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let ca = apiserver::Ca::from_files(&args.ca_cert, &args.ca_key).with_context(|| {
            format!(
                "loading the run's CA from {} and {}",
                args.ca_cert.display(),
                args.ca_key.display()
            )
        })?;
        let server = apiserver::ApiServer::builder()
            .garbage_collection(true)
            .ca(std::sync::Arc::new(ca))
            .start()
            .await
            .context("starting the API server")?;
        server
            .write_kubeconfig(&args.kubeconfig)
            .with_context(|| format!("writing the kubeconfig {}", args.kubeconfig.display()))?;
        // The URL is the first stdout line: the setup script waits for it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.url()).context("writing the URL to stdout")?;
        out.flush().context("flushing stdout")?;
        drop(out);
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
        server.shutdown().await;
        Ok(())
    })
}
