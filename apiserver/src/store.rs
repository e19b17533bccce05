//! Owns every stored object, the one resourceVersion counter, the watch event history and the write rules
//! (metadata, generation, status subresource, finalizers, preconditions, CRD registration).
//!
//! All state sits behind one `std::sync::Mutex` that is never held across an `.await`: every operation
//! is a synchronous function that validates, then commits, so a rejected request never leaves a
//! half-written store. Events are published to a broadcast channel while the lock is held, so a
//! watcher that subscribes under the same lock sees every event after its starting point exactly once.

mod crd_cleanup;
mod gc;
mod ns_defaults;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::catalog::{Catalog, ResourceInfo};
use crate::crd;
use crate::defaults;
use crate::managed::{self, Shape};
use crate::meta::{self, meta_mut, meta_str};
use crate::registry::{self, Allocations, Ctx, ServiceRanges};
use crate::selector::Selectors;
use crate::status::{ApiError, Cause};
use crate::validation;
use crate::watchcheck::{CommitLog, WatchLedger, WatchViolation};

/// Namespace names a fresh kube-apiserver creates.
pub const DEFAULT_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];
/// The store key of namespaces.
const NAMESPACES_KEY: &str = "/namespaces";
/// The store key of CRDs.
const CRDS_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";
/// The store key of Services (their addresses are tracked in `Inner::allocations`).
const SERVICES_KEY: &str = "/services";

/// Position of an object in its resource's map: (namespace or "", name). Ordered like etcd keys.
pub type ObjKey = (String, String);

/// A stored object and its JSON encoding (kept so a GET serialises nothing).
#[derive(Debug)]
pub struct Stored {
    pub value: Value,
    pub json: Bytes,
}

impl Stored {
    fn new(value: Value) -> Arc<Self> {
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(Self { value, json })
    }

    /// The JSON bytes in the API version `info` serves (objects of multi-version CRDs are converted
    /// by rewriting `apiVersion`, the `None` conversion strategy).
    pub fn render(&self, info: &ResourceInfo) -> Bytes {
        if let Some(view) = crate::events::render(info, &self.value) {
            return view;
        }
        let want = info.api_version();
        if self.value.get("apiVersion").and_then(Value::as_str) == Some(want.as_str()) {
            return self.json.clone();
        }
        let mut v = self.value.clone();
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

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The object itself.
    Main,
    /// `/status`: only `.status` changes.
    Status,
    /// `pods/ephemeralcontainers`: a write of the whole Pod of which only
    /// `spec.ephemeralContainers` is kept (the Pod strategy's `prepare_for_update`), kube's
    /// `podEphemeralContainersStrategy`. Otherwise handled as a main-resource write.
    EphemeralContainers,
    /// `certificatesigningrequests/approval`: written as `/status` is (only `.status` comes from
    /// the body), then the CSR strategy keeps only `status.conditions` (`csrApprovalStrategy`).
    Approval,
}

impl Sub {
    /// The subresource name managedFields entries record ("" for the object itself).
    pub fn managed_name(self) -> &'static str {
        match self {
            Sub::Main => "",
            Sub::Status => "status",
            Sub::EphemeralContainers => "ephemeralcontainers",
            Sub::Approval => "approval",
        }
    }
}

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// How a write maintains `metadata.managedFields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Fields {
    /// Not recorded (the server's own writes, e.g. bootstrap objects).
    #[default]
    Untracked,
    /// An ordinary write (operation Update) by this field manager.
    Update(String),
    /// Server-side apply already computed them: keep what the object carries.
    Applied,
}

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    pub fields: Fields,
}

/// `DeleteOptions.propagationPolicy`: what happens to the dependents of a deleted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// The owner goes at once; the garbage collector deletes its dependents afterwards.
    Background,
    /// The owner waits (finalizer `foregroundDeletion`) until its blocking dependents are gone.
    Foreground,
    /// The dependents stay, their ownerReferences to the owner removed (finalizer `orphan`).
    Orphan,
}

/// Delete preconditions and options.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
    /// None: keep the object's garbage-collection finalizers as they are (background by default).
    pub propagation: Option<Propagation>,
    /// `orphanDependents: false` was sent: answer 202 when the object is not deleted at once.
    pub accepted_when_pending: bool,
    /// `DeleteOptions.gracePeriodSeconds` (None: the type's default).
    pub grace_period: Option<i64>,
}

/// The answer to a write: status code, body and `Warning` headers.
#[derive(Debug)]
pub struct Written {
    pub code: u16,
    pub body: Bytes,
    pub warnings: Vec<String>,
}

/// The answer to a DELETE of one object.
#[derive(Debug)]
pub struct Deleted {
    /// The object as the delete left it (marked for deletion, or its last state).
    pub written: Written,
    /// The uid of the object when it was removed (or, on a dry run, would have been); None when
    /// it stays, marked for deletion, until its finalizers are gone.
    pub gone: Option<String>,
}

impl Deleted {
    fn pending(written: Written) -> Self {
        Self {
            written,
            gone: None,
        }
    }
}

/// Which objects a request addresses.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub plural: &'a str,
    /// "" for cluster-scoped resources or an all-namespaces list/watch.
    pub namespace: &'a str,
    pub name: &'a str,
}

/// `resourceVersionMatch` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    NotOlderThan,
    Exact,
}

/// The parameters of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub selectors: Selectors,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<u64>,
    pub rv_match: Option<RvMatch>,
}

/// How a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFrom {
    /// Synthetic ADDED events for the current state, then changes (no resourceVersion, "0", or
    /// `sendInitialEvents=true`).
    Current,
    /// Changes after this resourceVersion.
    After(u64),
}

