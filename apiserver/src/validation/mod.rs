//! Validates objects as kube-apiserver's registry strategies do (`Validate`, `ValidateUpdate`),
//! after decoding and defaulting and before the write is committed.
//!
//! `decode` checks a built-in body against its Go type (400s and unknown fields);
//! `objectmeta` holds the rules every type shares; one module per group (`core/` with a file
//! per type family, `apps`, `batch`, `rbac`, `others`) holds the per-type rules. The entry points
//! return `Cause`s for the 422 Invalid answer; an empty list means valid.
//!
//! Types without rules of their own here get ObjectMeta validation only: see `depth`.

pub mod apps;
pub mod batch;
pub mod core;
pub mod decode;
pub mod field;
pub mod objectmeta;
pub mod others;
pub mod rbac;
pub mod selector;

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::status::Cause;
use crate::store::Sub;
use objectmeta::NameRule;

/// How a type's names are checked.
fn name_rule(info: &ResourceInfo) -> NameRule {
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        ("rbac.authorization.k8s.io", _) | ("flowcontrol.apiserver.k8s.io", _) => {
            NameRule::PathSegment
        }
        _ => NameRule::Subdomain,
    }
}

/// Whether this module has rules for the type beyond ObjectMeta (the others get ObjectMeta
/// validation only; listed by a test).
#[cfg(test)]
pub fn depth(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "ConfigMap" | "Secret" | "Pod" | "Service" | "Namespace" | "ServiceAccount"
        ) | (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch", "Job" | "CronJob")
            | (
                "rbac.authorization.k8s.io",
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
            )
            | ("coordination.k8s.io", "Lease")
            | ("policy", "PodDisruptionBudget")
            | ("networking.k8s.io", "Ingress" | "NetworkPolicy")
    )
}

/// The type's own create rules (without ObjectMeta).
fn type_create(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "ConfigMap") => core::configmap::validate(obj),
        ("", "Secret") => core::secret::validate(obj),
        ("", "Pod") => core::pod::validate(obj),
        ("", "Service") => core::service::validate(obj),
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            apps::validate(kind, obj)
        }
        ("batch", "Job") => batch::validate_job(obj),
        ("batch", "CronJob") => batch::validate_cronjob(obj),
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => rbac::validate_role(obj),
        ("rbac.authorization.k8s.io", "RoleBinding") => rbac::validate_binding(obj, false),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac::validate_binding(obj, true),
        ("coordination.k8s.io", "Lease") => others::validate_lease(obj),
        ("policy", "PodDisruptionBudget") => others::validate_pdb(obj),
        ("networking.k8s.io", "NetworkPolicy") => others::validate_network_policy(obj),
        ("networking.k8s.io", "Ingress") => others::validate_ingress(obj),
        _ => Vec::new(),
    }
}

/// Validation of a new object (`Validate` of its strategy plus `ValidateObjectMeta`).
pub fn validate_create(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut causes = type_create(info, obj);
    causes.extend(objectmeta::validate(obj, info.namespaced, name_rule(info)));
    causes
}

/// Validation of a replaced object (`ValidateUpdate` of its strategy plus
/// `ValidateObjectMetaUpdate`). `sub` is the part written: a write through
/// `pods/ephemeralcontainers` has a strategy of its own (`podEphemeralContainersStrategy`),
/// whose `ValidatePodEphemeralContainersUpdate` checks the pod as on create and leaves the
/// ephemeral containers' own rules to `crate::subresources`; every other pod update is
/// `ValidatePodUpdate`.
pub fn validate_update(info: &ResourceInfo, new: &Value, old: &Value, sub: Sub) -> Vec<Cause> {
    let mut causes = objectmeta::validate_update(new, old);
    causes.extend(match (info.group.as_str(), info.kind.as_str()) {
        ("", "ConfigMap") => core::configmap::validate_update(new, old),
        ("", "Secret") => core::secret::validate_update(new, old),
        ("", "Pod") if sub == Sub::EphemeralContainers => core::pod::validate(new),
        ("", "Pod") => core::pod::validate_update(new, old),
        ("", "Service") => core::service::validate_update(new, old),
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            apps::validate_update(kind, new, old)
        }
        ("batch", "Job") => batch::validate_job_update(new, old),
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            rbac::validate_binding_update(new, old, false)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            rbac::validate_binding_update(new, old, true)
        }
        _ => type_create(info, new),
    });
    causes
}

