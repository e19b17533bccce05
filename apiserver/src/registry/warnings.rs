//! The `Warning` headers kube's strategies give for what a written object holds that still
//! works but is deprecated, removed, ignored or ambiguous, and the strategies that only add such
//! warnings to the generic behaviour.
//!
//! This module owns the checks shared between types: the pod spec and metadata checks of
//! every pod-bearing type (`pkg/api/pod/warnings.go`, `warningsForPodSpecAndMeta`), deprecated
//! node labels (`pkg/api/node/util.go`), PVC specs and PVs (`pkg/api/persistentvolumeclaim/util.go`,
//! `pkg/api/persistentvolume/util.go`), Job specs (`pkg/api/job/warnings.go`), and the
//! `WarningsOnCreate`/`WarningsOnUpdate` of the strategies that call them
//! (`pkg/registry/{core,apps,batch,networking,node}/*/strategy.go`). The Service and pod status
//! warnings stay with their strategies (`service.rs`, `pod.rs`).
//!
//! The checks read the object as the store holds it at that stage: decoded and defaulted (so a
//! container port has its protocol), before the generation is bumped.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::strategy::{Generic, Strategy};
use crate::store::Sub;
use crate::validation::field::{self, arr_of, obj_of, quote, str_of};
use crate::validation::quantity::Quantity;

/// `deprecatedNodeLabels` (`pkg/api/node/util.go`): node labels kube warns about in pod node
/// selectors, node affinity, topology spread keys and PV node affinity.
const DEPRECATED_NODE_LABELS: &[(&str, &str)] = &[
    (
        "beta.kubernetes.io/arch",
        r#"deprecated since v1.14; use "kubernetes.io/arch" instead"#,
    ),
    (
        "beta.kubernetes.io/os",
        r#"deprecated since v1.14; use "kubernetes.io/os" instead"#,
    ),
    (
        "failure-domain.beta.kubernetes.io/region",
        r#"deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
    ),
    (
        "failure-domain.beta.kubernetes.io/zone",
        r#"deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
    ),
    (
        "beta.kubernetes.io/instance-type",
        r#"deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#,
    ),
    ("app.kubernetes.io/created-by", "deprecated since v1.9"),
    (
        "scheduler.alpha.kubernetes.io/preferAvoidPods",
        "deprecated since v1.22; use Taints and Tolerations instead",
    ),
    (
        "node-role.kubernetes.io/master",
        r#"use "node-role.kubernetes.io/control-plane" instead"#,
    ),
];

/// `deprecatedAnnotations` (`pkg/api/pod/warnings.go`): pod annotations that no longer do
/// anything. (kube's table also allows prefixes; none of its entries uses one.)
const DEPRECATED_POD_ANNOTATIONS: &[(&str, &str)] = &[
    (
        "scheduler.alpha.kubernetes.io/critical-pod",
        r#"non-functional in v1.16+; use the "priorityClassName" field instead"#,
    ),
    (
        "security.alpha.kubernetes.io/sysctls",
        r#"non-functional in v1.11+; use the "sysctls" field instead"#,
    ),
    (
        "security.alpha.kubernetes.io/unsafe-sysctls",
        r#"non-functional in v1.11+; use the "sysctls" field instead"#,
    ),
];

/// Pod volume plugins kube warns about, in the order `warningsForPodSpecAndMeta` checks them;
/// `ephemeral` (a PVC spec check) comes between `glusterfs` and `cephfs`.
const DEPRECATED_POD_VOLUMES_BEFORE_EPHEMERAL: &[(&str, &str)] = &[
    (
        "photonPersistentDisk",
        "deprecated in v1.11, non-functional in v1.16+",
    ),
    ("gitRepo", "deprecated in v1.11"),
    ("scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
    ("flocker", "deprecated in v1.22, non-functional in v1.25+"),
    ("storageOS", "deprecated in v1.22, non-functional in v1.25+"),
    ("quobyte", "deprecated in v1.22, non-functional in v1.25+"),
    ("glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
];
const DEPRECATED_POD_VOLUMES_AFTER_EPHEMERAL: &[(&str, &str)] = &[
    ("cephfs", "deprecated in v1.28, non-functional in v1.31+"),
    ("rbd", "deprecated in v1.28, non-functional in v1.31+"),
];

/// PV volume sources kube warns about (`warningsForPersistentVolumeSpecAndMeta`), in its order.
const DEPRECATED_PV_SOURCES: &[(&str, &str)] = &[
    ("cephfs", "deprecated in v1.28, non-functional in v1.31+"),
    (
        "photonPersistentDisk",
        "deprecated in v1.11, non-functional in v1.16+",
    ),
    ("scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
    ("storageOS", "deprecated in v1.22, non-functional in v1.25+"),
    ("glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
    ("rbd", "deprecated in v1.28, non-functional in v1.31+"),
];

use crate::validation::core::security::{
    APPARMOR_CONTAINER_PREFIX, SECCOMP_CONTAINER_PREFIX, SECCOMP_POD_ANNOTATION,
};
/// `api.BetaStorageClassAnnotation`, and what PV and PVC warnings say of it.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";
const DEPRECATED_STORAGE_CLASS_MSG: &str =
    r#"deprecated since v1.8; use "storageClassName" attribute instead"#;

const NULL_LABEL_SELECTOR: &str = "a null labelSelector results in matching no pod";

/// `nodeapi.GetNodeLabelDeprecatedMessage`.
pub fn node_label_deprecation(key: &str) -> Option<&'static str> {
    DEPRECATED_NODE_LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, msg)| *msg)
}

/// Whether `v` has `k` set to something other than null (Go's non-nil pointer).
fn set<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| !x.is_null())
}

/// `nodeapi.GetWarningsForNodeSelectorTerm` as `warnings.go` and `persistentvolume/util.go`
/// call it: deprecated keys in a node selector term's match expressions.
fn node_selector_term(term: &Value, path: &str) -> Vec<String> {
    arr_of(term, "matchExpressions")
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let key = str_of(e, "key");
            node_label_deprecation(key)
                .map(|msg| format!("{path}.matchExpressions[{i}].key: {key} is {msg}"))
        })
        .collect()
}

/// The fractional-bytes warning of a memory, ephemeral-storage or storage quantity whose
/// `MilliValue()` is not a whole number of bytes (`memory: 1m`); `value.String()` is its
/// canonical form.
fn fractional_bytes(path: &str, q: Option<&Value>) -> Option<String> {
    let q = Quantity::parse(q?)?;
    (q.milli_value() % 1000 != 0).then(|| {
        format!(
            "{path}: fractional byte value {} is invalid, must be an integer",
            quote(&q.canonical())
        )
    })
}

