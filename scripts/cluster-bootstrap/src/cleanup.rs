//! Deletes what a run (or one test process) left on the cluster: the namespaces its label
//! selector matches, the project's finalizers on the custom resources inside them (their
//! controllers, which would remove them, are gone), optionally waiting until the namespaces are
//! gone, then the CRDs it is told to.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};

use crate::check::Target;

/// How often `--wait-secs` lists the namespaces still there (and strips finalizers again).
const GONE_POLL: Duration = Duration::from_millis(100);
/// Field manager of the finalizer patches (shows in the objects' managedFields).
const FIELD_MANAGER: &str = "kubernaut-cluster-cleanup";

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
    /// API group of the project's CRDs (repeatable, e.g. `kubernaut.ai`): the finalizers of that
    /// group (`kubernaut.ai/...`) on the custom resources of its CRDs inside the deleted
    /// namespaces are removed, since the controllers that would remove them have exited.
    #[arg(long = "finalizer-group")]
    pub finalizer_groups: Vec<String>,
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
    let kinds = project_kinds(&who, &client, &args.finalizer_groups).await?;
    // Delete, strip the project's finalizers inside, then (with --wait-secs) poll until none is
    // left, deleting again whatever appeared meanwhile: after a `kill -9` of nextest its test
    // processes may still be running and creating namespaces (and objects) of the run for a
    // moment.
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
        let names: BTreeSet<String> = found
            .items
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        // The namespaces' deletion is requested: what keeps them Terminating now is their
        // content's finalizers. Only the project's own are removed: the per-process controllers
        // that own them exited with their test processes, so nothing else ever will. A
        // finalizer of anyone else (a cluster's own controller, a user's) is left alone and
        // reported: it may guard something outside the cluster.
        strip_finalizers(&who, &client, &kinds, &args.finalizer_groups, &names).await?;
        if args.wait_secs == 0 {
            break;
        }
        if Instant::now() > deadline {
            let held = held_objects(&client, &kinds, &names).await;
            anyhow::bail!(
                "{who}: {} namespace(s) still there after {}s: {}; {}see `kubectl get ns -l {}` and the namespaces' status conditions",
                names.len(),
                args.wait_secs,
                names.iter().cloned().collect::<Vec<_>>().join(", "),
                held,
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

/// The namespaced custom resource kinds of `groups` installed on the cluster (at their storage
/// version).
async fn project_kinds(
    who: &str,
    client: &kube::Client,
    groups: &[String],
) -> anyhow::Result<Vec<ApiResource>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let all = crds
        .list(&ListParams::default())
        .await
        .with_context(|| format!("{who}: listing CRDs to find the kinds of {groups:?}"))?;
    let mut kinds = Vec::new();
    for crd in all.items {
        let spec = &crd.spec;
        if !groups.contains(&spec.group) || spec.scope != "Namespaced" {
            continue;
        }
        let Some(version) = spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| spec.versions.iter().find(|v| v.served))
        else {
            continue;
        };
        kinds.push(ApiResource {
            group: spec.group.clone(),
            version: version.name.clone(),
            api_version: format!("{}/{}", spec.group, version.name),
            kind: spec.names.kind.clone(),
            plural: spec.names.plural.clone(),
        });
    }
    Ok(kinds)
}

/// Whether `finalizer` belongs to one of `groups`: its domain (before `/`) is the group or a
/// subdomain of it (`kubernaut.ai/finalizer`, `workflows.kubernaut.ai/job`).
fn is_project_finalizer(finalizer: &str, groups: &[String]) -> bool {
    let Some((domain, _)) = finalizer.split_once('/') else {
        return false;
    };
    groups.iter().any(|g| {
        domain == g
            || domain
                .strip_suffix(g.as_str())
                .is_some_and(|p| p.ends_with('.'))
    })
}

/// The objects of `kinds` in `namespaces`, by kind (one cluster-wide list per kind, filtered
/// here: a poll costs as many requests as there are kinds, not kinds × namespaces).
async fn objects_in(
    client: &kube::Client,
    kinds: &[ApiResource],
    namespaces: &BTreeSet<String>,
) -> anyhow::Result<Vec<(ApiResource, DynamicObject)>> {
    let mut out = Vec::new();
    for kind in kinds {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), kind);
        let list = match api.list(&ListParams::default()).await {
            Ok(list) => list,
            // The CRD was deleted meanwhile (FIXTURES_CLUSTER_CLEANUP_CRDS of another run).
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", kind.plural)),
        };
        for obj in list.items {
            if obj
                .metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| namespaces.contains(ns))
            {
                out.push((kind.clone(), obj));
            }
        }
    }
    Ok(out)
}

