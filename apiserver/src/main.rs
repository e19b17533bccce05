//! `apiserver`: runs the embedded Kubernetes API server standalone, for debugging and use by hand.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// Serves the Kubernetes API on loopback from memory until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "apiserver", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory of CRD YAML files to install at start (repeatable).
    #[arg(long = "crds", value_name = "DIR")]
    crds: Vec<PathBuf>,
    /// Where to write a kubeconfig (mode 0600) for kubectl and clients.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Run no garbage collector and no namespace controller (envtest's behaviour).
    #[arg(long)]
    no_garbage_collection: bool,
    /// Range(s) Service cluster IPs are allocated from (kube-apiserver's
    /// --service-cluster-ip-range): one CIDR, or two of different IP families for dual-stack,
    /// the primary first (e.g. 10.96.0.0/12,fd00:10:96::/112).
    #[arg(long, value_name = "CIDR[,CIDR]", default_value = "10.96.0.0/12")]
    service_cluster_ip_range: String,
    /// Range node ports are allocated from (kube-apiserver's --service-node-port-range).
    #[arg(long, value_name = "FIRST-LAST", default_value = "30000-32767")]
    service_node_port_range: String,
    /// Create no `default` ServiceAccount and no `kube-root-ca.crt` ConfigMap in namespaces
    /// (envtest's behaviour).
    #[arg(long)]
    no_namespace_defaults: bool,
    /// Accept privileged containers and Windows HostProcess pods (kube-apiserver's
    /// --allow-privileged); `--allow-privileged=false` refuses them as kube does, "disallowed by
    /// cluster policy". On by default, as kubeadm and kind set it.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    allow_privileged: bool,
    /// Serve requests without credentials as `system:anonymous` (kube-apiserver's
    /// --anonymous-auth, on by default as there): RBAC then answers them, 403 except for the
    /// health and version paths; `--anonymous-auth=false` answers them 401.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    anonymous_auth: bool,
    /// Serve plain HTTP instead of HTTPS (kubectl then sends no token: use it with clients that
    /// send the bearer token themselves).
    #[arg(long, conflicts_with_all = ["ca_cert", "ca_key"])]
    plain_http: bool,
    /// PEM certificate of the CA to sign the server's certificate with (with --ca-key); without
    /// it the server makes a CA of its own, written into the kubeconfig.
    #[arg(long, value_name = "PATH", requires = "ca_key")]
    ca_cert: Option<PathBuf>,
    /// PKCS#8 PEM private key of that CA (with --ca-cert).
    #[arg(long, value_name = "PATH", requires = "ca_cert")]
    ca_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // This process hosts a server that may store large objects: give freed memory back.
    apiserver::return_freed_memory();
    run(Args::parse()).await
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut builder = apiserver::ApiServer::builder()
        .listen(args.listen)
        .garbage_collection(!args.no_garbage_collection)
        .service_cidr(args.service_cluster_ip_range)
        .node_port_range(args.service_node_port_range)
        .namespace_defaults(!args.no_namespace_defaults)
        .allow_privileged(args.allow_privileged)
        .anonymous(args.anonymous_auth);
    for dir in &args.crds {
        builder = builder.crd_dir(dir);
    }
    if args.plain_http {
        builder = builder.plain_http();
    }
    if let (Some(cert), Some(key)) = (&args.ca_cert, &args.ca_key) {
        let ca = apiserver::Ca::from_files(cert, key).context("loading the CA")?;
        builder = builder.ca(std::sync::Arc::new(ca));
    }
    let server = builder.start().await.context("starting the API server")?;
    if let Some(path) = &args.kubeconfig {
        server
            .write_kubeconfig(path)
            .context("writing the kubeconfig")?;
    }
    // The URL is the first stdout line: scripts read it to find the server.
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
}