/// A watch registered under the store lock: what to send first, then the live channel.
pub struct WatchStart {
    pub info: Arc<ResourceInfo>,
    /// Current objects to send as ADDED (WatchFrom::Current).
    pub initial: Vec<Arc<Stored>>,
    /// History events to replay (WatchFrom::After).
    pub replay: Vec<Arc<Event>>,
    /// Live events after `rv`.
    pub rx: broadcast::Receiver<Arc<Event>>,
    /// The resourceVersion the watch is at after `initial`/`replay`.
    pub rv: u64,
    /// Set when the requested resourceVersion is older than the history: send it as an ERROR event.
    pub expired: Option<ApiError>,
    /// The watch reports changes after this resourceVersion (the requested one, or `rv` for a
    /// watch that starts from the current state).
    pub since: u64,
    /// Where the watch records what it sends, for the consistency check.
    pub ledger: Arc<WatchLedger>,
}

/// The position a `continue` token resumes from.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    ns: String,
    name: String,
}

/// How much the store keeps: the watch history's bounds and the per-object storage limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events kept in the watch history at most.
    pub history_events: usize,
    /// Encoded bytes (the JSON of each event's object) kept in the watch history at most.
    pub history_bytes: usize,
    /// The largest encoded object a write may store (etcd's `--max-request-bytes`).
    pub max_object_bytes: usize,
}

/// The message etcd answers a write over `--max-request-bytes` with, which kube-apiserver passes on
/// unchanged as a 500 (`endpoints/handlers/rest.go` `isTooLargeError` only decides the retry).
const REQUEST_TOO_LARGE: &str = "etcdserver: request is too large";

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
    /// Service cluster IPs and node ports held by stored Services.
    allocations: Allocations,
    /// Names of the CRDs the CRD finalizer is deleting the instances of.
    terminating_crds: BTreeSet<String>,
    /// The serviceaccounts and root-ca-cert-publisher controllers run (see `ns_defaults`).
    namespace_defaults: bool,
    /// Namespaces whose default ServiceAccount and root CA ConfigMap need a look.
    namespace_defaults_queue: Vec<String>,
    /// Every committed event (bounded), for the watch consistency check.
    commits: CommitLog,
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

fn spec_part(v: &Value, drop_status: bool) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        // apiVersion differs when another served version of a CRD writes: not a spec change.
        m.remove("apiVersion");
        m.remove("metadata");
        if drop_status {
            m.remove("status");
        }
    }
    v
}

fn without_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

fn check_type(obj: &Value, info: &ResourceInfo) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            info.kind
        )));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let want = info.api_version();
    if !api_version.is_empty() && api_version != want {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != info.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            info.kind
        )));
    }
    if obj
        .get("metadata")
        .is_some_and(|m| !m.is_object() && !m.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): metadata must be an object",
            info.kind
        )));
    }
    Ok(())
}

fn invalid(info: &ResourceInfo, name: &str, causes: Vec<Cause>) -> ApiError {
    ApiError::invalid(
        &info.qualified_kind(),
        &info.group,
        &info.kind,
        name,
        causes,
    )
}

/// Decodes a built-in body against its type, or prunes and defaults a custom resource, applying
/// `fieldValidation` to the unknown fields.
fn prune_and_default(
    info: &ResourceInfo,
    obj: &mut Value,
    opts: &WriteOpts,
) -> Result<Vec<String>, ApiError> {
    let Some(schema) = &info.schema else {
        return validation::decode_body(info, obj, opts.field_validation);
    };
    let unknown = schema.prune(obj);
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        let listed: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        match opts.field_validation {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "strict decoding error: {}",
                    listed.join(", ")
                )));
            }
            FieldValidation::Warn => warnings = listed,
            FieldValidation::Ignore => {}
        }
    }
    schema.apply_defaults(obj);
    Ok(warnings)
}

/// What an event holds on to, for the history's byte bound: the encoding of the object it
/// introduced. Its `prev` is not counted: it is the object of an earlier event, or of an object the
/// store holds anyway, except for the first event of each object in the history.
fn event_bytes(ev: &Event) -> usize {
    ev.obj.json.len()
}

/// The length of `v`'s JSON encoding, without building it.
fn encoded_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