/// Removes the finalizers of `groups` from the objects of `kinds` in `namespaces`.
async fn strip_finalizers(
    who: &str,
    client: &kube::Client,
    kinds: &[ApiResource],
    groups: &[String],
    namespaces: &BTreeSet<String>,
) -> anyhow::Result<()> {
    let objects = objects_in(client, kinds, namespaces)
        .await
        .with_context(|| format!("{who}: finding the objects left in the run's namespaces"))?;
    let patch_params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..Default::default()
    };
    for (kind, obj) in objects {
        let finalizers = obj.metadata.finalizers.clone().unwrap_or_default();
        let (ours, kept): (Vec<String>, Vec<String>) = finalizers
            .into_iter()
            .partition(|f| is_project_finalizer(f, groups));
        if ours.is_empty() {
            continue;
        }
        let (Some(ns), Some(name)) = (
            obj.metadata.namespace.as_deref(),
            obj.metadata.name.as_deref(),
        ) else {
            continue;
        };
        // The resourceVersion makes it a compare-and-swap: a concurrent change (a test process
        // still alive after a kill -9 of nextest) wins with a 409, and the next poll retries.
        let patch = serde_json::json!({
            "metadata": {"finalizers": kept, "resourceVersion": obj.metadata.resource_version}
        });
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kind);
        match api.patch(name, &patch_params, &Patch::Merge(&patch)).await {
            Ok(_) => println!(
                "removed finalizer(s) {} of {} {ns}/{name}",
                ours.join(", "),
                kind.kind
            ),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "{who}: removing finalizer(s) {} of {} {ns}/{name}",
                        ours.join(", "),
                        kind.kind
                    )
                });
            }
        }
    }
    Ok(())
}

/// What still holds `namespaces`, for the error: the project kinds' objects left in them with
/// their finalizers, and the namespaces' own conditions saying what remains.
async fn held_objects(
    client: &kube::Client,
    kinds: &[ApiResource],
    namespaces: &BTreeSet<String>,
) -> String {
    let mut parts = Vec::new();
    match objects_in(client, kinds, namespaces).await {
        Ok(objects) => {
            for (kind, obj) in objects {
                parts.push(format!(
                    "{} {}/{} (finalizers: {})",
                    kind.kind,
                    obj.metadata.namespace.unwrap_or_default(),
                    obj.metadata.name.unwrap_or_default(),
                    obj.metadata.finalizers.unwrap_or_default().join(", ")
                ));
            }
        }
        Err(e) => parts.push(format!("(could not list their objects: {e:#})")),
    }
    let api: Api<Namespace> = Api::all(client.clone());
    let mut conditions = Vec::new();
    for ns in namespaces {
        let Ok(got) = api.get(ns).await else { continue };
        for c in got
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| {
                c.status == "True"
                    && (c.type_ == "NamespaceContentRemaining"
                        || c.type_ == "NamespaceFinalizersRemaining")
            })
        {
            conditions.push((ns.clone(), c.message.unwrap_or_default()));
        }
    }
    for (ns, message) in conditions {
        parts.push(format!("{ns}: {message}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "left: {}; remove the finalizers named there (their controller is gone) or ",
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finalizers_of_the_project_groups_are_ours() {
        let groups = vec!["kubernaut.ai".to_owned()];
        assert!(is_project_finalizer("kubernaut.ai/finalizer", &groups));
        assert!(is_project_finalizer("jobs.kubernaut.ai/cleanup", &groups));
        assert!(!is_project_finalizer("notkubernaut.ai/x", &groups));
        assert!(!is_project_finalizer("example.com/keep", &groups));
        assert!(!is_project_finalizer("kubernetes", &groups));
        assert!(!is_project_finalizer("foregroundDeletion", &groups));
        assert!(!is_project_finalizer("kubernaut.ai/x", &[]));
    }
}