/// `metadata.name` warning of types whose name becomes a pod's hostname or name prefix:
/// `IsDNS1123Label` messages printed as Go's `%v` of a string slice.
pub fn dns_label_name(obj: &Value, used_in: &str) -> Option<String> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str)?;
    let msgs = field::dns1123_label(name);
    (!msgs.is_empty()).then(|| {
        format!(
            "metadata.name: this is used in {used_in}, which can result in surprising behavior; a DNS label is recommended: [{}]",
            msgs.join(" ")
        )
    })
}

/// Each item of the list `list` of `spec` whose `key` an earlier item already had:
/// `<path>.<list>[i].<key>: duplicate <key> "<value>"`, as `warnings.go` words it.
fn duplicate_keys(spec: &Value, spec_path: &str, list: &str, key: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut w = Vec::new();
    for (i, item) in arr_of(spec, list).iter().enumerate() {
        let value = str_of(item, key);
        if !seen.insert(value) {
            w.push(format!(
                "{spec_path}.{list}[{i}].{key}: duplicate {key} {}",
                quote(value)
            ));
        }
    }
    w
}

/// `GetWarningsForPod`: the pod spec and metadata checks of a Pod.
pub fn pod(obj: &Value) -> Vec<String> {
    let null = Value::Null;
    pod_spec_and_meta(
        "",
        obj.get("spec").unwrap_or(&null),
        obj.get("metadata").unwrap_or(&null),
        false,
    )
}

/// `GetWarningsForPodTemplate`: the checks of the pod template `template` (a PodTemplateSpec)
/// found at `path` (`spec.template`, `template`, `spec.jobTemplate.spec.template`). kube passes
/// the old template too but `warningsForPodSpecAndMeta` does not look at it: an update warns
/// about everything the template holds, not only what it adds.
pub fn pod_template(path: &str, template: Option<&Value>) -> Vec<String> {
    let Some(template) = template.filter(|t| !t.is_null()) else {
        return Vec::new();
    };
    let null = Value::Null;
    pod_spec_and_meta(
        path,
        template.get("spec").unwrap_or(&null),
        template.get("metadata").unwrap_or(&null),
        true,
    )
}

/// `warningsForPodSpecAndMeta`, in its order. `prefix` is the template's path ("" for a Pod);
/// `template` says whether this is a template (the AppArmor annotation warning is only given
/// for templates: for a Pod kube gives it while syncing the annotation to the field,
/// `pod::apparmor_version_skew`).
fn pod_spec_and_meta(prefix: &str, spec: &Value, meta: &Value, template: bool) -> Vec<String> {
    let mut w = Vec::new();
    let spec_path = field::child(prefix, "spec");
    let ann_path = field::child(prefix, "metadata.annotations");
    let annotations = obj_of(meta, "annotations");
    let has_annotation = |k: &str| annotations.is_some_and(|a| a.contains_key(k));

    // Deprecated node labels in the node selector, node affinity and topology spread keys.
    if let Some(selector) = obj_of(spec, "nodeSelector") {
        for k in selector.keys() {
            if let Some(msg) = node_label_deprecation(k) {
                w.push(format!("{spec_path}.nodeSelector[{k}]: {msg}"));
            }
        }
    }
    if let Some(na) = spec
        .pointer("/affinity/nodeAffinity")
        .filter(|v| !v.is_null())
    {
        let base = format!("{spec_path}.affinity.nodeAffinity");
        if let Some(req) = set(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            for (i, term) in arr_of(req, "nodeSelectorTerms").iter().enumerate() {
                w.extend(node_selector_term(
                    term,
                    &format!(
                        "{base}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"
                    ),
                ));
            }
        }
        for (i, term) in arr_of(na, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            w.extend(node_selector_term(
                term.get("preference").unwrap_or(&Value::Null),
                &format!("{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference"),
            ));
        }
    }
    for (i, t) in arr_of(spec, "topologySpreadConstraints").iter().enumerate() {
        let p = format!("{spec_path}.topologySpreadConstraints[{i}]");
        let key = str_of(t, "topologyKey");
        if let Some(msg) = node_label_deprecation(key) {
            w.push(format!("{p}.topologyKey: {key} is {msg}"));
        }
        if set(t, "labelSelector").is_none() {
            w.push(format!("{p}.labelSelector: {NULL_LABEL_SELECTOR}"));
        }
    }

    for (key, msg) in DEPRECATED_POD_ANNOTATIONS {
        if has_annotation(key) {
            w.push(format!("{ann_path}[{key}]: {msg}"));
        }
    }

    // Deprecated and removed volume plugins, and ephemeral volumes' claim templates.
    let volumes = arr_of(spec, "volumes");
    for (i, v) in volumes.iter().enumerate() {
        let p = format!("{spec_path}.volumes[{i}]");
        for (plugin, msg) in DEPRECATED_POD_VOLUMES_BEFORE_EPHEMERAL {
            if set(v, plugin).is_some() {
                w.push(format!("{p}.{plugin}: {msg}"));
            }
        }
        if let Some(vct) = v
            .get("ephemeral")
            .and_then(|e| set(e, "volumeClaimTemplate"))
        {
            w.extend(pvc_spec(
                &format!("{p}.ephemeral.volumeClaimTemplate.spec"),
                vct.get("spec").unwrap_or(&Value::Null),
            ));
        }
        for (plugin, msg) in DEPRECATED_POD_VOLUMES_AFTER_EPHEMERAL {
            if set(v, plugin).is_some() {
                w.push(format!("{p}.{plugin}: {msg}"));
            }
        }
    }
    w.extend(overlapping_virtual_paths(volumes));

    // Duplicate host alias addresses and image pull secrets (lists kube merges by these keys,
    // so apply would drop all but one), and pull secrets without a name.
    w.extend(duplicate_keys(spec, &spec_path, "hostAliases", "ip"));
    w.extend(duplicate_keys(spec, &spec_path, "imagePullSecrets", "name"));
    let pull_secrets = arr_of(spec, "imagePullSecrets");
    for (i, s) in pull_secrets.iter().enumerate() {
        let name = str_of(s, "name");
        if name.is_empty() {
            w.push(format!(
                "{spec_path}.imagePullSecrets[{i}].name: invalid empty name {}",
                quote(name)
            ));
        }
    }

    for resource in ["memory", "ephemeral-storage"] {
        w.extend(fractional_bytes(
            &format!("{spec_path}.overhead[{resource}]"),
            spec.get("overhead").and_then(|o| o.get(resource)),
        ));
    }

    let pod_security = spec.get("securityContext").unwrap_or(&Value::Null);
    if set(pod_security, "seccompProfile").is_none() && has_annotation(SECCOMP_POD_ANNOTATION) {
        w.push(format!(
            r#"{ann_path}[{SECCOMP_POD_ANNOTATION}]: non-functional in v1.27+; use the "seccompProfile" field instead"#
        ));
    }
    let pod_apparmor = set(pod_security, "appArmorProfile").is_some();

    let containers = containers_with_path(spec, &spec_path);
    for (c, p) in &containers {
        let name = str_of(c, "name");
        let security = c.get("securityContext").unwrap_or(&Value::Null);
        let seccomp_key = format!("{SECCOMP_CONTAINER_PREFIX}{name}");
        if set(security, "seccompProfile").is_none() && has_annotation(&seccomp_key) {
            w.push(format!(
                r#"{ann_path}[{seccomp_key}]: non-functional in v1.27+; use the "seccompProfile" field instead"#
            ));
        }
        let apparmor_key = format!("{APPARMOR_CONTAINER_PREFIX}{name}");
        let has_apparmor_field = pod_apparmor || set(security, "appArmorProfile").is_some();
        if template && !has_apparmor_field && has_annotation(&apparmor_key) {
            w.push(format!(
                r#"{ann_path}[{apparmor_key}]: deprecated since v1.30; use the "appArmorProfile" field instead"#
            ));
        }
        let resources = c.get("resources").unwrap_or(&Value::Null);
        for (resource, kind) in [
            ("memory", "limits"),
            ("memory", "requests"),
            ("ephemeral-storage", "limits"),
            ("ephemeral-storage", "requests"),
        ] {
            w.extend(fractional_bytes(
                &format!("{p}.resources.{kind}[{resource}]"),
                resources.get(kind).and_then(|l| l.get(resource)),
            ));
        }
        w.extend(duplicate_env(arr_of(c, "env"), p));
    }
    w.extend(port_warnings(&containers));

    if spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s < 0)
    {
        w.push(format!(
            "{spec_path}.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1"
        ));
    }

    // Pod (anti-)affinity terms without a label selector match nothing.
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(affinity) = spec.get("affinity").and_then(|a| set(a, kind)) else {
            continue;
        };
        let base = format!("{spec_path}.affinity.{kind}");
        for (i, t) in arr_of(affinity, "requiredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            if set(t, "labelSelector").is_none() {
                w.push(format!(
                    "{base}.requiredDuringSchedulingIgnoredDuringExecution[{i}].labelSelector: {NULL_LABEL_SELECTOR}"
                ));
            }
        }
        for (i, t) in arr_of(affinity, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let term = t.get("podAffinityTerm").unwrap_or(&Value::Null);
            if set(term, "labelSelector").is_none() {
                w.push(format!(
                    "{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}].podAffinityTerm.labelSelector: {NULL_LABEL_SELECTOR}"
                ));
            }
        }
    }
    w
}

