//! Workload validation for `apps/v1` (kube's `pkg/apis/apps/validation`): Deployment,
//! ReplicaSet, StatefulSet and DaemonSet — a selector that is required, not empty and matches
//! the template's labels, non-negative replicas, strategies, the pod template validated as a pod
//! spec with `restartPolicy: Always`, and an immutable selector — and ControllerRevision
//! (`ValidateControllerRevision`/`...Update`: data required, revision not negative, data
//! immutable), and the Deployment and ReplicaSet status rules of their `/status` writes.

use serde_json::Value;

use super::Policy;
use super::core::pod;
use super::field::{self, child, str_of};
use super::selector::{self, go_map, go_selector, invalid_go};
use crate::status::Cause;

/// Workload kinds and the word kube uses in "empty selector is invalid for ...".
fn selector_noun(kind: &str) -> &'static str {
    match kind {
        "StatefulSet" => "statefulset",
        "DaemonSet" => "daemonset",
        // kube's ReplicaSet validation says "deployment" too.
        _ => "deployment",
    }
}

/// Deployment strategy types, in kube's order.
pub const DEPLOYMENT_STRATEGIES: [&str; 2] = ["Recreate", "RollingUpdate"];
/// StatefulSet podManagementPolicy values.
pub const POD_MANAGEMENT_POLICIES: [&str; 2] = ["OrderedReady", "Parallel"];
/// StatefulSet and DaemonSet update strategy types.
pub const UPDATE_STRATEGIES: [&str; 2] = ["OnDelete", "RollingUpdate"];

