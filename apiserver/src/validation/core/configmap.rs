//! ConfigMap validation (kube's `ValidateConfigMap`, `ValidateConfigMapUpdate`): keys, the
//! 1 MiB total, keys in both maps, and `immutable`.

use serde_json::Value;

use crate::status::Cause;
use crate::validation::decode::base64_len;
use crate::validation::field::{self, obj_of};

/// `core.MaxSecretSize`: ConfigMap and Secret data, in bytes.
pub const MAX_SIZE: usize = 1024 * 1024;
pub const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

pub fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut total = 0;
    let binary = obj_of(obj, "binaryData");
    if let Some(data) = obj_of(obj, "data") {
        for (k, v) in data {
            let at = field::key("data", k);
            causes.extend(field::each(&at, k, field::config_map_key(k)));
            if binary.is_some_and(|b| b.contains_key(k)) {
                causes.push(field::invalid_str(
                    &at,
                    k,
                    "duplicate of key present in binaryData",
                ));
            }
            total += v.as_str().map_or(0, str::len);
        }
    }
    if let Some(data) = binary {
        for (k, v) in data {
            let at = field::key("binaryData", k);
            causes.extend(field::each(&at, k, field::config_map_key(k)));
            total += v.as_str().map_or(0, base64_len);
        }
    }
    if total > MAX_SIZE {
        // kube passes the empty path: the error is about the whole object.
        causes.push(field::too_long("", MAX_SIZE));
    }
    causes
}

/// A field as Go compares it after decoding: absent and null are the same nil.
pub fn same(new: &Value, old: &Value, f: &str) -> bool {
    new.get(f).filter(|v| !v.is_null()) == old.get(f).filter(|v| !v.is_null())
}

pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if old.get("immutable") == Some(&Value::Bool(true)) {
        if new.get("immutable") != Some(&Value::Bool(true)) {
            causes.push(field::forbidden("immutable", IMMUTABLE_SET));
        }
        for f in ["data", "binaryData"] {
            if !same(new, old, f) {
                causes.push(field::forbidden(f, IMMUTABLE_SET));
            }
        }
    }
    causes.extend(validate(new));
    causes
}
