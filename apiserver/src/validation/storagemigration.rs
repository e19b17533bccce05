//! Validates storagemigration.k8s.io StorageVersionMigrations as kube's
//! `pkg/apis/storagemigration/validation/validation.go` does
//! (`ValidateStorageVersionMigration`, `...Update`, `...StatusUpdate`):
//!
//! - create: the resource required and a DNS-1035 label, the group (when set) a DNS subdomain,
//!   as for APIServices;
//! - update: the create rules and the whole spec immutable;
//! - `/status`: the resource version a well-formed one (a positive integer without leading
//!   zeros: `resourceversion.CompareResourceVersion`, so an empty one is refused too) and fixed
//!   once set; the conditions valid `metav1.Condition`s; at most one of Succeeded and Failed
//!   true, Running false once either is, and neither going back from true.

use serde_json::Value;

use super::field::{self, arr_of, str_of};
use super::pod_certificate::validate_conditions;
use super::selector::invalid_go;
use crate::status::Cause;

const FIELD_IMMUTABLE: &str = "field is immutable";

fn resource(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.pointer("/spec/resource").unwrap_or(&NULL)
}

/// `ValidateStorageVersionMigration` without ObjectMeta.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let r = resource(obj);
    let mut causes = Vec::new();
    let name = str_of(r, "resource");
    if name.is_empty() {
        causes.push(field::required(
            "spec.resource.resource",
            "resource is required to be set",
        ));
    } else {
        let errs = field::dns1035_label(name);
        if !errs.is_empty() {
            causes.push(field::invalid_str(
                "spec.resource.resource",
                name,
                &errs.join(","),
            ));
        }
    }
    let group = str_of(r, "group");
    if !group.is_empty() {
        let errs = field::dns1123_subdomain(group);
        if !errs.is_empty() {
            causes.push(field::invalid_str(
                "spec.resource.group",
                group,
                &errs.join(","),
            ));
        }
    }
    causes
}

/// The internal spec as a bad value prints: `Resource` is a `metav1.GroupResource`, whose JSON
/// tags name its fields.
fn go_spec(obj: &Value) -> String {
    let r = resource(obj);
    field::go_json(&serde_json::json!({
        "Resource": {"group": str_of(r, "group"), "resource": str_of(r, "resource")}
    }))
}

/// `ValidateStorageVersionMigrationUpdate` without ObjectMeta: the create rules, then the spec
/// immutable.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate(new);
    let same = |f: &str| str_of(resource(new), f) == str_of(resource(old), f);
    if !(same("group") && same("resource")) {
        causes.push(invalid_go("spec", &go_spec(new), FIELD_IMMUTABLE));
    }
    causes
}

fn conditions(obj: &Value) -> &[Value] {
    obj.get("status").map_or(&[], |s| arr_of(s, "conditions"))
}

/// `meta.FindStatusCondition(...)` is `True`.
fn is_true(obj: &Value, ty: &str) -> bool {
    conditions(obj)
        .iter()
        .find(|c| str_of(c, "type") == ty)
        .is_some_and(|c| str_of(c, "status") == "True")
}

