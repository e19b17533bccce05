//! Owns every stored object, the one resourceVersion counter, the watch event history and the write rules
//! (metadata, generation, status subresource, finalizers, preconditions, CRD registration).
//!
//! All state sits behind one `std::sync::Mutex` that is never held across an `.await`: every operation
//! is a synchronous function that validates, then commits, so a rejected request never leaves a
//! half-written store. Events are published to a broadcast channel while the lock is held, so a
//! watcher that subscribes under the same lock sees every event after its starting point exactly once.
//!
//! This module holds the state and what every operation shares; each verb has its own module
//! (`create`, `update` with the shared write `replace`, `patch` with apply, `delete`, `list`,
//! `watch`, `scale` for writes of a Scale, `bind` for a pod's binding, `admit` for admission of
//! actions such as evictions),
//! next to `request` (the operations' parameters and answers), `prepare` (body checks before a
//! write), `history` (commit and the watch history) and the controllers that run at the end of a
//! write (`gc`, `crd_cleanup`, `ns_defaults`, `protection`, `quota`); `plugins` holds kube's
//! built-in admission plugins.

mod admit;
mod bind;
mod conversion;
mod crd_cleanup;
mod create;
mod delete;
mod gc;
mod history;
mod ip_addresses;
mod list;
mod ns_defaults;
mod patch;
mod plugins;
mod prepare;
mod protection;
mod quota;
mod request;
mod scale;
mod snapshot;
mod update;
mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::catalog::{Catalog, ResourceInfo};
use crate::meta::{meta_mut, meta_str};
use crate::registry::{Allocations, ServiceRanges};
use crate::status::ApiError;
use crate::watchcheck::{CommitLog, WatchLedger};

pub use bind::Bind;
pub(crate) use list::too_large;
pub use list::{ListQuery, RvMatch, list_body};
pub(crate) use prepare::normalize_mutated;
use prepare::{check_type, invalid, prune_and_default};
pub use request::{
    BodyStrict, DeleteOpts, Deleted, FieldValidation, Fields, Limits, PatchKind, Propagation, Sub,
    Target, WriteOpts, Written,
};
pub use watch::{WatchFrom, WatchStart};

/// Namespace names a fresh kube-apiserver creates.
pub const DEFAULT_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The store key of namespaces.
const NAMESPACES_KEY: &str = "/namespaces";

/// The store key of CRDs.
const CRDS_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// The store key of Services (their addresses are tracked in `Inner::allocations`).
const SERVICES_KEY: &str = "/services";

/// kube's `DefaultServiceCIDRName`: the ServiceCIDR that holds the configured service ranges.
const DEFAULT_SERVICE_CIDR_NAME: &str = "kubernetes";

/// Position of an object in its resource's map: (namespace or "", name). Ordered like etcd keys.
pub type ObjKey = (String, String);

/// A stored object and its JSON encoding (kept so a GET serialises nothing).
#[derive(Debug)]
pub struct Stored {
    /// The object. A restored object's is decoded from its snapshot bytes when first asked for
    /// ([`Restored`]); every other object's is set at the commit.
    decoded: OnceLock<Value>,
    /// Set for an object the start snapshot restored without decoding it.
    restored: Option<Box<Restored>>,
    /// Encoded at the commit, except for a restored object's: encoded when first read. A
    /// test process restores ~180 objects of its start snapshot and reads few of them;
    /// encoding them all was 6 M of its ~100 M instructions.
    json: OnceLock<Bytes>,
    /// The encoding's length (the watch history's byte bound), known before encoding for a
    /// restored object.
    size: usize,
    /// The RBAC authorizer's reading of a Role, ClusterRole or binding, made once per stored
    /// version (`auth::rbac`): the per-subject index is rebuilt after every RBAC write, from
    /// these rather than from the objects.
    pub(crate) rbac: OnceLock<Arc<crate::auth::rbac::RbacView>>,
}

/// What a restored object needs to become the object a fresh start would have stored: its
/// stored bytes from the snapshot, and what this start gives it anew (`snapshot::refresh`).
/// Decoding ~120 objects into `serde_json` maps was two thirds of a restore, and a test process
/// reads few of them; the authorizer reads the RBAC objects' rules from the bytes instead.
/// Only objects without ownerReferences or a deletionTimestamp stay undecoded, so the garbage
/// collector's index needs nothing but the uid from them.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) bytes: Bytes,
    pub(crate) rv: u64,
    pub(crate) uid: String,
    pub(crate) now: Arc<str>,
}

