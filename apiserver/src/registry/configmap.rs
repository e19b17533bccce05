//! The ConfigMap strategy (`pkg/registry/core/configmap`): `immutable: true` freezes the data.

use serde_json::Value;

use super::strategy::Strategy;
use crate::status::Cause;
use crate::store::Sub;

pub(super) struct ConfigMap;

impl Strategy for ConfigMap {
    fn validate_update(&self, new: &Value, old: &Value, _sub: Sub) -> Vec<Cause> {
        frozen(new, old, &["data", "binaryData"])
    }
}

/// kube's update validation of an object stored with `immutable: true`: `fields` and
/// `immutable` itself may no longer change.
pub(super) fn frozen(new: &Value, old: &Value, fields: &[&str]) -> Vec<Cause> {
    if old.get("immutable") != Some(&Value::Bool(true)) {
        return Vec::new();
    }
    fields
        .iter()
        .copied()
        .chain(["immutable"])
        .filter(|field| new.get(*field) != old.get(*field))
        .map(|field| {
            Cause::new(
                "FieldValueForbidden",
                field,
                "Forbidden: field is immutable when `immutable` is set",
            )
        })
        .collect()
}