/// `pods.VisitContainersWithPath`: init containers, containers, then ephemeral containers,
/// each with its path under `spec_path`.
fn containers_with_path<'a>(spec: &'a Value, spec_path: &str) -> Vec<(&'a Value, String)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(|list| {
            arr_of(spec, list)
                .iter()
                .enumerate()
                .map(move |(i, c)| (c, format!("{spec_path}.{list}[{i}]")))
        })
        .collect()
}

/// Duplicate `env` names (#86163): a later definition of a name hides the earlier one, which
/// apply's merge by name may drop, unless it is a plain value that refers to the earlier one
/// (`X=$(X)123`).
fn duplicate_env(env: &[Value], container_path: &str) -> Vec<String> {
    let mut w = Vec::new();
    if env.len() < 2 {
        return w;
    }
    let mut seen = BTreeSet::new();
    for (i, e) in env.iter().enumerate() {
        let name = str_of(e, "name");
        if seen.insert(name) {
            continue;
        }
        let reference = format!("$({name})");
        let value = str_of(e, "value");
        let bad =
            set(e, "valueFrom").is_some() || value == reference || !value.contains(&reference);
        if bad {
            w.push(format!(
                "{container_path}.env[{i}]: hides previous definition of {}, which may be dropped when using apply",
                quote(name)
            ));
        }
    }
    w
}

/// The container port checks across all containers: a host IP without a host port, and ports
/// with the same number and protocol that duplicate, overlap or ambiguously share a host port.
fn port_warnings(containers: &[(&Value, String)]) -> Vec<String> {
    struct Seen {
        path: String,
        host_ip: String,
        host_port: i64,
    }
    let mut w = Vec::new();
    let mut all: HashMap<String, Vec<Seen>> = HashMap::new();
    for (c, cp) in containers {
        for (i, port) in arr_of(c, "ports").iter().enumerate() {
            let path = format!("{cp}.ports[{i}]");
            let host_ip = str_of(port, "hostIP");
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            let container_port = port
                .get("containerPort")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let protocol = str_of(port, "protocol");
            if !host_ip.is_empty() && host_port == 0 {
                // Go's %+v of the internal api.ContainerPort.
                w.push(format!(
                    "{path}: hostIP set without hostPort: {{Name:{} HostPort:{host_port} ContainerPort:{container_port} Protocol:{protocol} HostIP:{host_ip}}}",
                    str_of(port, "name")
                ));
            }
            let others = all
                .entry(format!("{container_port}/{protocol}"))
                .or_default();
            for other in others.iter() {
                if host_ip == other.host_ip && host_port == other.host_port {
                    w.push(format!(
                        "{path}: duplicate port definition with {}",
                        other.path
                    ));
                } else if host_port == 0 || other.host_port == 0 {
                    w.push(format!(
                        "{path}: overlapping port definition with {}",
                        other.path
                    ));
                } else if host_port == other.host_port
                    && (host_ip.is_empty() != other.host_ip.is_empty())
                {
                    w.push(format!(
                        "{path}: dangerously ambiguous port definition with {}",
                        other.path
                    ));
                }
            }
            others.push(Seen {
                path,
                host_ip: host_ip.to_owned(),
                host_port,
            });
        }
    }
    w
}

