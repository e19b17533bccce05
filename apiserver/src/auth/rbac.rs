//! Authorizes requests with RBAC, as kube's RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`)
//! plus its privileged-group authorizer (`system:masters` may do everything).
//!
//! The Roles, ClusterRoles, RoleBindings and ClusterRoleBindings are mirrored from the store's
//! change stream: every request drains what was committed since the last one (the store sends
//! events under its lock, so a write is in the stream before its response leaves), and the
//! per-subject index is rebuilt only when an RBAC object changed and a request needs it. So a
//! request pays a mutex and an empty channel read, plus, for a user outside `system:masters`,
//! hash lookups of its user and groups and the rules bound to them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast::{self, error::TryRecvError};

use super::attributes::Attributes;
use super::user::{UserInfo, service_account_user};
use crate::meta::strings;
use crate::store::{Event, EventKind, Store, Stored, Target, WatchFrom};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Whether `store_key` is one of the bindings' resources, whose `roleRef` and subjects the
/// per-subject index reads for every binding (a role's rules are read only when a request of a
/// subject it is bound to is authorized).
pub(crate) fn is_binding_store_key(store_key: &str) -> bool {
    store_key
        .strip_prefix(RBAC_GROUP)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|plural| plural.ends_with("bindings") && PLURALS.contains(&plural))
}

/// The four mirrored resources, in the order a snapshot reads them.
const PLURALS: [&str; 4] = [
    "clusterroles",
    "roles",
    "clusterrolebindings",
    "rolebindings",
];

/// The authorizer's reading of one RBAC object: a role's rules, a binding's `roleRef` and
/// subjects. Made once per stored version ([`Stored::rbac_view`]), so rebuilding the
/// per-subject index after an RBAC write reads only what changed; an object the start snapshot
/// restored undecoded is read from its bytes, without building its `serde_json` maps.
#[derive(Debug, Default)]
pub struct RbacView {
    rules: Arc<[PolicyRule]>,
    /// `roleRef.kind` and `roleRef.name` (None: no `roleRef.kind` string).
    role_ref: Option<(String, String)>,
    subjects: Vec<SubjectRef>,
}

/// One subject of a binding, as written (`namespace` empty when absent).
#[derive(Debug, Default, serde::Deserialize)]
struct SubjectRef {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

/// The fields of an RBAC object the authorizer reads, decoded from its bytes, with its
/// `metadata` as `M` (what the start snapshot's restore reads of it, or nothing); every other
/// field is skipped. An object of other types (a rule's verb that is not a string, ...) does
/// not decode and is read from its value instead, as leniently as [`PolicyRule::from_json`].
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireObject<M> {
    pub(crate) metadata: M,
    rules: Option<Vec<WireRule>>,
    role_ref: Option<WireRoleRef>,
    subjects: Option<Vec<SubjectRef>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRule {
    verbs: Option<Vec<String>>,
    api_groups: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    resource_names: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs")]
    non_resource_urls: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct WireRoleRef {
    kind: Option<String>,
    name: Option<String>,
}

impl RbacView {
    fn from_value(obj: &Value) -> Self {
        let text = |p: &str| obj.pointer(p).and_then(Value::as_str);
        let role_ref = text("/roleRef/kind").map(|kind| {
            (
                kind.to_owned(),
                text("/roleRef/name").unwrap_or("").to_owned(),
            )
        });
        let subjects = obj
            .get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                let field = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                SubjectRef {
                    kind: field("kind"),
                    name: field("name"),
                    namespace: field("namespace"),
                }
            })
            .collect();
        Self {
            rules: PolicyRule::list(obj).into(),
            role_ref,
            subjects,
        }
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let wire: WireObject<serde::de::IgnoredAny> = serde_json::from_slice(bytes).ok()?;
        Some(Self::from_wire(wire).1)
    }

    /// A decoded [`WireObject`]'s metadata and view.
    pub(crate) fn from_wire<M>(wire: WireObject<M>) -> (M, Self) {
        let rules = wire
            .rules
            .unwrap_or_default()
            .into_iter()
            .map(|r| PolicyRule {
                verbs: r.verbs.unwrap_or_default(),
                api_groups: r.api_groups.unwrap_or_default(),
                resources: r.resources.unwrap_or_default(),
                resource_names: r.resource_names.unwrap_or_default(),
                non_resource_urls: r.non_resource_urls.unwrap_or_default(),
            })
            .collect();
        let role_ref = wire
            .role_ref
            .and_then(|r| Some((r.kind?, r.name.unwrap_or_default())));
        let view = Self {
            rules,
            role_ref,
            subjects: wire.subjects.unwrap_or_default(),
        };
        (wire.metadata, view)
    }
}

impl Stored {
    /// The authorizer's reading of this object ([`RbacView`]), made on first use.
    pub(crate) fn rbac_view(&self) -> &Arc<RbacView> {
        self.rbac.get_or_init(|| {
            let from_bytes = self
                .restored_facts()
                .and_then(|r| RbacView::from_bytes(&r.bytes));
            Arc::new(from_bytes.unwrap_or_else(|| RbacView::from_value(self.value())))
        })
    }
}

/// One rule of a Role or ClusterRole (rbac/v1 PolicyRule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

impl PolicyRule {
    /// Reads a rule's JSON.
    pub fn from_json(v: &Value) -> Self {
        Self {
            verbs: strings(v.get("verbs")),
            api_groups: strings(v.get("apiGroups")),
            resources: strings(v.get("resources")),
            resource_names: strings(v.get("resourceNames")),
            non_resource_urls: strings(v.get("nonResourceURLs")),
        }
    }

