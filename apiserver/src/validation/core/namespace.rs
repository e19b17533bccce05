//! Namespace validation, as kube's `pkg/apis/core/validation/validation.go` (`ValidateNamespace`,
//! `ValidateNamespaceUpdate`, `ValidateNamespaceStatusUpdate`) and the Namespace strategy
//! (`pkg/registry/core/namespace/strategy.go`, whose `ValidateUpdate` runs the create rules
//! too): `spec.finalizers` are qualified names, and a name without a domain must be one of
//! kube's own; the status phase agrees with `deletionTimestamp`.
//!
//! `spec.finalizers` do not change through an update (the strategy keeps the old ones, see
//! `crate::registry`) but only through `namespaces/finalize`, whose validation
//! (`ValidateNamespaceFinalizeUpdate`) checks them alone, each at its index.

use serde_json::Value;

use crate::status::Cause;
use crate::validation::field::{self, arr_of};

/// kube's finalizers without a domain (`helper.IsStandardFinalizerName`).
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// `validateFinalizerName` at `path`: `ValidateFinalizerName` (a qualified name) and
/// `validateKubeFinalizerName` (no domain: one of kube's).
fn finalizer(value: &str, path: &str) -> Vec<Cause> {
    let mut causes = field::each(path, value, field::qualified_name(value));
    if !value.contains('/') && !STANDARD_FINALIZERS.contains(&value) {
        causes.push(field::invalid_str(
            path,
            value,
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
    causes
}

/// `ValidateNamespace` (without ObjectMeta): every finalizer is reported at `spec.finalizers`,
/// unindexed, as kube does.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    arr_of(spec, "finalizers")
        .iter()
        .flat_map(|f| finalizer(f.as_str().unwrap_or(""), "spec.finalizers"))
        .collect()
}

/// `ValidateNamespaceFinalizeUpdate` (without ObjectMeta): each finalizer at its index, and not
/// the create rules, which a main-resource update repeats.
pub fn validate_finalize(obj: &Value) -> Vec<Cause> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    arr_of(spec, "finalizers")
        .iter()
        .enumerate()
        .flat_map(|(i, f)| finalizer(f.as_str().unwrap_or(""), &format!("spec.finalizers[{i}]")))
        .collect()
}

/// `ValidateNamespaceStatusUpdate` (without ObjectMeta): `Active` unless being deleted, then
/// `Terminating`. kube's path is `status.Phase`, capitalised.
pub fn validate_status_update(new: &Value) -> Vec<Cause> {
    let phase = new.pointer("/status/phase").unwrap_or(&Value::Null);
    let phase = match phase {
        Value::Null => Value::String(String::new()),
        other => other.clone(),
    };
    let deleting = new
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    let (want, detail) = if deleting {
        (
            "Terminating",
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        )
    } else {
        (
            "Active",
            "may only be 'Active' if `deletionTimestamp` is empty",
        )
    };
    if phase.as_str() == Some(want) {
        Vec::new()
    } else {
        vec![field::invalid("status.Phase", &phase, detail)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finalizers_are_qualified_or_kubes_own() {
        let ns = json!({"spec": {"finalizers": ["kubernetes", "example.com/x", "mine", "a b/c"]}});
        let m: Vec<String> = validate(&ns).iter().map(|c| c.message.clone()).collect();
        assert_eq!(
            m[0],
            "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified"
        );
        assert!(
            m[1].starts_with("Invalid value: \"a b/c\": prefix part"),
            "{m:?}"
        );
        assert!(validate(&json!(null)).is_empty());
        assert!(validate(&json!({"spec": {"finalizers": 3}})).is_empty());
        assert_eq!(validate_status_update(&json!(null)).len(), 1);
    }
}
