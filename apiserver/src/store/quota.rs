//! Owns ResourceQuota accounting: what each object charges to a quota (kube's quota evaluators,
//! `pkg/quota/v1/evaluator/core` and the generic object count evaluator of
//! `staging/src/k8s.io/apiserver/pkg/quota/v1/generic`), which quotas an object falls under
//! (scopes and `scopeSelector`), and kube-controller-manager's resourcequota controller, which
//! keeps every quota's `status.hard` (its `spec.hard`) and `status.used` (the sum over the
//! namespace's objects). The `ResourceQuota` admission plugin (`plugins/resource_quota.rs`)
//! refuses what would exceed them.
//!
//! What is charged:
//! - every object: `count/<resource>[.<group>]` (for any resource, custom ones included);
//!   ConfigMaps, Secrets, ReplicationControllers, ResourceQuotas, Services and
//!   PersistentVolumeClaims also under their legacy names (`configmaps`, ...);
//! - a Pod that has not ended (not `Succeeded` or `Failed`): `pods`, and its compute resources
//!   as the scheduler counts them (containers, sidecars and init containers, pod-level
//!   resources and the RuntimeClass overhead): `requests.cpu` (alias `cpu`), `limits.cpu`, the
//!   same for `memory` and `ephemeral-storage`, `hugepages-*` and `requests.<extended>`;
//! - a Service: `services.nodeports` (its ports, for NodePort and LoadBalancer types) and
//!   `services.loadbalancers`;
//! - a PersistentVolumeClaim: `requests.storage`, and per StorageClass
//!   `<class>.storageclass.storage.k8s.io/requests.storage` and `.../persistentvolumeclaims`.
//!
//! A quota with scopes counts Pods only (`Terminating`, `NotTerminating`, `BestEffort`,
//! `NotBestEffort`, `PriorityClass`, `CrossNamespacePodAffinity`). Like the garbage collector the
//! controller runs synchronously at the end of every write, and only with kube-controller-
//! manager's controllers on; off (envtest's behaviour) a quota's status stays empty and the
//! admission plugin, which reads `status.hard`, enforces nothing, as on envtest. Not modelled:
//! a Pod deleted gracefully stops counting when it is removed (kube stops once its grace
//! period is over), and the `VolumeAttributesClass` scope.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::plugins::default_classes::claim_class;
use super::plugins::limit_ranger::{Resources, add, pod_totals, resources};
use super::{Event, EventKind, Inner, ObjKey};
use crate::meta::meta_str;
use crate::validation::quantity::Quantity;

/// The store key of the ResourceQuotas.
pub(super) const QUOTAS_KEY: &str = "/resourcequotas";
/// The legacy core resources counted under their own name as well as `count/<resource>`.
const LEGACY_COUNTED: [&str; 6] = [
    "configmaps",
    "secrets",
    "replicationcontrollers",
    "resourcequotas",
    "services",
    "persistentvolumeclaims",
];
/// The store keys a quota's usage is gathered from besides those its `count/` names give.
const CHARGED_KEYS: [&str; 7] = [
    "/pods",
    "/services",
    "/persistentvolumeclaims",
    "/configmaps",
    "/secrets",
    "/replicationcontrollers",
    "/resourcequotas",
];
/// `storageClassSuffix`.
const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";
/// `requestedResourcePrefixes`: resources quota'd as requests under their own name too.
const HUGEPAGES_PREFIX: &str = "hugepages-";

/// What an object charges, by quota resource name.
pub(super) type Usage = Resources;

/// `count/<plural>` for a core resource, `count/<plural>.<group>` otherwise.
fn count_name(store_key: &str) -> String {
    match store_key.split_once('/') {
        Some(("", plural)) => format!("count/{plural}"),
        Some((group, plural)) => format!("count/{plural}.{group}"),
        None => format!("count/{store_key}"),
    }
}

/// The store key a `count/` quota name charges.
fn counted_key(name: &str) -> Option<String> {
    let resource = name.strip_prefix("count/")?;
    Some(match resource.split_once('.') {
        Some((plural, group)) => format!("{group}/{plural}"),
        None => format!("/{resource}"),
    })
}