/// `warningsForOverlappingVirtualPaths`: items of one ConfigMap, Secret or downward API
/// volume, or of the sources of one projected volume, that map to the same file or to a file
/// and a directory containing it.
fn overlapping_virtual_paths(volumes: &[Value]) -> Vec<String> {
    let paths = |items: &[Value]| -> Vec<String> {
        items.iter().map(|i| str_of(i, "path").to_owned()).collect()
    };
    let with_items = |v: &Value, kind: &str| -> Option<(Value, Vec<String>)> {
        let source = set(v, kind)?;
        let items = source.get("items").and_then(Value::as_array)?;
        Some((source.clone(), paths(items)))
    };
    let mut w = Vec::new();
    for v in volumes {
        let name = quote(str_of(v, "name"));
        if let Some((cm, p)) = with_items(v, "configMap") {
            let msg = format!(
                "volume {name} (ConfigMap {}): overlapping paths",
                quote(str_of(&cm, "name"))
            );
            w.extend(volume_mapping_overlaps(&p, &msg));
        }
        if let Some((secret, p)) = with_items(v, "secret") {
            let msg = format!(
                "volume {name} (Secret {}): overlapping paths",
                quote(str_of(&secret, "secretName"))
            );
            w.extend(volume_mapping_overlaps(&p, &msg));
        }
        if let Some((_, p)) = with_items(v, "downwardAPI") {
            let msg = format!("volume {name} (DownwardAPI): overlapping paths");
            w.extend(volume_mapping_overlaps(&p, &msg));
        }
        let Some(projected) = set(v, "projected") else {
            continue;
        };
        // As in kube, the paths and message of the last source that had any carry over to a
        // source that matches none of the kinds (e.g. a configMap without items).
        let mut source_paths: Vec<String> = Vec::new();
        let mut msg = String::new();
        let mut all: Vec<String> = Vec::new();
        for source in arr_of(projected, "sources") {
            let empty = source
                .as_object()
                .is_none_or(|o| o.values().all(Value::is_null));
            if empty {
                w.push(format!("volume {name} (Projected) has no sources provided"));
                continue;
            }
            if let Some((cm, p)) = with_items(source, "configMap") {
                source_paths = p;
                msg = format!(
                    "volume {name} (Projected ConfigMap {}): overlapping paths",
                    quote(str_of(&cm, "name"))
                );
            } else if let Some((secret, p)) = with_items(source, "secret") {
                source_paths = p;
                msg = format!(
                    "volume {name} (Projected Secret {}): overlapping paths",
                    quote(str_of(&secret, "name"))
                );
            } else if let Some((_, p)) = with_items(source, "downwardAPI") {
                source_paths = p;
                msg = format!("volume {name} (Projected DownwardAPI): overlapping paths");
            } else if let Some(token) = set(source, "serviceAccountToken") {
                source_paths = vec![str_of(token, "path").to_owned()];
                msg = format!("volume {name} (Projected ServiceAccountToken): overlapping paths");
            } else if let Some(bundle) = set(source, "clusterTrustBundle") {
                source_paths = vec![str_of(bundle, "path").to_owned()];
                let which = set(bundle, "name")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| str_of(bundle, "signerName"));
                msg = format!(
                    "volume {name} (Projected ClusterTrustBundle {}): overlapping paths",
                    quote(which)
                );
            }
            if source_paths.is_empty() {
                continue;
            }
            w.extend(volume_mapping_overlaps(&source_paths, &msg));
            // Then against the earlier sources' paths: this source's distinct paths and all
            // earlier ones, sorted, so a path two sources share shows up as adjacent equals.
            let mut unique: Vec<String> = Vec::new();
            for p in &source_paths {
                if !unique.contains(p) {
                    unique.push(p.clone());
                }
            }
            let mut ordered = unique.clone();
            ordered.extend(all.iter().cloned());
            ordered.sort();
            w.extend(volume_mapping_overlaps(&ordered, &msg));
            for p in unique {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
        }
    }
    w
}

/// `checkVolumeMappingForOverlap`: each path (trailing slashes trimmed) against the distinct
/// paths before it.
fn volume_mapping_overlaps(paths: &[String], msg: &str) -> Vec<String> {
    let mut w = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for p in paths {
        let normalized = p.trim_end_matches('/');
        if let Some(collision) = overlap(&seen, normalized) {
            w.push(format!(
                "{msg}: {} with {}",
                quote(normalized),
                quote(collision)
            ));
        }
        if !seen.contains(&normalized) {
            seen.push(normalized);
        }
    }
    w
}

/// `checkForOverlap`: the first earlier path equal to `path` or a prefix-wise parent or child
/// of it (kube's test is a plain string prefix of `item + "/"` or `path + "/"`). An empty path
/// on either side ends the search with no collision, as kube's loop returns there.
fn overlap<'a>(seen: &[&'a str], path: &str) -> Option<&'a str> {
    for item in seen {
        if item.is_empty() || path.is_empty() {
            return None;
        }
        if *item == path
            || format!("{item}/").starts_with(path)
            || format!("{path}/").starts_with(item)
        {
            return Some(item);
        }
    }
    None
}

/// `GetWarningsForPersistentVolumeClaimSpec`: fractional storage requests and limits.
pub fn pvc_spec(path: &str, spec: &Value) -> Vec<String> {
    ["requests", "limits"]
        .into_iter()
        .filter_map(|kind| {
            fractional_bytes(
                &format!("{path}.resources.{kind}[storage]"),
                spec.pointer(&format!("/resources/{kind}/storage")),
            )
        })
        .collect()
}

fn beta_storage_class(obj: &Value, meta_path: &str) -> Option<String> {
    obj.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(BETA_STORAGE_CLASS_ANNOTATION))
        .then(|| {
            format!("{meta_path}[{BETA_STORAGE_CLASS_ANNOTATION}]: {DEPRECATED_STORAGE_CLASS_MSG}")
        })
}

/// `GetWarningsForPersistentVolumeClaim` (`pkg/api/persistentvolumeclaim/util.go`).
pub fn pvc(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = beta_storage_class(obj, "metadata.annotations")
        .into_iter()
        .collect();
    w.extend(pvc_spec("spec", obj.get("spec").unwrap_or(&Value::Null)));
    w
}

/// `GetWarningsForPersistentVolume` (`pkg/api/persistentvolume/util.go`): the beta storage
/// class annotation, the Recycle reclaim policy, deprecated node labels in the node affinity
/// and deprecated volume sources.
pub fn pv(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = beta_storage_class(obj, "metadata.annotations")
        .into_iter()
        .collect();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if str_of(spec, "persistentVolumeReclaimPolicy") == "Recycle" {
        w.push("spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.".into());
    }
    if let Some(required) = spec.get("nodeAffinity").and_then(|a| set(a, "required")) {
        for (i, term) in arr_of(required, "nodeSelectorTerms").iter().enumerate() {
            w.extend(node_selector_term(
                term,
                &format!("spec.nodeAffinity.required.nodeSelectorTerms[{i}]"),
            ));
        }
    }
    for (source, msg) in DEPRECATED_PV_SOURCES {
        if set(spec, source).is_some() {
            w.push(format!("spec.{source}: {msg}"));
        }
    }
    w
}

/// `job.WarningsForJobSpec` (`pkg/api/job/warnings.go`): an Indexed Job past the soft limits
/// of completions (10^5) and parallelism (10^4), then its pod template.
pub fn job_spec(path: &str, spec: &Value) -> Vec<String> {
    let mut w = Vec::new();
    if str_of(spec, "completionMode") == "Indexed" {
        let count = |k: &str| spec.get(k).and_then(Value::as_i64).unwrap_or(0);
        if count("completions") > 100_000 && count("parallelism") > 10_000 {
            w.push(format!("{path}: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"));
        }
    }
    w.extend(pod_template(
        &format!("{path}.template"),
        spec.get("template"),
    ));
    w
}

