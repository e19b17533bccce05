//! kube's `PersistentVolumeClaimResize` admission plugin
//! (`plugin/pkg/admission/storage/persistentvolume/resize`): an update that grows a claim's
//! storage request is refused (403) unless the stored claim is `Bound` and both claims name the
//! same StorageClass, one with `allowVolumeExpansion: true`. Shrinking is validation's business,
//! not the plugin's, and so is an unbound claim's request, which validation keeps immutable
//! before the plugin is asked.

use std::cmp::Ordering;

use serde_json::Value;

use super::default_classes::{STORAGE_CLASSES_KEY, claim_class as class};
use super::{Inner, Write, forbidden, is_core};
use crate::admission::Operation;
use crate::status::ApiError;
use crate::validation::quantity::Quantity;

/// A claim's storage request (absent: zero, as Go's zero Quantity).
fn storage(pvc: &Value) -> i128 {
    pvc.pointer("/spec/resources/requests/storage")
        .and_then(Quantity::parse)
        .map_or(0, |q| q.nanos())
}

impl Inner {
    /// The plugin's `Validate`: updates of a claim itself.
    pub(super) fn validate_pvc_resize(&self, w: &Write<'_>) -> Result<(), ApiError> {
        if w.operation != Operation::Update || !is_core(w, "persistentvolumeclaims") {
            return Ok(());
        }
        let (Some(pvc), Some(old)) = (w.object, w.old_object) else {
            return Ok(());
        };
        if storage(pvc).cmp(&storage(old)) != Ordering::Greater {
            return Ok(());
        }
        if old.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
            return Err(forbidden(
                w,
                pvc,
                "Only bound persistent volume claims can be expanded",
            ));
        }
        let (new_class, old_class) = (class(pvc), class(old));
        let allowed = !new_class.is_empty()
            && new_class == old_class
            && self
                .get_by_key(STORAGE_CLASSES_KEY, &(String::new(), new_class.to_owned()))
                .and_then(|sc| {
                    sc.value()
                        .get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                })
                == Some(true);
        if !allowed {
            return Err(forbidden(
                w,
                pvc,
                "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            ));
        }
        Ok(())
    }
}
