//! Node validation, as kube's `pkg/apis/core/validation/validation.go` (`ValidateNode`,
//! `ValidateNodeUpdate`) and the Node strategies (`pkg/registry/core/node/strategy.go`: an update
//! is checked by both, a `/status` write by `ValidateNodeUpdate`): taints (kube reports them
//! under `metadata.taints`), capacity and allocatable quantities, pod CIDRs (valid, one per IP
//! family, no duplicates), and on update pod CIDRs and the provider ID fixed once set, the
//! external ID fixed, status addresses unique.
//!
//! Not modelled: the taints and preferAvoidPods annotations (`ValidateNodeSpecificAnnotations`),
//! the deprecated `spec.configSource` and `status.config`, and the internal error kube adds when
//! one of several pod CIDRs does not parse (only the per-CIDR error is reported then).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::status::Cause;
use crate::validation::core::quota::quantity_value;
use crate::validation::field::{self, GO_EMPTY_STRING, arr_of, child, index, obj_of, str_of};
use crate::validation::selector::invalid_go;

/// Taint effects, in kube's order.
const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const PODCIDR_CHANGE: &str = "node updates may not change podCIDR except from \"\" to valid";

/// The internal `core.Taint` as Go's `json.Marshal` prints it (`TimeAdded` an RFC 3339 time).
fn go_taint(t: &Value) -> String {
    let added = t
        .get("timeAdded")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map_or(Value::Null, |ts| {
            Value::String(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        });
    let mut with_time = t.as_object().cloned().unwrap_or_default();
    with_time.insert("timeAdded".into(), added);
    field::go_struct(
        &Value::Object(with_time),
        &[
            ("Key", "key", GO_EMPTY_STRING),
            ("Value", "value", GO_EMPTY_STRING),
            ("Effect", "effect", GO_EMPTY_STRING),
            ("TimeAdded", "timeAdded", Value::Null),
        ],
    )
}

/// `validateNodeTaints` at `metadata.taints`.
fn taints(node: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
    let list = node.pointer("/spec/taints").and_then(Value::as_array);
    for (i, t) in list.into_iter().flatten().enumerate() {
        let at = index("metadata.taints", i);
        let key = str_of(t, "key");
        causes.extend(field::each(
            &child(&at, "key"),
            key,
            field::qualified_name(key),
        ));
        let value = str_of(t, "value");
        let errs = field::label_value(value);
        if !errs.is_empty() {
            causes.push(field::invalid_str(
                &child(&at, "value"),
                value,
                &errs.join(";"),
            ));
        }
        let effect = str_of(t, "effect");
        if effect.is_empty() {
            causes.push(field::required(&child(&at, "effect"), ""));
        } else if !TAINT_EFFECTS.contains(&effect) {
            causes.push(field::not_supported(
                &child(&at, "effect"),
                &Value::String(effect.to_owned()),
                &TAINT_EFFECTS,
            ));
        }
        if !seen.entry(effect).or_default().insert(key) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                at,
                format!(
                    "Duplicate value: {}: taints must be unique by key and effect pair",
                    go_taint(t)
                ),
            ));
        }
    }
    causes
}

/// `ValidateNodeResources`: capacity and allocatable (paths `status.capacity.<name>`).
fn resources(node: &Value) -> Vec<Cause> {
    let status = node.get("status").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    for list in ["capacity", "allocatable"] {
        let m: Option<&Map<String, Value>> = obj_of(status, list);
        for (k, v) in m.into_iter().flatten() {
            causes.extend(quantity_value(k, v, &format!("status.{list}.{k}")));
        }
    }
    causes
}