    /// The rules of a role object.
    pub fn list(obj: &Value) -> Vec<Self> {
        obj.get("rules")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Self::from_json).collect())
            .unwrap_or_default()
    }

    fn verb_matches(&self, verb: &str) -> bool {
        has(&self.verbs, "*") || has(&self.verbs, verb)
    }

    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            if r == "*" {
                return true;
            }
            if subresource.is_empty() {
                return r == resource;
            }
            // `pods/log`, or `*/log` for that subresource of every resource.
            r.split_once('/')
                .is_some_and(|(res, sub)| sub == subresource && (res == resource || res == "*"))
        })
    }

    /// Whether this rule allows the request (kube's `RuleAllows`).
    pub fn allows(&self, a: &Attributes) -> bool {
        if !self.verb_matches(&a.verb) {
            return false;
        }
        if !a.resource_request {
            return self
                .non_resource_urls
                .iter()
                .any(|u| url_covers(u, &a.path));
        }
        (has(&self.api_groups, "*") || has(&self.api_groups, &a.api_group))
            && self.resource_matches(&a.resource, &a.subresource)
            && (self.resource_names.is_empty() || has(&self.resource_names, &a.name))
    }
}

/// kube's `NonResourceURLMatches`/`nonResourceURLCovers`: equal, `*`, or a `prefix*`.
pub fn url_covers(rule: &str, path: &str) -> bool {
    rule == "*"
        || rule == path
        || rule
            .strip_suffix('*')
            .is_some_and(|prefix| path.starts_with(prefix.trim_end_matches('*')))
}

/// Rules granted to a subject by one binding, and the binding as kube's reasons describe it.
#[derive(Debug, Clone)]
struct Grant {
    /// The role the binding names. Its rules are read when first needed ([`Stored::rbac_view`]):
    /// a restored server holds about seventy bootstrap roles, and a test's subjects use a few.
    role: Arc<Stored>,
    source: Arc<str>,
}

impl Grant {
    fn rules(&self) -> &[PolicyRule] {
        &self.role.rbac_view().rules
    }
}

/// Grants by user name (ServiceAccounts under their user name) and by group.
#[derive(Debug, Default)]
struct Subjects {
    users: HashMap<String, Vec<Grant>>,
    groups: HashMap<String, Vec<Grant>>,
}

impl Subjects {
    fn grants<'a>(&'a self, user: &'a UserInfo) -> impl Iterator<Item = &'a Grant> + 'a {
        let by_user = self.users.get(&user.name).into_iter().flatten();
        let by_group = user
            .groups
            .iter()
            .filter_map(|g| self.groups.get(g))
            .flatten();
        by_user.chain(by_group)
    }
}

