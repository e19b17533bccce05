//! The Pod strategy (`pkg/registry/core/pod/strategy.go`): a new pod is `Pending` with the QoS
//! class of its resources (`qos.GetPodQOS`), gated pods say why they are not scheduled, the
//! generation is kept (PodObservedGenerationTracking, on in 1.37), and deleting a scheduled pod
//! is graceful (`CheckGracefulDelete`): with no kubelet here, it stays until a delete with
//! `gracePeriodSeconds=0`.

use serde_json::{Value, json};

use super::strategy::Strategy;
use crate::meta;
use crate::store::Sub;
use crate::validation::core::security;
use crate::validation::field;

/// Nanounits per unit: quantities are compared exactly as integers of nanounits.
const NANO: i128 = 1_000_000_000;

pub(super) struct Pod;

impl Strategy for Pod {
    fn tracks_generation(&self) -> bool {
        true
    }

    fn decode(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec") {
            alias_service_account(spec);
        }
    }

    fn initial_status(&self, obj: &Value) -> Option<Value> {
        let mut status = json!({"phase": "Pending", "qosClass": qos_class(obj)});
        let gated = obj
            .pointer("/spec/schedulingGates")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty());
        if gated {
            status["conditions"] = json!([{
                "type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
                "lastProbeTime": null, "lastTransitionTime": meta::now(),
            }]);
        }
        Some(status)
    }

    /// `podStrategy.PrepareForCreate`'s AppArmor version skew ([`apparmor_version_skew`]); the
    /// pending status and its scheduling-gated condition are `initial_status`.
    fn prepare_for_create(
        &self,
        obj: &mut Value,
        _user: Option<&crate::auth::UserInfo>,
    ) -> Vec<String> {
        apparmor_version_skew(obj)
    }

    /// The `ephemeralcontainers` subresource keeps everything of the stored spec but
    /// `spec.ephemeralContainers` (kube's `dropNonEphemeralContainerUpdates`). A plain update
    /// keeps what it sends, as kube's `podStrategy.PrepareForUpdate` does: the validation
    /// stage (`ValidatePodUpdate`) refuses one that changes the ephemeral containers.
    ///
    /// A status write (`podStatusStrategy.PrepareForUpdate`; the store already kept the stored
    /// spec and metadata) backfills an omitted QoS class, which older kubelets dropped, and
    /// keeps the observed generations a client left unset (`preserveOldObservedGeneration`).
    fn prepare_for_update(&self, new: &mut Value, old: &Value, sub: Sub) {
        if sub == Sub::Status {
            prepare_status(new, old);
        }
        if sub == Sub::EphemeralContainers {
            let sent = new.pointer("/spec/ephemeralContainers").cloned();
            if let (Some(obj), Some(spec)) = (new.as_object_mut(), old.get("spec")) {
                obj.insert("spec".into(), spec.clone());
            }
            set_ephemeral_containers(new, sent);
        }
        if sub == Sub::Resize {
            drop_non_resize_updates(new, old);
        }
    }

    /// `podStrategy.WarningsOnCreate`: [`super::warnings::pod_create`].
    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        super::warnings::pod_create(obj)
    }

    /// kube's `podStrategy.WarningsOnUpdate` gives none (pods are updated often and mostly
    /// by controllers); `podStatusStrategy.WarningsOnUpdate`: each non-standard address in `status.podIPs` and
    /// `status.hostIPs` (`GetWarningsForIP`) as kube's internal pod has them: the v1
    /// conversion (`Convert_v1_PodStatus_To_core_PodStatus`) makes `[podIP]` the list when the
    /// list is empty or starts with another address, and likewise for `hostIP`.
    fn warnings_on_update(&self, new: &Value, _old: &Value, sub: Sub) -> Vec<String> {
        if sub != Sub::Status {
            return Vec::new();
        }
        let Some(status) = new.get("status") else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        for (single, list) in [("podIP", "podIPs"), ("hostIP", "hostIPs")] {
            let listed: Vec<&str> = status
                .get(list)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|i| i.get("ip").and_then(Value::as_str).unwrap_or(""))
                        .collect()
                })
                .unwrap_or_default();
            let first = status.get(single).and_then(Value::as_str).unwrap_or("");
            let ips = if !first.is_empty() && listed.first() != Some(&first) {
                vec![first]
            } else {
                listed
            };
            for (i, ip) in ips.iter().enumerate() {
                warnings.extend(field::ip_warnings(&format!("status.{list}[{i}].ip"), ip));
            }
        }
        warnings
    }

    fn graceful_delete(&self, obj: &Value, requested: Option<i64>) -> i64 {
        let mut period = requested.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        });
        // An unscheduled pod has no kubelet to wait for; a finished one has nothing to stop.
        let scheduled = obj
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let phase = obj.pointer("/status/phase").and_then(Value::as_str);
        if !scheduled || matches!(phase, Some("Failed" | "Succeeded")) {
            period = 0;
        }
        // kube turns a negative period into the shortest graceful one.
        if period < 0 { 1 } else { period }
    }
}