impl Stored {
    fn new(value: Value) -> Arc<Self> {
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(Self {
            decoded: OnceLock::from(value),
            restored: None,
            size: json.len(),
            json: OnceLock::from(json),
            rbac: OnceLock::new(),
        })
    }

    /// A restored object whose encoding is about `size` bytes long (its length when it was
    /// snapshotted: the same object but for its uid and times, which keep their lengths, and
    /// its resourceVersion's digits), encoded when first read.
    fn restored(value: Value, size: usize) -> Arc<Self> {
        Arc::new(Self {
            decoded: OnceLock::from(value),
            restored: None,
            json: OnceLock::new(),
            size,
            rbac: OnceLock::new(),
        })
    }

    /// A restored object left in its snapshot bytes until something reads it.
    fn undecoded(restored: Restored, size: usize) -> Arc<Self> {
        Arc::new(Self {
            decoded: OnceLock::new(),
            restored: Some(Box::new(restored)),
            json: OnceLock::new(),
            size,
            rbac: OnceLock::new(),
        })
    }

    /// The stored object.
    pub fn value(&self) -> &Value {
        self.decoded.get_or_init(|| {
            let Some(r) = &self.restored else {
                // Unreachable: only `undecoded` leaves the cell empty, and it sets `restored`.
                return Value::Null;
            };
            snapshot::decode_restored(r)
        })
    }

    /// The restore's facts of an object not decoded at the restore (see [`Restored`]).
    pub(crate) fn restored_facts(&self) -> Option<&Restored> {
        self.restored.as_deref()
    }

    /// The JSON encoding of the stored object.
    pub fn json(&self) -> &Bytes {
        self.json
            .get_or_init(|| Bytes::from(serde_json::to_vec(self.value()).unwrap_or_default()))
    }

    /// The length of [`Stored::json`] (see [`Stored::restored`] for restored objects).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The JSON bytes in the API version `info` serves (objects of multi-version CRDs are converted
    /// by rewriting `apiVersion`, the `None` conversion strategy).
    pub fn render(&self, info: &ResourceInfo) -> Bytes {
        if let Some(view) = crate::events::render(info, self.value()) {
            return view;
        }
        let want = info.api_version();
        // A conversion webhook converts the stored form when it is answered
        // (`conversion::respond`): it leaves here as stored.
        if info.conversion.is_some()
            || self.value().get("apiVersion").and_then(Value::as_str) == Some(want.as_str())
        {
            return self.json().clone();
        }
        let mut v = self.value().clone();
        v["apiVersion"] = want.into();
        Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    /// The watch event type on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    /// The store key `group/plural` of the resource.
    pub resource: Arc<str>,
    pub key: ObjKey,
    pub kind: EventKind,
    /// The object after the change (for DELETED: the last state, with the deletion's resourceVersion).
    pub obj: Arc<Stored>,
    /// The object before the change (None for ADDED); lets selector watches see objects leave.
    pub prev: Option<Arc<Stored>>,
}

struct Inner {
    rv: u64,
    catalog: Arc<Catalog>,
    objects: HashMap<Arc<str>, BTreeMap<ObjKey, Arc<Stored>>>,
    history: VecDeque<Arc<Event>>,
    limits: Limits,
    /// The encoded size of the objects the events in `history` introduced (see `event_bytes`).
    history_bytes: usize,
    /// Every event with a resourceVersion above this is still in `history`.
    compacted: u64,
    /// The garbage collector and namespace controller run (off: envtest's behaviour).
    gc: bool,
    /// Every stored object by uid, for resolving ownerReferences.
    uids: HashMap<String, (Arc<str>, ObjKey)>,
    /// Owner uid → the objects whose ownerReferences name it.
    dependents: HashMap<String, BTreeSet<(Arc<str>, ObjKey)>>,
    /// Objects the garbage collector must look at before the current write returns.
    gc_queue: VecDeque<(Arc<str>, ObjKey)>,
    /// Service cluster IPs and node ports held by stored Services and IPAddresses.
    allocations: Allocations,
    /// Addresses Services took or let go whose IPAddress objects the write must write.
    ip_address_queue: Vec<ip_addresses::IpChange>,
    /// Names of the CRDs the CRD finalizer is deleting the instances of.
    terminating_crds: BTreeSet<String>,
    /// Deleted claims and volumes still held by a storage protection finalizer (`protection`).
    protected: BTreeSet<(Arc<str>, ObjKey)>,
    /// Whether a change since the protection controllers' last pass may free one of them.
    protection_dirty: bool,
    /// Namespaces with ResourceQuotas whose usage a write may have changed (`quota`).
    quota_dirty: BTreeSet<String>,
    /// The serviceaccounts and root-ca-cert-publisher controllers run (see `ns_defaults`).
    namespace_defaults: bool,
    /// Namespaces whose default ServiceAccount and root CA ConfigMap need a look.
    namespace_defaults_queue: Vec<String>,
    /// What the cluster allows, for validation (`--allow-privileged`).
    policy: crate::validation::Policy,
    /// Every committed event (bounded), for the watch consistency check.
    commits: CommitLog,
    /// ValidatingAdmissionPolicies compiled for the admission stage (see `admit`).
    admission: crate::admission::Cache,
    /// MutatingAdmissionPolicies compiled for the mutating stage (see `admit`).
    mutating: crate::admission::MutatingCache,
    /// Webhook configurations compiled for the admission stages (see `admit`).
    webhooks: crate::admission::webhook::Cache,
    /// Where the Services that webhook configurations name are served (`route_service`).
    service_routes: BTreeMap<ObjKey, std::net::SocketAddr>,
}

/// The in-memory object store of one API server.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    /// What every watch connection sent, checked against `Inner::commits`.
    ledger: Arc<WatchLedger>,
}