/// The `metadata.name` warning of the workload types whose name prefixes their pods' names.
const POD_NAMES: &str = "Pod names and hostnames";

/// Whether kube's `PrepareForUpdate` of a type that bumps the generation on any spec change
/// would bump it: the update warnings of those types run only then (a status-only or
/// metadata-only write does not warn again).
fn spec_changed(new: &Value, old: &Value) -> bool {
    new.get("spec") != old.get("spec")
}

/// A type whose strategy is the generic one plus warnings: `create` for `WarningsOnCreate`,
/// `update` (new, old) for the main resource's `WarningsOnUpdate`; kube's status strategies of
/// these types give none.
pub(super) struct Warned {
    pub base: Generic,
    pub create: fn(&Value) -> Vec<String>,
    pub update: fn(&Value, &Value) -> Vec<String>,
    /// Where the type's pod template keeps its PodSpec, whose v1 conversion reads the
    /// `serviceAccount` alias (`super::pod::alias_service_account`).
    pub pod_spec: Option<&'static str>,
}

impl Strategy for Warned {
    fn tracks_generation(&self) -> bool {
        self.base.tracks_generation()
    }

    fn decode(&self, obj: &mut Value) {
        if let Some(spec) = self.pod_spec.and_then(|p| obj.pointer_mut(p)) {
            super::pod::alias_service_account(spec);
        }
    }

    fn initial_status(&self, obj: &Value) -> Option<Value> {
        self.base.initial_status(obj)
    }

    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        (self.create)(obj)
    }

    fn warnings_on_update(&self, new: &Value, old: &Value, sub: Sub) -> Vec<String> {
        if sub == Sub::Main {
            (self.update)(new, old)
        } else {
            Vec::new()
        }
    }
}

fn spec_template(obj: &Value) -> Option<&Value> {
    obj.pointer("/spec/template")
}

/// Deployment, ReplicaSet (`pkg/registry/apps/{deployment,replicaset}/strategy.go`) and
/// Job/CronJob create: the name, then the template.
pub(super) fn deployment_create(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = dns_label_name(obj, POD_NAMES).into_iter().collect();
    w.extend(pod_template("spec.template", spec_template(obj)));
    w
}

/// Deployment update: the template when the generation changes, which for a Deployment is
/// also on an annotation change (`deploymentStrategy.PrepareForUpdate`).
pub(super) fn deployment_update(new: &Value, old: &Value) -> Vec<String> {
    let annotations = |o: &Value| o.pointer("/metadata/annotations").cloned();
    if spec_changed(new, old) || annotations(new) != annotations(old) {
        pod_template("spec.template", spec_template(new))
    } else {
        Vec::new()
    }
}

/// ReplicaSet update: the template when the spec (so the generation) changes.
pub(super) fn replica_set_update(new: &Value, old: &Value) -> Vec<String> {
    if spec_changed(new, old) {
        pod_template("spec.template", spec_template(new))
    } else {
        Vec::new()
    }
}

/// ReplicationController update (`pkg/registry/core/replicationcontroller/strategy.go`): kube
/// passes the templates swapped (`GetWarningsForPodTemplate(..., oldRc.Spec.Template,
/// newRc.Spec.Template)`), so what it warns about is the stored template, not the new one.
pub(super) fn replication_controller_update(new: &Value, old: &Value) -> Vec<String> {
    if spec_changed(new, old) {
        pod_template("spec.template", spec_template(old))
    } else {
        Vec::new()
    }
}

/// DaemonSet create: the template (no name warning: its pods' names are generated).
pub(super) fn daemon_set_create(obj: &Value) -> Vec<String> {
    pod_template("spec.template", spec_template(obj))
}

/// DaemonSet update: the template when it changed (what bumps `templateGeneration`).
pub(super) fn daemon_set_update(new: &Value, old: &Value) -> Vec<String> {
    if spec_template(new) != spec_template(old) {
        pod_template("spec.template", spec_template(new))
    } else {
        Vec::new()
    }
}

/// StatefulSet (`pkg/registry/apps/statefulset/strategy.go`): the template, each volume claim
/// template's spec and a negative history limit. On update the claim templates' paths end in
/// `.Spec` (as kube spells them there), and only the template waits for a generation change.
fn stateful_set(obj: &Value, template: bool, claim_suffix: &str) -> Vec<String> {
    let mut w = if template {
        pod_template("spec.template", spec_template(obj))
    } else {
        Vec::new()
    };
    for (i, claim) in arr_of(
        obj.get("spec").unwrap_or(&Value::Null),
        "volumeClaimTemplates",
    )
    .iter()
    .enumerate()
    {
        w.extend(pvc_spec(
            &format!("spec.volumeClaimTemplates[{i}]{claim_suffix}"),
            claim.get("spec").unwrap_or(&Value::Null),
        ));
    }
    if obj
        .pointer("/spec/revisionHistoryLimit")
        .and_then(Value::as_i64)
        .is_some_and(|l| l < 0)
    {
        w.push("spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended".into());
    }
    w
}

pub(super) fn stateful_set_create(obj: &Value) -> Vec<String> {
    stateful_set(obj, true, "")
}

pub(super) fn stateful_set_update(new: &Value, old: &Value) -> Vec<String> {
    stateful_set(new, spec_changed(new, old), ".Spec")
}

/// Job (`pkg/registry/batch/job/strategy.go`): the name, then `WarningsForJobSpec`.
pub(super) fn job_create(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = dns_label_name(obj, POD_NAMES).into_iter().collect();
    w.extend(job_spec("spec", obj.get("spec").unwrap_or(&Value::Null)));
    w
}

pub(super) fn job_update(new: &Value, old: &Value) -> Vec<String> {
    if spec_changed(new, old) {
        job_spec("spec", new.get("spec").unwrap_or(&Value::Null))
    } else {
        Vec::new()
    }
}

fn cron_job_spec(obj: &Value) -> Vec<String> {
    job_spec(
        "spec.jobTemplate.spec",
        obj.pointer("/spec/jobTemplate/spec")
            .unwrap_or(&Value::Null),
    )
}

/// CronJob (`pkg/registry/batch/cronjob/strategy.go`): the name and the job template's spec.
pub(super) fn cron_job_create(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = dns_label_name(obj, POD_NAMES).into_iter().collect();
    w.extend(cron_job_spec(obj));
    w
}

/// CronJob update: the job template when the generation changes, and a schedule naming a time
/// zone (which creation refuses but stored CronJobs may still have). The path is kube's, with
/// its doubled `spec`.
pub(super) fn cron_job_update(new: &Value, old: &Value) -> Vec<String> {
    let mut w = if spec_changed(new, old) {
        cron_job_spec(new)
    } else {
        Vec::new()
    };
    let schedule = new
        .pointer("/spec/schedule")
        .and_then(Value::as_str)
        .unwrap_or("");
    if schedule.contains("TZ") {
        w.push("cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details".into());
    }
    w
}