/// The usage the object `obj` of the store key `store_key` charges.
pub(super) fn usage(store_key: &str, obj: &Value) -> Usage {
    let one = Quantity::count(1);
    let mut u = Usage::new();
    u.insert(count_name(store_key), one);
    let plural = store_key.strip_prefix('/').unwrap_or("");
    if LEGACY_COUNTED.contains(&plural) {
        u.insert(plural.to_owned(), one);
    }
    match plural {
        "pods" => pod_usage(obj, &mut u),
        "services" => service_usage(obj, &mut u),
        "persistentvolumeclaims" => claim_usage(obj, &mut u),
        _ => {}
    }
    u
}

/// `QuotaV1Pod`: a Pod that has ended charges only its object count.
fn pod_is_live(pod: &Value) -> bool {
    !matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// `PodUsageFunc`: `pods` and the compute resources (`PodRequests`/`PodLimits`, the overhead
/// added to the requests and to the limits that are set).
fn pod_usage(pod: &Value, u: &mut Usage) {
    if !pod_is_live(pod) {
        return;
    }
    u.insert("pods".into(), Quantity::count(1));
    let (mut requests, mut limits) = pod_totals(pod);
    let overhead = resources(pod.pointer("/spec/overhead"));
    add(&mut requests, &overhead);
    for (name, q) in &overhead {
        if let Some(l) = limits.get_mut(name) {
            *l = l.add(q);
        }
    }
    for (k, v) in compute_usage(&requests, &limits) {
        u.insert(k, v);
    }
}

/// `podComputeUsageHelper`: the quota names a set of requests and limits charges.
pub(super) fn compute_usage(requests: &Resources, limits: &Resources) -> Usage {
    let mut u = Usage::new();
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(name) {
            u.insert(name.to_owned(), *q);
            u.insert(format!("requests.{name}"), *q);
        }
        if let Some(q) = limits.get(name) {
            u.insert(format!("limits.{name}"), *q);
        }
    }
    for (name, q) in requests {
        if name.starts_with(HUGEPAGES_PREFIX) {
            u.insert(name.clone(), *q);
            u.insert(format!("requests.{name}"), *q);
        }
        if is_extended(name) {
            u.insert(format!("requests.{name}"), *q);
        }
    }
    u
}

/// `IsExtendedResourceName`: a domain-qualified resource outside `kubernetes.io`.
fn is_extended(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

/// The Service evaluator's usage.
fn service_usage(svc: &Value, u: &mut Usage) {
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let (mut node_ports, mut balancers) = (0, 0);
    match svc.pointer("/spec/type").and_then(Value::as_str) {
        Some("NodePort") => node_ports = ports.len(),
        Some("LoadBalancer") => {
            balancers = 1;
            let allocate = svc
                .pointer("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool);
            node_ports = if allocate == Some(false) {
                ports
                    .iter()
                    .filter(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0)
                    .count()
            } else {
                ports.len()
            };
        }
        _ => {}
    }
    let n = |k: usize| Quantity::count(i64::try_from(k).unwrap_or(i64::MAX));
    u.insert("services.nodeports".into(), n(node_ports));
    u.insert("services.loadbalancers".into(), n(balancers));
}

/// The PersistentVolumeClaim evaluator's usage: the storage asked for (or allocated, if more),
/// also charged to the claim's StorageClass.
fn claim_usage(pvc: &Value, u: &mut Usage) {
    let class = claim_class(pvc);
    if !class.is_empty() {
        u.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            Quantity::count(1),
        );
    }
    let requested = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(Quantity::parse);
    let allocated = pvc
        .pointer("/status/allocatedResources/storage")
        .and_then(Quantity::parse);
    let storage = match (requested, allocated) {
        (Some(r), Some(a)) if a.cmp(&r).is_gt() => Some(a),
        (Some(r), _) => Some(r),
        (None, a) => a,
    };
    if let Some(q) = storage {
        u.insert("requests.storage".into(), q);
        if !class.is_empty() {
            u.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), q);
        }
    }
}