/// Validation of a `/status` write: kube's status strategies check ObjectMeta only for the
/// types covered here (their status rules are not modelled).
pub fn validate_status_update(_info: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    objectmeta::validate_update(new, old)
}

/// Warnings of a create or update (`WarningsOnCreate`/`WarningsOnUpdate`): metadata's.
pub fn warnings(obj: &Value) -> Vec<String> {
    objectmeta::warnings(obj)
}

/// `unknown field "spec.foo"` per unknown field, as kube's strict decoder words them.
fn unknown_fields(unknown: &[String]) -> Vec<String> {
    unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect()
}

/// Decodes a create or update body of a built-in type (kube's `transformDecodeError`: 400
/// `ConfigMap in version "v1" cannot be handled as a ConfigMap: json: ...`), and applies
/// `fieldValidation` to its unknown fields, which are dropped: Strict is a 400
/// `strict decoding error: ...`, Warn returns them as warnings. Custom resources are left to
/// their structural schema.
pub fn decode_body(
    info: &ResourceInfo,
    obj: &mut Value,
    validation: crate::store::FieldValidation,
) -> Result<Vec<String>, crate::ApiError> {
    use crate::store::FieldValidation;
    if info.custom {
        return Ok(Vec::new());
    }
    let decoded = decode::decode(&info.api_version(), &info.kind, obj);
    if let Some(error) = decoded.error {
        return Err(crate::ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {error}",
            kind = info.kind,
            version = info.version
        )));
    }
    let listed = unknown_fields(&decoded.unknown);
    match validation {
        FieldValidation::Strict if !listed.is_empty() => Err(crate::ApiError::bad_request(
            format!("strict decoding error: {}", listed.join(", ")),
        )),
        FieldValidation::Warn => Ok(listed),
        _ => Ok(Vec::new()),
    }
}

/// Decodes the result of a JSON, merge or strategic merge patch of a built-in type: kube's
/// patch handler answers a decode failure (and Strict unknown fields) with 422 Invalid on the
/// field `patch`, quoting the patched object.
pub fn decode_patched(
    info: &ResourceInfo,
    obj: &mut Value,
    validation: crate::store::FieldValidation,
) -> Result<Vec<String>, crate::ApiError> {
    use crate::store::FieldValidation;
    let patched = obj.to_string();
    let decoded = decode::decode(&info.api_version(), &info.kind, obj);
    let listed = unknown_fields(&decoded.unknown);
    let detail = match (decoded.error, validation) {
        (Some(error), _) => error,
        (None, FieldValidation::Strict) if !listed.is_empty() => {
            format!("strict decoding error: {}", listed.join(", "))
        }
        (None, FieldValidation::Warn) => return Ok(listed),
        (None, _) => return Ok(Vec::new()),
    };
    Err(crate::ApiError::invalid(
        "",
        "",
        "",
        "",
        vec![field::invalid_str("patch", &patched, &detail)],
    ))
}

/// Converts a server-side apply configuration of a built-in type to its typed form as
/// structured-merge-diff does: any undeclared field or wrong type fails the apply with
/// `failed to create typed patch object (ns/name; /v1, Kind=ConfigMap): .spec.foo: field not
/// declared in schema`, whatever `fieldValidation` says. kube-apiserver answers this with a 500
/// (kubernetes#139253, not fixed yet); it is the client's error, so the answer here is a 400
/// with the same message.
pub fn check_apply(
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
    config: &Value,
) -> Result<(), crate::ApiError> {
    let errors = decode::check_apply(&info.api_version(), &info.kind, config);
    if errors.is_empty() {
        return Ok(());
    }
    let rendered: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    let listed = match rendered.as_slice() {
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    let ns = config
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(if info.namespaced { namespace } else { "" });
    let name = config
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or(name);
    Err(crate::ApiError::bad_request(format!(
        "failed to create typed patch object ({ns}/{name}; {}/{}, Kind={}): {listed}",
        info.group, info.version, info.kind
    )))
}
#[cfg(test)]
mod drift;