/// The AppArmor profile field a deprecated container annotation stands for (kube's
/// `ApparmorFieldForAnnotation`), if it names one and that one passes
/// `ValidateAppArmorProfileField` (a Localhost profile neither empty, padded with whitespace nor
/// too long).
fn apparmor_field_for_annotation(annotation: &str) -> Option<Value> {
    let field = match annotation {
        "unconfined" => json!({"type": "Unconfined"}),
        "runtime/default" => json!({"type": "RuntimeDefault"}),
        _ => {
            json!({"type": "Localhost", "localhostProfile": annotation.strip_prefix("localhost/")?})
        }
    };
    security::apparmor_profile_is_valid(&field).then_some(field)
}

/// Whether two AppArmor profiles are the same (kube's semantic equality of the structs: an
/// absent and a null `localhostProfile` are one).
fn same_apparmor_profile(a: &Value, b: Option<&Value>) -> bool {
    let Some(b) = b.filter(|b| !b.is_null()) else {
        return false;
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    text(a, "type") == text(b, "type") && text(a, "localhostProfile") == text(b, "localhostProfile")
}

/// kube's `applyAppArmorVersionSkew` (create only): for each container (init, regular, then
/// ephemeral) with a deprecated `container.apparmor.security.beta.kubernetes.io/<name>`
/// annotation and no `securityContext.appArmorProfile`, the annotation's profile becomes the
/// container's field unless it is the pod's own profile; the annotation is kept. Each such
/// annotation gets kube's deprecation warning, unless it names the pod's profile; one that
/// names no valid profile gets it too and is not copied. Windows pods are left alone.
/// Pods get this warning here rather than from `warnings::pod_create` (kube gives it while
/// copying, so it sees the annotation before the field exists).
pub(super) fn apparmor_version_skew(pod: &mut Value) -> Vec<String> {
    let mut warnings = Vec::new();
    if pod.pointer("/spec/os/name").and_then(Value::as_str) == Some("windows") {
        return warnings;
    }
    let annotations = pod
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let pod_profile = pod
        .pointer("/spec/securityContext/appArmorProfile")
        .cloned();
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return warnings;
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers.iter_mut().filter(|c| c.is_object()) {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let key = format!("{}{name}", security::APPARMOR_CONTAINER_PREFIX);
            let Some(annotation) = annotations.get(&key) else {
                continue;
            };
            let has_field = c
                .pointer("/securityContext/appArmorProfile")
                .is_some_and(|p| !p.is_null());
            if has_field {
                continue;
            }
            let field = apparmor_field_for_annotation(annotation.as_str().unwrap_or_default());
            let mut warn = field.is_none();
            if let Some(field) = field
                && !same_apparmor_profile(&field, pod_profile.as_ref())
            {
                if !c.get("securityContext").is_some_and(Value::is_object) {
                    c["securityContext"] = json!({});
                }
                c["securityContext"]["appArmorProfile"] = field;
                warn = true;
            }
            if warn {
                warnings.push(format!(
                    r#"metadata.annotations[{key}]: deprecated since v1.30; use the "appArmorProfile" field instead"#
                ));
            }
        }
    }
    warnings
}