/// The per-subject index: cluster-wide grants and grants per namespace.
#[derive(Debug, Default)]
struct Index {
    cluster: Subjects,
    namespaced: HashMap<String, Subjects>,
}

impl Index {
    fn grants<'a>(
        &'a self,
        user: &'a UserInfo,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a Grant> + 'a {
        let local = (!ns.is_empty())
            .then(|| self.namespaced.get(ns))
            .flatten()
            .into_iter()
            .flat_map(move |s| s.grants(user));
        self.cluster.grants(user).chain(local)
    }
}

/// kube's `describeSubject`.
fn describe_subject(kind: &str, name: &str, ns: &str) -> String {
    if kind == "ServiceAccount" {
        format!("{kind} {:?}", format!("{name}/{ns}"))
    } else {
        format!("{kind} {name:?}")
    }
}

/// The RBAC objects as of the last drained event.
struct Mirror {
    rx: broadcast::Receiver<Arc<Event>>,
    /// Objects per plural, keyed by (namespace, name).
    objects: HashMap<&'static str, HashMap<(String, String), Arc<Stored>>>,
    /// Set when an RBAC object changed since `index` was built.
    dirty: bool,
    index: Arc<Index>,
}

impl Mirror {
    fn load(store: &Store) -> Self {
        let mut rx = None;
        let mut objects = HashMap::new();
        for plural in PLURALS {
            let t = Target {
                group: RBAC_GROUP,
                version: "v1",
                plural,
                namespace: "",
                name: "",
            };
            let mut map = HashMap::new();
            // The RBAC resources are built in: resolving them cannot fail.
            if let Ok(start) = store.watch(&t, WatchFrom::Current) {
                map.extend(start.initial);
                // Subscribed before the first snapshot: replaying what follows converges on the
                // current state whatever the later snapshots already hold.
                if rx.is_none() {
                    rx = Some(start.rx);
                }
            }
            objects.insert(plural, map);
        }
        let rx = rx.unwrap_or_else(|| {
            let (tx, rx) = broadcast::channel(1);
            drop(tx);
            rx
        });
        Self {
            rx,
            objects,
            dirty: true,
            index: Arc::default(),
        }
    }

    /// Applies everything committed since the last call; reloads when the stream overflowed.
    fn drain(&mut self, store: &Store) {
        loop {
            match self.rx.try_recv() {
                Ok(ev) => self.apply(&ev),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
                Err(TryRecvError::Lagged(_)) => {
                    *self = Self::load(store);
                    return;
                }
            }
        }
    }

    fn apply(&mut self, ev: &Event) {
        let Some(plural) = ev
            .resource
            .strip_prefix(RBAC_GROUP)
            .and_then(|r| r.strip_prefix('/'))
        else {
            return;
        };
        let Some(plural) = PLURALS.iter().find(|p| **p == plural) else {
            return;
        };
        let map = self.objects.entry(plural).or_default();
        if ev.kind == EventKind::Deleted {
            map.remove(&ev.key);
        } else {
            map.insert(ev.key.clone(), ev.obj.clone());
        }
        self.dirty = true;
    }

    fn get(&self, plural: &str, ns: &str, name: &str) -> Option<&Arc<Stored>> {
        self.objects
            .get(plural)?
            .get(&(ns.to_owned(), name.to_owned()))
    }

    /// The rules a roleRef names, or kube's error when the role does not exist.
    fn role_ref_rules(&self, kind: &str, ns: &str, name: &str) -> Result<Vec<PolicyRule>, String> {
        let (plural, ns, what) = match kind {
            "Role" => ("roles", ns, "roles"),
            "ClusterRole" => ("clusterroles", "", "clusterroles"),
            other => return Err(format!("unsupported role reference kind: {other:?}")),
        };
        self.get(plural, ns, name)
            .map(|o| o.rbac_view().rules.to_vec())
            .ok_or_else(|| format!("{what}.{RBAC_GROUP} {name:?} not found"))
    }

