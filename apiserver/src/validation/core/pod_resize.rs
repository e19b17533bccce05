//! `ValidatePodResize` (pkg/apis/core/validation/validation.go, kube 1.37): what a write through
//! `pods/resize` may change, checked on the pod `podResizeStrategy.PrepareForUpdate` made
//! (`registry::pod`), so everything but the containers' `resources` and `resizePolicy` and the
//! pod-level `spec.resources` is already the stored pod's. With the gates 1.37 turns on:
//! InPlacePodVerticalScaling (GA), InPlacePodLevelResourcesVerticalScaling (beta, on) and
//! InPlacePodVerticalScalingInitContainers (on), so pod-level resources and every init container
//! may be resized.

use serde_json::{Map, Value};

use crate::registry::pod::qos_class;
use crate::status::Cause;
use crate::validation::Policy;
use crate::validation::core::pod;
use crate::validation::field::{self, arr_of, child, index, str_of};
use crate::validation::quantity::Quantity;

/// The annotation a kubelet puts on the mirror of a static pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
/// The resources a resize may change.
const COMPUTE: [&str; 2] = ["cpu", "memory"];

/// `ValidatePodResize` after the generic ObjectMeta update checks (the caller's), in kube's order.
pub fn validate_resize(new: &Value, old: &Value, policy: Policy) -> Vec<Cause> {
    let mut causes = pod::validate(new, policy);
    // Static and Windows pods are refused with that one error alone.
    let mirrored = old
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MIRROR_ANNOTATION))
        .is_some();
    if mirrored {
        return vec![field::forbidden("", "static pods cannot be resized")];
    }
    if old.pointer("/spec/os/name").and_then(Value::as_str) == Some("windows") {
        return vec![field::forbidden("", "windows pods cannot be resized")];
    }
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    // `qos.GetPodQOS(old)`: the stored class, else the computed one. The value kube reports is
    // the new pod's `status.qosClass`, which the strategy copied from the stored pod.
    let stored_class = old
        .pointer("/status/qosClass")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| qos_class(old));
    if stored_class != qos_class(new) {
        causes.push(field::invalid(
            "spec",
            new.pointer("/status/qosClass").unwrap_or(&Value::from("")),
            "Pod QOS Class may not change as a result of resizing",
        ));
    }
    if !resize_supported(old) {
        causes.push(field::forbidden(
            "spec",
            "Pod running on node without support for resize",
        ));
    }
    let mut masked_spec = ns.clone();
    if has_compute(ns.get("resources")) || has_compute(os.get("resources")) {
        causes.extend(pod_level(ns, os, &mut masked_spec));
    }
    let claims = old
        .pointer("/status/nodeAllocatableResourceClaimStatuses")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    if claims {
        causes.push(field::forbidden(
            "spec",
            "pods with node allocatable resource claims cannot be resized",
        ));
    }
    let ordering = container_ordering(ns, os);
    if !ordering.is_empty() {
        causes.extend(ordering);
        return causes;
    }
    for list in ["containers", "initContainers"] {
        for (i, (c, o)) in arr_of(ns, list).iter().zip(arr_of(os, list)).enumerate() {
            let at = child(&index(&child("spec", list), i), "resources");
            for part in ["requests", "limits"] {
                if removed(
                    o.pointer(&format!("/resources/{part}")),
                    c.pointer(&format!("/resources/{part}")),
                ) {
                    let what = if part == "requests" {
                        "requests"
                    } else {
                        "limits"
                    };
                    causes.push(field::forbidden(
                        &child(&at, part),
                        &format!("resource {what} cannot be removed"),
                    ));
                }
            }
        }
    }
    let masked_containers = |list: &str| -> Vec<Value> {
        arr_of(ns, list)
            .iter()
            .zip(arr_of(os, list))
            .map(|(c, o)| with_compute_of(c, o))
            .collect()
    };
    for (c, o) in masked_containers("containers")
        .iter()
        .zip(arr_of(os, "containers"))
    {
        if !same_container(c, o) {
            causes.push(field::forbidden(
                "spec",
                "only cpu and memory resources are mutable",
            ));
        }
    }
    for (i, ((masked, c), o)) in masked_containers("initContainers")
        .iter()
        .zip(arr_of(ns, "initContainers"))
        .zip(arr_of(os, "initContainers"))
        .enumerate()
    {
        let at = index("spec.initContainers", i);
        if !same_container(masked, o) {
            causes.push(field::forbidden(
                &at,
                "only cpu and memory resources for init or sidecar containers are mutable",
            ));
        }
        let sidecar = str_of(o, "restartPolicy") == "Always";
        if !sidecar && !same_container(c, o) {
            for p in arr_of(c, "resizePolicy") {
                if str_of(p, "restartPolicy") == "RestartContainer" {
                    causes.push(field::forbidden(
                        &at,
                        "non-sidecar init containers with a resize policy of RestartContainer cannot be resized",
                    ));
                }
            }
        }
    }
    if !causes.is_empty() {
        return causes;
    }
    // Anything else the strategy did not reset (nothing, as it resets the rest of the spec).
    if let Some(m) = masked_spec.as_object_mut() {
        for list in ["containers", "initContainers"] {
            if m.contains_key(list) {
                m.insert(list.into(), Value::Array(masked_containers(list)));
            }
        }
    }
    if !same_value(&masked_spec, os) {
        causes.push(field::forbidden(
            "spec",
            "only cpu and memory resources are mutable",
        ));
    }
    causes
}

