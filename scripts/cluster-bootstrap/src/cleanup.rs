//! Deletes what a run (or one test process) left on the cluster: the namespaces its label
//! selector matches, optionally waiting until they are gone, then the CRDs it is told to.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams};

use crate::check::Target;

/// How often `--wait` lists the namespaces still there.
const GONE_POLL: Duration = Duration::from_millis(100);

/// `cluster-bootstrap cleanup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The cluster's kubeconfig.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Its context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// Label selector of the namespaces to delete (e.g. `fixtures.kubernaut.ai/run=<id>`).
    #[arg(long)]
    pub selector: String,
    /// Wait at most this many seconds until the namespaces are gone (0: do not wait).
    #[arg(long, default_value_t = 0)]
    pub wait_secs: u64,
    /// CRDs to delete after the namespaces (repeatable).
    #[arg(long = "crd")]
    pub crds: Vec<String>,
}

/// Runs the clean-up; prints what it deleted (the supervisor's log keeps it).
pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("creating a tokio runtime")?;
    runtime.block_on(clean(args))
}

async fn clean(args: &Args) -> anyhow::Result<()> {
    if args.selector.trim().is_empty() {
        // An empty selector matches every namespace of the cluster.
        anyhow::bail!(
            "refusing to delete with an empty --selector: it would match every namespace"
        );
    }
    let target = Target {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    let who = target.describe();
    let client = target.client().await?;
    let api: Api<Namespace> = Api::all(client.clone());
    let list = ListParams::default().labels(&args.selector);
    let background = DeleteParams::background();
    let deadline = Instant::now() + Duration::from_secs(args.wait_secs);
    // Delete, then (with --wait-secs) poll until none is left, deleting again whatever appeared
    // meanwhile: after a `kill -9` of nextest its test processes may still be running and
    // creating namespaces of the run for a moment.
    loop {
        let found = api
            .list(&list)
            .await
            .with_context(|| format!("{who}: listing namespaces {}", args.selector))?;
        if found.items.is_empty() {
            break;
        }
        for ns in &found.items {
            let Some(name) = ns.metadata.name.as_deref() else {
                continue;
            };
            if ns.metadata.deletion_timestamp.is_some() {
                continue;
            }
            match api.delete(name, &background).await {
                Ok(_) => println!("deleted namespace {name}"),
                // Deleted meanwhile (a test process's own clean-up raced the run's).
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("{who}: deleting namespace {name}"));
                }
            }
        }
        if args.wait_secs == 0 {
            break;
        }
        if Instant::now() > deadline {
            let names: Vec<String> = found
                .items
                .iter()
                .filter_map(|n| n.metadata.name.clone())
                .collect();
            anyhow::bail!(
                "{who}: {} namespace(s) still there after {}s: {}; see `kubectl get ns -l {}` (a finalizer no controller removes?)",
                names.len(),
                args.wait_secs,
                names.join(", "),
                args.selector
            );
        }
        tokio::time::sleep(GONE_POLL).await;
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for name in &args.crds {
        match crds.delete(name, &DeleteParams::default()).await {
            Ok(_) => println!("deleted CRD {name}"),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("{who}: deleting CRD {name}")),
        }
    }
    Ok(())
}