fn obj_key(info: &ResourceInfo, ns: &str, name: &str) -> ObjKey {
    (
        if info.namespaced {
            ns.to_owned()
        } else {
            String::new()
        },
        name.to_owned(),
    )
}

impl Inner {
    fn resolve(&self, t: &Target<'_>) -> Result<Arc<ResourceInfo>, ApiError> {
        self.catalog
            .get(t.group, t.version, t.plural)
            .cloned()
            .ok_or_else(ApiError::path_not_found)
    }

    /// The stored objects of the store key `resource` in `namespace` ("" for cluster-scoped
    /// ones), in name order: a range of the sorted map, not a scan.
    fn objects_of<'a>(
        &'a self,
        resource: &str,
        namespace: &'a str,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Stored>)> + 'a {
        self.objects.get(resource).into_iter().flat_map(move |m| {
            m.range((namespace.to_owned(), String::new())..)
                .take_while(move |(k, _)| k.0 == namespace)
        })
    }

    fn get(&self, info: &ResourceInfo, key: &ObjKey) -> Option<Arc<Stored>> {
        self.objects
            .get(info.store_key().as_str())
            .and_then(|m| m.get(key))
            .cloned()
    }

    fn namespace(&self, name: &str) -> Option<Arc<Stored>> {
        self.objects
            .get(NAMESPACES_KEY)
            .and_then(|m| m.get(&(String::new(), name.to_owned())))
            .cloned()
    }

    /// Re-registers the resources of the CRD `crd` (None: it was deleted), deleting the objects of a removed CRD.
    fn crd_changed(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        old: Option<&Value>,
        new: Option<Vec<Arc<ResourceInfo>>>,
    ) {
        let names = |v: &Value| {
            (
                v.pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                v.pointer("/spec/names/plural")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )
        };
        let mut catalog = (*self.catalog).clone();
        if let Some(old) = old {
            let (group, plural) = names(old);
            catalog = catalog.without(&group, &plural);
            if new.is_none() {
                let resource = format!("{group}/{plural}");
                let doomed: Vec<(ObjKey, Arc<Stored>)> = self
                    .objects
                    .get(resource.as_str())
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                for (key, prev) in doomed {
                    self.commit(
                        tx,
                        &resource,
                        key,
                        prev.value().clone(),
                        EventKind::Deleted,
                        Some(prev),
                    );
                }
            }
        }
        if let Some(infos) = new {
            catalog = catalog.with(infos);
        }
        self.catalog = Arc::new(catalog);
    }
}

impl Store {
    /// Serves the Service `namespace/name` at `addr` for the calls this server makes (admission
    /// webhooks): see `ApiServer::route_service`.
    pub fn route_service(&self, namespace: &str, name: &str, addr: std::net::SocketAddr) {
        self.lock()
            .service_routes
            .insert((namespace.to_owned(), name.to_owned()), addr);
    }