/// PodTemplate (`pkg/registry/core/podtemplate/strategy.go`): the template at `template`; an
/// update warns when the template (what bumps a PodTemplate's generation) changed.
pub(super) fn pod_template_create(obj: &Value) -> Vec<String> {
    pod_template("template", obj.get("template"))
}

pub(super) fn pod_template_update(new: &Value, old: &Value) -> Vec<String> {
    if new.get("template") != old.get("template") {
        pod_template("template", new.get("template"))
    } else {
        Vec::new()
    }
}

/// Pod create (`podStrategy.WarningsOnCreate`): the name, which becomes the pod's hostname,
/// then `GetWarningsForPod`. kube gives no warnings on a pod update.
pub fn pod_create(obj: &Value) -> Vec<String> {
    let mut w: Vec<String> = dns_label_name(obj, "the Pod's hostname")
        .into_iter()
        .collect();
    w.extend(pod(obj));
    w
}

/// Ingress create (`pkg/registry/networking/ingress/strategy.go`): the class annotation
/// without `spec.ingressClassName`. kube gives no warnings on an update.
pub(super) fn ingress_create(obj: &Value) -> Vec<String> {
    let annotated = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key("kubernetes.io/ingress.class"));
    let class_name = obj
        .pointer("/spec/ingressClassName")
        .is_some_and(|c| !c.is_null());
    if annotated && !class_name {
        vec![r#"annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead"#.into()]
    } else {
        Vec::new()
    }
}

/// Node (`pkg/registry/core/node/strategy.go`, `fieldIsDeprecatedWarnings`): `spec.externalID`
/// on create and update; `spec.configSource` only on an update of a node that already had it,
/// as `dropDisabledFields` clears it on create and on updates of nodes without it.
pub(super) fn node_create(obj: &Value) -> Vec<String> {
    node_warnings(obj, false)
}

pub(super) fn node_update(new: &Value, old: &Value) -> Vec<String> {
    let kept = old
        .pointer("/spec/configSource")
        .is_some_and(|c| !c.is_null());
    node_warnings(new, kept)
}

fn node_warnings(obj: &Value, config_source_kept: bool) -> Vec<String> {
    let mut w = Vec::new();
    if config_source_kept
        && obj
            .pointer("/spec/configSource")
            .is_some_and(|c| !c.is_null())
    {
        w.push("spec.configSource: the feature is removed".into());
    }
    if !str_of(obj.get("spec").unwrap_or(&Value::Null), "externalID").is_empty() {
        w.push("spec.externalID: this field is deprecated, and is unused by Kubernetes".into());
    }
    w
}

/// RuntimeClass (`pkg/registry/node/runtimeclass/strategy.go`, `GetWarningsForRuntimeClass`):
/// a deprecated node label in `scheduling.nodeSelector`, on create and update.
pub(super) fn runtime_class(obj: &Value) -> Vec<String> {
    obj.pointer("/scheduling/nodeSelector")
        .and_then(Value::as_object)
        .map(|selector| {
            selector
                .keys()
                .filter_map(|k| node_label_deprecation(k))
                .map(|msg| format!("scheduling.nodeSelector: {msg}"))
                .collect()
        })
        .unwrap_or_default()
}

/// `update` functions for types whose update warnings are those of the new object alone.
pub(super) fn pvc_update(new: &Value, _old: &Value) -> Vec<String> {
    pvc(new)
}

pub(super) fn pv_update(new: &Value, _old: &Value) -> Vec<String> {
    pv(new)
}

pub(super) fn runtime_class_update(new: &Value, _old: &Value) -> Vec<String> {
    runtime_class(new)
}

pub(super) fn none(_new: &Value, _old: &Value) -> Vec<String> {
    Vec::new()
}

/// Endpoints (`pkg/registry/core/endpoint/strategy.go`, `endpointsWarnings`): non-standard
/// addresses, on create and update, unless the Endpoints controller wrote them (it already
/// fixes addresses up).
pub(super) fn endpoints(obj: &Value) -> Vec<String> {
    if obj
        .pointer("/metadata/labels/endpoints.kubernetes.io~1managed-by")
        .and_then(Value::as_str)
        == Some("endpoint-controller")
    {
        return Vec::new();
    }
    let mut w = Vec::new();
    for (i, subset) in arr_of(obj, "subsets").iter().enumerate() {
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in arr_of(subset, list).iter().enumerate() {
                w.extend(field::ip_warnings(
                    &format!("subsets[{i}].{list}[{j}].ip"),
                    str_of(a, "ip"),
                ));
            }
        }
    }
    w
}

pub(super) fn endpoints_update(new: &Value, _old: &Value) -> Vec<String> {
    endpoints(new)
}

/// `warnOnBadIPs` (`pkg/registry/discovery/endpointslice/strategy.go`): non-standard endpoint
/// addresses, unless one of kube's EndpointSlice controllers wrote the slice.
fn endpoint_slice_ips(obj: &Value) -> Vec<String> {
    let manager = obj
        .pointer("/metadata/labels/endpointslice.kubernetes.io~1managed-by")
        .and_then(Value::as_str);
    if matches!(
        manager,
        Some("endpointslice-controller.k8s.io" | "endpointslicemirroring-controller.k8s.io")
    ) {
        return Vec::new();
    }
    let mut w = Vec::new();
    for (i, e) in arr_of(obj, "endpoints").iter().enumerate() {
        for (j, a) in arr_of(e, "addresses").iter().enumerate() {
            w.extend(field::ip_warnings(
                &format!("endpoints[{i}].addresses[{j}]"),
                a.as_str().unwrap_or(""),
            ));
        }
    }
    w
}

/// EndpointSlice create: the deprecated FQDN address type, then the addresses.
pub(super) fn endpoint_slice_create(obj: &Value) -> Vec<String> {
    let mut w = Vec::new();
    if str_of(obj, "addressType") == "FQDN" {
        w.push("spec.addressType: FQDN endpoints are deprecated".into());
    }
    w.extend(endpoint_slice_ips(obj));
    w
}

/// EndpointSlice update: the addresses only.
pub(super) fn endpoint_slice_update(new: &Value, _old: &Value) -> Vec<String> {
    endpoint_slice_ips(new)
}

