//! Validates apiregistration.k8s.io APIServices as kube-aggregator's
//! `pkg/apis/apiregistration/validation/validation.go` does (`ValidateAPIService`,
//! `ValidateAPIServiceUpdate`, `ValidateAPIServiceStatusUpdate`):
//!
//! - the name is `<spec.version>.<spec.group>` (`objectmeta::NameRule::ApiService`, also on
//!   update, since `ValidateAPIServiceUpdate` runs the create rules with their ObjectMeta check);
//! - the group empty only for `v1`, else a DNS subdomain; the version a DNS-1035 label;
//!   `groupPriorityMinimum` in [1, 20000] and `versionPriority` in [1, 1000];
//! - without a service (a local API), no caBundle and no insecureSkipTLSVerify; with one, its
//!   namespace and name required, its port valid, and insecureSkipTLSVerify not with a caBundle;
//! - `/status`: every condition's status True, False or Unknown.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::objectmeta::{self, NameRule};
use crate::status::Cause;

/// A condition's statuses, in kube's order.
const CONDITION_STATUSES: [&str; 3] = ["True", "False", "Unknown"];
/// `groupPriorityMinimum` and `versionPriority` are at most these.
const MAX_GROUP_PRIORITY: i64 = 20_000;
const MAX_VERSION_PRIORITY: i64 = 1_000;

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// The name rule of `ValidateAPIService` for `obj`.
pub fn name_rule(obj: &Value) -> NameRule<'_> {
    let spec = spec(obj);
    NameRule::ApiService {
        version: str_of(spec, "version"),
        group: str_of(spec, "group"),
    }
}

/// A number field for a bad value (its zero when unset).
fn number(v: &Value, f: &str) -> Value {
    v.get(f)
        .filter(|n| n.is_number())
        .cloned()
        .unwrap_or_else(|| 0.into())
}

/// The decoded length of a base64 `[]byte` field (`len(CABundle)`).
fn bytes_len(v: &Value, f: &str) -> usize {
    let text = str_of(v, f).trim_end_matches('=');
    text.len() * 3 / 4
}