/// A quota's scopes and scope selector requirements, as (scope, operator, values).
fn scopes(quota: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> =
        crate::meta::strings(quota.pointer("/spec/scopes"))
            .into_iter()
            .map(|s| (s, "Exists".to_owned(), Vec::new()))
            .collect();
    for r in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push((
            r.get("scopeName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            r.get("operator")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            crate::meta::strings(r.get("values")),
        ));
    }
    out
}

/// Whether the object falls under the quota's scopes: every scope must match it
/// (`generic.Matches`). Only the Pod and PersistentVolumeClaim evaluators match scopes; a scoped
/// quota counts nothing else.
pub(super) fn in_scope(quota: &Value, store_key: &str, obj: &Value) -> bool {
    let scopes = scopes(quota);
    if scopes.is_empty() {
        return true;
    }
    let matches: fn(&Value, &str, &str, &[String]) -> bool = match store_key {
        "/pods" => pod_matches_scope,
        "/persistentvolumeclaims" => claim_matches_scope,
        _ => return false,
    };
    scopes
        .iter()
        .all(|(scope, op, values)| matches(obj, scope, op, values))
}

/// `pvcMatchesScopeFunc`: the `VolumeAttributesClass` scope, matched against every class the
/// claim names (`getReferencedVolumeAttributesClassNames`: the spec's, the current one and the
/// one being modified to) as a label selector on `{VolumeAttributesClass: <name>}` is: a claim
/// naming none matches `NotIn` and `DoesNotExist`, and `Exists` wants one.
fn claim_matches_scope(pvc: &Value, scope: &str, op: &str, values: &[String]) -> bool {
    if scope != "VolumeAttributesClass" {
        return false;
    }
    let names = attributes_class_names(pvc);
    match op {
        "Exists" => !names.is_empty(),
        "DoesNotExist" => names.is_empty(),
        "In" => names.iter().any(|n| values.contains(n)),
        "NotIn" => names.is_empty() || names.iter().any(|n| !values.contains(n)),
        _ => false,
    }
}

/// `getReferencedVolumeAttributesClassNames`: the claim's non-empty VolumeAttributesClass names.
fn attributes_class_names(pvc: &Value) -> std::collections::BTreeSet<String> {
    [
        "/spec/volumeAttributesClassName",
        "/status/currentVolumeAttributesClassName",
        "/status/modifyVolumeStatus/targetVolumeAttributesClassName",
    ]
    .iter()
    .filter_map(|p| pvc.pointer(p).and_then(Value::as_str))
    .filter(|n| !n.is_empty())
    .map(str::to_owned)
    .collect()
}

/// `podMatchesScopeFunc`.
fn pod_matches_scope(pod: &Value, scope: &str, op: &str, values: &[String]) -> bool {
    let terminating = pod
        .pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|d| d >= 0);
    let best_effort = pod
        .pointer("/status/qosClass")
        .and_then(Value::as_str)
        .unwrap_or_else(|| crate::registry::pod::qos_class(pod))
        == "BestEffort";
    let positive = match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "CrossNamespacePodAffinity" => cross_namespace_affinity(pod),
        "PriorityClass" => {
            let class = pod
                .pointer("/spec/priorityClassName")
                .and_then(Value::as_str)
                .unwrap_or("");
            // kube matches a label set that always has the key.
            return match op {
                "Exists" => !class.is_empty(),
                "In" => values.iter().any(|v| v == class),
                "NotIn" => !values.iter().any(|v| v == class),
                _ => false,
            };
        }
        _ => return false,
    };
    match op {
        "Exists" | "In" => positive,
        "DoesNotExist" | "NotIn" => !positive,
        _ => false,
    }
}

/// Whether any pod (anti-)affinity term names other namespaces or a namespace selector.
fn cross_namespace_affinity(pod: &Value) -> bool {
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let Some(affinity) = pod.pointer(&format!("/spec/affinity/{kind}")) else {
            return false;
        };
        let required = affinity
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let preferred = affinity
            .get("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| w.get("podAffinityTerm"));
        required.chain(preferred).any(|term| {
            term.get("namespaces")
                .and_then(Value::as_array)
                .is_some_and(|n| !n.is_empty())
                || term.get("namespaceSelector").is_some_and(|s| !s.is_null())
        })
    })
}

