//! Smaller types' validation: coordination Lease, policy PodDisruptionBudget, scheduling
//! PriorityClass, and node.k8s.io RuntimeClass (kube's `pkg/apis/node/validation`: the handler a
//! DNS label and immutable, the overhead as container limits, the scheduling node selector as
//! labels).
//!
//! Not modelled: RuntimeClass `scheduling.tolerations` (`ValidateTolerations` and their
//! uniqueness) are not checked.

use serde_json::Value;

use super::field::{self, child};
use super::selector;
use crate::status::Cause;

/// PodDisruptionBudget `spec.unhealthyPodEvictionPolicy` values, sorted as kube lists them.
pub const UNHEALTHY_POD_EVICTION_POLICIES: [&str; 2] = ["AlwaysAllow", "IfHealthyBudget"];

/// `ValidateLeaseSpec`.
pub fn validate_lease(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(v) = obj.pointer("/spec/leaseDurationSeconds")
        && v.as_i64().is_some_and(|n| n <= 0)
    {
        causes.push(field::invalid(
            "spec.leaseDurationSeconds",
            v,
            "must be greater than 0",
        ));
    }
    if let Some(v) = obj.pointer("/spec/leaseTransitions") {
        causes.extend(field::non_negative("spec.leaseTransitions", v));
    }
    causes
}

/// `ValidatePodDisruptionBudgetSpec`.
pub fn validate_pdb(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    let set = |f: &str| spec.get(f).filter(|v| !v.is_null());
    if let (Some(min), Some(_)) = (set("minAvailable"), set("maxUnavailable")) {
        causes.push(field::invalid(
            "spec.minAvailable",
            min,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for f in ["minAvailable", "maxUnavailable"] {
        if let Some(v) = set(f) {
            let at = child("spec", f);
            match v {
                Value::Number(_) => causes.extend(field::non_negative(&at, v)),
                Value::String(s) => match s.strip_suffix('%').map(str::parse::<i64>) {
                    Some(Ok(p)) if (0..=100).contains(&p) => {}
                    Some(Ok(_)) => causes.push(field::invalid(&at, v, "must not be greater than 100%")),
                    _ => causes.push(field::invalid(
                        &at,
                        v,
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    )),
                },
                _ => {}
            }
        }
    }
    if let Some(s) = spec.get("selector").filter(|s| !s.is_null()) {
        causes.extend(selector::validate(s, "spec.selector"));
    }
    if let Some(p) = set("unhealthyPodEvictionPolicy")
        && !p
            .as_str()
            .is_some_and(|s| UNHEALTHY_POD_EVICTION_POLICIES.contains(&s))
    {
        causes.push(field::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            p,
            &UNHEALTHY_POD_EVICTION_POLICIES,
        ));
    }
    causes
}

/// `ValidatePodDisruptionBudgetStatusUpdate` (policy/v1, the version served; v1beta1 checked
/// the conditions only): the conditions are valid `metav1.Condition`s, the counts
/// non-negative (Go's zero when unset). The PDB status strategy checks no ObjectMeta itself.
pub fn validate_pdb_status(new: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let status = new.get("status").unwrap_or(&null);
    let mut causes = super::pod_certificate::validate_conditions(
        field::arr_of(status, "conditions"),
        "status.conditions",
    );
    field::non_negative_counts(
        status,
        &[
            "disruptionsAllowed",
            "currentHealthy",
            "desiredHealthy",
            "expectedPods",
        ],
        &mut causes,
    );
    causes
}

/// Names starting with this are reserved for the system's priority classes.
const SYSTEM_PRIORITY_PREFIX: &str = "system-";
/// `HighestUserDefinablePriority`: user classes may not go above one billion.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
/// The system priority classes kube-apiserver creates at start (name, value, description);
/// neither is the global default (`scheduling.SystemPriorityClasses`). The store's bootstrap
/// creates them from this table.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];
/// PriorityClass (and Pod) `preemptionPolicy` values, in kube's order.
pub const PREEMPTION_POLICIES: [&str; 2] = ["PreemptLowerPriority", "Never"];

/// `IsKnownSystemPriorityClass`: why `name` is not one of the system classes as kube defines it.
fn system_priority_class_error(name: &str, value: i64, global_default: bool) -> Option<String> {
    let Some((known, known_value, _)) = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _, _)| *n == name)
    else {
        return Some(format!("{name} is not a known system priority class"));
    };
    if *known_value != value {
        return Some(format!(
            "value of {known} PriorityClass must be {known_value}"
        ));
    }
    global_default.then(|| format!("globalDefault of {known} PriorityClass must be false"))
}