/// A pod template of a workload: validated as a pod, its labels matched by `sel`, and
/// `restartPolicy` Always (kube's `ValidatePodTemplateSpecForReplicaSet`, and
/// `ValidatePodTemplateSpecForRC` for ReplicationControllers, whose selector map is passed as
/// `matchLabels`). `owner` names the kind in the `activeDeadlineSeconds` message.
pub fn template_for_selector(
    spec: &Value,
    path: &str,
    sel: Option<&Value>,
    owner: &str,
    policy: Policy,
    causes: &mut Vec<Cause>,
) {
    let tpath = child(path, "template");
    let Some(template) = spec.get("template").filter(|t| !t.is_null()) else {
        causes.push(field::required(&tpath, ""));
        return;
    };
    let labels = template.pointer("/metadata/labels");
    if let Some(sel) = sel
        && !selector::is_empty(sel)
        && !selector::matches(sel, labels)
    {
        causes.push(invalid_go(
            &child(&tpath, "metadata.labels"),
            &go_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    causes.extend(pod::validate_template(template, &tpath, policy));
    if let Some(restart) = template.pointer("/spec/restartPolicy")
        && restart.as_str() != Some("Always")
    {
        causes.push(field::not_supported(
            &child(&tpath, "spec.restartPolicy"),
            restart,
            &["Always"],
        ));
    }
    if template
        .pointer("/spec/activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        causes.push(field::forbidden(
            &child(&tpath, "spec.activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
}

fn enum_at(path: &str, v: Option<&Value>, allowed: &[&str], causes: &mut Vec<Cause>) {
    if let Some(v) = v.filter(|v| !v.is_null())
        && !v.as_str().is_some_and(|s| allowed.contains(&s))
    {
        causes.push(field::not_supported(path, v, allowed));
    }
}

/// Create validation of a workload `kind`.
pub fn validate(kind: &str, obj: &Value, policy: Policy) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    if let Some(r) = spec.get("replicas") {
        causes.extend(field::non_negative("spec.replicas", r));
    }
    for f in [
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        if let Some(v) = spec.get(f) {
            causes.extend(field::non_negative(&child("spec", f), v));
        }
    }
    let sel = spec.get("selector").filter(|s| !s.is_null());
    match sel {
        None => causes.push(field::required("spec.selector", "")),
        Some(s) => {
            causes.extend(selector::validate(s, "spec.selector"));
            if selector::is_empty(s) {
                causes.push(invalid_go(
                    "spec.selector",
                    &go_selector(s),
                    &format!("empty selector is invalid for {}", selector_noun(kind)),
                ));
            }
        }
    }
    template_for_selector(spec, "spec", sel, "ReplicaSet", policy, &mut causes);
    match kind {
        "Deployment" => {
            if let Some(strategy) = spec.get("strategy").filter(|s| !s.is_null()) {
                match str_of(strategy, "type") {
                    "Recreate" => {
                        if strategy.get("rollingUpdate").is_some_and(|r| !r.is_null()) {
                            causes.push(field::forbidden(
                                "spec.strategy.rollingUpdate",
                                "may not be specified when strategy `type` is 'Recreate'",
                            ));
                        }
                    }
                    "RollingUpdate" => {
                        let ru = strategy.get("rollingUpdate").unwrap_or(&null);
                        let zero = |f: &str| matches!(ru.get(f), Some(v) if v.as_i64() == Some(0) || v.as_str() == Some("0%") || v.as_str() == Some("0"));
                        if zero("maxUnavailable") && zero("maxSurge") {
                            causes.push(field::invalid(
                                "spec.strategy.rollingUpdate.maxUnavailable",
                                ru.get("maxUnavailable").unwrap_or(&null),
                                "may not be 0 when `maxSurge` is 0",
                            ));
                        }
                    }
                    "" => {}
                    _ => causes.push(field::not_supported(
                        "spec.strategy.type",
                        strategy.get("type").unwrap_or(&null),
                        &DEPLOYMENT_STRATEGIES,
                    )),
                }
            }
        }
        "StatefulSet" => {
            enum_at(
                "spec.podManagementPolicy",
                spec.get("podManagementPolicy"),
                &POD_MANAGEMENT_POLICIES,
                &mut causes,
            );
            enum_at(
                "spec.updateStrategy.type",
                spec.pointer("/updateStrategy/type"),
                &UPDATE_STRATEGIES,
                &mut causes,
            );
        }
        "DaemonSet" => enum_at(
            "spec.updateStrategy.type",
            spec.pointer("/updateStrategy/type"),
            &UPDATE_STRATEGIES,
            &mut causes,
        ),
        _ => {}
    }
    causes
}

/// StatefulSet spec fields an update may change (kube's `ValidateStatefulSetUpdate`).
const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// Update validation: the create rules plus an immutable selector (StatefulSet: only the
/// listed spec fields may change).
pub fn validate_update(kind: &str, new: &Value, old: &Value, policy: Policy) -> Vec<Cause> {
    let mut causes = validate(kind, new, policy);
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    if kind == "StatefulSet" {
        let strip = |s: &Value| {
            let mut s = s.clone();
            if let Some(m) = s.as_object_mut() {
                m.retain(|k, v| !STATEFULSET_MUTABLE.contains(&k.as_str()) && !v.is_null());
            }
            s
        };
        if strip(ns) != strip(os) {
            causes.push(field::forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
    } else if ns.get("selector").filter(|s| !s.is_null())
        != os.get("selector").filter(|s| !s.is_null())
    {
        causes.push(invalid_go(
            "spec.selector",
            &ns.get("selector").map_or("null".into(), go_selector),
            "field is immutable",
        ));
    }
    causes
}

/// `ValidateControllerRevision` without ObjectMeta.
pub fn validate_controller_revision(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if obj.get("data").is_none_or(Value::is_null) {
        causes.push(field::required("data", "data is mandatory"));
    }
    if let Some(v) = obj.get("revision") {
        causes.extend(field::non_negative("revision", v));
    }
    causes
}

/// `ValidateControllerRevisionUpdate` without ObjectMeta: the create rules, then `data` is
/// immutable (kube's message quotes the new data as JSON).
pub fn validate_controller_revision_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_controller_revision(new);
    let data = |o: &Value| o.get("data").filter(|d| !d.is_null()).cloned();
    if data(new) != data(old) {
        causes.push(invalid_go(
            "data",
            &data(new).map_or("null".into(), |d| field::go_json(&d)),
            "field is immutable",
        ));
    }
    causes
}

/// An integer field of a status, Go's zero when unset.
fn count(status: &Value, f: &str) -> i64 {
    status.get(f).and_then(Value::as_i64).unwrap_or(0)
}

/// The "cannot be greater than" checks kube's Deployment, ReplicaSet and StatefulSet status
/// validations share: each of `bounded` at most `status.replicas`, then `availableReplicas` at
/// most `readyReplicas`, which kube's message calls `ready` (StatefulSet's says
/// `status.readyReplicas`, the others `readyReplicas`).
fn replica_bounds(status: &Value, bounded: &[&str], ready: &str, causes: &mut Vec<Cause>) {
    let replicas = count(status, "replicas");
    for f in bounded {
        if count(status, f) > replicas {
            causes.push(field::invalid(
                &format!("status.{f}"),
                &count(status, f).into(),
                "cannot be greater than status.replicas",
            ));
        }
    }
    if count(status, "availableReplicas") > count(status, "readyReplicas") {
        causes.push(field::invalid(
            "status.availableReplicas",
            &count(status, "availableReplicas").into(),
            &format!("cannot be greater than {ready}"),
        ));
    }
}

/// `apivalidation.IsDecremented` on `status.collisionCount`: set before, and now unset or
/// lower (reported with Go's zero for an unset count).
fn collision_count_decremented(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let collisions = |v: &Value| v.pointer("/status/collisionCount").and_then(Value::as_i64);
    if let Some(was) = collisions(old)
        && collisions(new).is_none_or(|now| now < was)
    {
        causes.push(field::invalid(
            "status.collisionCount",
            &collisions(new).unwrap_or(0).into(),
            "cannot be decremented",
        ));
    }
}

/// `ValidateDeploymentStatusUpdate` after ObjectMeta: `ValidateDeploymentStatus` (counts,
/// `terminatingReplicas` included, and observedGeneration non-negative, the counts bounded by
/// `replicas`) and a `collisionCount` that may not go down.
pub fn validate_deployment_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let status = new.get("status").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    field::non_negative_counts(
        status,
        &[
            "observedGeneration",
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            // A pointer (DeploymentReplicaSetTerminatingReplicas, on in 1.37): checked when set.
            "terminatingReplicas",
            "collisionCount",
        ],
        &mut causes,
    );
    replica_bounds(
        status,
        &["updatedReplicas", "readyReplicas", "availableReplicas"],
        "readyReplicas",
        &mut causes,
    );
    collision_count_decremented(new, old, &mut causes);
    causes
}

/// `ValidateReplicaSetStatus` (through `ValidateReplicaSetStatusUpdate`): counts and
/// observedGeneration non-negative, the counts bounded by `replicas`. core's
/// `ValidateReplicationControllerStatus` (through `ValidateReplicationControllerStatusUpdate`)
/// has the same rules, in the same order, over the same fields.
pub fn validate_replica_set_status(new: &Value) -> Vec<Cause> {
    let status = new.get("status").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    field::non_negative_counts(
        status,
        &[
            "replicas",
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            // ReplicaSets only (a ReplicationController's status has no such field).
            "terminatingReplicas",
            "observedGeneration",
        ],
        &mut causes,
    );
    replica_bounds(
        status,
        &["fullyLabeledReplicas", "readyReplicas", "availableReplicas"],
        "readyReplicas",
        &mut causes,
    );
    causes
}

/// `ValidateStatefulSetStatusUpdate` after ObjectMeta: `ValidateStatefulSetStatus` (counts,
/// and observedGeneration and collisionCount when set, non-negative; the counts bounded by
/// `replicas`, `availableReplicas` by `readyReplicas` in words of its own) and a
/// `collisionCount` that may not go down.
pub fn validate_stateful_set_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let status = new.get("status").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    // observedGeneration and collisionCount are pointers: unset reads as Go's zero, valid.
    field::non_negative_counts(
        status,
        &[
            "replicas",
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "availableReplicas",
            "observedGeneration",
            "collisionCount",
        ],
        &mut causes,
    );
    replica_bounds(
        status,
        &[
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "availableReplicas",
        ],
        "status.readyReplicas",
        &mut causes,
    );
    collision_count_decremented(new, old, &mut causes);
    causes
}

/// `ValidateDaemonSetStatusUpdate` after ObjectMeta: `validateDaemonSetStatus` (every count,
/// observedGeneration, and collisionCount when set, non-negative) and a `collisionCount` that
/// may not go down.
pub fn validate_daemon_set_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let status = new.get("status").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    field::non_negative_counts(
        status,
        &[
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady",
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
            "collisionCount",
        ],
        &mut causes,
    );
    collision_count_decremented(new, old, &mut causes);
    causes
}