/// A resource list as JSON, each quantity in kube's canonical form.
fn to_json(list: &Usage) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, q)| (k.clone(), Value::from(q.canonical())))
            .collect::<Map<String, Value>>(),
    )
}

impl Inner {
    /// Notes a committed change in `namespace` the resourcequota controller must look at.
    pub(super) fn note_for_quota(&mut self, namespace: &str) {
        if !namespace.is_empty() && self.objects_of(QUOTAS_KEY, namespace).next().is_some() {
            self.quota_dirty.insert(namespace.to_owned());
        }
    }

    /// What the objects of `namespace` under `quota`'s scopes charge to its hard resources.
    pub(super) fn quota_used(&self, quota: &Value, namespace: &str) -> Usage {
        let hard = resources(quota.pointer("/spec/hard"));
        let mut keys: BTreeSet<String> = CHARGED_KEYS.iter().map(|k| (*k).to_owned()).collect();
        keys.extend(hard.keys().filter_map(|k| counted_key(k)));
        let mut used: Usage = hard
            .keys()
            .map(|k| (k.clone(), Quantity::count(0)))
            .collect();
        for key in keys {
            for (_, obj) in self.objects_of(&key, namespace) {
                let obj = obj.value();
                if !in_scope(quota, &key, obj) {
                    continue;
                }
                for (name, q) in usage(&key, obj) {
                    if let Some(total) = used.get_mut(&name) {
                        *total = total.add(&q);
                    }
                }
            }
        }
        used
    }

    /// The resourcequota controller's pass over the namespaces a write touched: each quota's
    /// `status.hard` and `status.used` brought up to date; true when it wrote any.
    pub(super) fn sync_quotas(&mut self, tx: &broadcast::Sender<Arc<Event>>) -> bool {
        let mut changed = false;
        for namespace in std::mem::take(&mut self.quota_dirty) {
            let quotas: Vec<(ObjKey, Arc<super::Stored>)> = self
                .objects_of(QUOTAS_KEY, &namespace)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (key, old) in quotas {
                let quota = old.value();
                let status = json!({
                    "hard": quota.pointer("/spec/hard").cloned().unwrap_or_else(|| json!({})),
                    "used": to_json(&self.quota_used(quota, &namespace)),
                });
                if quota.get("status") == Some(&status) {
                    continue;
                }
                let mut v = quota.clone();
                v["status"] = status;
                self.commit(tx, QUOTAS_KEY, key, v, EventKind::Modified, Some(old));
                changed = true;
            }
        }
        changed
    }
}