/// StorageClass (`pkg/api/storage/util.go`, `GetWarningsForStorageClass`, on create and
/// update): deprecated node labels in `allowedTopologies`.
pub(super) fn storage_class(obj: &Value) -> Vec<String> {
    let mut w = Vec::new();
    for (i, topology) in arr_of(obj, "allowedTopologies").iter().enumerate() {
        for (j, e) in arr_of(topology, "matchLabelExpressions").iter().enumerate() {
            if let Some(msg) = node_label_deprecation(str_of(e, "key")) {
                w.push(format!(
                    "allowedTopologies[{i}].matchLabelExpressions[{j}].key: {msg}"
                ));
            }
        }
    }
    w
}

pub(super) fn storage_class_update(new: &Value, _old: &Value) -> Vec<String> {
    storage_class(new)
}

/// CSIStorageCapacity (`GetWarningsForCSIStorageCapacity`, on create and update):
/// `nodeapi.GetWarningsForNodeSelector` of `nodeTopology`, deprecated node labels in its match
/// expressions and match labels (kube's path for a label is `matchLabels.<label>`).
pub(super) fn csi_storage_capacity(obj: &Value) -> Vec<String> {
    let Some(selector) = set(obj, "nodeTopology") else {
        return Vec::new();
    };
    let mut w = Vec::new();
    for (i, e) in arr_of(selector, "matchExpressions").iter().enumerate() {
        let key = str_of(e, "key");
        if let Some(msg) = node_label_deprecation(key) {
            w.push(format!(
                "nodeTopology.matchExpressions[{i}].key: {key} is {msg}"
            ));
        }
    }
    if let Some(labels) = obj_of(selector, "matchLabels") {
        for label in labels.keys() {
            if let Some(msg) = node_label_deprecation(label) {
                w.push(format!("nodeTopology.matchLabels.{label}: {msg}"));
            }
        }
    }
    w
}

