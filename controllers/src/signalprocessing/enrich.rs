//! Looks up a signal's Kubernetes context in the API server: the labels of the target's
//! namespace, the target itself, and its chain of controller owners (Pod → ReplicaSet →
//! Deployment). A missing namespace, target or owner is a fact to record (the context is then
//! degraded), not an error; any other failed lookup is a transient [`LookupError`].

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt as _};

use super::metrics::EnrichmentErrorType;
use crate::api::signalprocessing::{EnrichmentSummary, SignalData};
use crate::api::{KubernetesContext, OwnerChainEntry, TargetType, WorkloadInfo};

/// Controller owners followed at most. Pod → ReplicaSet → Deployment is two; operators add a
/// level or two; the bound also ends a (corrupt) ownership cycle.
pub const MAX_OWNER_DEPTH: usize = 5;

/// A lookup that failed with something other than NotFound.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to read {what} while enriching the signal (the API server gave an error other than NotFound); retrying with backoff"
)]
pub struct LookupError {
    /// What was being read, e.g. `namespace payments` or `Deployment payments/api`.
    pub what: String,
    /// The metric label for it.
    pub error_type: EnrichmentErrorType,
    /// The client error.
    #[source]
    pub source: kube::Error,
}

/// What enrichment found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Enrichment {
    /// The context for `status.kubernetesContext`.
    pub context: KubernetesContext,
    /// What was found and what was missing, for `status.enrichment`.
    pub summary: EnrichmentSummary,
}

/// The kinds enrichment looks up (as targets or controller owners), with their API
/// coordinates: (kind, group, version, plural, namespaced). The controller's RBAC declaration
/// (`rbac.rs`) grants `get` on exactly these; its test keeps the two in step.
pub(crate) const LOOKUPS: [(&str, &str, &str, &str, bool); 9] = [
    ("Pod", "", "v1", "pods", true),
    ("Service", "", "v1", "services", true),
    ("Node", "", "v1", "nodes", false),
    ("Deployment", "apps", "v1", "deployments", true),
    ("ReplicaSet", "apps", "v1", "replicasets", true),
    ("StatefulSet", "apps", "v1", "statefulsets", true),
    ("DaemonSet", "apps", "v1", "daemonsets", true),
    ("Job", "batch", "v1", "jobs", true),
    ("CronJob", "batch", "v1", "cronjobs", true),
];

/// API coordinates of a kind this controller can look up: (group, version, plural,
/// namespaced).
fn coordinates(kind: &str) -> Option<(&'static str, &'static str, &'static str, bool)> {
    LOOKUPS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|&(_, group, version, plural, namespaced)| (group, version, plural, namespaced))
}

fn error_type(error: &kube::Error) -> EnrichmentErrorType {
    match error {
        kube::Error::Api(status) => match status.code {
            429 => EnrichmentErrorType::throttled,
            401 | 403 => EnrichmentErrorType::forbidden,
            500..=599 => EnrichmentErrorType::server_error,
            _ => EnrichmentErrorType::client_error,
        },
        _ => EnrichmentErrorType::transport,
    }
}

fn lookup_error(what: String, source: kube::Error) -> LookupError {
    LookupError {
        what,
        error_type: error_type(&source),
        source,
    }
}