/// `[]metav1.Condition` as Go marshals it (`observedGeneration` omitted when 0, the time in
/// RFC 3339 or `null`).
fn go_conditions(obj: &Value) -> String {
    let Some(list) = obj.pointer("/status/conditions").and_then(Value::as_array) else {
        return "null".into();
    };
    let s = |v: &Value, f: &str| field::go_json(&Value::String(str_of(v, f).to_owned()));
    let items: Vec<String> = list
        .iter()
        .map(|c| {
            let generation = c
                .get("observedGeneration")
                .and_then(Value::as_i64)
                .filter(|g| *g != 0)
                .map(|g| format!(",\"observedGeneration\":{g}"))
                .unwrap_or_default();
            let time = c
                .get("lastTransitionTime")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            format!(
                "{{\"type\":{},\"status\":{}{generation},\"lastTransitionTime\":{},\"reason\":{},\"message\":{}}}",
                s(c, "type"),
                s(c, "status"),
                field::go_time(time, false),
                s(c, "reason"),
                s(c, "message"),
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// `resourceversion.CompareResourceVersion`'s well-formed resource version: a positive integer
/// without leading zeros.
fn well_formed(rv: &str) -> bool {
    !rv.is_empty() && !rv.starts_with('0') && rv.bytes().all(|b| b.is_ascii_digit())
}

/// `ValidateStorageVersionMigrationStatusUpdate` without ObjectMeta.
pub fn validate_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let rv_of = |v: &Value| {
        v.pointer("/status/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (rv, old_rv) = (rv_of(new), rv_of(old));
    if !well_formed(&rv) {
        causes.push(field::invalid_str(
            "status.resourceVersion",
            &rv,
            &format!("resource version is not well formed: {rv}"),
        ));
    }
    causes.extend(validate_conditions(conditions(new), "status.conditions"));
    if !old_rv.is_empty() && old_rv != rv {
        causes.push(field::invalid_str(
            "status.resourceVersion",
            &rv,
            FIELD_IMMUTABLE,
        ));
    }
    let (succeeded, failed, running) = (
        is_true(new, "Succeeded"),
        is_true(new, "Failed"),
        is_true(new, "Running"),
    );
    let mut conditions_invalid = |holds: bool, detail: &str| {
        if holds {
            causes.push(invalid_go("status.conditions", &go_conditions(new), detail));
        }
    };
    conditions_invalid(
        succeeded && failed,
        "Both success and failed conditions cannot be true at the same time",
    );
    conditions_invalid(
        succeeded && running,
        "Running condition cannot be true when success condition is true",
    );
    conditions_invalid(
        failed && running,
        "Running condition cannot be true when failed condition is true",
    );
    conditions_invalid(
        is_true(old, "Succeeded") && !succeeded,
        "Success condition cannot be set to false once it is true",
    );
    conditions_invalid(
        is_true(old, "Failed") && !failed,
        "Failed condition cannot be set to false once it is true",
    );
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validation::test_support::messages;

    fn svm(group: &str, resource: &str) -> Value {
        json!({"metadata": {"name": "m"}, "spec": {"resource": {"group": group, "resource": resource}}})
    }

    #[test]
    fn create_and_update() {
        assert!(validate(&svm("apps", "deployments")).is_empty());
        assert!(validate(&svm("", "configmaps")).is_empty());
        assert_eq!(
            messages(&validate(&svm("Apps", ""))),
            vec![
                "spec.resource.resource: Required value: resource is required to be set",
                "spec.resource.group: Invalid value: \"Apps\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ]
        );
        assert_eq!(
            messages(&validate(&svm("", "1pods"))),
            vec![
                "spec.resource.resource: Invalid value: \"1pods\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        assert_eq!(
            messages(&validate_update(
                &svm("apps", "replicasets"),
                &svm("apps", "deployments")
            )),
            vec![
                "spec: Invalid value: {\"Resource\":{\"group\":\"apps\",\"resource\":\"replicasets\"}}: field is immutable"
            ]
        );
    }

    fn with_status(status: Value) -> Value {
        let mut v = svm("", "pods");
        v["status"] = status;
        v
    }

    fn cond(ty: &str, status: &str) -> Value {
        json!({"type": ty, "status": status, "reason": "R", "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn status_updates() {
        let old = with_status(json!({}));
        let ok =
            with_status(json!({"resourceVersion": "42", "conditions": [cond("Running", "True")]}));
        assert!(validate_status_update(&ok, &old).is_empty());
        assert_eq!(
            messages(&validate_status_update(&with_status(json!({})), &old)),
            vec![
                "status.resourceVersion: Invalid value: \"\": resource version is not well formed: "
            ]
        );
        let both = with_status(json!({"resourceVersion": "43",
            "conditions": [cond("Succeeded", "True"), cond("Failed", "True")]}));
        assert_eq!(
            messages(&validate_status_update(&both, &ok)),
            vec![
                "status.resourceVersion: Invalid value: \"43\": field is immutable",
                "status.conditions: Invalid value: [{\"type\":\"Succeeded\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"reason\":\"R\",\"message\":\"\"},{\"type\":\"Failed\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"reason\":\"R\",\"message\":\"\"}]: Both success and failed conditions cannot be true at the same time",
            ]
        );
        let done = with_status(
            json!({"resourceVersion": "42", "conditions": [cond("Succeeded", "True")]}),
        );
        let undone = with_status(
            json!({"resourceVersion": "42", "conditions": [cond("Succeeded", "False"), cond("Running", "True")]}),
        );
        let m = messages(&validate_status_update(&undone, &done));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].ends_with("Success condition cannot be set to false once it is true"));
        assert_eq!(
            messages(&validate_status_update(
                &with_status(json!({"resourceVersion": "01"})),
                &old
            )),
            vec![
                "status.resourceVersion: Invalid value: \"01\": resource version is not well formed: 01"
            ]
        );
    }

    #[test]
    fn odd_json_is_tolerated() {
        for a in [
            Value::Null,
            json!(1),
            json!({"spec": {"resource": 3}, "status": {"conditions": [null, 1]}}),
            json!({"status": {"resourceVersion": 5, "conditions": {}}}),
        ] {
            validate(&a);
            go_conditions(&a);
            for b in [Value::Null, json!({"status": []})] {
                validate_update(&a, &b);
                validate_status_update(&a, &b);
            }
        }
    }
}