impl Inner {
    fn resolve(&self, t: &Target<'_>) -> Result<Arc<ResourceInfo>, ApiError> {
        self.catalog
            .get(t.group, t.version, t.plural)
            .cloned()
            .ok_or_else(ApiError::path_not_found)
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

    /// Commits `obj` (or removes `key` for `Deleted`), stamping the next resourceVersion, and publishes the event.
    fn commit(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        resource: &str,
        key: ObjKey,
        mut obj: Value,
        kind: EventKind,
        prev: Option<Arc<Stored>>,
    ) -> Arc<Stored> {
        self.rv += 1;
        let rv = self.rv;
        meta_mut(&mut obj).insert("resourceVersion".into(), rv.to_string().into());
        // Stored in kube's key order, so reads send the stored bytes unchanged.
        let custom = self
            .catalog
            .by_store_key(resource)
            .is_some_and(|i| i.custom);
        crate::order::canonical(&mut obj, custom);
        let stored = Stored::new(obj);
        let resource: Arc<str> = match self.objects.get_key_value(resource) {
            Some((k, _)) => k.clone(),
            None => Arc::from(resource),
        };
        let map = self.objects.entry(resource.clone()).or_default();
        if kind == EventKind::Deleted {
            map.remove(&key);
        } else {
            map.insert(key.clone(), stored.clone());
        }
        self.index_and_enqueue(&resource, &key, kind, prev.as_deref(), &stored.value);
        if *resource == *SERVICES_KEY {
            let now = (kind != EventKind::Deleted).then_some(&stored.value);
            self.allocations
                .sync(prev.as_deref().map(|p| &p.value), now);
        }
        self.note_namespace_default(&resource, &key, kind, &stored.value);
        let event = Arc::new(Event {
            rv,
            resource,
            key,
            kind,
            obj: stored.clone(),
            prev,
        });
        self.history_bytes += event_bytes(&event);
        self.history.push_back(event.clone());
        self.commits.push(&event);
        self.compact();
        // No receivers is fine: nobody is watching.
        let _ = tx.send(event);
        stored
    }

    /// Drops the oldest events until the history is within both of its bounds, as etcd's
    /// compaction does: a watch or `continue` token older than what is left answers 410 Expired.
    /// The newest event may go too when it alone is over the byte bound (a watch from the current
    /// resourceVersion needs no history).
    fn compact(&mut self) {
        while self.history.len() > self.limits.history_events
            || self.history_bytes > self.limits.history_bytes
        {
            let Some(old) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= event_bytes(&old);
            self.compacted = old.rv;
        }
        self.commits.forget_through(self.compacted);
    }

    /// Refuses an object whose encoding is over the storage limit with etcd's error, as
    /// kube-apiserver passes it on (500, no reason). Like kube-apiserver's create/update/patch
    /// handlers, an ordinary write first retries without `metadata.managedFields` (which can be
    /// large): when the object fits without them it is stored without them. An apply does not
    /// retry (its managedFields are what it computed). Measured on the JSON this store keeps;
    /// kube-apiserver measures etcd's request, protobuf for built-in types, JSON for custom
    /// resources.
    fn check_size(&self, obj: &mut Value, fields: &Fields) -> Result<(), ApiError> {
        let limit = self.limits.max_object_bytes;
        if encoded_len(obj) <= limit {
            return Ok(());
        }
        if *fields != Fields::Applied
            && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(managed) = m.remove("managedFields")
        {
            if encoded_len(obj) <= limit {
                return Ok(());
            }
            meta_mut(obj).insert("managedFields".into(), managed);
        }
        Err(ApiError::internal_unknown(REQUEST_TOO_LARGE))
    }

    /// The objects of `resource` as they were at resourceVersion `rv`, rebuilt by undoing later events.
    fn snapshot_at(
        &self,
        info: &ResourceInfo,
        rv: u64,
    ) -> Result<BTreeMap<ObjKey, Arc<Stored>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                self.compacted + 1
            )));
        }
        let key = info.store_key();
        let mut map = self.objects.get(key.as_str()).cloned().unwrap_or_default();
        for ev in self.history.iter().rev().take_while(|e| e.rv > rv) {
            if *ev.resource != *key {
                continue;
            }
            match &ev.prev {
                Some(p) => {
                    map.insert(ev.key.clone(), p.clone());
                }
                None => {
                    map.remove(&ev.key);
                }
            }
        }
        Ok(map)
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
                        prev.value.clone(),
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
                terminating_crds: BTreeSet::new(),
                namespace_defaults: true,
                namespace_defaults_queue: Vec::new(),
                commits: CommitLog::default(),
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

    /// Creates what a fresh kube-apiserver has: the default namespaces, the `default/kubernetes`
    /// Service and the bootstrap RBAC roles and bindings.
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
        // The first address of the service range, as kube-apiserver reserves it.
        let ip = self.lock().allocations.ranges().first_ip();
        let svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "internalTrafficPolicy": "Cluster",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}
        });
        let _ = self.create(&t, svc, &opts);
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

    /// POST: create an object.
    pub fn create(
        &self,
        t: &Target<'_>,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        self.create_locked(self.lock(), t, obj, opts)
    }

    fn create_locked(
        &self,
        mut g: MutexGuard<'_, Inner>,
        t: &Target<'_>,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let info = g.resolve(t)?;
        g.refuse_while_terminating(&info)?;
        check_type(&obj, &info)?;
        obj["apiVersion"] = info.api_version().into();
        obj["kind"] = info.kind.clone().into();
        let strategy = registry::strategy_for(&info);
        // Decode, then default (kube's order), before the writer's fields are taken.
        strategy.decode(&mut obj);
        defaults::apply(&info.api_version(), &info.kind, &mut obj);
        let mut warnings = prune_and_default(&info, &mut obj, opts)?;
        let meta = meta_mut(&mut obj);
        if meta
            .get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|rv| !rv.is_empty())
        {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        // Namespace: from the URL; the body may repeat it but not contradict it.
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if info.namespaced {
            if !body_ns.is_empty() && body_ns != t.namespace {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), t.namespace.into());
        } else {
            meta.remove("namespace");
        }
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut causes = Vec::new();
        if name.is_empty() && !generate.is_empty() {
            name = meta::generate_name(&generate);
            meta.insert("name".into(), name.clone().into());
        }
        meta.insert("uid".into(), meta::new_uid().into());
        meta.insert("creationTimestamp".into(), meta::now().into());
        if strategy.tracks_generation() {
            meta.insert("generation".into(), 1.into());
        } else {
            meta.remove("generation");
        }
        for server_set in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(server_set);
        }
        if info.status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        if let Fields::Update(manager) = &opts.fields {
            let sent = obj.pointer("/metadata/managedFields").cloned();
            let api_version = info.api_version();
            let now = meta::now();
            let writer = managed::Writer {
                manager,
                api_version: &api_version,
                subresource: "",
                now: &now,
            };
            managed::track_update(None, &mut obj, sent.as_ref(), writer, Shape::root(&info));
        }
        // The registry strategy, after field tracking: what it sets belongs to no writer.
        if info.status
            && let Some(status) = strategy.initial_status(&obj)
        {
            obj["status"] = status;
        }
        strategy.prepare_for_create(&mut obj);
        strategy.canonicalize(&mut obj);
        causes.extend(strategy.validate(&obj));
        warnings.extend(strategy.warnings_on_create(&obj));
        if let Some(schema) = &info.schema {
            causes.extend(schema.validate(&obj, None));
        }
        // The validation stage (kube's strategy Validate + ValidateObjectMeta).
        causes.extend(validation::validate_create(&info, &obj));
        warnings.extend(validation::warnings(&obj));
        let is_crd = *info.store_key() == *CRDS_KEY;
        let mut crd_infos = None;
        if is_crd {
            crd::default_crd(&mut obj);
            match crd::resources_of(&obj) {
                Ok(infos) => crd_infos = Some(infos),
                Err(errs) => causes.extend(errs),
            }
        }
        if !causes.is_empty() {
            return Err(invalid(&info, &name, causes));
        }
        if info.namespaced {
            match g.namespace(t.namespace) {
                None => {
                    return Err(ApiError::not_found(
                        crate::status::GroupResource {
                            group: "",
                            resource: "namespaces",
                        },
                        t.namespace,
                    ));
                }
                Some(ns) if !meta_str(&ns.value, "deletionTimestamp").is_empty() => {
                    return Err(ApiError::forbidden(
                        info.group_resource(),
                        &name,
                        &format!(
                            "unable to create new content in namespace {} because it is being terminated",
                            t.namespace
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let key = obj_key(&info, t.namespace, &name);
        if g.get(&info, &key).is_some() {
            return Err(ApiError::already_exists(info.group_resource(), &name));
        }
        let ctx = Ctx {
            allocations: &g.allocations,
            namespace: &key.0,
            name: &name,
        };
        let causes = strategy.allocate(&mut obj, None, &ctx);
        if !causes.is_empty() {
            return Err(invalid(&info, &name, causes));
        }
        if is_crd {
            crd::set_established(&mut obj, &meta::now());
        }
        if opts.dry_run {
            return Ok(Written {
                code: 201,
                body: Stored::new(obj).json.clone(),
                warnings,
            });
        }
        g.check_size(&mut obj, &opts.fields)?;
        let stored = g.commit(
            &self.events,
            &info.store_key(),
            key,
            obj,
            EventKind::Added,
            None,
        );
        if is_crd {
            g.crd_changed(&self.events, None, crd_infos);
        }
        g.collect_garbage(&self.events);
        warnings.dedup();
        Ok(Written {
            code: 201,
            body: stored.render(&info),
            warnings,
        })
    }

    /// PUT: replace an object (or its status).
    pub fn update(
        &self,
        t: &Target<'_>,
        sub: Sub,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        check_type(&obj, &info)?;
        let key = obj_key(&info, t.namespace, t.name);
        let old = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(info.group_resource(), t.name))?;
        let meta = meta_mut(&mut obj);
        let body_name = meta.get("name").and_then(Value::as_str).unwrap_or("");
        if !body_name.is_empty() && body_name != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({})",
                t.name
            )));
        }
        let body_ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
        if info.namespaced && !body_ns.is_empty() && body_ns != t.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        self.replace(g, &info, key, old, obj, sub, opts)
    }

    /// PATCH with a merge patch or a JSON patch.
    pub fn patch(
        &self,
        t: &Target<'_>,
        sub: Sub,
        kind: PatchKind,
        patch: &[u8],
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        let key = obj_key(&info, t.namespace, t.name);
        let old = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(info.group_resource(), t.name))?;
        let mut doc = old.value.clone();
        // Patch the object as the requested version sees it (multi-version CRDs store one apiVersion).
        doc["apiVersion"] = info.api_version().into();
        match kind {
            PatchKind::Merge => {
                let p: Value = serde_json::from_slice(patch)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                if !p.is_object() {
                    return Err(ApiError::bad_request(
                        "error decoding patch: a merge patch must be a JSON object",
                    ));
                }
                json_patch::merge(&mut doc, &p);
            }
            PatchKind::Strategic => {
                if info.custom {
                    // kube-apiserver serves no strategic merge patch for custom resources.
                    return Err(ApiError::unsupported_media_type(format!(
                        "the body of the request was in an unknown format - accepted media types include: {}",
                        crate::openapi::PATCH_TYPES.join(", ")
                    )));
                }
                let p: Value = serde_json::from_slice(patch)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                let ty = crate::smp::root_type(&info.api_version(), &info.kind).unwrap_or("");
                doc = crate::smp::apply(&doc, &p, ty)?;
            }
            PatchKind::Json => {
                // kube's library (evanphx/json-patch v4), not RFC 6902 to the letter: see
                // `jsonpatch`. `doc` is a scratch copy dropped on error, so nothing rolls back.
                let ops = crate::jsonpatch::decode(patch)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                crate::jsonpatch::apply(&mut doc, &ops)
                    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
            }
        }
        check_type(&doc, &info)?;
        // The patched object is decoded with kube's patch wording; the decode in `replace` then
        // finds nothing left to report.
        let mut patch_warnings = Vec::new();
        if !info.custom {
            patch_warnings = validation::decode_patched(&info, &mut doc, opts.field_validation)?;
        }
        let rv = meta_str(&doc, "resourceVersion");
        if !rv.is_empty() && rv != meta_str(&old.value, "resourceVersion") {
            return Err(ApiError::conflict(info.group_resource(), t.name));
        }
        if meta_str(&doc, "name") != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                meta_str(&doc, "name"),
                t.name
            )));
        }
        if meta_str(&doc, "namespace") != meta_str(&old.value, "namespace") {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut written = self.replace(g, &info, key, old, doc, sub, opts)?;
        patch_warnings.append(&mut written.warnings);
        written.warnings = patch_warnings;
        Ok(written)
    }

    /// PATCH with `application/apply-patch+yaml`: server-side apply of `config` by `manager`,
    /// creating the object when it does not exist (not through `/status`).
    pub fn apply(
        &self,
        t: &Target<'_>,
        sub: Sub,
        mut config: Value,
        manager: &str,
        force: bool,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        // kube's lastAppliedUpdater keeps kubectl's client-side annotation in step with what
        // `kubectl apply --server-side` (manager "kubectl") applied, as sent.
        let as_sent = (manager == managed::KUBECTL).then(|| config.clone());
        let Some(cm) = config.as_object_mut() else {
            return Err(ApiError::bad_request(format!(
                "error decoding patch: an apply configuration must be an object, not {config}"
            )));
        };
        // kube's versionCheckManager: the configuration names exactly the URL's type.
        let api_version = cm.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = cm.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != info.api_version() || kind != info.kind {
            let gv = if api_version.contains('/') {
                api_version.to_owned()
            } else {
                format!("/{api_version}")
            };
            return Err(ApiError::bad_request(format!(
                "invalid object type: {gv}, Kind={kind}"
            )));
        }
        if cm
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .is_some_and(|mf| !mf.is_null())
        {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        // Reset fields: the main resource never writes `status` of a type with a status
        // subresource, and `/status` writes nothing else.
        if sub == Sub::Status {
            cm.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            // resourceVersion and uid stay: they are preconditions (a stale one is 409), not
            // fields to own.
            if let Some(Value::Object(m)) = cm.get_mut("metadata") {
                m.retain(|k, _| {
                    matches!(k.as_str(), "name" | "namespace" | "resourceVersion" | "uid")
                });
            }
        } else if info.status {
            cm.remove("status");
        }
        let body_ns = cm
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if info.namespaced && !body_ns.is_empty() && body_ns != t.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // A built-in configuration converts to its type or the apply fails (structured-merge-diff).
        if !info.custom {
            validation::check_apply(&info, t.namespace, t.name, &config)?;
        }
        // Unknown fields of a custom resource never reach the field sets.
        let mut warnings = Vec::new();
        if let Some(schema) = &info.schema {
            let unknown = schema.prune(&mut config);
            if !unknown.is_empty() {
                let listed: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field {f:?}"))
                    .collect();
                match opts.field_validation {
                    FieldValidation::Strict => {
                        return Err(ApiError::bad_request(format!(
                            "error strict decoding patch: {}",
                            listed.join(", ")
                        )));
                    }
                    FieldValidation::Warn => warnings = listed,
                    FieldValidation::Ignore => {}
                }
            }
        }
        let key = obj_key(&info, t.namespace, t.name);
        let existing = g.get(&info, &key);
        if existing.is_none() && sub == Sub::Status {
            return Err(ApiError::not_found(info.group_resource(), t.name));
        }
        let shape = Shape::root(&info);
        let now = meta::now();
        let writer = managed::Writer {
            manager,
            api_version: &info.api_version(),
            subresource: sub.managed_name(),
            now: &now,
        };
        let live = match &existing {
            Some(old) => {
                let mut live = old.value.clone();
                live["apiVersion"] = info.api_version().into();
                live
            }
            None => {
                let mut empty = managed::empty_object(shape);
                empty["apiVersion"] = info.api_version().into();
                empty["kind"] = info.kind.clone().into();
                empty
            }
        };
        let mut new = managed::apply(&live, &config, force, writer, shape)?;
        if let Some(sent) = as_sent {
            managed::update_last_applied(&mut new, &sent);
        }
        // kube's checkName, after the patch.
        if meta_str(&new, "name") != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                meta_str(&new, "name"),
                t.name
            )));
        }
        let applied = WriteOpts {
            fields: Fields::Applied,
            ..opts.clone()
        };
        let mut written = match existing {
            Some(old) => self.replace(g, &info, key, old, new, sub, &applied)?,
            None => self.create_locked(g, t, new, &applied)?,
        };
        warnings.append(&mut written.warnings);
        warnings.dedup();
        written.warnings = warnings;
        Ok(written)
    }

    /// The shared second half of PUT and PATCH: apply the write rules to `new` and commit it.
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &self,
        mut g: MutexGuard<'_, Inner>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        old: Arc<Stored>,
        mut new: Value,
        sub: Sub,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let name = key.1.clone();
        let gr = info.group_resource();
        let body_rv = meta_str(&new, "resourceVersion").to_owned();
        if !body_rv.is_empty() && body_rv != meta_str(&old.value, "resourceVersion") {
            return Err(ApiError::conflict(gr, &name));
        }
        let body_uid = meta_str(&new, "uid").to_owned();
        let old_uid = meta_str(&old.value, "uid");
        if !body_uid.is_empty() && body_uid != old_uid {
            return Err(ApiError::conflict_because(
                gr,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {body_uid}, UID in object meta: {old_uid}"
                ),
            ));
        }
        let mut warnings: Vec<String>;
        let strategy = registry::strategy_for(info);
        let sent_managed_fields = new.pointer("/metadata/managedFields").cloned();
        new["apiVersion"] = info.api_version().into();
        new["kind"] = info.kind.clone().into();
        if matches!(sub, Sub::Status | Sub::Approval) {
            // Status writes change only `.status` (kube-apiserver's status strategies).
            let status = new.get("status").cloned();
            new = old.value.clone();
            new["apiVersion"] = info.api_version().into();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            // The written status is decoded like any body: unknown fields pruned, defaults applied.
            warnings = prune_and_default(info, &mut new, opts)?;
        } else {
            warnings = prune_and_default(info, &mut new, opts)?;
            if info.status {
                match old.value.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            strategy.decode(&mut new);
        }
        defaults::apply(&info.api_version(), &info.kind, &mut new);
        // Server-owned metadata always comes from the stored object.
        let old_meta = old
            .value
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let meta = meta_mut(&mut new);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        meta.remove("selfLink");
        let mut causes = Vec::new();
        strategy.prepare_for_update(&mut new, &old.value, sub);
        strategy.canonicalize(&mut new);
        causes.extend(strategy.validate_update(&new, &old.value, sub));
        warnings.extend(strategy.warnings_on_update(&new, &old.value));
        let deleting = old_meta
            .get("deletionTimestamp")
            .is_some_and(|v| !v.is_null());
        let is_namespace = *info.store_key() == *NAMESPACES_KEY;
        let new_finalizers = meta::finalizers(&new);
        let drop_status = info.status;
        if strategy.tracks_generation()
            && spec_part(&new, drop_status) != spec_part(&old.value, drop_status)
        {
            let generation = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta_mut(&mut new).insert("generation".into(), generation.into());
        }
        if let Some(schema) = &info.schema {
            if sub == Sub::Status {
                causes.extend(schema.validate_status(&new, &old.value));
            } else {
                causes.extend(schema.validate(&new, Some(&old.value)));
            }
        }
        // The validation stage (kube's strategy ValidateUpdate + ValidateObjectMetaUpdate).
        causes.extend(if sub == Sub::Status {
            validation::validate_status_update(info, &new, &old.value)
        } else {
            validation::validate_update(info, &new, &old.value, sub)
        });
        warnings.extend(validation::warnings(&new));
        let is_crd = *info.store_key() == *CRDS_KEY;
        let mut crd_infos = None;
        if is_crd && sub == Sub::Main {
            crd::default_crd(&mut new);
            match crd::resources_of(&new) {
                Ok(infos) => crd_infos = Some(infos),
                Err(errs) => causes.extend(errs),
            }
            for (path, what) in [
                ("/spec/group", "spec.group"),
                ("/spec/names/plural", "spec.names.plural"),
            ] {
                if new.pointer(path) != old.value.pointer(path) {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        what,
                        format!(
                            "Invalid value: {}: field is immutable",
                            new.pointer(path).unwrap_or(&Value::Null)
                        ),
                    ));
                }
            }
            if causes.is_empty() {
                crd::set_established(&mut new, &meta::now());
                // Keep the original condition times: only the spec changed.
                if let Some(conds) = old.value.pointer("/status/conditions") {
                    new["status"]["conditions"] = conds.clone();
                }
            }
        }
        // Addresses are allocated only for a valid object: kube-apiserver's Service registry
        // allocates in `BeginUpdate`, after the strategy's validation has passed.
        if sub == Sub::Main && causes.is_empty() {
            let ctx = Ctx {
                allocations: &g.allocations,
                namespace: &key.0,
                name: &name,
            };
            causes.extend(strategy.allocate(&mut new, Some(&old.value), &ctx));
        }
        if !causes.is_empty() {
            return Err(invalid(info, &name, causes));
        }
        match &opts.fields {
            Fields::Untracked => {}
            Fields::Update(manager) => {
                let api_version = info.api_version();
                let now = meta::now();
                let writer = managed::Writer {
                    manager,
                    api_version: &api_version,
                    subresource: sub.managed_name(),
                    now: &now,
                };
                managed::track_update(
                    Some(&old.value),
                    &mut new,
                    sent_managed_fields.as_ref(),
                    writer,
                    Shape::root(info),
                );
            }
            Fields::Applied => {
                // A status write rebuilt `new` from the stored object: put the applied ones back.
                let meta = meta_mut(&mut new);
                match sent_managed_fields {
                    Some(mf) => meta.insert("managedFields".into(), mf),
                    None => meta.remove("managedFields"),
                };
            }
        }
        managed::keep_times_of_noop(&old.value, &mut new);
        if without_rv(&new) == without_rv(&old.value) {
            // A no-op write changes nothing and emits no event, like kube-apiserver.
            return Ok(Written {
                code: 200,
                body: old.render(info),
                warnings,
            });
        }
        if opts.dry_run {
            return Ok(Written {
                code: 200,
                body: Stored::new(new).render(info),
                warnings,
            });
        }
        g.check_size(&mut new, &opts.fields)?;
        let resource = info.store_key();
        let stored = g.commit(
            &self.events,
            &resource,
            key.clone(),
            new,
            EventKind::Modified,
            Some(old.clone()),
        );
        if let Some(infos) = crd_infos {
            g.crd_changed(&self.events, Some(&old.value), Some(infos));
        }
        if deleting
            && new_finalizers.is_empty()
            && (!is_namespace || spec_finalizers(&stored.value).is_empty())
        {
            let value = stored.value.clone();
            g.commit(
                &self.events,
                &resource,
                key,
                value,
                EventKind::Deleted,
                Some(stored.clone()),
            );
            if is_crd {
                g.crd_changed(&self.events, Some(&stored.value), None);
            }
        }
        g.collect_garbage(&self.events);
        Ok(Written {
            code: 200,
            body: stored.render(info),
            warnings,
        })
    }

    /// DELETE one object: removed at once, or marked with deletionTimestamp while finalizers remain.
    pub fn delete(&self, t: &Target<'_>, opts: &DeleteOpts) -> Result<Deleted, ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let key = obj_key(&info, t.namespace, t.name);
        let deleted = Self::delete_locked(&mut g, &self.events, &info, key, opts)?;
        g.collect_garbage(&self.events);
        Ok(deleted)
    }

    fn delete_locked(
        g: &mut Inner,
        tx: &broadcast::Sender<Arc<Event>>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        opts: &DeleteOpts,
    ) -> Result<Deleted, ApiError> {
        let name = key.1.clone();
        let gr = info.group_resource();
        let old = g
            .get(info, &key)
            .ok_or_else(|| ApiError::not_found(gr, &name))?;
        if let Some(uid) = &opts.uid {
            let actual = meta_str(&old.value, "uid");
            if uid != actual {
                return Err(ApiError::conflict_because(
                    gr,
                    &name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                    ),
                ));
            }
        }
        if let Some(rv) = &opts.resource_version {
            let actual = meta_str(&old.value, "resourceVersion");
            if rv != actual {
                return Err(ApiError::conflict_because(
                    gr,
                    &name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                    ),
                ));
            }
        }
        let resource = info.store_key();
        if *resource == *CRDS_KEY && meta_str(&old.value, "deletionTimestamp").is_empty() {
            return Ok(Deleted {
                written: g.begin_crd_deletion(tx, info, key, old, opts),
                gone: None,
            });
        }
        let is_namespace = *resource == *NAMESPACES_KEY;
        let strategy = registry::strategy_for(info);
        let deleting = !meta_str(&old.value, "deletionTimestamp").is_empty();
        let mut last = old.value.clone();
        let pending_grace = old
            .value
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if deleting && pending_grace > 0 {
            // A graceful deletion is pending (kube's rest.BeforeDelete): only a shorter grace
            // period changes it; 0 with no finalizers left removes the object now.
            let Some(period) = opts.grace_period.filter(|p| *p < pending_grace) else {
                return Ok(Deleted {
                    written: Written {
                        code: 200,
                        body: old.render(info),
                        warnings: Vec::new(),
                    },
                    gone: None,
                });
            };
            let period = period.max(0);
            let deadline = meta::shift(
                meta_str(&old.value, "deletionTimestamp"),
                period - pending_grace,
            );
            let meta = meta_mut(&mut last);
            meta.insert("deletionTimestamp".into(), deadline.into());
            meta.insert("deletionGracePeriodSeconds".into(), period.into());
            if period > 0 || !meta::finalizers(&old.value).is_empty() {
                if opts.dry_run {
                    return Ok(Deleted {
                        written: Written {
                            code: 200,
                            body: Stored::new(last).render(info),
                            warnings: Vec::new(),
                        },
                        gone: None,
                    });
                }
                let stored = g.commit(tx, &resource, key, last, EventKind::Modified, Some(old));
                return Ok(Deleted {
                    written: Written {
                        code: 200,
                        body: stored.render(info),
                        warnings: Vec::new(),
                    },
                    gone: None,
                });
            }
        }
        // The type's graceful deletion (Pods on a node): the object stays until its period is over.
        let grace = if deleting {
            0
        } else {
            strategy
                .graceful_delete(&old.value, opts.grace_period)
                .max(0)
        };
        let finalizers = gc::finalizers_for(&meta::finalizers(&old.value), opts.propagation);
        // A namespace waits for its `spec.finalizers` (the namespace controller's "kubernetes").
        let waits = grace > 0
            || !finalizers.is_empty()
            || (is_namespace && !spec_finalizers(&old.value).is_empty());
        if waits {
            // kube-apiserver answers 202 Accepted to a delete that asked for cascading deletion
            // with `orphanDependents: false` and left the object in place (handlers/delete.go).
            let pending_code = if opts.accepted_when_pending { 202 } else { 200 };
            if !meta_str(&old.value, "deletionTimestamp").is_empty() {
                if finalizers == meta::finalizers(&old.value) {
                    return Ok(Deleted::pending(Written {
                        code: pending_code,
                        body: old.render(info),
                        warnings: Vec::new(),
                    }));
                }
                // Already being deleted: a new propagationPolicy only changes the GC finalizers.
                let mut changed = old.value.clone();
                set_finalizers(&mut changed, &finalizers);
                if opts.dry_run {
                    return Ok(Deleted::pending(Written {
                        code: pending_code,
                        body: Stored::new(changed).render(info),
                        warnings: Vec::new(),
                    }));
                }
                let stored = g.commit(tx, &resource, key, changed, EventKind::Modified, Some(old));
                return Ok(Deleted::pending(Written {
                    code: pending_code,
                    body: stored.render(info),
                    warnings: Vec::new(),
                }));
            }
            let mut marked = old.value.clone();
            set_finalizers(&mut marked, &finalizers);
            let generation = meta_mut(&mut marked)
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let meta = meta_mut(&mut marked);
            meta.insert("deletionTimestamp".into(), meta::in_seconds(grace).into());
            meta.insert("deletionGracePeriodSeconds".into(), grace.into());
            // kube-apiserver bumps the generation when it sets deletionTimestamp (rest.BeforeDelete).
            if generation > 0 {
                meta.insert("generation".into(), (generation + 1).into());
            }
            if is_namespace {
                if !marked.get("status").is_some_and(Value::is_object) {
                    marked["status"] = json!({});
                }
                marked["status"]["phase"] = "Terminating".into();
            }
            if opts.dry_run {
                return Ok(Deleted::pending(Written {
                    code: pending_code,
                    body: Stored::new(marked).render(info),
                    warnings: Vec::new(),
                }));
            }
            let stored = g.commit(tx, &resource, key, marked, EventKind::Modified, Some(old));
            return Ok(Deleted::pending(Written {
                code: pending_code,
                body: stored.render(info),
                warnings: Vec::new(),
            }));
        }
        let uid = meta_str(&old.value, "uid").to_owned();
        if opts.dry_run {
            return Ok(Deleted {
                written: Written {
                    code: 200,
                    body: Stored::new(last).render(info),
                    warnings: Vec::new(),
                },
                gone: Some(uid),
            });
        }
        let stored = g.commit(
            tx,
            &resource,
            key,
            last,
            EventKind::Deleted,
            Some(old.clone()),
        );
        if *resource == *CRDS_KEY {
            g.crd_changed(tx, Some(&old.value), None);
        }
        Ok(Deleted {
            written: Written {
                code: 200,
                body: stored.render(info),
                warnings: Vec::new(),
            },
            gone: Some(uid),
        })
    }

    /// DELETE on a collection: deletes every object the selectors match; answers with the list deleted.
    pub fn delete_collection(
        &self,
        t: &Target<'_>,
        selectors: &Selectors,
        opts: &DeleteOpts,
    ) -> Result<Bytes, ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let keys: Vec<ObjKey> = g
            .objects
            .get(info.store_key().as_str())
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| t.namespace.is_empty() || k.0 == t.namespace)
                    .filter(|(_, v)| selectors.matches(&v.value))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        // kube answers with the list it deleted from, i.e. the objects as they were before.
        let rv = g.rv;
        let mut items = Vec::new();
        for key in keys {
            if let Some(before) = g.get(&info, &key) {
                items.push(before.render(&info));
            }
            match Self::delete_locked(&mut g, &self.events, &info, key, opts) {
                Ok(_) => {}
                Err(e) => {
                    // Deletions already made stay made (as in kube-apiserver); finish their collection.
                    g.collect_garbage(&self.events);
                    return Err(e);
                }
            }
        }
        g.collect_garbage(&self.events);
        Ok(list_body(&info, rv, None, None, &items))
    }

    /// LIST.
    pub fn list(&self, t: &Target<'_>, q: &ListQuery) -> Result<Bytes, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        let (snapshot_rv, start) = match &q.continue_token {
            Some(token) => {
                let parsed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<ContinueToken>(&b).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "continue key is not valid: the token is not one this server issued",
                        )
                    })?;
                (parsed.rv, Some((parsed.ns, parsed.name)))
            }
            None => match (q.rv_match, q.resource_version) {
                (Some(RvMatch::Exact), Some(rv)) | (Some(RvMatch::NotOlderThan), Some(rv))
                    if rv > g.rv =>
                {
                    return Err(too_large(rv, g.rv));
                }
                (Some(RvMatch::Exact), Some(rv)) => (rv, None),
                _ => (g.rv, None),
            },
        };
        let map = if snapshot_rv == g.rv {
            None
        } else {
            Some(g.snapshot_at(&info, snapshot_rv).map_err(|e| {
                if q.continue_token.is_some() {
                    ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
                } else {
                    e
                }
            })?)
        };
        let empty = BTreeMap::new();
        let objects = match &map {
            Some(m) => m,
            None => g.objects.get(info.store_key().as_str()).unwrap_or(&empty),
        };
        let ns_scoped = info.namespaced && !t.namespace.is_empty();
        let lower = match &start {
            Some(k) => std::ops::Bound::Excluded(k.clone()),
            None if ns_scoped => std::ops::Bound::Included((t.namespace.to_owned(), String::new())),
            None => std::ops::Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last: Option<ObjKey> = None;
        let mut more = false;
        for (k, v) in objects.range((lower, std::ops::Bound::Unbounded)) {
            if ns_scoped && k.0 != t.namespace {
                break;
            }
            if !q.selectors.matches(&v.value) {
                continue;
            }
            if q.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                more = true;
                break;
            }
            items.push(v.render(&info));
            last = Some(k.clone());
        }
        let (token, remaining) = match (more, last) {
            (true, Some((ns, name))) => {
                let token = serde_json::to_vec(&ContinueToken {
                    rv: snapshot_rv,
                    ns: ns.clone(),
                    name: name.clone(),
                })
                .map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
                .unwrap_or_default();
                // kube-apiserver reports the remaining count only when no selector filters the list.
                let remaining = q.selectors.is_empty().then(|| {
                    objects
                        .range((
                            std::ops::Bound::Excluded((ns, name)),
                            std::ops::Bound::Unbounded,
                        ))
                        .take_while(|(k, _)| !ns_scoped || k.0 == t.namespace)
                        .count()
                });
                (Some(token), remaining)
            }
            _ => (None, None),
        };
        Ok(list_body(
            &info,
            snapshot_rv,
            token.as_deref(),
            remaining,
            &items,
        ))
    }

    /// Registers a watch: under the lock, collects what to send first and subscribes to what follows.
    pub fn watch(&self, t: &Target<'_>, from: WatchFrom) -> Result<WatchStart, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        let rx = self.events.subscribe();
        let mut start = WatchStart {
            info: info.clone(),
            initial: Vec::new(),
            replay: Vec::new(),
            rx,
            rv: g.rv,
            expired: None,
            since: match from {
                WatchFrom::Current => g.rv,
                WatchFrom::After(rv) => rv,
            },
            ledger: self.ledger.clone(),
        };
        match from {
            WatchFrom::Current => {
                if let Some(m) = g.objects.get(info.store_key().as_str()) {
                    start.initial = m
                        .iter()
                        .filter(|(k, _)| {
                            !info.namespaced || t.namespace.is_empty() || k.0 == t.namespace
                        })
                        .map(|(_, v)| v.clone())
                        .collect();
                }
            }
            WatchFrom::After(rv) if rv < g.compacted => {
                start.expired = Some(ApiError::expired(format!(
                    "too old resource version: {rv} ({})",
                    g.compacted + 1
                )));
            }
            WatchFrom::After(rv) => {
                let key = info.store_key();
                start.replay = g
                    .history
                    .iter()
                    .filter(|e| e.rv > rv && *e.resource == *key)
                    .cloned()
                    .collect();
            }
        }
        Ok(start)
    }
}

