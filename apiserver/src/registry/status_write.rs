//! Owns what a write to a `/status` subresource (PUT, every PATCH, server-side apply) takes from
//! the request and what from the stored object, outside `.status`: the part of each type's
//! `*StatusStrategy.PrepareForUpdate` that resets the spec and metadata. One table
//! ([`status_reset`]) says, per type, which ObjectMeta fields the stored object wins; the rules
//! inside `.status` (QoS class backfill, CSR conditions, ...) stay with each strategy's
//! `prepare_for_update`.
//!
//! The generic update (`rest.BeforeUpdate`, staging/src/k8s.io/apiserver/pkg/registry/rest/
//! update.go) keeps name, namespace, uid, creationTimestamp, deletionTimestamp,
//! deletionGracePeriodSeconds and generation of the stored object for every write, a status
//! write included; `Store::replace` does that after this preparation. resourceVersion is a
//! precondition and managedFields belong to the field manager, so both are the stored ones here.

use serde_json::Value;

use crate::catalog::ResourceInfo;

/// The ObjectMeta fields a request sets that the generic update does not overwrite: what a
/// status strategy decides about.
const REQUEST_META: [&str; 5] = [
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "generateName",
];

/// Which of [`REQUEST_META`] a status write takes from the stored object (the others come from
/// the request). Everything outside `metadata` and `.status` (the spec) always comes from the
/// stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusReset {
    pub meta: &'static [&'static str],
}

impl StatusReset {
    /// `X.Spec = old.Spec` only: labels, annotations, finalizers and ownerReferences are stored
    /// as sent.
    pub const SPEC: Self = Self { meta: &[] };
    /// `podStatusStrategy.PrepareForUpdate` (pkg/registry/core/pod/strategy.go): the spec and
    /// ownerReferences ("old kubelets corrupt them"); `DeletionTimestamp = nil` leaves the stored
    /// one to `BeforeUpdate`.
    pub const POD: Self = Self {
        meta: &["ownerReferences"],
    };
    /// `deploymentStatusStrategy.PrepareForUpdate` (pkg/registry/apps/deployment/strategy.go):
    /// the spec and the labels; annotations are stored as sent.
    pub const LABELS: Self = Self { meta: &["labels"] };
    /// `metav1.ResetObjectMetaForStatus(new, old)`: labels, annotations, finalizers and
    /// ownerReferences (with deletionTimestamp, generation and selfLink, which every update
    /// resets).
    pub const OBJECT_META_FOR_STATUS: Self = Self {
        meta: &["labels", "annotations", "finalizers", "ownerReferences"],
    };
    /// `new.ObjectMeta = old.ObjectMeta` (all but managedFields): every metadata field.
    pub const OBJECT_META: Self = Self {
        meta: &REQUEST_META,
    };

    /// Whether a status write takes the metadata field `field` from the request.
    pub fn keeps_from_request(self, field: &str) -> bool {
        REQUEST_META.contains(&field) && !self.meta.contains(&field)
    }
}