/// The pod status strategy's own preparation of `new`'s status from the stored pod `old`.
fn prepare_status(new: &mut Value, old: &Value) {
    let Some(status) = new.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    let old_status = old.get("status");
    let old_of = |f: &str| old_status.and_then(|s| s.get(f)).filter(|v| !v.is_null());
    if status
        .get("qosClass")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && let Some(qos) = old_of("qosClass")
    {
        status.insert("qosClass".into(), qos.clone());
    }
    let unset = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0) == 0;
    if unset(status.get("observedGeneration"))
        && let Some(g) = old_of("observedGeneration")
    {
        status.insert("observedGeneration".into(), g.clone());
    }
    // The old generations per condition type, in order: validation allows repeated types.
    let mut old_generations: Vec<(String, Option<Value>)> = old_of("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
            (ty.to_owned(), c.get("observedGeneration").cloned())
        })
        .collect();
    let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    for c in conditions.iter_mut().filter_map(Value::as_object_mut) {
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        let was = old_generations
            .iter()
            .position(|(t, _)| t == ty)
            .map(|i| old_generations.remove(i).1);
        if unset(c.get("observedGeneration"))
            && let Some(g) = was.flatten().filter(|g| !unset(Some(g)))
        {
            c.insert("observedGeneration".into(), g);
        }
    }
}

/// Sets `spec.ephemeralContainers` of `pod` to `list`, or removes it for None (or null).
fn set_ephemeral_containers(pod: &mut Value, list: Option<Value>) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match list.filter(|l| !l.is_null()) {
        Some(l) => spec.insert("ephemeralContainers".into(), l),
        None => spec.remove("ephemeralContainers"),
    };
}

/// `podResizeStrategy.PrepareForUpdate`'s `dropNonResizeUpdates`: of what a `pods/resize` write
/// sends, only the containers' and init containers' `resources` and `resizePolicy` and the
/// pod-level `spec.resources` (InPlacePodLevelResourcesVerticalScaling, beta and on since 1.36)
/// are kept; the rest of the spec and the labels, annotations, finalizers and ownerReferences are
/// the stored ones (`ResetObjectMetaForStatus`; the store keeps the status and the other
/// server-owned metadata). Silently, as kube: a label sent through `resize` is dropped, not
/// refused. A container list of another length, or a container renamed or moved, is left as
/// sent for `ValidatePodResize` to refuse.
fn drop_non_resize_updates(new: &mut Value, old: &Value) {
    let null = Value::Null;
    let (sent, stored) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let list = |spec: &Value, name: &str| -> Vec<Value> {
        spec.get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut merged = Vec::new();
    for name in ["containers", "initContainers"] {
        let (sent_list, stored_list) = (list(sent, name), list(stored, name));
        if sent_list.len() != stored_list.len() {
            return;
        }
        merged.push((name, resize_containers(sent_list, stored_list)));
    }
    let mut spec = stored.clone();
    if let Some(m) = spec.as_object_mut() {
        match sent.get("resources") {
            Some(r) => m.insert("resources".into(), r.clone()),
            None => m.remove("resources"),
        };
        for (name, items) in merged {
            if items.is_empty() {
                m.remove(name);
            } else {
                m.insert(name.into(), Value::Array(items));
            }
        }
    }
    new["spec"] = spec;
    let stored_meta = old.get("metadata").and_then(Value::as_object);
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            match stored_meta.and_then(|m| m.get(field)) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
    }
}