/// `ValidateAPIService` without ObjectMeta.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let mut causes = Vec::new();
    let group = str_of(spec, "group");
    let version = str_of(spec, "version");
    if group.is_empty() && version != "v1" {
        causes.push(field::required(
            "spec.group",
            "only v1 may have an empty group and it better be legacy kube",
        ));
    }
    if !group.is_empty() {
        causes.extend(field::each(
            "spec.group",
            group,
            field::dns1123_subdomain(group),
        ));
    }
    causes.extend(field::each(
        "spec.version",
        version,
        field::dns1035_label(version),
    ));
    let ranges = [
        (
            "groupPriorityMinimum",
            MAX_GROUP_PRIORITY,
            "must be positive and less than 20000",
        ),
        (
            "versionPriority",
            MAX_VERSION_PRIORITY,
            "must be positive and less than 1000",
        ),
    ];
    for (f, max, detail) in ranges {
        let n = number(spec, f);
        if !n.as_i64().is_some_and(|n| (1..=max).contains(&n)) {
            causes.push(field::invalid(&child("spec", f), &n, detail));
        }
    }
    let ca_bundle = bytes_len(spec, "caBundle");
    let insecure = spec.get("insecureSkipTLSVerify") == Some(&Value::Bool(true));
    let Some(service) = spec.get("service").filter(|s| !s.is_null()) else {
        if ca_bundle != 0 {
            causes.push(field::invalid_str(
                "spec.caBundle",
                &format!("{ca_bundle} bytes"),
                "local APIServices may not have a caBundle",
            ));
        }
        if insecure {
            causes.push(field::invalid(
                "spec.insecureSkipTLSVerify",
                &Value::Bool(true),
                "local APIServices may not have insecureSkipTLSVerify",
            ));
        }
        return causes;
    };
    for f in ["namespace", "name"] {
        if str_of(service, f).is_empty() {
            causes.push(field::required(&child("spec.service", f), ""));
        }
    }
    let port = number(service, "port");
    if !port.as_i64().is_some_and(|p| (1..=65535).contains(&p)) {
        causes.push(field::invalid(
            "spec.service.port",
            &port,
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    if insecure && ca_bundle > 0 {
        causes.push(field::invalid(
            "spec.insecureSkipTLSVerify",
            &Value::Bool(true),
            "may not be true if caBundle is present",
        ));
    }
    causes
}

/// `ValidateAPIServiceUpdate` without the ObjectMeta causes the generic update check lists:
/// the name rule again (a new version or group needs a new name), then the create rules.
pub fn validate_update(new: &Value) -> Vec<Cause> {
    let mut causes: Vec<Cause> = objectmeta::validate(new, false, name_rule(new))
        .into_iter()
        .filter(|c| c.field == "metadata.name" || c.field == "metadata.generateName")
        .collect();
    causes.extend(validate(new));
    causes
}

/// `ValidateAPIServiceStatus`.
pub fn validate_status(obj: &Value) -> Vec<Cause> {
    let conditions = obj
        .get("status")
        .map_or(&[][..], |s| arr_of(s, "conditions"));
    conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| !CONDITION_STATUSES.contains(&str_of(c, "status")))
        .map(|(i, c)| {
            field::not_supported(
                &child(&index("status.conditions", i), "status"),
                &Value::String(str_of(c, "status").to_owned()),
                &CONDITION_STATUSES,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validation::test_support::messages;

    fn api_service(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn names_follow_version_and_group() {
        let obj = api_service(
            "v1.example.com",
            json!({"group": "example.com", "version": "v1"}),
        );
        assert!(objectmeta::validate(&obj, false, name_rule(&obj)).is_empty());
        let obj = api_service(
            "v1.other.com",
            json!({"group": "example.com", "version": "v1"}),
        );
        assert_eq!(
            messages(&objectmeta::validate(&obj, false, name_rule(&obj))),
            vec![
                "metadata.name: Invalid value: \"v1.other.com\": must be `spec.version+\".\"+spec.group`: \"v1.example.com\""
            ]
        );
        let obj = api_service("a/b", json!({}));
        assert_eq!(
            messages(&objectmeta::validate(&obj, false, name_rule(&obj))),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
        );
    }

    #[test]
    fn spec_rules() {
        let local = api_service(
            "v1.example.com",
            json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
                "versionPriority": 15}),
        );
        assert!(validate(&local).is_empty());
        let bad = api_service(
            "x",
            json!({"version": "V1", "groupPriorityMinimum": 20001, "caBundle": "AAAA",
                "insecureSkipTLSVerify": true}),
        );
        assert_eq!(
            messages(&validate(&bad)),
            vec![
                "spec.group: Required value: only v1 may have an empty group and it better be legacy kube",
                "spec.version: Invalid value: \"V1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.groupPriorityMinimum: Invalid value: 20001: must be positive and less than 20000",
                "spec.versionPriority: Invalid value: 0: must be positive and less than 1000",
                "spec.caBundle: Invalid value: \"3 bytes\": local APIServices may not have a caBundle",
                "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify",
            ]
        );
        let remote = api_service(
            "v1.example.com",
            json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
                "versionPriority": 15, "service": {"port": 0}, "caBundle": "AAAAAA==",
                "insecureSkipTLSVerify": true}),
        );
        assert_eq!(
            messages(&validate(&remote)),
            vec![
                "spec.service.namespace: Required value",
                "spec.service.name: Required value",
                "spec.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive",
                "spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present",
            ]
        );
    }

    #[test]
    fn updates_and_status() {
        let moved = api_service(
            "v1.example.com",
            json!({"group": "example.com", "version": "v2", "groupPriorityMinimum": 1,
                "versionPriority": 1}),
        );
        assert_eq!(
            messages(&validate_update(&moved)),
            vec![
                "metadata.name: Invalid value: \"v1.example.com\": must be `spec.version+\".\"+spec.group`: \"v2.example.com\""
            ]
        );
        let status = json!({"status": {"conditions": [{"type": "Available", "status": "True"},
            {"type": "Available", "status": "Maybe"}]}});
        assert_eq!(
            messages(&validate_status(&status)),
            vec![
                "status.conditions[1].status: Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \"Unknown\""
            ]
        );
        for v in [
            Value::Null,
            json!(1),
            json!({"spec": [], "status": {"conditions": 1}}),
            json!({"spec": {"service": 1, "caBundle": 3, "groupPriorityMinimum": "x"}}),
        ] {
            validate(&v);
            validate_update(&v);
            validate_status(&v);
        }
    }
}
