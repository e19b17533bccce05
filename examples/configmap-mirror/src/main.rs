//! `configmap-mirror`: runs the ConfigMapMirror controller against the cluster of the current
//! kubeconfig (or the in-cluster service account) until Ctrl-C or SIGTERM.

use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

/// How long the watches may take to list everything at start before the operator gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long in-flight reconciles may run after a stop signal.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    run().await
}

async fn run() -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("failed to find a cluster: set KUBECONFIG or run in a pod")?;
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = example_configmap_mirror::Metrics::register(&mut registry);
    let shutdown = CancellationToken::new();
    let mut manager = manager::Manager::new(client, shutdown.clone());
    example_configmap_mirror::register(&mut manager, metrics);
    let running = manager.start();
    running.ready(READY_TIMEOUT).await.context(
        "failed to sync the watches (is the ConfigMapMirror CRD installed? kubectl apply -f crd/)",
    )?;
    tracing::info!("configmap-mirror running");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    running
        .shutdown(SHUTDOWN_TIMEOUT)
        .await
        .context("failed to stop the controller")?;
    Ok(())
}
