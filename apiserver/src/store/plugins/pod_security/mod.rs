//! kube's `PodSecurity` admission plugin (`plugin/pkg/admission/security/podsecurity` over
//! `staging/src/k8s.io/pod-security-admission/admission/admission.go`), with kube-apiserver's
//! default configuration (every mode `privileged:latest` unless the namespace's
//! `pod-security.kubernetes.io/*` labels say otherwise; nothing exempt). This file is the
//! wiring, `policy.rs` the Pod Security Standards themselves:
//! - a Pod's create, and an update that changes an image or the containers (the
//!   `ephemeralcontainers` subresource included; `status`, `binding`, `eviction` and the
//!   streaming subresources are not evaluated), is refused (403 `violates PodSecurity
//!   "restricted:latest": ...`) when it breaks the namespace's `enforce` level, and warned
//!   about (`would violate PodSecurity ...`) when it breaks the `warn` level;
//! - a workload's pod template (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
//!   CronJobs, ReplicationControllers, PodTemplates) is only warned about;
//! - a Namespace whose pod-security labels do not parse is refused (422) on create, and on an
//!   update that changes the errors; an update that tightens `enforce` is answered with
//!   warnings naming the existing Pods that would break it.
//!
//! The `audit` mode's annotations are not written: this server keeps no audit log.

mod policy;

use serde_json::{Map, Value};

use super::{Inner, Write};
use crate::admission::Operation;
use crate::meta::meta_str;
use crate::status::{ApiError, Cause};
use policy::{Level, LevelVersion, Policy};

const NAMESPACES_KEY: &str = "/namespaces";
const PODS_KEY: &str = "/pods";
/// `ignoredPodSubresources`: writes that cannot change what a Pod runs.
const IGNORED_POD_SUBRESOURCES: [&str; 8] = [
    "exec",
    "attach",
    "binding",
    "eviction",
    "log",
    "portforward",
    "proxy",
    "status",
];

fn labels(obj: Option<&Value>) -> Option<&Map<String, Value>> {
    obj?.pointer("/metadata/labels")?.as_object()
}

impl Inner {
    /// The plugin's `Validate`: Pods, workloads' templates and Namespaces. Answers the warnings.
    pub(super) fn validate_pod_security(&self, w: &Write<'_>) -> Result<Vec<String>, ApiError> {
        let (Some(obj), Operation::Create | Operation::Update) = (w.object, w.operation) else {
            return Ok(Vec::new());
        };
        let (group, plural) = (w.info.group.as_str(), w.info.plural.as_str());
        if group.is_empty() && plural == "namespaces" {
            return validate_namespace(self, w, obj);
        }
        if group.is_empty() && plural == "pods" {
            if IGNORED_POD_SUBRESOURCES.contains(&w.subresource) {
                return Ok(Vec::new());
            }
            if w.operation == Operation::Update
                && let Some(old) = w.old_object
                && !policy::is_significant_pod_update(
                    obj.get("spec").unwrap_or(&Value::Null),
                    old.get("spec").unwrap_or(&Value::Null),
                )
            {
                return Ok(Vec::new());
            }
            let policy = self.namespace_policy(w.namespace);
            let null = Value::Null;
            let (meta, spec) = (
                obj.get("metadata").unwrap_or(&null),
                obj.get("spec").unwrap_or(&null),
            );
            return evaluate(w, &policy, meta, spec, true);
        }
        let Some(pointer) = policy::template_pointer(group, plural) else {
            return Ok(Vec::new());
        };
        if !w.subresource.is_empty() {
            return Ok(Vec::new());
        }
        let policy = self.namespace_policy(w.namespace);
        if policy.warn.level == Level::Privileged && policy.audit.level == Level::Privileged {
            return Ok(Vec::new());
        }
        let null = Value::Null;
        let template = obj.pointer(pointer).unwrap_or(&null);
        let (meta, spec) = (
            template.get("metadata").unwrap_or(&null),
            template.get("spec").unwrap_or(&null),
        );
        evaluate(w, &policy, meta, spec, false)
    }

    /// `PolicyToEvaluate` of the write's namespace (the defaults if it is not stored).
    fn namespace_policy(&self, namespace: &str) -> Policy {
        let ns = self.get_by_key(NAMESPACES_KEY, &(String::new(), namespace.to_owned()));
        policy::policy_from_labels(labels(ns.as_ref().map(|n| n.value()))).0
    }
}

/// `EvaluatePod`: enforce (Pods only) refuses; warn, when the write is let through, warns.
fn evaluate(
    w: &Write<'_>,
    policy: &Policy,
    meta: &Value,
    spec: &Value,
    enforce: bool,
) -> Result<Vec<String>, ApiError> {
    if enforce {
        let failed = policy::check_pod(&policy.enforce, meta, spec);
        if !failed.is_empty() {
            // `attrs.GetName()`: the name the request named (none for a generated one).
            return Err(ApiError::forbidden(
                w.info.group_resource(),
                w.name,
                &format!(
                    "violates PodSecurity {}: {}",
                    quoted(&policy.enforce),
                    policy::aggregate(&failed)
                ),
            ));
        }
    }
    let failed = policy::check_pod(&policy.warn, meta, spec);
    if failed.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "would violate PodSecurity {}: {}",
        quoted(&policy.warn),
        policy::aggregate(&failed)
    )])
}

fn quoted(lv: &LevelVersion) -> String {
    crd_schema::go_quote(&lv.to_string())
}

/// `ValidateNamespace`: labels that do not parse are a 422 (on an update, only when their
/// errors changed); a stricter `enforce` warns about the Pods already there.
fn validate_namespace(inner: &Inner, w: &Write<'_>, ns: &Value) -> Result<Vec<String>, ApiError> {
    if !w.subresource.is_empty() {
        return Ok(Vec::new());
    }
    let new_labels = labels(Some(ns));
    let old_labels = labels(w.old_object);
    let errors = match w.operation {
        Operation::Create => policy::validate_namespace_labels(new_labels),
        _ => policy::validate_namespace_labels_update(old_labels, new_labels),
    };
    if !errors.is_empty() {
        let causes: Vec<Cause> = errors
            .iter()
            .map(|(path, value, message)| {
                crate::validation::field::invalid(path, &Value::from(value.as_str()), message)
            })
            .collect();
        return Err(ApiError::invalid(
            "Namespace",
            "",
            "Namespace",
            w.name,
            causes,
        ));
    }
    if w.operation != Operation::Update {
        return Ok(Vec::new());
    }
    let name = meta_str(ns, "name");
    let pods: Vec<Value> = inner.objects_in(PODS_KEY, name).collect();
    Ok(policy::namespace_update_warnings(
        name, old_labels, new_labels, &pods,
    ))
}