/// Reads `kind/name` (in `namespace` when the kind is namespaced); `Ok(None)` when absent.
async fn get(
    client: &Client,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<DynamicObject>, LookupError> {
    let Some((group, version, plural, namespaced)) = coordinates(kind) else {
        return Ok(None);
    };
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let (api, what) = match (namespaced, namespace) {
        (true, Some(ns)) => (
            Api::<DynamicObject>::namespaced_with(client.clone(), ns, &resource),
            format!("{kind} {ns}/{name}"),
        ),
        (true, None) => return Ok(None),
        (false, _) => (
            Api::<DynamicObject>::all_with(client.clone(), &resource),
            format!("{kind} {name}"),
        ),
    };
    api.get_opt(name).await.map_err(|e| lookup_error(what, e))
}

/// Enriches `signal`, whose SignalProcessing lives in `own_namespace` (the target's namespace
/// when the target names none and its kind is namespaced).
pub async fn enrich(
    client: &Client,
    signal: &SignalData,
    own_namespace: &str,
) -> Result<Enrichment, LookupError> {
    let target = &signal.target_resource;
    let namespaced = coordinates(&target.kind).is_none_or(|(_, _, _, namespaced)| namespaced);
    let namespace = match (&target.namespace, namespaced) {
        (Some(ns), _) if !ns.is_empty() => Some(ns.clone()),
        (_, true) => Some(own_namespace.to_owned()),
        (_, false) => None,
    };
    let mut missing = Vec::new();
    let mut context = KubernetesContext {
        namespace: namespace.clone(),
        ..KubernetesContext::default()
    };

    let namespace_found = match &namespace {
        Some(ns) => match Api::<Namespace>::all(client.clone())
            .get_opt(ns)
            .await
            .map_err(|e| lookup_error(format!("namespace {ns}"), e))?
        {
            Some(found) => {
                context.namespace_labels = found.labels().clone();
                true
            }
            None => {
                missing.push(format!("namespace {ns} not found"));
                false
            }
        },
        None => false,
    };

    let target_found = if signal.target_type != TargetType::Kubernetes {
        missing.push(format!(
            "targetType {} is not looked up in the API server",
            serde_json::to_value(signal.target_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
        false
    } else if coordinates(&target.kind).is_none() {
        missing.push(format!(
            "kind {} is not looked up (known: Pod, Service, Node, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob)",
            target.kind
        ));
        false
    } else if namespaced && !namespace_found {
        false // the namespace is gone, so is everything in it
    } else {
        match get(client, &target.kind, &target.name, namespace.as_deref()).await? {
            Some(found) => {
                context.workload = Some(WorkloadInfo {
                    kind: target.kind.clone(),
                    name: target.name.clone(),
                    labels: found.labels().clone(),
                });
                context.owner_chain =
                    owner_chain(client, &found, namespace.as_deref(), &mut missing).await?;
                true
            }
            None => {
                missing.push(format!("{} {} not found", target.kind, target.to_path()));
                false
            }
        }
    };

    let degraded = !missing.is_empty();
    Ok(Enrichment {
        context,
        summary: EnrichmentSummary {
            namespace_found,
            target_found,
            degraded,
            detail: degraded.then(|| missing.join("; ")),
        },
    })
}

/// The controller owners of `object`, nearest first, followed while they can be read.
async fn owner_chain(
    client: &Client,
    object: &DynamicObject,
    namespace: Option<&str>,
    missing: &mut Vec<String>,
) -> Result<Vec<OwnerChainEntry>, LookupError> {
    let mut chain = Vec::new();
    let mut current = object.clone();
    while chain.len() < MAX_OWNER_DEPTH {
        let Some(owner) = current
            .owner_references()
            .iter()
            .find(|o| o.controller == Some(true))
            .cloned()
        else {
            break;
        };
        let owner_namespaced = coordinates(&owner.kind).is_none_or(|c| c.3);
        let owner_ns = if owner_namespaced {
            namespace.map(str::to_owned)
        } else {
            None
        };
        chain.push(OwnerChainEntry {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
            namespace: owner_ns.clone(),
        });
        if coordinates(&owner.kind).is_none() {
            break; // a kind we cannot read (e.g. a custom resource): the chain ends here
        }
        match get(client, &owner.kind, &owner.name, owner_ns.as_deref()).await? {
            Some(next) => current = next,
            None => {
                missing.push(format!("owner {} {} not found", owner.kind, owner.name));
                break;
            }
        }
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure("x", "y").with_code(code)))
    }

    #[test]
    fn errors_are_labelled_by_what_the_api_server_answered() {
        use EnrichmentErrorType::*;
        for (code, want) in [
            (500, server_error),
            (503, server_error),
            (429, throttled),
            (401, forbidden),
            (403, forbidden),
            (400, client_error),
            (422, client_error),
        ] {
            assert_eq!(error_type(&api(code)), want, "{code}");
        }
        let refused = kube::Error::Service("connection refused".into());
        assert_eq!(error_type(&refused), transport);
    }

    #[test]
    fn known_kinds_have_their_api_coordinates() {
        assert_eq!(coordinates("Pod"), Some(("", "v1", "pods", true)));
        assert_eq!(coordinates("Node"), Some(("", "v1", "nodes", false)));
        assert_eq!(
            coordinates("ReplicaSet"),
            Some(("apps", "v1", "replicasets", true))
        );
        assert_eq!(coordinates("Rollout"), None);
    }
}
