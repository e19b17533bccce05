//! Label selectors as kube validates and prints them (`ValidateLabelSelector`; a bad selector or
//! label map rendered as JSON, as kube does since 1.34), and whether a selector matches a set of
//! labels.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::objectmeta;
use crate::status::Cause;

/// Selector operators, in kube's order.
pub const OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

/// `ValidateLabelSelector` at `path`.
pub fn validate(sel: &Value, path: &str) -> Vec<Cause> {
    let mut causes = objectmeta::labels(sel.get("matchLabels"), &child(path, "matchLabels"));
    for (i, e) in arr_of(sel, "matchExpressions").iter().enumerate() {
        let at = index(&child(path, "matchExpressions"), i);
        let op = str_of(e, "operator");
        let values = arr_of(e, "values");
        match op {
            "In" | "NotIn" if values.is_empty() => causes.push(field::required(
                &child(&at, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => causes.push(field::forbidden(
                &child(&at, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            _ => causes.push(field::not_supported(
                &child(&at, "operator"),
                e.get("operator").unwrap_or(&Value::Null),
                &OPERATORS,
            )),
        }
        let key = str_of(e, "key");
        causes.extend(field::each(
            &child(&at, "key"),
            key,
            field::qualified_name(key),
        ));
    }
    causes
}

/// Whether a selector has no requirements (matches everything).
pub fn is_empty(sel: &Value) -> bool {
    sel.get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty())
        && arr_of(sel, "matchExpressions").is_empty()
}

/// Whether `sel` matches `labels` (an object of strings, or null).
pub fn matches(sel: &Value, labels: Option<&Value>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let labels_ok = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| get(k) == v.as_str());
    labels_ok
        && arr_of(sel, "matchExpressions").iter().all(|e| {
            let value = get(str_of(e, "key"));
            let listed = |v: &str| arr_of(e, "values").iter().any(|x| x.as_str() == Some(v));
            match str_of(e, "operator") {
                "In" => value.is_some_and(listed),
                "NotIn" => !value.is_some_and(listed),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// A label map as kube prints a bad value since 1.34 (apimachinery c58e197e, "Nicer value
/// rendering in API errors"): Go's `json.Marshal`, keys sorted; `null` when unset.
pub fn go_map(labels: Option<&Value>) -> String {
    match labels.and_then(Value::as_object) {
        None => "null".into(),
        Some(m) => field::go_json(&sorted_strings(m)),
    }
}

/// A string map with its keys sorted, as Go's `json.Marshal` writes a map.
fn sorted_strings(m: &serde_json::Map<String, Value>) -> Value {
    let sorted: std::collections::BTreeMap<&str, &str> = m
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
        .collect();
    serde_json::to_value(sorted).unwrap_or(Value::Null)
}

/// A `metav1.LabelSelector` as kube prints a bad value since 1.34: Go's `json.Marshal` of the
/// struct (fields in Go's order, `omitempty` ones left out when empty, map keys sorted).
pub fn go_selector(sel: &Value) -> String {
    if sel.is_null() {
        return "null".into();
    }
    let mut out = serde_json::Map::new();
    if let Some(m) = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    {
        out.insert("matchLabels".into(), sorted_strings(m));
    }
    let exprs = arr_of(sel, "matchExpressions");
    if !exprs.is_empty() {
        let items: Vec<Value> = exprs
            .iter()
            .map(|e| {
                let mut r = serde_json::Map::new();
                r.insert("key".into(), str_of(e, "key").into());
                r.insert("operator".into(), str_of(e, "operator").into());
                let values = arr_of(e, "values");
                if !values.is_empty() {
                    r.insert("values".into(), Value::Array(values.to_vec()));
                }
                Value::Object(r)
            })
            .collect();
        out.insert("matchExpressions".into(), Value::Array(items));
    }
    field::go_json(&Value::Object(out))
}

/// A `field.Invalid` whose bad value the caller has rendered as kube prints it.
pub fn invalid_go(path: &str, go_value: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {go_value}: {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn selectors_and_label_maps_print_as_go_marshals_them() {
        // metav1.LabelSelector's JSON tags: matchLabels first, empty omitempty fields left out,
        // map keys sorted; a requirement's `values` omitted when empty.
        let sel = json!({"matchExpressions": [{"key": "k", "operator": "Exists"},
            {"key": "t", "operator": "In", "values": ["a&b"]}], "matchLabels": {"z": "1", "a": "2"}});
        assert_eq!(
            go_selector(&sel),
            r#"{"matchLabels":{"a":"2","z":"1"},"matchExpressions":[{"key":"k","operator":"Exists"},{"key":"t","operator":"In","values":["a\u0026b"]}]}"#
        );
        assert_eq!(go_selector(&json!({"matchLabels": {}})), "{}");
        assert_eq!(go_selector(&Value::Null), "null");
        assert_eq!(go_map(None), "null");
        assert_eq!(
            go_map(Some(&json!({"b": "x", "a": "y"}))),
            r#"{"a":"y","b":"x"}"#
        );
    }
}