/// `dropNonResizeUpdatesForContainers`: the stored containers with the sent ones' `resources` and
/// `resizePolicy`, or the sent list as it is when it is empty or a name moved.
fn resize_containers(sent: Vec<Value>, stored: Vec<Value>) -> Vec<Value> {
    if sent.is_empty()
        || sent
            .iter()
            .zip(&stored)
            .any(|(n, o)| n.get("name") != o.get("name"))
    {
        return sent;
    }
    let mut out = stored;
    for (item, from) in out.iter_mut().zip(&sent) {
        let Some(m) = item.as_object_mut() else {
            continue;
        };
        for field in ["resources", "resizePolicy"] {
            match from.get(field) {
                Some(v) => m.insert(field.into(), v.clone()),
                None => m.remove(field),
            };
        }
    }
    out
}

/// The QoS class of a pod (`qos.GetPodQOS`, container resources; pod-level resources when set).
pub fn qos_class(pod: &Value) -> &'static str {
    const COMPUTE: [&str; 2] = ["cpu", "memory"];
    let spec = pod.get("spec");
    if let Some(pod_level) = spec.and_then(|s| s.get("resources")).filter(|r| {
        COMPUTE.iter().any(|n| {
            r.pointer(&format!("/requests/{n}")).is_some()
                || r.pointer(&format!("/limits/{n}")).is_some()
        })
    }) {
        return classify(std::iter::once(pod_level));
    }
    let containers = ["containers", "initContainers"]
        .into_iter()
        .filter_map(|list| spec.and_then(|s| s.get(list)).and_then(Value::as_array))
        .flatten()
        .map(|c| c.get("resources").unwrap_or(&Value::Null));
    classify(containers)
}

/// Classifies resource requirements: none set → BestEffort; every cpu and memory limit set and
/// equal to the summed requests → Guaranteed; otherwise Burstable.
fn classify<'a>(resources: impl Iterator<Item = &'a Value>) -> &'static str {
    const COMPUTE: [&str; 2] = ["cpu", "memory"];
    let mut requests = [0i128; 2];
    let mut limits = [0i128; 2];
    let mut any_request = [false; 2];
    let mut any_limit = [false; 2];
    let mut guaranteed = true;
    for r in resources {
        let mut limits_found = [false; 2];
        for (i, name) in COMPUTE.iter().enumerate() {
            let req = r.pointer(&format!("/requests/{name}")).and_then(quantity);
            if let Some(q) = req.filter(|q| *q > 0) {
                requests[i] += q;
                any_request[i] = true;
            }
            let lim = r.pointer(&format!("/limits/{name}")).and_then(quantity);
            if let Some(q) = lim.filter(|q| *q > 0) {
                limits[i] += q;
                any_limit[i] = true;
                limits_found[i] = true;
            }
        }
        if !limits_found.iter().all(|f| *f) {
            guaranteed = false;
        }
    }
    let n_requests = any_request.iter().filter(|f| **f).count();
    let n_limits = any_limit.iter().filter(|f| **f).count();
    if n_requests == 0 && n_limits == 0 {
        return "BestEffort";
    }
    if guaranteed {
        for i in 0..2 {
            if any_request[i] && (!any_limit[i] || limits[i] != requests[i]) {
                guaranteed = false;
            }
        }
    }
    if guaranteed && n_requests == n_limits {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A resource quantity (`resource.Quantity`: `100m`, `1.5Gi`, `2e3`, `128974848`) in nanounits,
/// rounded up; None when it does not parse (validation answers that).
pub fn quantity(v: &Value) -> Option<i128> {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(n) => return n.as_f64().map(|f| (f * NANO as f64).ceil() as i128),
        _ => return None,
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let (mul_num, mul_den): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, NANO),
        "u" => (1, 1_000_000),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            if e >= 0 {
                (10i128.checked_pow(e.unsigned_abs())?, 1)
            } else {
                (1, 10i128.checked_pow(e.unsigned_abs())?)
            }
        }
        _ => return None,
    };
    let negative = number.starts_with('-');
    let digits = number.trim_start_matches(['+', '-']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let scale = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let whole: i128 = format!("{int}{frac}").parse().ok()?;
    // value = whole / scale * mul_num / mul_den, in nanounits, rounded up.
    let num = whole.checked_mul(mul_num)?.checked_mul(NANO)?;
    let den = scale.checked_mul(mul_den)?;
    let nanos = (num + den - 1) / den;
    Some(if negative { -nanos } else { nanos })
}