/// `isPodResizeRequestSupported`: the first running container must report its resources (a
/// kubelet too old to resize reports none). A pod with no running container can be resized.
fn resize_supported(old: &Value) -> bool {
    let statuses = old
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    statuses
        .into_iter()
        .flatten()
        .find(|s| s.pointer("/state/running").is_some_and(|r| !r.is_null()))
        .is_none_or(|s| s.get("resources").is_some_and(|r| !r.is_null()))
}

/// Whether pod-level `resources` set at least one request or limit.
fn has_compute(resources: Option<&Value>) -> bool {
    resources.is_some_and(|r| {
        ["requests", "limits"].iter().any(|part| {
            r.get(*part)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
        })
    })
}

/// `validatePodLevelResourcesResize`: pod-level requests and limits may change their cpu and
/// memory and nothing else, and may not be removed. `masked` gets the pod-level resources with
/// the stored cpu and memory, for the final whole-spec comparison.
fn pod_level(ns: &Value, os: &Value, masked: &mut Value) -> Vec<Cause> {
    let (new, old) = (ns.get("resources"), os.get("resources"));
    let mut causes = Vec::new();
    if old.is_some_and(|o| !o.is_null()) && new.is_none_or(Value::is_null) {
        return vec![field::forbidden(
            "spec.resources",
            "pod-level resources cannot be removed",
        )];
    }
    for (part, message) in [
        ("requests", "pod-level resource requests cannot be removed"),
        ("limits", "pod-level resource limits cannot be removed"),
    ] {
        if removed(old.and_then(|o| o.get(part)), new.and_then(|n| n.get(part))) {
            causes.push(field::forbidden(&format!("spec.resources.{part}"), message));
        }
    }
    let mut resources = new.cloned().unwrap_or(Value::Null);
    mask_compute(&mut resources, old.unwrap_or(&Value::Null));
    if !same_value(&resources, old.unwrap_or(&Value::Null)) {
        causes.push(field::forbidden(
            "spec",
            "only cpu and memory resources are mutable at pod-level",
        ));
    }
    if let Some(m) = masked.as_object_mut() {
        m.insert("resources".into(), resources);
    }
    causes
}

/// `validatePodResizeContainerOrdering`: no container added, removed, renamed or moved.
fn container_ordering(ns: &Value, os: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (list, noun) in [
        ("containers", "containers"),
        ("initContainers", "initContainers"),
    ] {
        let (new, old) = (arr_of(ns, list), arr_of(os, list));
        let path = child("spec", list);
        if new.len() != old.len() {
            causes.push(field::forbidden(
                &path,
                &format!("{noun} may not be added or removed on resize"),
            ));
            continue;
        }
        for (i, (c, o)) in new.iter().zip(old).enumerate() {
            if str_of(c, "name") != str_of(o, "name") {
                causes.push(field::forbidden(
                    &child(&index(&path, i), "name"),
                    &format!("{noun} may not be renamed or reordered on resize"),
                ));
            }
        }
    }
    causes
}

/// Whether a resource list lost an entry: the old one has a name the new one lacks.
fn removed(old: Option<&Value>, new: Option<&Value>) -> bool {
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (old, new) = (keys(old), keys(new));
    old.len() > new.len() || old.iter().any(|k| !new.contains(k))
}

/// `dropCPUMemoryResourcesFromContainer`: container `c` with the cpu and memory requests and
/// limits of `old`, so what remains different is what a resize may not change.
fn with_compute_of(c: &Value, old: &Value) -> Value {
    let mut c = c.clone();
    if let Some(resources) = c.get_mut("resources") {
        mask_compute(resources, old.get("resources").unwrap_or(&Value::Null));
    }
    c
}

/// Sets the cpu and memory of `resources`' requests and limits to `old`'s (removed where `old`
/// has none).
fn mask_compute(resources: &mut Value, old: &Value) {
    for part in ["requests", "limits"] {
        let Some(list) = resources.get_mut(part).and_then(Value::as_object_mut) else {
            continue;
        };
        for name in COMPUTE {
            match old.get(part).and_then(|p| p.get(name)) {
                Some(v) => list.insert(name.into(), v.clone()),
                None => list.remove(name),
            };
        }
    }
}

