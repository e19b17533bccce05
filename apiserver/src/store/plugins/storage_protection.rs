//! kube's `StorageObjectInUseProtection` admission plugin
//! (`plugin/pkg/admission/storage/storageobjectinuseprotection`): a new PersistentVolumeClaim
//! gets the `kubernetes.io/pvc-protection` finalizer and a new PersistentVolume the
//! `kubernetes.io/pv-protection` one, so neither goes while in use. kube-controller-manager's
//! pvc-protection and pv-protection controllers remove them once the object is unused; this
//! server runs those with its other controllers (`store/protection.rs`).

use serde_json::Value;

use super::Write;
use crate::admission::Operation;
use crate::meta;

/// The finalizer that holds a claim while a scheduled Pod uses it.
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";
/// The finalizer that holds a volume while it is bound.
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";

/// The plugin's `Admit`: creates of claims and volumes.
pub(super) fn admit(w: &Write<'_>, obj: &mut Value) {
    if w.operation != Operation::Create || !w.subresource.is_empty() || !w.info.group.is_empty() {
        return;
    }
    let finalizer = match w.info.plural.as_str() {
        "persistentvolumeclaims" => PVC_PROTECTION_FINALIZER,
        "persistentvolumes" => PV_PROTECTION_FINALIZER,
        _ => return,
    };
    let mut finalizers = meta::finalizers(obj);
    if !finalizers.iter().any(|f| f == finalizer) {
        finalizers.push(finalizer.to_owned());
        meta::meta_mut(obj).insert("finalizers".into(), finalizers.into());
    }
}