/// `prettyPrint`: `name=quantity` by name, comma-separated.
pub(super) fn pretty(list: &Usage) -> String {
    list.iter()
        .map(|(k, q)| format!("{k}={}", q.canonical()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The quota's name, for messages.
pub(super) fn name(quota: &Value) -> &str {
    meta_str(quota, "name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(&Value::from(s)).expect("quantity")
    }

    #[test]
    fn a_pod_charges_its_count_and_compute_resources_until_it_ends() {
        let pod = json!({"spec": {
            "overhead": {"cpu": "10m"},
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi", "example.com/gpu": "1"},
                "limits": {"cpu": "200m"}}}]}});
        let u = usage("/pods", &pod);
        assert_eq!(u["count/pods"].canonical(), "1");
        assert_eq!(u["pods"].canonical(), "1");
        assert_eq!(u["requests.cpu"].canonical(), "110m", "overhead counted");
        assert_eq!(u["cpu"].canonical(), "110m");
        assert_eq!(u["limits.cpu"].canonical(), "210m");
        assert_eq!(u["requests.memory"].canonical(), "64Mi");
        assert!(!u.contains_key("limits.memory"));
        assert_eq!(u["requests.example.com/gpu"].canonical(), "1");
        let mut done = pod.clone();
        done["status"] = json!({"phase": "Succeeded"});
        assert_eq!(
            usage("/pods", &done).keys().collect::<Vec<_>>(),
            ["count/pods"]
        );
    }

    #[test]
    fn services_claims_and_other_objects_charge_their_counts() {
        let lb = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
        let u = usage("/services", &lb);
        assert_eq!(u["services"].canonical(), "1");
        assert_eq!(u["services.loadbalancers"].canonical(), "1");
        assert_eq!(u["services.nodeports"].canonical(), "2");
        let pvc = json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}});
        let u = usage("/persistentvolumeclaims", &pvc);
        assert_eq!(u["requests.storage"], q("1Gi"));
        assert_eq!(
            u["fast.storageclass.storage.k8s.io/requests.storage"],
            q("1Gi")
        );
        assert_eq!(
            u["fast.storageclass.storage.k8s.io/persistentvolumeclaims"].canonical(),
            "1"
        );
        assert_eq!(usage("/configmaps", &json!({})).len(), 2);
        assert_eq!(
            usage("apps/deployments", &json!({}))
                .keys()
                .collect::<Vec<_>>(),
            ["count/deployments.apps"]
        );
        assert_eq!(
            counted_key("count/deployments.apps").as_deref(),
            Some("apps/deployments")
        );
        assert_eq!(
            counted_key("count/widgets.example.com").as_deref(),
            Some("example.com/widgets")
        );
        assert_eq!(counted_key("count/pods").as_deref(), Some("/pods"));
    }

    #[test]
    fn scoped_quotas_count_matching_pods_only() {
        let scoped = |scopes: Value| json!({"spec": {"scopes": scopes}});
        let best_effort = json!({"spec": {"containers": [{"name": "a"}]}});
        let burstable = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        assert!(in_scope(
            &scoped(json!(["BestEffort"])),
            "/pods",
            &best_effort
        ));
        assert!(!in_scope(
            &scoped(json!(["BestEffort"])),
            "/pods",
            &burstable
        ));
        assert!(in_scope(
            &scoped(json!(["NotBestEffort", "NotTerminating"])),
            "/pods",
            &burstable
        ));
        assert!(!in_scope(
            &scoped(json!(["BestEffort"])),
            "/configmaps",
            &json!({})
        ));
        let by_class = json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        let high = json!({"spec": {"priorityClassName": "high", "containers": []}});
        assert!(in_scope(&by_class, "/pods", &high));
        assert!(!in_scope(&by_class, "/pods", &best_effort));
    }

    #[test]
    fn the_volume_attributes_class_scope_matches_every_class_a_claim_names() {
        let selector = |op: &str, values: Value| {
            json!({"spec": {"scopeSelector": {"matchExpressions": [
                {"scopeName": "VolumeAttributesClass", "operator": op, "values": values}]}}})
        };
        let plain = json!({"spec": {}});
        let gold = json!({"spec": {"volumeAttributesClassName": "gold"}});
        // Being modified from silver to gold: both names count.
        let moving = json!({"spec": {"volumeAttributesClassName": "gold"},
            "status": {"currentVolumeAttributesClassName": "silver",
                       "modifyVolumeStatus": {"targetVolumeAttributesClassName": "gold"}}});
        let claims = "/persistentvolumeclaims";
        let exists = json!({"spec": {"scopes": ["VolumeAttributesClass"]}});
        assert!(!in_scope(&exists, claims, &plain));
        assert!(in_scope(&exists, claims, &gold));
        let absent = selector("DoesNotExist", json!([]));
        assert!(in_scope(&absent, claims, &plain));
        assert!(!in_scope(&absent, claims, &gold));
        let silver = selector("In", json!(["silver"]));
        assert!(!in_scope(&silver, claims, &gold));
        assert!(in_scope(&silver, claims, &moving));
        let not_gold = selector("NotIn", json!(["gold"]));
        assert!(in_scope(&not_gold, claims, &plain));
        assert!(!in_scope(&not_gold, claims, &gold));
        assert!(in_scope(&not_gold, claims, &moving), "silver is not gold");
        // A Pod is never in a VolumeAttributesClass scope, a claim never in a Pod scope.
        assert!(!in_scope(
            &exists,
            "/pods",
            &json!({"spec": {"containers": []}})
        ));
        assert!(!in_scope(
            &json!({"spec": {"scopes": ["NotTerminating"]}}),
            claims,
            &gold
        ));
    }
}