/// `apiequality.Semantic.DeepEqual` of two containers.
fn same_container(a: &Value, b: &Value) -> bool {
    same_value(a, b)
}

/// `apiequality.Semantic.DeepEqual` on the JSON form: quantities equal by value, and an empty
/// list or object equal to an absent or null one (Go's nil and empty slices and maps, and the
/// zero struct, are equal there).
fn same_value(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = if k == "requests" || k == "limits" || k == "overhead" {
                    canonical_list(v)
                } else {
                    normalize(v)
                };
                if !is_empty(&v) {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// A resource list with each quantity in canonical form.
fn canonical_list(v: &Value) -> Value {
    match v.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .map(|(k, q)| {
                    let q = Quantity::parse(q).map_or_else(|| q.clone(), |p| p.canonical().into());
                    (k.clone(), q)
                })
                .collect(),
        ),
        None => normalize(v),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A pod as stored: defaulted, with its status.
    fn pod(containers: Value) -> Value {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": containers}});
        crate::defaults::apply("v1", "Pod", &mut pod);
        pod["status"] = json!({"qosClass": "Burstable"});
        pod
    }

    fn messages(causes: &[Cause]) -> Vec<String> {
        causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    fn container(cpu: &str) -> Value {
        json!({"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}})
    }

    #[test]
    fn cpu_and_memory_may_change_in_the_same_class() {
        let old = pod(json!([container("100m")]));
        let new = pod(json!([container("0.2")]));
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            Vec::<String>::new()
        );
    }

    #[test]
    fn removing_a_request_or_changing_another_resource_is_forbidden() {
        let old = pod(json!([container("100m")]));
        let mut new = pod(json!([container("100m")]));
        new["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "64Mi"}});
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            [
                "spec.containers[0].resources.requests: Forbidden: resource requests cannot be removed"
            ]
        );
        let mut new = pod(json!([container("100m")]));
        new["spec"]["containers"][0]["resources"]["requests"]["ephemeral-storage"] = "1Gi".into();
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            ["spec: Forbidden: only cpu and memory resources are mutable"]
        );
    }

    #[test]
    fn the_qos_class_may_not_change() {
        let old = pod(json!([container("100m")]));
        let mut new = old.clone();
        new["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}});
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            [
                r#"spec: Invalid value: "Burstable": Pod QOS Class may not change as a result of resizing"#
            ]
        );
    }

    #[test]
    fn static_and_windows_pods_are_refused_with_that_error_alone() {
        let mut old = pod(json!([container("100m")]));
        old["metadata"]["annotations"] = json!({MIRROR_ANNOTATION: "x"});
        let mut new = pod(json!([container("1")]));
        new["spec"]["containers"][0]["image"] = "".into();
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            [": Forbidden: static pods cannot be resized"]
        );
        let mut old = pod(json!([container("100m")]));
        old["spec"]["os"] = json!({"name": "windows"});
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            [": Forbidden: windows pods cannot be resized"]
        );
    }

    #[test]
    fn containers_may_not_move_and_a_running_one_must_report_its_resources() {
        let mut two = container("100m");
        two["name"] = "d".into();
        let old = pod(json!([container("100m"), two.clone()]));
        let new = pod(json!([two, container("100m")]));
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            [
                "spec.containers[0].name: Forbidden: containers may not be renamed or reordered on resize",
                "spec.containers[1].name: Forbidden: containers may not be renamed or reordered on resize",
            ]
        );
        let mut old = pod(json!([container("100m")]));
        old["status"]["containerStatuses"] =
            json!([{"name": "c", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]);
        let new = pod(json!([container("200m")]));
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            ["spec: Forbidden: Pod running on node without support for resize"]
        );
    }

    #[test]
    fn pod_level_resources_change_only_cpu_and_memory_and_stay() {
        let mut old = pod(json!([container("100m")]));
        old["spec"]["resources"] = json!({"requests": {"cpu": "1"}});
        let mut new = old.clone();
        new["spec"]["resources"] = json!({"requests": {"cpu": "2"}});
        assert!(validate_resize(&new, &old, Policy::default()).is_empty());
        new["spec"]["resources"] = json!({"requests": {"cpu": "2", "hugepages-2Mi": "2Mi"}});
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            ["spec: Forbidden: only cpu and memory resources are mutable at pod-level"]
        );
        new["spec"].as_object_mut().unwrap().remove("resources");
        assert_eq!(
            messages(&validate_resize(&new, &old, Policy::default())),
            ["spec.resources: Forbidden: pod-level resources cannot be removed"]
        );
    }
}