/// `ValidatePriorityClass` (without ObjectMeta): reserved `system-` names, the user maximum and
/// the preemption policy.
pub fn validate_priority_class(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    let global_default = obj.get("globalDefault") == Some(&Value::Bool(true));
    if name.starts_with(SYSTEM_PRIORITY_PREFIX) {
        if let Some(error) = system_priority_class_error(name, value, global_default) {
            causes.push(field::forbidden(
                "metadata.name",
                &format!(
                    "priority class names with '{SYSTEM_PRIORITY_PREFIX}' prefix are reserved for system use only. error: {error}"
                ),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        causes.push(field::forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(p) = obj.get("preemptionPolicy").filter(|v| !v.is_null()) {
        match p.as_str() {
            Some(s) if PREEMPTION_POLICIES.contains(&s) => {}
            Some("") => causes.push(field::required("preemptionPolicy", "")),
            _ => causes.push(field::not_supported(
                "preemptionPolicy",
                p,
                &PREEMPTION_POLICIES,
            )),
        }
    }
    causes
}

/// `ValidatePriorityClassUpdate` (without ObjectMeta): `value` and `preemptionPolicy` are
/// immutable. kube checks nothing else on update.
pub fn validate_priority_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let value = |o: &Value| o.get("value").and_then(Value::as_i64).unwrap_or(0);
    if value(new) != value(old) {
        causes.push(field::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    let policy = |o: &Value| o.get("preemptionPolicy").cloned().unwrap_or(Value::Null);
    if policy(new) != policy(old) {
        causes.push(field::invalid(
            "preemptionPolicy",
            &policy(new),
            "field is immutable",
        ));
    }
    causes
}

/// `ValidateRuntimeClass` without ObjectMeta.
pub fn validate_runtime_class(obj: &Value) -> Vec<Cause> {
    let handler = field::str_of(obj, "handler");
    let mut causes = field::each("handler", handler, field::dns1123_label(handler));
    if let Some(fixed) = obj.pointer("/overhead/podFixed").and_then(Value::as_object) {
        // `ValidateContainerResourceRequirements` of `{Limits: podFixed}` at `overhead`.
        let at = "overhead.limits";
        let (mut huge, mut cpu_or_memory) = (false, false);
        for (name, q) in fixed {
            let path = field::key(at, name);
            causes.extend(super::core::quota::container_resource_name(name, &path));
            causes.extend(super::core::quota::quantity_value(name, q, &path));
            huge |= super::core::quota::is_huge_pages(name);
            cpu_or_memory |= name == "cpu" || name == "memory";
        }
        if huge && !cpu_or_memory {
            causes.push(field::forbidden(at, "HugePages require cpu or memory"));
        }
    }
    if let Some(sel) = obj
        .pointer("/scheduling/nodeSelector")
        .filter(|s| !s.is_null())
    {
        causes.extend(super::objectmeta::labels(
            Some(sel),
            "scheduling.nodeSelector",
        ));
    }
    causes
}

/// `ValidateRuntimeClassUpdate` without ObjectMeta: only the handler is checked (immutable);
/// kube does not rerun the create rules on update.
pub fn validate_runtime_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let handler = |o: &Value| field::str_of(o, "handler").to_owned();
    if handler(new) == handler(old) {
        return Vec::new();
    }
    vec![field::invalid_str(
        "handler",
        &handler(new),
        "field is immutable",
    )]
}
