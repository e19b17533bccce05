//! Pod validation (kube's `ValidatePodSpec`, `ValidatePodCreate`, `ValidatePodUpdate`), also used
//! for the pod templates of workloads: containers, names, images, ports, env, resources, probes,
//! volumes, restart and DNS policies, security contexts and the deprecated seccomp and AppArmor
//! annotations (their rules in `security`), the OS-specific rules (`os`), and the fields a pod
//! update may change. The server's [`Policy`] (`--allow-privileged`) reaches every pod spec
//! through these functions, Pods and workload templates alike.

use std::collections::HashSet;

use serde_json::Value;

use crate::status::Cause;
use crate::validation::Policy;
use crate::validation::core::{os, security};
use crate::validation::decode::check_quantity;
use crate::validation::field::{self, arr_of, child, index, obj_of, str_of};
use crate::validation::objectmeta;

/// `spec.restartPolicy` values, in kube's order.
pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
/// `spec.dnsPolicy` values, in kube's order.
pub const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
/// `imagePullPolicy` values, in kube's order.
pub const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
/// Port protocols (sorted, as kube lists them).
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
/// Probe handler fields: exactly one is set.
const PROBE_HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "grpc"];
/// `activeDeadlineSeconds` upper bound (`math.MaxInt32`).
const MAX_INT32: i64 = i32::MAX as i64;

const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// A Quantity's value as a float, for comparing requests with limits.
pub(crate) fn quantity_value(q: &str) -> Option<f64> {
    check_quantity(q).ok()?;
    let body = q.trim();
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(num_end);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => 10f64.powi(exp[1..].parse().ok()?),
    };
    Some(n * factor)
}

fn enum_value(path: &str, v: Option<&Value>, allowed: &[&str], causes: &mut Vec<Cause>) {
    // Absent values are the defaulting stage's business (kube defaults these before validating).
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return;
    };
    match v.as_str() {
        Some("") => causes.push(field::required(path, "")),
        Some(s) if allowed.contains(&s) => {}
        _ => causes.push(field::not_supported(path, v, allowed)),
    }
}

