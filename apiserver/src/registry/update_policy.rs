//! Which resources a PUT may create, and which it may update without a resourceVersion: the
//! `AllowCreateOnUpdate` and `AllowUnconditionalUpdate` answers of kube's registry strategies
//! (`pkg/registry/*/*/strategy.go`; the status strategies inherit them, and the CRD and
//! APIService status strategies answer false to both, as their main strategies do). The store's
//! update (`store/update.rs`) consults it when the object is missing and when the body carries
//! no `metadata.resourceVersion`.

use crate::catalog::ResourceInfo;

/// The update policy of one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// A PUT of an object that does not exist creates it (201) instead of answering 404.
    pub create_on_update: bool,
    /// A PUT without `metadata.resourceVersion` overwrites whatever is stored; otherwise it is
    /// refused with 422 (`metadata.resourceVersion: must be specified for an update`).
    pub unconditional_update: bool,
}

/// Resources whose strategy's `AllowCreateOnUpdate` is true; every other one answers false.
const CREATE_ON_UPDATE: &[(&str, &str)] = &[
    ("", "services"),
    ("", "endpoints"),
    ("", "events"),
    // The events.k8s.io view of the same storage.
    ("events.k8s.io", "events"),
    ("", "limitranges"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("coordination.k8s.io", "leases"),
    ("node.k8s.io", "runtimeclasses"),
];

/// Resources whose strategy's `AllowUnconditionalUpdate` is false; every other built-in one
/// answers true, custom resources false.
const CONDITIONAL_ONLY: &[(&str, &str)] = &[
    ("policy", "poddisruptionbudgets"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "csistoragecapacities"),
    ("storage.k8s.io", "volumeattachments"),
    ("coordination.k8s.io", "leases"),
    ("node.k8s.io", "runtimeclasses"),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
    ),
    ("apiregistration.k8s.io", "apiservices"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
];

/// The policy of the resource `info` serves.
pub fn update_policy(info: &ResourceInfo) -> UpdatePolicy {
    if info.custom {
        // customResourceStrategy: false and false.
        return UpdatePolicy {
            create_on_update: false,
            unconditional_update: false,
        };
    }
    let key = (info.group.as_str(), info.plural.as_str());
    UpdatePolicy {
        create_on_update: CREATE_ON_UPDATE.contains(&key),
        unconditional_update: !CONDITIONAL_ONLY.contains(&key),
    }
}