/// `ValidateNode` (without ObjectMeta).
pub fn validate(node: &Value) -> Vec<Cause> {
    let mut causes = taints(node);
    causes.extend(resources(node));
    let cidrs = node
        .pointer("/spec/podCIDRs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let path = "spec.podCIDRs";
    let mut parsed = Vec::new();
    for (i, c) in cidrs.iter().enumerate() {
        let text = c.as_str().unwrap_or("");
        match field::parse_cidr(text) {
            Some((ip, _)) => parsed.push(ip.is_ipv4()),
            None => causes.push(field::invalid_str(
                &index(path, i),
                text,
                field::INVALID_CIDR,
            )),
        }
    }
    if cidrs.len() > 1 {
        let dual = parsed.len() == cidrs.len() && parsed.contains(&true) && parsed.contains(&false);
        if parsed.len() == cidrs.len() && (!dual || cidrs.len() > 2) {
            causes.push(invalid_go(
                path,
                &field::go_json(&Value::Array(cidrs.to_vec())),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        let mut seen = HashSet::new();
        for (i, c) in cidrs.iter().enumerate() {
            let text = c.as_str().unwrap_or("");
            if !seen.insert(text) {
                causes.push(field::duplicate(&index(path, i), c));
            }
        }
    }
    causes
}

/// `ValidateNodeUpdate` (without ObjectMeta).
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = resources(new);
    let mut addresses = HashSet::new();
    for (i, a) in arr_of(new.get("status").unwrap_or(&Value::Null), "addresses")
        .iter()
        .enumerate()
    {
        if !addresses.insert((str_of(a, "type"), str_of(a, "address"))) {
            let rendered = field::go_struct(
                a,
                &[
                    ("Type", "type", GO_EMPTY_STRING),
                    ("Address", "address", GO_EMPTY_STRING),
                ],
            );
            causes.push(Cause::new(
                "FieldValueDuplicate",
                index("status.addresses", i),
                format!("Duplicate value: {rendered}"),
            ));
        }
    }
    let cidrs = |v: &Value| -> Vec<String> {
        v.pointer("/spec/podCIDRs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| c.as_str().unwrap_or("").to_owned())
            .collect()
    };
    let (new_cidrs, old_cidrs) = (cidrs(new), cidrs(old));
    if !old_cidrs.is_empty() {
        if old_cidrs.len() != new_cidrs.len() {
            causes.push(field::forbidden("spec.podCIDRs", PODCIDR_CHANGE));
        } else {
            for (o, n) in old_cidrs.iter().zip(&new_cidrs) {
                if o != n {
                    causes.push(field::forbidden("spec.podCIDRs", PODCIDR_CHANGE));
                }
            }
        }
    }
    let spec_str = |v: &Value, f: &str| {
        v.pointer(&format!("/spec/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let old_provider = spec_str(old, "providerID");
    if !old_provider.is_empty() && old_provider != spec_str(new, "providerID") {
        causes.push(field::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    causes.extend(taints(new));
    if spec_str(new, "externalID") != spec_str(old, "externalID") {
        causes.push(field::forbidden("spec.externalID", "may not be updated"));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn taints_cidrs_and_updates() {
        let node = json!({"spec": {"taints": [
            {"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"},
            {"key": "j", "effect": "Sometimes"}],
            "podCIDRs": ["10.0.0.0/24", "10.1.0.0/24"]}});
        assert_eq!(
            messages(&validate(&node)),
            vec![
                "metadata.taints[1]: Duplicate value: {\"Key\":\"k\",\"Value\":\"\",\"Effect\":\"NoSchedule\",\"TimeAdded\":null}: taints must be unique by key and effect pair",
                "metadata.taints[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                "spec.podCIDRs: Invalid value: [\"10.0.0.0/24\",\"10.1.0.0/24\"]: may specify no more than one CIDR for each IP family",
            ]
        );
        let old = json!({"spec": {"podCIDRs": ["10.0.0.0/24"], "providerID": "p"}});
        let new = json!({"spec": {"podCIDRs": ["10.0.1.0/24"], "providerID": "q"}});
        assert_eq!(
            messages(&validate_update(&new, &old)),
            vec![
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
            ]
        );
        for v in [
            json!(null),
            json!({"spec": {"taints": 1, "podCIDRs": [1, 2]}, "status": []}),
        ] {
            let _ = validate(&v);
            let _ = validate_update(&v, &v);
        }
    }
}