fn probe(p: &Value, path: &str, liveness: bool, causes: &mut Vec<Cause>) {
    if p.is_null() {
        return;
    }
    let set: Vec<&str> = PROBE_HANDLERS
        .iter()
        .copied()
        .filter(|h| p.get(*h).is_some_and(|v| !v.is_null()))
        .collect();
    match set.as_slice() {
        [] => causes.push(field::required(path, "must specify a handler type")),
        [_] => {}
        [_, rest @ ..] => {
            for h in rest {
                causes.push(field::forbidden(
                    &child(path, h),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(v) = p.get(f) {
            causes.extend(field::non_negative(&child(path, f), v));
        }
    }
    if liveness
        && let Some(v) = p.get("successThreshold")
        && v.as_i64().is_some_and(|n| n != 1)
    {
        causes.push(field::invalid(
            &child(path, "successThreshold"),
            v,
            "must be 1",
        ));
    }
}

fn resources(r: &Value, path: &str, causes: &mut Vec<Cause>) {
    let limits = obj_of(r, "limits");
    for (kind, map) in [("limits", limits), ("requests", obj_of(r, "requests"))] {
        let Some(map) = map else { continue };
        for (name, q) in map {
            let at = field::key(&child(path, kind), name);
            let text = q.as_str().unwrap_or("");
            let Some(value) = quantity_value(text) else {
                continue;
            };
            if value < 0.0 {
                causes.push(field::invalid_str(&at, text, field::IS_NEGATIVE));
            }
            if kind == "requests"
                && let Some(limit) = limits.and_then(|l| l.get(name)).and_then(Value::as_str)
                && quantity_value(limit).is_some_and(|l| value > l)
            {
                causes.push(field::invalid_str(
                    &at,
                    text,
                    &format!("must be less than or equal to {name} limit of {limit}"),
                ));
            }
        }
    }
}

fn container(
    c: &Value,
    path: &str,
    names: &mut HashSet<String>,
    regular: bool,
    host_users: bool,
    policy: Policy,
    causes: &mut Vec<Cause>,
) {
    let name = str_of(c, "name");
    if name.is_empty() {
        causes.push(field::required(&child(path, "name"), ""));
    } else {
        let errs = field::dns1123_label(name);
        if errs.is_empty() && !names.insert(name.to_owned()) {
            causes.push(field::duplicate(
                &child(path, "name"),
                &Value::String(name.into()),
            ));
        }
        causes.extend(field::each(&child(path, "name"), name, errs));
    }
    if str_of(c, "image").is_empty() {
        causes.push(field::required(&child(path, "image"), ""));
    }
    enum_value(
        &child(path, "imagePullPolicy"),
        c.get("imagePullPolicy"),
        &PULL_POLICIES,
        causes,
    );
    let mut port_names = HashSet::new();
    for (i, p) in arr_of(c, "ports").iter().enumerate() {
        let at = index(&child(path, "ports"), i);
        let port_name = str_of(p, "name");
        if !port_name.is_empty() {
            let errs = field::port_name(port_name);
            if errs.is_empty() && !port_names.insert(port_name.to_owned()) {
                causes.push(field::duplicate(
                    &child(&at, "name"),
                    &Value::String(port_name.into()),
                ));
            }
            causes.extend(field::each(&child(&at, "name"), port_name, errs));
        }
        match p.get("containerPort") {
            None | Some(Value::Null) => {
                causes.push(field::required(&child(&at, "containerPort"), ""))
            }
            Some(v) if v.as_i64() == Some(0) => {
                causes.push(field::required(&child(&at, "containerPort"), ""));
            }
            Some(v) => causes.extend(field::port_number(&child(&at, "containerPort"), v)),
        }
        if let Some(v) = p
            .get("hostPort")
            .filter(|v| v.as_i64().is_some_and(|n| n != 0))
        {
            causes.extend(field::port_number(&child(&at, "hostPort"), v));
        }
        enum_value(
            &child(&at, "protocol"),
            p.get("protocol"),
            &PROTOCOLS,
            causes,
        );
    }
    for (i, e) in arr_of(c, "env").iter().enumerate() {
        let at = child(&index(&child(path, "env"), i), "name");
        let name = str_of(e, "name");
        if name.is_empty() {
            causes.push(field::required(&at, ""));
        } else {
            causes.extend(field::each(&at, name, field::env_var_name(name)));
        }
    }
    if let Some(r) = c.get("resources") {
        resources(r, &child(path, "resources"), causes);
    }
    // The last of kube's `validateContainerCommon`; the probes follow for regular containers.
    security::container(c, path, host_users, policy, causes);
    if regular {
        for (f, liveness) in [
            ("livenessProbe", true),
            ("readinessProbe", false),
            ("startupProbe", false),
        ] {
            if let Some(p) = c.get(f) {
                probe(p, &child(path, f), liveness, causes);
            }
        }
    }
}

fn volumes(spec: &Value, path: &str, causes: &mut Vec<Cause>) -> HashSet<String> {
    let mut names = HashSet::new();
    for (i, v) in arr_of(spec, "volumes").iter().enumerate() {
        let at = index(&child(path, "volumes"), i);
        let name = str_of(v, "name");
        if name.is_empty() {
            causes.push(field::required(&child(&at, "name"), ""));
        } else {
            let errs = field::dns1123_label(name);
            if errs.is_empty() && !names.insert(name.to_owned()) {
                causes.push(field::duplicate(
                    &child(&at, "name"),
                    &Value::String(name.into()),
                ));
            }
            causes.extend(field::each(&child(&at, "name"), name, errs));
        }
        let sources: Vec<&String> = v
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, val)| k.as_str() != "name" && !val.is_null())
                    .map(|(k, _)| k)
                    .collect()
            })
            .unwrap_or_default();
        match sources.as_slice() {
            [] => causes.push(field::required(&at, "must specify a volume type")),
            [_] => {}
            [_, rest @ ..] => {
                for s in rest {
                    causes.push(field::forbidden(
                        &child(&at, s),
                        "may not specify more than 1 volume type",
                    ));
                }
            }
        }
    }
    names
}