/// What a status write of `info`'s type takes from the stored object, read from each type's
/// status strategy in kube 1.37's sources (`pkg/registry/<group>/<type>/strategy.go` unless
/// said otherwise):
///
/// - custom resources: everything but `.status` (apiextensions-apiserver's
///   `pkg/registry/customresource/strategy.go` `statusStrategy.PrepareForUpdate` copies the old
///   object and sets the status);
/// - pods: [`StatusReset::POD`]; deployments: [`StatusReset::LABELS`];
/// - flowschemas and prioritylevelconfigurations (`new.ObjectMeta = old.ObjectMeta`):
///   [`StatusReset::OBJECT_META`];
/// - apiservices (kube-aggregator's `pkg/registry/apiservice/strategy.go`, which resets labels,
///   annotations, finalizers and ownerReferences one by one), validatingadmissionpolicies,
///   resourceclaims, devicetaintrules, volumeattachments, podcertificaterequests and
///   storageversionmigrations (`metav1.ResetObjectMetaForStatus`):
///   [`StatusReset::OBJECT_META_FOR_STATUS`];
/// - customresourcedefinitions: [`StatusReset::SPEC`], because apiextensions'
///   `statusStrategy.PrepareForUpdate` calls `ResetObjectMetaForStatus(&newObj.ObjectMeta,
///   &newObj.ObjectMeta)`, resetting the new metadata to itself;
/// - every other type (replicasets, statefulsets, daemonsets, replicationcontrollers, jobs,
///   cronjobs, horizontalpodautoscalers, certificatesigningrequests, namespaces, nodes,
///   persistentvolumes, persistentvolumeclaims, resourcequotas, services, ingresses,
///   poddisruptionbudgets, servicecidrs): only `X.Spec = old.Spec`, [`StatusReset::SPEC`].
pub fn status_reset(info: &ResourceInfo) -> StatusReset {
    if info.custom {
        return StatusReset::OBJECT_META;
    }
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => StatusReset::POD,
        ("apps", "deployments") => StatusReset::LABELS,
        ("flowcontrol.apiserver.k8s.io", _) => StatusReset::OBJECT_META,
        ("apiregistration.k8s.io", "apiservices")
        | ("admissionregistration.k8s.io", "validatingadmissionpolicies")
        | ("resource.k8s.io", "resourceclaims" | "devicetaintrules")
        | ("storage.k8s.io", "volumeattachments")
        | ("certificates.k8s.io", "podcertificaterequests")
        | ("storagemigration.k8s.io", "storageversionmigrations") => {
            StatusReset::OBJECT_META_FOR_STATUS
        }
        _ => StatusReset::SPEC,
    }
}

/// The object a status write of `new` over the stored `old` makes: `old` with `new`'s status
/// (none when `new` has none) and the metadata fields `reset` leaves to the request.
pub fn status_write(old: &Value, new: &Value, api_version: &str, reset: StatusReset) -> Value {
    let mut out = old.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    obj.insert("apiVersion".into(), api_version.into());
    match new.get("status") {
        Some(s) => {
            obj.insert("status".into(), s.clone());
        }
        None => {
            obj.remove("status");
        }
    }
    let sent = new.get("metadata").and_then(Value::as_object);
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return out;
    };
    for field in REQUEST_META {
        if !reset.keeps_from_request(field) {
            continue;
        }
        match sent.and_then(|m| m.get(field)) {
            Some(v) => {
                meta.insert(field.into(), v.clone());
            }
            None => {
                meta.remove(field);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pair() -> (Value, Value) {
        let old = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "uid": "u", "resourceVersion": "5",
                "labels": {"a": "1"}, "annotations": {"x": "1"}, "finalizers": ["f/1"],
                "ownerReferences": [{"uid": "o1"}], "managedFields": [{"manager": "m"}]},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}});
        let new = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "resourceVersion": "5", "labels": {"a": "2"},
                "ownerReferences": [{"uid": "o2"}], "managedFields": []},
            "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}});
        (old, new)
    }

    #[test]
    fn pods_keep_metadata_changes_but_not_owner_references() {
        let (old, new) = pair();
        let out = status_write(&old, &new, "v1", StatusReset::POD);
        assert_eq!(out["status"]["phase"], "Running");
        assert_eq!(out["spec"]["nodeName"], "n1");
        assert_eq!(out["metadata"]["labels"], json!({"a": "2"}));
        // Sent without annotations and finalizers: the write removes them.
        assert!(out["metadata"].get("annotations").is_none());
        assert!(out["metadata"].get("finalizers").is_none());
        assert_eq!(out["metadata"]["ownerReferences"], json!([{"uid": "o1"}]));
        assert_eq!(out["metadata"]["uid"], "u");
        assert_eq!(out["metadata"]["managedFields"], json!([{"manager": "m"}]));
    }

    #[test]
    fn object_meta_resets_keep_the_stored_metadata() {
        let (old, new) = pair();
        for reset in [
            StatusReset::OBJECT_META,
            StatusReset::OBJECT_META_FOR_STATUS,
        ] {
            let out = status_write(&old, &new, "v1", reset);
            assert_eq!(out["metadata"], old["metadata"]);
            assert_eq!(out["status"]["phase"], "Running");
        }
    }

    #[test]
    fn no_status_and_odd_shapes_do_not_panic() {
        let (old, _) = pair();
        let out = status_write(&old, &json!({}), "v1", StatusReset::SPEC);
        assert!(out.get("status").is_none());
        assert_eq!(
            status_write(&json!(3), &json!([]), "v1", StatusReset::SPEC),
            json!(3)
        );
    }
}