impl Store {
    /// The watch connections' records and the fault that breaks them on purpose.
    pub fn watch_ledger(&self) -> &WatchLedger {
        &self.ledger
    }

    /// Every watch connection whose sent events differ from the committed events its filter
    /// matches (see `crate::watchcheck`); empty when all are consistent.
    pub fn watch_violations(&self) -> Vec<WatchViolation> {
        // Copied under the lock, compared outside it: writes do not wait for the check.
        let log = self.lock().commits.snapshot();
        self.ledger.violations(&log)
    }

    /// [`Store::watch_violations`], leaving the watches found inconsistent out of later checks.
    pub fn take_watch_violations(&self) -> Vec<WatchViolation> {
        let log = self.lock().commits.snapshot();
        self.ledger.take_violations(&log)
    }
}

fn too_large(asked: u64, current: u64) -> ApiError {
    let mut e = ApiError::timeout(format!(
        "Too large resource version: {asked}, current: {current}"
    ));
    e.details = Some(Box::new(crate::status::Details {
        causes: vec![Cause::new(
            "ResourceVersionTooLarge",
            "",
            "Too large resource version",
        )],
        retry_after_seconds: Some(1),
        ..Default::default()
    }));
    e
}

/// `application/merge-patch+json`, `application/json-patch+json` or
/// `application/strategic-merge-patch+json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
}

