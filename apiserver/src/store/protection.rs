//! Owns kube-controller-manager's pvc-protection and pv-protection controllers
//! (`pkg/controller/volume/pvcprotection`, `pvprotection`), which remove the finalizers the
//! `StorageObjectInUseProtection` admission plugin adds (`plugins/storage_protection.rs`) once
//! a deleted object is no longer in use:
//! - a PersistentVolumeClaim is in use while a scheduled Pod (`spec.nodeName` set) of its
//!   namespace names it in a `persistentVolumeClaim` volume, or owns it as the claim of an
//!   `ephemeral` volume and has not been shut down (deleted with a zero grace period);
//! - a PersistentVolume is in use while its `status.phase` is `Bound`.
//!
//! Like the garbage collector they run synchronously at the end of every write, and only with
//! kube-controller-manager's controllers on (`Builder::garbage_collection`); off (envtest's
//! behaviour) a deleted claim or volume keeps its finalizer, as on an envtest server.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::plugins::{PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER};
use super::{Event, Inner, ObjKey, set_finalizers};
use crate::meta::{self, meta_str};

/// The store keys the controllers watch.
pub(super) const PVCS_KEY: &str = "/persistentvolumeclaims";
pub(super) const PVS_KEY: &str = "/persistentvolumes";
const PODS_KEY: &str = "/pods";

impl Inner {
    /// Notes a committed change the controllers must look at: a claim or volume being deleted,
    /// or any Pod (a Pod's removal or shutdown can free a claim).
    pub(super) fn note_for_protection(&mut self, resource: &str, key: &ObjKey, deleting: bool) {
        match resource {
            PVCS_KEY | PVS_KEY if deleting => {
                self.protected.insert((Arc::from(resource), key.clone()));
                self.protection_dirty = true;
            }
            PODS_KEY if !self.protected.is_empty() => self.protection_dirty = true,
            _ => {}
        }
    }

    /// One pass of both controllers over the deleted claims and volumes still held by their
    /// finalizer; true when it changed anything.
    pub(super) fn release_unused_storage(&mut self, tx: &broadcast::Sender<Arc<Event>>) -> bool {
        if !std::mem::take(&mut self.protection_dirty) {
            return false;
        }
        let mut changed = false;
        let entries: Vec<(Arc<str>, ObjKey)> = self.protected.iter().cloned().collect();
        for entry in entries {
            let Some(obj) = self
                .objects
                .get(&entry.0)
                .and_then(|m| m.get(&entry.1))
                .cloned()
            else {
                self.protected.remove(&entry);
                continue;
            };
            let finalizer = if &*entry.0 == PVCS_KEY {
                PVC_PROTECTION_FINALIZER
            } else {
                PV_PROTECTION_FINALIZER
            };
            let finalizers = meta::finalizers(obj.value());
            if meta_str(obj.value(), "deletionTimestamp").is_empty()
                || !finalizers.iter().any(|f| f == finalizer)
            {
                self.protected.remove(&entry);
                continue;
            }
            let in_use = if finalizer == PVC_PROTECTION_FINALIZER {
                self.claim_in_use(&entry.1, obj.value())
            } else {
                obj.value().pointer("/status/phase").and_then(Value::as_str) == Some("Bound")
            };
            if in_use {
                continue;
            }
            let mut v = obj.value().clone();
            let rest: Vec<String> = finalizers.into_iter().filter(|f| f != finalizer).collect();
            set_finalizers(&mut v, &rest);
            self.protected.remove(&entry);
            self.finish_write(tx, &entry, v, obj);
            changed = true;
        }
        changed
    }

    /// `podUsesPVC` over the Pods of the claim's namespace.
    fn claim_in_use(&self, key: &ObjKey, pvc: &Value) -> bool {
        let (namespace, name) = (&key.0, &key.1);
        self.objects_of(PODS_KEY, namespace)
            .map(|(_, s)| s.value())
            .filter(|pod| {
                // kubelet only sees scheduled pods, and will not start one whose claim is
                // being deleted.
                pod.pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty())
            })
            .any(|pod| {
                let shut_down = !meta_str(pod, "deletionTimestamp").is_empty()
                    && pod
                        .pointer("/metadata/deletionGracePeriodSeconds")
                        .and_then(Value::as_i64)
                        == Some(0);
                let pod_name = meta_str(pod, "name");
                let pod_uid = meta_str(pod, "uid");
                pod.pointer("/spec/volumes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|v| {
                        let claim = v
                            .pointer("/persistentVolumeClaim/claimName")
                            .and_then(Value::as_str);
                        let vol_name = v.get("name").and_then(Value::as_str).unwrap_or("");
                        claim == Some(name.as_str())
                            || (!shut_down
                                && v.get("ephemeral").is_some_and(|e| !e.is_null())
                                && format!("{pod_name}-{vol_name}") == *name
                                && controlled_by(pvc, pod_uid))
                    })
            })
    }
}

/// `metav1.IsControlledBy`: the object's controller reference names `uid`.
fn controlled_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| {
            r.get("controller").and_then(Value::as_bool) == Some(true)
                && r.get("uid").and_then(Value::as_str) == Some(uid)
        })
}