    /// Whether any admission webhook configuration is stored: a client's write then runs in
    /// webhook passes (`admission::webhook::run`). Like kube's configuration informers, a
    /// configuration applies to the writes that start after it was stored.
    pub fn has_webhooks(&self) -> bool {
        let g = self.lock();
        [
            crate::admission::webhook::MUTATING_KEY,
            crate::admission::webhook::VALIDATING_KEY,
        ]
        .iter()
        .any(|k| g.objects.get(*k).is_some_and(|m| !m.is_empty()))
    }

    /// An empty store within `limits`, with the built-in catalogue, handing out Service
    /// addresses from `ranges`.
    pub fn new(limits: Limits, garbage_collection: bool, ranges: ServiceRanges) -> Self {
        let history = limits.history_events.max(1);
        // The broadcast channel holds as many events as the history: a watcher that falls further
        // behind is closed and resumes from its last resourceVersion (or relists on 410). A slot
        // releases its event once every receiver has read it, so it holds no memory for long.
        let (events, _) = broadcast::channel(history);
        Self {
            inner: Mutex::new(Inner {
                rv: 0,
                catalog: Arc::new(Catalog::builtin()),
                objects: HashMap::new(),
                history: VecDeque::with_capacity(history.min(1024)),
                limits: Limits {
                    history_events: history,
                    ..limits
                },
                history_bytes: 0,
                compacted: 0,
                gc: garbage_collection,
                uids: HashMap::new(),
                dependents: HashMap::new(),
                gc_queue: VecDeque::new(),
                allocations: Allocations::new(ranges),
                ip_address_queue: Vec::new(),
                terminating_crds: BTreeSet::new(),
                protected: BTreeSet::new(),
                protection_dirty: false,
                quota_dirty: BTreeSet::new(),
                namespace_defaults: true,
                namespace_defaults_queue: Vec::new(),
                policy: crate::validation::Policy::default(),
                commits: CommitLog::default(),
                admission: crate::admission::Cache::default(),
                mutating: crate::admission::MutatingCache::default(),
                webhooks: crate::admission::webhook::Cache::default(),
                service_routes: BTreeMap::new(),
            }),
            events,
            ledger: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug; the state is still consistent because every
        // operation validates before it mutates, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Switches the `default` ServiceAccount and `kube-root-ca.crt` ConfigMap of every namespace
    /// on or off (on by default); call before `bootstrap`.
    pub fn set_namespace_defaults(&self, on: bool) {
        self.lock().namespace_defaults = on;
    }

    /// Sets what the cluster allows (kube-apiserver's `--allow-privileged`), which validation
    /// consults on every later write; call before `bootstrap`.
    pub fn set_policy(&self, policy: crate::validation::Policy) {
        self.lock().policy = policy;
    }

    /// Whether the embedded controllers (garbage collector, namespace controller) run.
    pub fn runs_controllers(&self) -> bool {
        self.lock().gc
    }

    /// The current catalogue.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.lock().catalog.clone()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Every event committed from now on, for a waiter that reads again when anything changed
    /// ([`crate::Commits`]); watches subscribe under the lock in [`Store::watch`] instead, to
    /// join the history without a gap.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Creates what a fresh kube-apiserver has: the default namespaces, the `default/kubernetes`
    /// Service, the default ServiceCIDR, the system PriorityClasses and the bootstrap RBAC roles
    /// and bindings.
    pub fn bootstrap(&self) {
        let opts = WriteOpts::default();
        for ns in DEFAULT_NAMESPACES {
            let t = Target {
                group: "",
                version: "v1",
                plural: "namespaces",
                namespace: "",
                name: "",
            };
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            // Cannot fail on an empty store; a failure would be a bug caught by the tests.
            let _ = self.create(&t, obj, &opts);
        }
        let t = Target {
            group: "",
            version: "v1",
            plural: "services",
            namespace: "default",
            name: "",
        };
        // The first address of the primary service range, as kube-apiserver reserves it, and
        // that range's family: kube's bootstrap controller makes the Service SingleStack.
        let ranges = self.lock().allocations.ranges().clone();
        let ip = ranges.first_ip();
        let family = ranges.primary_family().as_str();
        let svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                     "sessionAffinity": "None", "ipFamilies": [family], "ipFamilyPolicy": "SingleStack",
                     "internalTrafficPolicy": "Cluster",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}
        });
        let _ = self.create(&t, svc, &opts);
        self.create_default_service_cidr(&ranges);
        // The system priority classes (kube's `scheduling/bootstrap-system-priority-classes`
        // post-start hook, `scheduling.SystemPriorityClasses`), which the Priority admission
        // plugin resolves like any other class.
        for (name, value, description) in crate::validation::others::SYSTEM_PRIORITY_CLASSES {
            let t = Target {
                group: "scheduling.k8s.io",
                version: "v1",
                plural: "priorityclasses",
                namespace: "",
                name: "",
            };
            let obj = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "description": description});
            if let Err(e) = self.create(&t, obj, &opts) {
                tracing::error!(error = %e, name, "system PriorityClass refused");
            }
        }
        for (plural, namespace, obj) in crate::bootstrap::rbac::objects() {
            let t = Target {
                group: "rbac.authorization.k8s.io",
                version: "v1",
                plural,
                namespace,
                name: "",
            };
            if let Err(e) = self.create(&t, obj, &opts) {
                // A bootstrap object the store refuses is a bug in the table; the tests catch it.
                tracing::error!(error = %e, plural, "bootstrap RBAC object refused");
            }
        }
    }

    /// The `kubernetes` ServiceCIDR with the configured ranges, primary first, and its `Ready`
    /// condition: what kube-apiserver's default ServiceCIDR controller
    /// (`pkg/controlplane/controller/defaultservicecidr`) creates at start and then marks ready
    /// (a status apply without a reason). kube 1.37 allocates cluster IPs from ServiceCIDRs; here
    /// the ranges stay the server's configuration and the object tells clients what they are.
    fn create_default_service_cidr(&self, ranges: &ServiceRanges) {
        let t = Target {
            group: "networking.k8s.io",
            version: "v1",
            plural: "servicecidrs",
            namespace: "",
            name: "",
        };
        let cidrs: Vec<String> = ranges.cidrs().iter().map(ToString::to_string).collect();
        let obj = json!({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
            "metadata": {"name": DEFAULT_SERVICE_CIDR_NAME}, "spec": {"cidrs": cidrs}});
        let opts = WriteOpts::default();
        let created = match self.create(&t, obj, &opts) {
            Ok(w) => w,
            Err(e) => {
                // Refused only if the ranges were malformed, which `ServiceRanges` rules out.
                tracing::error!(error = %e, "default ServiceCIDR refused");
                return;
            }
        };
        let Ok(mut obj) = serde_json::from_slice::<Value>(&created.body) else {
            return;
        };
        obj["status"] = json!({"conditions": [{"type": "Ready", "status": "True",
            "lastTransitionTime": crate::meta::now(), "reason": "",
            "message": "Kubernetes default Service CIDR is ready"}]});
        let t = Target {
            name: DEFAULT_SERVICE_CIDR_NAME,
            ..t
        };
        if let Err(e) = self.update(&t, Sub::Status, obj, &opts) {
            tracing::error!(error = %e, "default ServiceCIDR status refused");
        }
    }

    /// Every stored object, ordered by store key (`group/plural`), namespace and name, as of one
    /// resourceVersion (taken under the lock, so no write lands halfway through).
    pub fn dump(&self) -> Vec<Arc<Stored>> {
        let g = self.lock();
        let mut resources: Vec<&Arc<str>> = g.objects.keys().collect();
        resources.sort();
        resources
            .into_iter()
            .flat_map(|r| g.objects[r].values().cloned())
            .collect()
    }

    /// GET one object.
    pub fn get(&self, t: &Target<'_>) -> Result<Bytes, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        let key = obj_key(&info, t.namespace, t.name);
        let stored = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(info.group_resource(), t.name))?;
        drop(g);
        Ok(stored.render(&info))
    }
}

/// Renders objects as a multi-document YAML stream (`---` between documents).
pub fn to_yaml(objects: &[Arc<Stored>]) -> String {
    let mut out = String::new();
    for obj in objects {
        if !out.is_empty() {
            out.push_str("---\n");
        }
        match serde_saphyr::to_string(&obj.value()) {
            Ok(doc) => out.push_str(&doc),
            // A JSON value always has a YAML form; should the serialiser still refuse one, say so
            // in the dump rather than drop the object silently.
            Err(e) => out.push_str(&format!(
                "# object {}/{} could not be rendered as YAML: {e}\n",
                meta_str(obj.value(), "namespace"),
                meta_str(obj.value(), "name")
            )),
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// A namespace's `spec.finalizers` (empty for other objects).
fn spec_finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Sets `metadata.finalizers` (removing the field when empty, as Go's omitempty encodes it).
fn set_finalizers(obj: &mut Value, finalizers: &[String]) {
    let meta = meta_mut(obj);
    if finalizers.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(finalizers));
    }
}