/// Writes a `<Kind>List` from already-serialised items.
pub fn list_body(
    info: &ResourceInfo,
    rv: u64,
    token: Option<&str>,
    remaining: Option<usize>,
    items: &[Bytes],
) -> Bytes {
    let mut meta = serde_json::Map::new();
    meta.insert("resourceVersion".into(), rv.to_string().into());
    if let Some(t) = token {
        meta.insert("continue".into(), t.into());
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), r.into());
    }
    let head = json!({"kind": info.list_kind, "apiVersion": info.api_version(), "metadata": meta})
        .to_string();
    let mut out =
        Vec::with_capacity(head.len() + 16 + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// Renders objects as a multi-document YAML stream (`---` between documents).
pub fn to_yaml(objects: &[Arc<Stored>]) -> String {
    let mut out = String::new();
    for obj in objects {
        if !out.is_empty() {
            out.push_str("---\n");
        }
        match serde_saphyr::to_string(&obj.value) {
            Ok(doc) => out.push_str(&doc),
            // A JSON value always has a YAML form; should the serialiser still refuse one, say so
            // in the dump rather than drop the object silently.
            Err(e) => out.push_str(&format!(
                "# object {}/{} could not be rendered as YAML: {e}\n",
                meta_str(&obj.value, "namespace"),
                meta_str(&obj.value, "name")
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