/// kube's v1 PodSpec conversion (`pkg/apis/core/v1/conversion.go`): `serviceAccount` (Go's
/// `DeprecatedServiceAccount`) is an alias of `serviceAccountName`, read when the name is empty
/// and always written back as the name, so a stored pod (or pod template) carries both.
pub(super) fn alias_service_account(spec: &mut Value) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let name = match spec.get("serviceAccountName").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => spec
            .get("serviceAccount")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    };
    if name.is_empty() {
        spec.remove("serviceAccount");
    } else {
        spec.insert("serviceAccountName".into(), name.clone().into());
        spec.insert("serviceAccount".into(), name.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(containers: Value) -> Value {
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn apparmor_annotations_name_fields_only_when_valid_and_not_the_pods_own() {
        let key = "container.apparmor.security.beta.kubernetes.io/c";
        let with = |annotation: &str, spec: Value| {
            let mut p = json!({"metadata": {"annotations": {key: annotation}}, "spec": spec});
            p["spec"]["containers"] = json!([{"name": "c"}]);
            p
        };
        let field = |p: &Value| {
            p.pointer("/spec/containers/0/securityContext/appArmorProfile")
                .cloned()
        };
        let mut p = with("localhost/prof", json!({}));
        assert_eq!(apparmor_version_skew(&mut p).len(), 1);
        assert_eq!(
            field(&p),
            Some(json!({"type": "Localhost", "localhostProfile": "prof"}))
        );
        // Not a profile kube knows, an empty or too long localhost name: a warning, no field.
        let long = format!(
            "localhost/{}",
            "p".repeat(security::MAX_LOCALHOST_PROFILE + 1)
        );
        for bad in ["foo", "localhost/", "localhost/x ", long.as_str()] {
            let mut p = with(bad, json!({}));
            assert_eq!(apparmor_version_skew(&mut p).len(), 1, "{bad}");
            assert_eq!(field(&p), None, "{bad}");
        }
        let mut p = with(
            &format!("localhost/{}", "p".repeat(security::MAX_LOCALHOST_PROFILE)),
            json!({}),
        );
        apparmor_version_skew(&mut p);
        assert!(field(&p).is_some(), "4095 bytes is the limit");
        // The pod's own profile (a null localhostProfile is an absent one).
        let mut p = with(
            "unconfined",
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined", "localhostProfile": null}}}),
        );
        assert!(apparmor_version_skew(&mut p).is_empty());
        assert_eq!(field(&p), None);
        // Windows pods are left alone.
        let mut p = with("runtime/default", json!({"os": {"name": "windows"}}));
        assert!(apparmor_version_skew(&mut p).is_empty());
        assert_eq!(field(&p), None);
    }

    #[test]
    fn quantities_parse_to_nanounits() {
        assert_eq!(quantity(&json!("100m")), Some(100_000_000));
        assert_eq!(quantity(&json!("0.1")), Some(100_000_000));
        assert_eq!(quantity(&json!("1Gi")), Some((1i128 << 30) * NANO));
        assert_eq!(quantity(&json!("1G")), Some(1_000_000_000 * NANO));
        assert_eq!(quantity(&json!("2e3")), Some(2000 * NANO));
        assert_eq!(quantity(&json!(2)), Some(2 * NANO));
        assert_eq!(quantity(&json!("abc")), None);
        assert_eq!(quantity(&json!("1Qi")), None);
    }

    #[test]
    fn qos_classes_follow_requests_and_limits() {
        assert_eq!(qos_class(&pod(json!([{"name": "a"}]))), "BestEffort");
        let equal = json!({"requests": {"cpu": "100m", "memory": "64Mi"},
                           "limits": {"cpu": "0.1", "memory": "64Mi"}});
        assert_eq!(
            qos_class(&pod(json!([{"name": "a", "resources": equal}]))),
            "Guaranteed"
        );
        let cpu_only = json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "100m"}});
        assert_eq!(
            qos_class(&pod(json!([{"name": "a", "resources": cpu_only}]))),
            "Burstable"
        );
        let lower = json!({"requests": {"cpu": "50m", "memory": "64Mi"},
                           "limits": {"cpu": "100m", "memory": "64Mi"}});
        assert_eq!(
            qos_class(&pod(json!([{"name": "a", "resources": lower}]))),
            "Burstable"
        );
        // One guaranteed container and one without limits: Burstable.
        assert_eq!(
            qos_class(&pod(
                json!([{"name": "a", "resources": equal}, {"name": "b"}])
            )),
            "Burstable"
        );
    }

    #[test]
    fn only_the_ephemeral_containers_subresource_takes_the_stored_spec() {
        let old = json!({"spec": {"containers": [{"name": "app", "image": "a"}],
                                   "ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}});
        // A plain update keeps what it sends, as kube's podStrategy.PrepareForUpdate: a change to
        // the ephemeral containers is refused later, by the validation stage (ValidatePodUpdate).
        for sent in [
            json!([{"name": "dbg", "image": "alpine"}, {"name": "new", "image": "b"}]),
            json!([]),
        ] {
            let mut new = json!({"spec": {"containers": [{"name": "app", "image": "b"}],
                                          "ephemeralContainers": sent.clone()}});
            Pod.prepare_for_update(&mut new, &old, Sub::Main);
            assert_eq!(new["spec"]["ephemeralContainers"], sent);
            assert_eq!(new["spec"]["containers"][0]["image"], "b");
        }
        // The subresource: only the list is taken from the request.
        let mut new = json!({"spec": {"containers": [{"name": "app", "image": "changed"}],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox"}, {"name": "two", "image": "b"}]}});
        Pod.prepare_for_update(&mut new, &old, Sub::EphemeralContainers);
        assert_eq!(new["spec"]["containers"][0]["image"], "a");
        assert_eq!(new["spec"]["ephemeralContainers"][1]["name"], "two");
        // A status write is left to the generic status handling.
        let mut new = json!({"spec": {"ephemeralContainers": []}});
        Pod.prepare_for_update(&mut new, &old, Sub::Status);
        assert_eq!(new["spec"]["ephemeralContainers"], json!([]));
    }

    #[test]
    fn only_scheduled_running_pods_are_deleted_gracefully() {
        let scheduled = json!({"spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 30},
                               "status": {"phase": "Pending"}});
        assert_eq!(Pod.graceful_delete(&scheduled, None), 30);
        assert_eq!(Pod.graceful_delete(&scheduled, Some(5)), 5);
        assert_eq!(Pod.graceful_delete(&scheduled, Some(0)), 0);
        assert_eq!(Pod.graceful_delete(&scheduled, Some(-3)), 1);
        let unscheduled = json!({"spec": {"terminationGracePeriodSeconds": 30}});
        assert_eq!(Pod.graceful_delete(&unscheduled, None), 0);
        let done = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert_eq!(Pod.graceful_delete(&done, Some(30)), 0);
    }

    #[test]
    fn status_writes_keep_the_qos_class_and_unset_observed_generations() {
        let old = json!({"status": {"qosClass": "Burstable", "observedGeneration": 3,
            "conditions": [{"type": "Ready", "observedGeneration": 2},
                {"type": "Ready", "observedGeneration": 1},
                {"type": "PodScheduled", "observedGeneration": 3}]}});
        let mut new = json!({"status": {"qosClass": "",
            "conditions": [{"type": "Ready"}, {"type": "Ready", "observedGeneration": 5},
                {"type": "Initialized"}]}});
        Pod.prepare_for_update(&mut new, &old, Sub::Status);
        assert_eq!(
            new,
            json!({"status": {"qosClass": "Burstable", "observedGeneration": 3,
                "conditions": [{"type": "Ready", "observedGeneration": 2},
                    {"type": "Ready", "observedGeneration": 5}, {"type": "Initialized"}]}})
        );
    }
}
