//! kube's two class-defaulting admission plugins, which fill in the class a new object did not
//! name from the class marked default, the newest if several are (`GetDefaultClass`):
//! - `DefaultStorageClass` (`plugin/pkg/admission/storage/storageclass/setdefault`): a new
//!   PersistentVolumeClaim without `storageClassName` (null, not "") and without the beta
//!   `volume.beta.kubernetes.io/storage-class` annotation gets the StorageClass annotated
//!   `storageclass.kubernetes.io/is-default-class: "true"` (or the beta annotation).
//! - `DefaultIngressClass` (`plugin/pkg/admission/network/defaultingressclass`): a new Ingress
//!   without `ingressClassName` and without the `kubernetes.io/ingress.class` annotation gets the
//!   IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`.
//!
//! With no default class, the object stays as sent. kube-controller-manager's retroactive
//! assignment of a default StorageClass to claims created before one existed is not run.

use serde_json::{Value, json};

use super::{Inner, Write, creates_core, newest_default};
use crate::admission::Operation;

pub(in crate::store) const STORAGE_CLASSES_KEY: &str = "storage.k8s.io/storageclasses";
const STORAGE_DEFAULT_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];
/// `BetaStorageClassAnnotation`: a claim's class before `storageClassName` existed.
const BETA_CLAIM_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// `GetPersistentVolumeClaimClass`: the beta annotation, else `spec.storageClassName`, else "".
pub(in crate::store) fn claim_class(pvc: &Value) -> &str {
    pvc.pointer("/metadata/annotations")
        .and_then(|a| a.get(BETA_CLAIM_CLASS_ANNOTATION))
        .or_else(|| pvc.pointer("/spec/storageClassName"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

const INGRESS_CLASSES_KEY: &str = "networking.k8s.io/ingressclasses";
const INGRESS_DEFAULT_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// `AnnotationIngressClass`: an Ingress's class before `ingressClassName` existed.
const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Whether `obj` names a class in `field` (null counts as not) or in the annotation `legacy`.
fn has_class(obj: &Value, field: &str, legacy: &str) -> bool {
    let annotated = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(legacy));
    annotated
        || obj
            .pointer(&format!("/spec/{field}"))
            .is_some_and(|v| !v.is_null())
}

/// Sets `spec.<field>` to `class`.
fn set_class(obj: &mut Value, field: &str, class: String) {
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj["spec"] = json!({});
    }
    obj["spec"][field] = class.into();
}

impl Inner {
    /// `DefaultStorageClass`'s `Admit`: a claim's create.
    pub(super) fn admit_default_storage_class(&self, w: &Write<'_>, pvc: &mut Value) {
        if !creates_core(w, "persistentvolumeclaims")
            || has_class(pvc, "storageClassName", BETA_CLAIM_CLASS_ANNOTATION)
        {
            return;
        }
        if let Some(class) = newest_default(self, STORAGE_CLASSES_KEY, &STORAGE_DEFAULT_ANNOTATIONS)
        {
            set_class(pvc, "storageClassName", class);
        }
    }

    /// `DefaultIngressClass`'s `Admit`: an Ingress's create.
    pub(super) fn admit_default_ingress_class(&self, w: &Write<'_>, ingress: &mut Value) {
        if w.operation != Operation::Create
            || !w.subresource.is_empty()
            || w.info.group != "networking.k8s.io"
            || w.info.plural != "ingresses"
            || has_class(ingress, "ingressClassName", INGRESS_CLASS_ANNOTATION)
        {
            return;
        }
        if let Some(class) =
            newest_default(self, INGRESS_CLASSES_KEY, &[INGRESS_DEFAULT_ANNOTATION])
        {
            set_class(ingress, "ingressClassName", class);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_named_in_the_field_or_the_legacy_annotation_is_kept() {
        let legacy = BETA_CLAIM_CLASS_ANNOTATION;
        assert!(!has_class(&json!({"spec": {}}), "storageClassName", legacy));
        assert!(!has_class(
            &json!({"spec": {"storageClassName": null}}),
            "storageClassName",
            legacy
        ));
        // "" names no class, but it is a choice: kube keeps it.
        assert!(has_class(
            &json!({"spec": {"storageClassName": ""}}),
            "storageClassName",
            legacy
        ));
        assert!(has_class(
            &json!({"metadata": {"annotations": {legacy: "slow"}}, "spec": {}}),
            "storageClassName",
            legacy
        ));
    }
}
