//! Label selectors as kube validates and prints them (`ValidateLabelSelector`, `%#v` of a
//! `v1.LabelSelector`), and whether a selector matches a set of labels.

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

fn go_strings(values: &[Value]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| field::quote(v.as_str().unwrap_or("")))
        .collect();
    format!("[]string{{{}}}", items.join(", "))
}

/// `map[string]string{"a":"b"}`, Go's `%#v` of a label map.
pub fn go_map(labels: Option<&Value>) -> String {
    match labels.and_then(Value::as_object) {
        None => "map[string]string(nil)".into(),
        Some(m) => {
            let mut items: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        field::quote(k),
                        field::quote(v.as_str().unwrap_or(""))
                    )
                })
                .collect();
            // Go prints map keys sorted.
            items.sort();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// Go's `%#v` of a `v1.LabelSelector`.
pub fn go_selector(sel: &Value) -> String {
    let exprs = arr_of(sel, "matchExpressions");
    let exprs = if sel.get("matchExpressions").is_none_or(Value::is_null) {
        "[]v1.LabelSelectorRequirement(nil)".to_owned()
    } else {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                format!(
                    "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                    field::quote(str_of(e, "key")),
                    field::quote(str_of(e, "operator")),
                    if e.get("values").is_none_or(Value::is_null) {
                        "[]string(nil)".to_owned()
                    } else {
                        go_strings(arr_of(e, "values"))
                    }
                )
            })
            .collect();
        format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_map(sel.get("matchLabels"))
    )
}

/// A `field.Invalid` whose bad value is printed as Go prints it (not as JSON).
pub fn invalid_go(path: &str, go_value: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {go_value}: {detail}"),
    )
}