    fn build(&self) -> Index {
        let mut index = Index::default();
        let mut cluster_roles: HashMap<&str, &Arc<Stored>> = HashMap::new();
        for (name, obj) in self.objects.get("clusterroles").into_iter().flatten() {
            cluster_roles.insert(name.1.as_str(), obj);
        }
        for (binding_kind, plural) in [
            ("ClusterRoleBinding", "clusterrolebindings"),
            ("RoleBinding", "rolebindings"),
        ] {
            for ((ns, name), obj) in self.objects.get(plural).into_iter().flatten() {
                let view = obj.rbac_view();
                let (role_kind, role_name) = match &view.role_ref {
                    Some((kind, name)) => (Some(kind.as_str()), name.as_str()),
                    None => (None, ""),
                };
                let role: Arc<Stored> = match role_kind {
                    Some("ClusterRole") => match cluster_roles.get(role_name) {
                        Some(r) => Arc::clone(r),
                        None => continue,
                    },
                    Some("Role") if !ns.is_empty() => match self.get("roles", ns, role_name) {
                        Some(r) => Arc::clone(r),
                        None => continue,
                    },
                    _ => continue,
                };
                let shown_name = if ns.is_empty() {
                    name.clone()
                } else {
                    format!("{name}/{ns}")
                };
                let subjects_of = if ns.is_empty() {
                    &mut index.cluster
                } else {
                    index.namespaced.entry(ns.clone()).or_default()
                };
                for s in &view.subjects {
                    let (kind, sname) = (s.kind.as_str(), s.name.as_str());
                    let sns = if s.namespace.is_empty() {
                        ns.as_str()
                    } else {
                        s.namespace.as_str()
                    };
                    let source: Arc<str> = format!(
                        "{binding_kind} {shown_name:?} of {} {role_name:?} to {}",
                        role_kind.unwrap_or(""),
                        describe_subject(kind, sname, sns)
                    )
                    .into();
                    let grant = Grant {
                        role: role.clone(),
                        source,
                    };
                    match kind {
                        "User" => subjects_of
                            .users
                            .entry(sname.to_owned())
                            .or_default()
                            .push(grant),
                        "Group" => subjects_of
                            .groups
                            .entry(sname.to_owned())
                            .or_default()
                            .push(grant),
                        // A ServiceAccount of a ClusterRoleBinding needs its namespace.
                        "ServiceAccount" if !sns.is_empty() => subjects_of
                            .users
                            .entry(service_account_user(sns, sname))
                            .or_default()
                            .push(grant),
                        _ => {}
                    }
                }
            }
        }
        index
    }
}

/// The authorizer's answers for one user, frozen when a request starts: validating admission's
/// `authorizer` asks while the store's lock is held, when the live authorizer (which reads the
/// store's change stream and may reload from the store) must not be asked.
#[derive(Clone)]
pub struct Snapshot {
    user: Arc<UserInfo>,
    /// None for `system:masters` (everything is allowed; no index is needed).
    index: Option<Arc<Index>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("user", &self.user.name)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Whether the user may do `a`, and the reason, as [`Authorizer::authorize`] answers.
    pub fn authorize(&self, a: &Attributes) -> (bool, String) {
        let Some(index) = &self.index else {
            return (true, String::new());
        };
        for grant in index.grants(&self.user, &a.namespace) {
            if grant.rules().iter().any(|r| r.allows(a)) {
                return (true, format!("RBAC: allowed by {}", grant.source));
            }
        }
        (false, String::new())
    }
}

/// The RBAC authorizer of one server.
pub struct Authorizer {
    mirror: Mutex<Mirror>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorizer")
    }
}

impl Authorizer {
    /// An authorizer reading the RBAC objects of `store` (call after the store's bootstrap).
    pub fn new(store: &Store) -> Self {
        Self {
            mirror: Mutex::new(Mirror::load(store)),
        }
    }

