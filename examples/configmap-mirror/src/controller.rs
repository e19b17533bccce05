//! Reconciles `ConfigMapMirror`s: copies the source ConfigMap into every target with server-side
//! apply, deletes copies whose names left the spec, and reports the outcome in the status and in
//! metrics on a caller-supplied registry.
//!
//! Watches: the mirrors, the copies they own (a copy edited or deleted by hand is restored), and
//! the source ConfigMaps (a changed source is copied again), mapped to the mirrors naming them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};
use manager::Manager;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::api::{ConfigMapMirror, ConfigMapMirrorStatus, phase};

/// The controller's name, in the manager and in logs.
pub const CONTROLLER: &str = "configmap-mirror";
/// Field manager of every write (server-side apply owns the copies' fields under this name).
const FIELD_MANAGER: &str = "configmap-mirror";
/// Label on every copy, naming its mirror: how stale copies are found.
pub const MIRROR_LABEL: &str = "example.dev/mirror";
/// Retry delay after a failed reconcile: the API server was unreachable or refused a write;
/// short, because a test (or a user) is usually waiting for the copies.
const ERROR_REQUEUE: Duration = Duration::from_secs(5);

/// Why a reconcile failed (it is retried after [`ERROR_REQUEUE`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("failed to {what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The mirror has no namespace (the CRD is namespaced, so only a broken client sends that).
    #[error("mirror {0} has no namespace")]
    NoNamespace(String),
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Kube { what, source }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

/// The controller's metrics, registered on the registry given to [`Metrics::register`].
#[derive(Clone)]
pub struct Metrics {
    reconciles: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    /// Registers `configmap_mirror_reconciles_total{outcome}` (outcome: the phase written, or
    /// `error`).
    pub fn register(registry: &mut Registry) -> Self {
        let reconciles = Family::default();
        registry.register(
            "configmap_mirror_reconciles",
            "Reconciles of ConfigMapMirrors by outcome",
            reconciles.clone(),
        );
        Self { reconciles }
    }

    fn count(&self, outcome: &str) {
        self.reconciles
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

struct Context {
    client: kube::Client,
    metrics: Metrics,
}

/// Adds the controller to `manager`; it watches every namespace `client` can see.
pub fn register(manager: &mut Manager, metrics: Metrics) {
    manager.add(CONTROLLER, move |ctx| {
        let client = ctx.client();
        let controller = ctx.controller(
            Api::<ConfigMapMirror>::all(client.clone()),
            watcher::Config::default(),
        );
        let (controller, _) = ctx.owns(
            controller,
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default().labels(MIRROR_LABEL),
        );
        // Sources carry no label of ours: watch every ConfigMap, and map one to the mirrors of its
        // namespace that name it.
        let mirrors: Store<ConfigMapMirror> = controller.store();
        let (controller, _) = ctx.watches(
            controller,
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default(),
            move |cm: ConfigMap| mirrors_of(&mirrors, &cm),
        );
        ctx.run(
            controller,
            reconcile,
            error_policy,
            Arc::new(Context { client, metrics }),
        )
    });
}

fn mirrors_of(mirrors: &Store<ConfigMapMirror>, cm: &ConfigMap) -> Vec<ObjectRef<ConfigMapMirror>> {
    let (name, namespace) = (cm.name_any(), cm.namespace());
    mirrors
        .state()
        .iter()
        .filter(|m| m.spec.source == name && m.namespace() == namespace)
        .map(|m| ObjectRef::from_obj(m.as_ref()))
        .collect()
}

async fn reconcile(mirror: Arc<ConfigMapMirror>, ctx: Arc<Context>) -> Result<Action, Error> {
    let result = sync(&mirror, &ctx).await;
    ctx.metrics.count(match &result {
        Ok(status) => status.phase.as_deref().unwrap_or("unknown"),
        Err(_) => "error",
    });
    let status = result?;
    if mirror.status.as_ref() != Some(&status) {
        let ns = mirror.namespace().unwrap_or_default();
        Api::<ConfigMapMirror>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &mirror.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .map_err(kube_err(format!(
                "write the status of mirror {ns}/{}",
                mirror.name_any()
            )))?;
    }
    // Every change that matters arrives by a watch.
    Ok(Action::await_change())
}

/// Makes the copies match and returns the status to report.
async fn sync(mirror: &ConfigMapMirror, ctx: &Context) -> Result<ConfigMapMirrorStatus, Error> {
    let name = mirror.name_any();
    let ns = mirror
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    let status = |phase: &str, synced: u32, message: Option<String>| ConfigMapMirrorStatus {
        phase: Some(phase.to_owned()),
        synced_targets: Some(synced),
        message,
        observed_generation: mirror.meta().generation,
    };
    if mirror.spec.targets.contains(&mirror.spec.source) {
        return Ok(status(
            phase::INVALID,
            0,
            Some(format!(
                "target {:?} is the source itself: remove it from spec.targets",
                mirror.spec.source
            )),
        ));
    }
    let api = Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns);
    let Some(source) = api
        .get_opt(&mirror.spec.source)
        .await
        .map_err(kube_err(format!(
            "read source ConfigMap {ns}/{}",
            mirror.spec.source
        )))?
    else {
        return Ok(status(
            phase::SOURCE_MISSING,
            0,
            Some(format!(
                "ConfigMap {:?} not found in namespace {ns:?}; copies are made when it appears",
                mirror.spec.source
            )),
        ));
    };
    let owner = mirror
        .controller_owner_ref(&())
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    for target in &mirror.spec.targets {
        let copy = ConfigMap {
            metadata: ObjectMeta {
                name: Some(target.clone()),
                labels: Some(BTreeMap::from([(MIRROR_LABEL.to_owned(), name.clone())])),
                owner_references: Some(vec![owner.clone()]),
                ..ObjectMeta::default()
            },
            data: source.data.clone(),
            binary_data: source.binary_data.clone(),
            ..ConfigMap::default()
        };
        // ConfigMap has no TypeMeta of its own in k8s-openapi: an apply body needs it.
        let mut body = serde_json::to_value(&copy).unwrap_or_default();
        body["apiVersion"] = json!("v1");
        body["kind"] = json!("ConfigMap");
        api.patch(
            target,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
        .map_err(kube_err(format!("apply copy {ns}/{target}")))?;
    }
    // Copies whose names left the spec.
    let owned = api
        .list(&ListParams::default().labels(&format!("{MIRROR_LABEL}={name}")))
        .await
        .map_err(kube_err(format!("list the copies of mirror {ns}/{name}")))?;
    for stale in owned
        .items
        .iter()
        .filter(|cm| !mirror.spec.targets.contains(&cm.name_any()))
    {
        match api
            .delete(&stale.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            // Deleted meanwhile (by hand, or by an earlier reconcile): what we wanted.
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(source) => {
                return Err(Error::Kube {
                    what: format!("delete stale copy {ns}/{}", stale.name_any()),
                    source,
                });
            }
        }
    }
    Ok(status(
        phase::SYNCED,
        mirror.spec.targets.len() as u32,
        None,
    ))
}

fn error_policy(mirror: Arc<ConfigMapMirror>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(mirror = %mirror.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(ERROR_REQUEUE)
}