pub(super) fn csi_storage_capacity_update(new: &Value, _old: &Value) -> Vec<String> {
    csi_storage_capacity(new)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod_spec(spec: Value) -> Vec<String> {
        pod(&json!({"metadata": {"name": "p"}, "spec": spec}))
    }

    #[test]
    fn deprecated_node_labels_are_kubes() {
        assert_eq!(
            node_label_deprecation("node-role.kubernetes.io/master"),
            Some(r#"use "node-role.kubernetes.io/control-plane" instead"#)
        );
        assert_eq!(node_label_deprecation("kubernetes.io/arch"), None);
    }

    /// Memory, ephemeral storage and storage warn when `MilliValue()` is not whole bytes; the
    /// value is printed in its canonical form.
    #[test]
    fn fractional_bytes_warn_in_canonical_form() {
        let w = |q: &str| fractional_bytes("f", Some(&json!(q)));
        assert_eq!(
            w("1m"),
            Some(r#"f: fractional byte value "1m" is invalid, must be an integer"#.into())
        );
        assert_eq!(
            w("0.5"),
            Some(r#"f: fractional byte value "500m" is invalid, must be an integer"#.into())
        );
        // Rounded up to a milli, as MilliValue does.
        assert_eq!(
            w("1n"),
            Some(r#"f: fractional byte value "1n" is invalid, must be an integer"#.into())
        );
        assert_eq!(w("1"), None);
        assert_eq!(w("1.5Gi"), None);
        assert_eq!(fractional_bytes("f", None), None);
    }

    #[test]
    fn dns_label_names_list_kubes_messages() {
        assert_eq!(
            dns_label_name(&json!({"metadata": {"name": "a.b"}}), "x"),
            Some("metadata.name: this is used in x, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]".into())
        );
        assert_eq!(
            dns_label_name(&json!({"metadata": {"name": "ab"}}), "x"),
            None
        );
    }

    /// `TestWarnings` cases of `pkg/api/pod/warnings_test.go`'s kinds: volumes, env and ports.
    #[test]
    fn volumes_env_and_ports_warn_as_kube() {
        let w = pod_spec(json!({
            "volumes": [
                {"name": "a", "photonPersistentDisk": {}, "scaleIO": {}, "flocker": {},
                    "storageOS": {}, "quobyte": {}, "glusterfs": {}, "cephfs": {}, "rbd": {},
                    "ephemeral": {"volumeClaimTemplate": {"spec": {"resources": {
                        "requests": {"storage": "1m"}, "limits": {"storage": "1m"}}}}}}],
            "overhead": {"memory": "1m", "ephemeral-storage": "1m"},
            "imagePullSecrets": [{"name": ""}],
            "initContainers": [{"name": "i", "env": [
                {"name": "X", "value": "a"},
                {"name": "X", "value": "$(X)b"},
                {"name": "X", "value": "$(X)"},
                {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
            "containers": [{"name": "c", "ports": [
                {"containerPort": 80, "protocol": "TCP"},
                {"containerPort": 80, "protocol": "TCP"},
                {"containerPort": 81, "protocol": "TCP", "hostPort": 81},
                {"containerPort": 81, "protocol": "TCP", "hostPort": 81, "hostIP": "10.0.0.1"}]}],
            "ephemeralContainers": [{"name": "e", "resources": {"limits": {"ephemeral-storage": "1m"}}}],
        }));
        let v = "spec.volumes[0]";
        let frac = |p: &str, q: &str| {
            format!(r#"{p}: fractional byte value "{q}" is invalid, must be an integer"#)
        };
        assert_eq!(
            w,
            [
                format!("{v}.photonPersistentDisk: deprecated in v1.11, non-functional in v1.16+"),
                format!("{v}.scaleIO: deprecated in v1.16, non-functional in v1.22+"),
                format!("{v}.flocker: deprecated in v1.22, non-functional in v1.25+"),
                format!("{v}.storageOS: deprecated in v1.22, non-functional in v1.25+"),
                format!("{v}.quobyte: deprecated in v1.22, non-functional in v1.25+"),
                format!("{v}.glusterfs: deprecated in v1.25, non-functional in v1.26+"),
                frac(&format!("{v}.ephemeral.volumeClaimTemplate.spec.resources.requests[storage]"), "1m"),
                frac(&format!("{v}.ephemeral.volumeClaimTemplate.spec.resources.limits[storage]"), "1m"),
                format!("{v}.cephfs: deprecated in v1.28, non-functional in v1.31+"),
                format!("{v}.rbd: deprecated in v1.28, non-functional in v1.31+"),
                r#"spec.imagePullSecrets[0].name: invalid empty name """#.into(),
                frac("spec.overhead[memory]", "1m"),
                frac("spec.overhead[ephemeral-storage]", "1m"),
                r#"spec.initContainers[0].env[2]: hides previous definition of "X", which may be dropped when using apply"#.into(),
                r#"spec.initContainers[0].env[3]: hides previous definition of "X", which may be dropped when using apply"#.into(),
                frac("spec.ephemeralContainers[0].resources.limits[ephemeral-storage]", "1m"),
                "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]".into(),
                "spec.containers[0].ports[3]: dangerously ambiguous port definition with spec.containers[0].ports[2]".into(),
            ]
        );
    }

    /// `warningsForOverlappingVirtualPaths`: within a volume's items, and across a projected
    /// volume's sources.
    #[test]
    fn overlapping_virtual_paths_warn_as_kube() {
        let w = overlapping_virtual_paths(&[
            json!({"name": "s", "secret": {"secretName": "sec", "items": [
                {"key": "a", "path": "x/"}, {"key": "b", "path": "x"}]}}),
            json!({"name": "d", "downwardAPI": {"items": [
                {"path": "a/b"}, {"path": "a"}]}}),
            json!({"name": "p", "projected": {"sources": [
                {},
                {"serviceAccountToken": {"path": "token"}},
                {"configMap": {"name": "cm", "items": [{"key": "k", "path": "token"}]}},
                {"clusterTrustBundle": {"signerName": "example.com/s", "path": "bundle"}}]}}),
        ]);
        assert_eq!(
            w,
            [
                r#"volume "s" (Secret "sec"): overlapping paths: "x" with "x""#,
                r#"volume "d" (DownwardAPI): overlapping paths: "a" with "a/b""#,
                r#"volume "p" (Projected) has no sources provided"#,
                r#"volume "p" (Projected ConfigMap "cm"): overlapping paths: "token" with "token""#,
            ]
        );
        // An empty path ends kube's search without a collision.
        assert_eq!(overlap(&["", "a"], "a"), None);
        // kube's prefix test is a plain string prefix: "ab" and "a" collide.
        assert_eq!(overlap(&["ab"], "a"), Some("ab"));
    }

    /// Templates get the AppArmor annotation warning (a Pod gets it from kube's AppArmor
    /// version-skew handling instead), with the template's path prefix; a field set at pod or
    /// container level silences it.
    #[test]
    fn templates_prefix_paths_and_warn_about_apparmor_annotations() {
        let template = json!({
            "metadata": {"annotations": {
                "container.apparmor.security.beta.kubernetes.io/a": "runtime/default",
                "container.apparmor.security.beta.kubernetes.io/b": "runtime/default"}},
            "spec": {"containers": [{"name": "a"},
                {"name": "b", "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}],
                "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "k"}]}}}
        });
        assert_eq!(
            pod_template("spec.jobTemplate.spec.template", Some(&template)),
            [
                r#"spec.jobTemplate.spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]: deprecated since v1.30; use the "appArmorProfile" field instead"#,
                "spec.jobTemplate.spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod",
            ]
        );
        let mut as_pod = template.clone();
        as_pod["metadata"]["name"] = json!("p");
        assert_eq!(pod(&as_pod).len(), 1);
        assert!(pod_template("x", None).is_empty());
    }

    #[test]
    fn node_affinity_preferences_and_pod_affinity_preferences_warn() {
        let w = pod_spec(json!({"affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
                "matchExpressions": [{"key": "beta.kubernetes.io/instance-type",
                    "operator": "Exists"}]}}]}}}));
        assert_eq!(
            w,
            [
                r#"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key: beta.kubernetes.io/instance-type is deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#
            ]
        );
    }

    #[test]
    fn indexed_jobs_past_the_soft_limits_warn() {
        let spec = |c: i64, p: i64| {
            json!({"completionMode": "Indexed", "completions": c, "parallelism": p,
                "template": {"spec": {}}})
        };
        let msg = "spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail";
        assert_eq!(job_spec("spec", &spec(100_001, 10_001)), [msg]);
        assert!(job_spec("spec", &spec(100_000, 10_001)).is_empty());
        assert!(job_spec("spec", &spec(100_001, 10_000)).is_empty());
    }

    #[test]
    fn cron_job_updates_warn_about_time_zones_in_the_schedule() {
        let cron = |schedule: &str| json!({"spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {}}}}});
        let old = cron("0 * * * *");
        assert_eq!(
            cron_job_update(&cron("CRON_TZ=UTC 0 * * * *"), &old),
            [
                "cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
            ]
        );
        assert!(cron_job_update(&old, &old).is_empty());
    }

    #[test]
    fn stateful_sets_warn_about_negative_history_limits_on_every_write() {
        let set = json!({"spec": {"revisionHistoryLimit": -1, "template": {}}});
        let msg = "spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended";
        assert_eq!(stateful_set_create(&set), [msg]);
        assert_eq!(stateful_set_update(&set, &set), [msg]);
    }

    /// kube's rcStrategy passes the old template as the new one.
    #[test]
    fn replication_controller_updates_look_at_the_stored_template() {
        let rc = |selector: Value| json!({"spec": {"replicas": 1, "template": {"spec": {"nodeSelector": selector}}}});
        let bad = rc(json!({"beta.kubernetes.io/os": "linux"}));
        let good = rc(json!({}));
        assert_eq!(replication_controller_update(&good, &bad).len(), 1);
        assert!(replication_controller_update(&bad, &good).is_empty());
        assert!(replication_controller_update(&bad, &bad).is_empty());
    }

    #[test]
    fn nodes_warn_about_config_sources_only_when_kept() {
        let node = json!({"spec": {"configSource": {"configMap": {}}}});
        assert!(node_create(&node).is_empty());
        assert!(node_update(&node, &json!({"spec": {}})).is_empty());
        assert_eq!(
            node_update(&node, &node),
            ["spec.configSource: the feature is removed"]
        );
    }

    #[test]
    fn csi_storage_capacities_warn_about_node_topology_labels() {
        let w = csi_storage_capacity(&json!({"nodeTopology": {
            "matchLabels": {"beta.kubernetes.io/os": "linux"},
            "matchExpressions": [{"key": "beta.kubernetes.io/arch", "operator": "Exists"}]}}));
        assert_eq!(
            w,
            [
                r#"nodeTopology.matchExpressions[0].key: beta.kubernetes.io/arch is deprecated since v1.14; use "kubernetes.io/arch" instead"#,
                r#"nodeTopology.matchLabels.beta.kubernetes.io/os: deprecated since v1.14; use "kubernetes.io/os" instead"#,
            ]
        );
    }

    #[test]
    fn controller_written_addresses_are_not_checked() {
        let endpoints_obj = json!({"metadata": {"labels": {
            "endpoints.kubernetes.io/managed-by": "endpoint-controller"}},
            "subsets": [{"notReadyAddresses": [{"ip": "2001:db8:0:0::1"}]}]});
        assert!(endpoints(&endpoints_obj).is_empty());
        let mut mine = endpoints_obj.clone();
        mine["metadata"]["labels"] = json!({});
        assert_eq!(endpoints(&mine).len(), 1);
        let slice = json!({"metadata": {"labels": {
            "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}},
            "addressType": "IPv6", "endpoints": [{"addresses": ["2001:db8:0:0::1"]}]});
        assert!(endpoint_slice_create(&slice).is_empty());
    }
}