    fn lock(&self, store: &Store) -> MutexGuard<'_, Mirror> {
        // The mirror is rebuilt from the store when anything looks off, so a poisoned lock
        // (a panic elsewhere) still guards a usable value.
        let mut m = self
            .mirror
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.drain(store);
        m
    }

    fn index(&self, store: &Store) -> Arc<Index> {
        let mut m = self.lock(store);
        if m.dirty {
            m.index = Arc::new(m.build());
            m.dirty = false;
        }
        m.index.clone()
    }

    /// The answers for `user` as of now (see [`Snapshot`]); costs nothing for `system:masters`.
    pub fn snapshot(&self, store: &Store, user: Arc<UserInfo>) -> Snapshot {
        let index = (!user.is_master()).then(|| self.index(store));
        Snapshot { user, index }
    }

    /// Reads the change stream without deciding anything, so that events do not pile up in it
    /// while only `system:masters` users make requests.
    pub fn catch_up(&self, store: &Store) {
        drop(self.lock(store));
    }

    /// Whether `user` may do `a`, and kube's reason (`RBAC: allowed by ...`; empty when denied or
    /// allowed as `system:masters`).
    pub fn authorize(&self, store: &Store, user: &UserInfo, a: &Attributes) -> (bool, String) {
        if user.is_master() {
            return (true, String::new());
        }
        let index = self.index(store);
        for grant in index.grants(user, &a.namespace) {
            if grant.rules().iter().any(|r| r.allows(a)) {
                return (true, format!("RBAC: allowed by {}", grant.source));
            }
        }
        (false, String::new())
    }

    /// Every rule bound to `user` cluster-wide and in `ns` (kube's `RulesFor`; nothing extra for
    /// `system:masters`, whose rights come from the privileged-group authorizer).
    pub fn rules_for(&self, store: &Store, user: &UserInfo, ns: &str) -> Vec<PolicyRule> {
        let index = self.index(store);
        index
            .grants(user, ns)
            .flat_map(|g| g.rules().iter().cloned())
            .collect()
    }

    /// The rules a binding's roleRef names (`bindingNamespace` "" for a ClusterRoleBinding).
    pub fn role_ref_rules(
        &self,
        store: &Store,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Result<Vec<PolicyRule>, String> {
        self.lock(store).role_ref_rules(kind, ns, name)
    }

    /// Every ClusterRole as stored (for the aggregation controller).
    pub fn cluster_roles(&self, store: &Store) -> Vec<Arc<Stored>> {
        let m = self.lock(store);
        m.objects
            .get("clusterroles")
            .map(|o| o.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        PolicyRule::from_json(&v)
    }

    #[test]
    fn rules_match_as_kubes_rule_allows() {
        let pods = Attributes::resource("get", "", "pods", "ns", "p");
        assert!(
            rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})).allows(&pods)
        );
        assert!(
            rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})).allows(&pods)
        );
        assert!(
            !rule(json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}))
                .allows(&pods)
        );
        assert!(
            !rule(json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}))
                .allows(&pods)
        );
        let named = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["q"]});
        assert!(!rule(named.clone()).allows(&pods));
        assert!(rule(named).allows(&Attributes::resource("get", "", "pods", "ns", "q")));
        let log = pods.clone().with_subresource("log");
        assert!(
            !rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})).allows(&log)
        );
        assert!(
            rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}))
                .allows(&log)
        );
        assert!(
            rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]})).allows(&log)
        );
        assert!(
            !rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}))
                .allows(&pods)
        );
        let url = Attributes::non_resource("get", "/apis/apps/v1");
        assert!(rule(json!({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]})).allows(&url));
        assert!(rule(json!({"verbs": ["get"], "nonResourceURLs": ["*"]})).allows(&url));
        assert!(!rule(json!({"verbs": ["get"], "nonResourceURLs": ["/api/*"]})).allows(&url));
        assert!(!rule(json!({"verbs": ["get"], "nonResourceURLs": ["/apis"]})).allows(&url));
        // A resource rule never allows a path, nor a path rule a resource.
        assert!(
            !rule(json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]})).allows(&url)
        );
        assert!(!rule(json!({"verbs": ["get"], "nonResourceURLs": ["*"]})).allows(&pods));
    }
}