/// `ValidatePodSpec` at `path` (`spec`, or `spec.template.spec` in a workload), under the
/// server's `policy`.
pub fn validate_spec(spec: &Value, path: &str, policy: Policy) -> Vec<Cause> {
    let mut causes = Vec::new();
    volumes(spec, path, &mut causes);
    let containers = arr_of(spec, "containers");
    let mut names = HashSet::new();
    if containers.is_empty() {
        causes.push(field::required(&child(path, "containers"), ""));
    }
    let host_users = security::host_users(spec);
    for (i, c) in containers.iter().enumerate() {
        container(
            c,
            &index(&child(path, "containers"), i),
            &mut names,
            true,
            host_users,
            policy,
            &mut causes,
        );
    }
    for (i, c) in arr_of(spec, "initContainers").iter().enumerate() {
        container(
            c,
            &index(&child(path, "initContainers"), i),
            &mut names,
            false,
            host_users,
            policy,
            &mut causes,
        );
    }
    // kube validates ephemeral containers' common fields too (`validateEphemeralContainers`);
    // of those, only the security context is modelled.
    for (i, c) in arr_of(spec, "ephemeralContainers").iter().enumerate() {
        security::container(
            c,
            &index(&child(path, "ephemeralContainers"), i),
            host_users,
            policy,
            &mut causes,
        );
    }
    enum_value(
        &child(path, "restartPolicy"),
        spec.get("restartPolicy"),
        &RESTART_POLICIES,
        &mut causes,
    );
    enum_value(
        &child(path, "dnsPolicy"),
        spec.get("dnsPolicy"),
        &DNS_POLICIES,
        &mut causes,
    );
    causes.extend(objectmeta::labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    security::pod(spec, path, &mut causes);
    // kube's checks between the security context and these two (image pull secrets, affinity,
    // DNS config, readiness and scheduling gates, topology spread) are not modelled.
    os::host_process(spec, path, policy, &mut causes);
    security::host_users_rules(spec, path, &mut causes);
    let sa = str_of(spec, "serviceAccountName");
    if !sa.is_empty() {
        causes.extend(field::each(
            &child(path, "serviceAccountName"),
            sa,
            field::dns1123_subdomain(sa),
        ));
    }
    if let Some(v) = spec.get("activeDeadlineSeconds")
        && v.as_i64().is_some_and(|n| !(1..=MAX_INT32).contains(&n))
    {
        causes.push(field::invalid(
            &child(path, "activeDeadlineSeconds"),
            v,
            &format!("must be between 1 and {MAX_INT32}, inclusive"),
        ));
    }
    for f in ["hostname", "subdomain"] {
        let v = str_of(spec, f);
        if !v.is_empty() {
            causes.extend(field::each(&child(path, f), v, field::dns1123_label(v)));
        }
    }
    // Last in `ValidatePodSpec`, after the fields above and the unmodelled ones that follow
    // them (tolerations, host aliases, priority and runtime classes, overhead).
    os::validate(spec, path, &mut causes);
    causes
}

/// `ValidatePodTemplateSpec` at `path` (`spec.template`): its labels and annotations (kube
/// reports them at `<path>.labels`, without `metadata`, as the template's ObjectMeta is
/// embedded in Go), its spec, and no ephemeral containers.
pub fn validate_template(template: &Value, path: &str, policy: Policy) -> Vec<Cause> {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    let mut causes = objectmeta::labels(meta.get("labels"), &child(path, "labels"));
    causes.extend(objectmeta::annotations(
        meta.get("annotations"),
        &child(path, "annotations"),
    ));
    let spec = template.get("spec").unwrap_or(&Value::Null);
    causes.extend(validate_spec(spec, &child(path, "spec"), policy));
    if !arr_of(spec, "ephemeralContainers").is_empty() {
        causes.push(field::forbidden(
            &child(path, "spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    causes
}

/// kube's `validatePodMetadataAndSpec` after ObjectMeta (which the caller checks): the
/// deprecated seccomp and AppArmor annotations, then the spec.
pub fn validate(obj: &Value, policy: Policy) -> Vec<Cause> {
    let mut causes = security::annotations(obj);
    causes.extend(validate_spec(
        obj.get("spec").unwrap_or(&Value::Null),
        "spec",
        policy,
    ));
    causes
}

/// `ValidatePodCreate`: [`validate`], then the deprecated annotations' agreement with the
/// seccomp and AppArmor fields.
pub fn validate_create(obj: &Value, policy: Policy) -> Vec<Cause> {
    let mut causes = validate(obj, policy);
    causes.extend(security::annotations_match_fields(obj));
    causes
}

/// `ValidatePodUpdate`, in kube's order: the new pod's annotations and spec as on create (without
/// the annotations' agreement with the fields); AppArmor annotations may not change (and the
/// annotations are checked again, as kube does); containers may not be added
/// or removed (and checking stops there); `activeDeadlineSeconds` may be set or lowered, never
/// raised or unset; tolerations may be added (existing ones change only their
/// `tolerationSeconds`); scheduling gates may only be removed. Then the fields that may change
/// are copied from the old spec, and anything still different is forbidden. Like kube, that
/// includes `spec.ephemeralContainers`: they change only through `pods/ephemeralcontainers`
/// (`crate::subresources`), so a plain update that changes or drops them is refused, not
/// silently corrected.
pub fn validate_update(new: &Value, old: &Value, policy: Policy) -> Vec<Cause> {
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let mut causes = validate(new, policy);
    causes.extend(security::annotation_updates(new, old));
    for list in ["containers", "initContainers"] {
        let (new_items, old_items) = (arr_of(ns, list), arr_of(os, list));
        let path = child("spec", list);
        if new_items.len() != old_items.len() {
            causes.push(field::forbidden(
                &path,
                "pod updates may not add or remove containers",
            ));
            return causes;
        }
        for (i, c) in new_items.iter().enumerate() {
            let image = str_of(c, "image");
            if image.trim() != image {
                causes.push(field::invalid_str(
                    &child(&index(&path, i), "image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    let deadline_path = "spec.activeDeadlineSeconds";
    match (
        ns.get("activeDeadlineSeconds").and_then(Value::as_i64),
        os.get("activeDeadlineSeconds").and_then(Value::as_i64),
    ) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            causes.push(field::invalid(
                deadline_path,
                &n.into(),
                &format!("must be between 0 and {MAX_INT32}, inclusive"),
            ));
            return causes;
        }
        (Some(n), Some(o)) if o < n => {
            causes.push(field::invalid(
                deadline_path,
                &n.into(),
                "must be less than or equal to previous value",
            ));
            return causes;
        }
        (None, Some(_)) => causes.push(field::invalid(
            deadline_path,
            &Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    // kube compares tolerations with `tolerationSeconds` cleared: only that may change.
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new_tolerations: Vec<Value> = arr_of(ns, "tolerations")
        .iter()
        .map(without_seconds)
        .collect();
    if arr_of(os, "tolerations")
        .iter()
        .any(|t| !new_tolerations.contains(&without_seconds(t)))
    {
        causes.push(field::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let old_gates: Vec<&str> = arr_of(os, "schedulingGates")
        .iter()
        .map(|g| str_of(g, "name"))
        .collect();
    for (i, gate) in arr_of(ns, "schedulingGates").iter().enumerate() {
        let name = str_of(gate, "name");
        if !old_gates.contains(&name) {
            causes.push(field::forbidden(
                &child(&index("spec.schedulingGates", i), "name"),
                &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
    if ns == os {
        return causes;
    }
    // What may change is copied from the old spec; anything left different is forbidden.
    let mut munged = ns.clone();
    for list in ["containers", "initContainers"] {
        let old_items = arr_of(os, list);
        if let Some(items) = munged.get_mut(list).and_then(Value::as_array_mut) {
            for (item, old_item) in items.iter_mut().zip(old_items) {
                match (item.as_object_mut(), old_item.get("image")) {
                    (Some(m), Some(image)) => m.insert("image".into(), image.clone()),
                    (Some(m), None) => m.remove("image"),
                    (None, _) => None,
                };
            }
        }
    }
    if let Some(m) = munged.as_object_mut() {
        for copied in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            match os.get(copied) {
                Some(v) => m.insert(copied.into(), v.clone()),
                None => m.remove(copied),
            };
        }
        let old_grace = os
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        let new_grace = ns
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        if old_grace.is_some_and(|g| g < 0)
            && new_grace == Some(1)
            && let Some(v) = os.get("terminationGracePeriodSeconds")
        {
            m.insert("terminationGracePeriodSeconds".into(), v.clone());
        }
    }
    if &munged != os {
        let changed: Vec<String> = munged
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| os.get(k.as_str()) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(
                os.as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| munged.get(k.as_str()).is_none())
                    .map(|(k, _)| k.clone()),
            )
            .collect();
        // kube appends a Go cmp.Diff of the internal PodSpec; the fields that differ stand in for it.
        causes.push(field::forbidden(
            "spec",
            &format!("{POD_UPDATE_FORBIDDEN}\n  changed: {}", changed.join(", ")),
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn quantities_compare() {
        assert_eq!(quantity_value("100m"), Some(0.1));
        assert_eq!(quantity_value("1Gi"), Some(1073741824.0));
        assert_eq!(quantity_value("1e3"), Some(1000.0));
    }

    #[test]
    fn spec_rules() {
        let spec = json!({
            "containers": [
                {"name": "a", "image": "x", "ports": [{"containerPort": 0, "protocol": "XTP"}],
                 "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
                 "livenessProbe": {"successThreshold": 2, "exec": {"command": ["x"]}}},
                {"name": "a"}
            ],
            "restartPolicy": "Sometimes",
            "volumes": [{"name": "v"}, {"name": "w", "emptyDir": {}, "hostPath": {"path": "/"}}]
        });
        assert_eq!(
            messages(&validate_spec(&spec, "spec", Policy::default())),
            vec![
                "spec.volumes[0]: Required value: must specify a volume type",
                "spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type",
                "spec.containers[0].ports[0].containerPort: Required value",
                "spec.containers[0].ports[0].protocol: Unsupported value: \"XTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
                "spec.containers[1].name: Duplicate value: \"a\"",
                "spec.containers[1].image: Required value",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ]
        );
        assert_eq!(
            messages(&validate_spec(&json!({}), "spec", Policy::default())),
            vec!["spec.containers: Required value"]
        );
    }

    #[test]
    fn updates_change_images_only() {
        let old = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        let new = json!({"spec": {"containers": [{"name": "a", "image": "y"}], "activeDeadlineSeconds": 5}});
        assert!(validate_update(&new, &old, Policy::default()).is_empty());
        let new = json!({"spec": {"containers": [{"name": "a", "image": "x"}], "nodeName": "n"}});
        let m = messages(&validate_update(&new, &old, Policy::default()));
        assert_eq!(m.len(), 1);
        assert!(
            m[0].starts_with(&format!("spec: Forbidden: {POD_UPDATE_FORBIDDEN}")),
            "{m:?}"
        );
    }

    #[test]
    fn updates_follow_kube_stages() {
        let old = json!({"spec": {"containers": [{"name": "a", "image": "x"}],
            "activeDeadlineSeconds": 10,
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
            "schedulingGates": [{"name": "g"}],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}});
        let mut ok = old.clone();
        ok["spec"]["tolerations"][0]["tolerationSeconds"] = 9.into();
        ok["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "n", "operator": "Exists"}));
        ok["spec"]["activeDeadlineSeconds"] = 3.into();
        ok["spec"]["schedulingGates"] = json!([]);
        assert!(
            validate_update(&ok, &old, Policy::default()).is_empty(),
            "{:?}",
            messages(&validate_update(&ok, &old, Policy::default()))
        );

        let mut more = old.clone();
        more["spec"]["containers"] =
            json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]);
        assert_eq!(
            messages(&validate_update(&more, &old, Policy::default())),
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
        let mut raised = old.clone();
        raised["spec"]["activeDeadlineSeconds"] = 11.into();
        assert_eq!(
            messages(&validate_update(&raised, &old, Policy::default())),
            vec![
                "spec.activeDeadlineSeconds: Invalid value: 11: must be less than or equal to previous value"
            ]
        );
        let mut gate = old.clone();
        gate["spec"]["schedulingGates"] = json!([{"name": "g"}, {"name": "h"}]);
        assert!(messages(&validate_update(&gate, &old, Policy::default())).contains(
            &"spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'h'".to_owned()
        ));
        let mut tol = old.clone();
        tol["spec"]["tolerations"][0]["effect"] = "NoSchedule".into();
        assert!(messages(&validate_update(&tol, &old, Policy::default())).contains(
            &"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds".to_owned()
        ));
        // Ephemeral containers are not among what a plain update may change, dropped or added.
        for eph in [
            json!(null),
            json!([{"name": "dbg", "image": "busybox"}, {"name": "x", "image": "y"}]),
        ] {
            let mut e = old.clone();
            if eph.is_null() {
                e["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("ephemeralContainers");
            } else {
                e["spec"]["ephemeralContainers"] = eph;
            }
            let m = messages(&validate_update(&e, &old, Policy::default()));
            assert!(
                m.len() == 1
                    && m[0].starts_with(&format!("spec: Forbidden: {POD_UPDATE_FORBIDDEN}"))
                    && m[0].contains("ephemeralContainers"),
                "{m:?}"
            );
        }
    }
}
