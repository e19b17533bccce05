//! kube's `DefaultTolerationSeconds` admission plugin
//! (`plugin/pkg/admission/defaulttolerationseconds`): every Pod written (create and update)
//! tolerates the `not-ready` and `unreachable` NoExecute taints for 300 s unless it already
//! tolerates them.

use serde_json::{Value, json};

use super::{Write, is_core};
use crate::admission::Operation;

/// `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;
/// The taints the plugin tolerates.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// The plugin's `Admit`: Pods' creates and updates.
pub(super) fn admit(w: &Write<'_>, pod: &mut Value) {
    if is_core(w, "pods") && matches!(w.operation, Operation::Create | Operation::Update) {
        add_default_tolerations(pod);
    }
}

/// `DefaultTolerationSeconds`: a toleration with an empty key tolerates every taint, one with
/// an empty effect every effect.
fn add_default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerates = |taint: &str, tolerations: &[Value]| {
        tolerations.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    let Some(tolerations) = tolerations.as_array_mut() else {
        return;
    };
    for taint in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(taint, tolerations) {
            tolerations.push(json!({
                "key": taint, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tolerations_are_added_unless_already_tolerated() {
        let mut pod = json!({"spec": {}});
        add_default_tolerations(&mut pod);
        let t = pod["spec"]["tolerations"].as_array().expect("added");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["key"], NOT_READY_TAINT);
        assert_eq!(t[1]["tolerationSeconds"], 300);
        // An empty key tolerates every taint; an empty effect every effect.
        for existing in [
            json!({"operator": "Exists"}),
            json!({"key": NOT_READY_TAINT, "operator": "Exists"}),
        ] {
            let mut pod = json!({"spec": {"tolerations": [existing.clone()]}});
            add_default_tolerations(&mut pod);
            let keys: Vec<&str> = pod["spec"]["tolerations"]
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|t| t["key"].as_str())
                .collect();
            if existing.get("key").is_none() {
                assert!(keys.is_empty(), "{keys:?}");
            } else {
                assert_eq!(keys, [NOT_READY_TAINT, UNREACHABLE_TAINT]);
            }
        }
        // NoSchedule does not tolerate NoExecute.
        let mut pod =
            json!({"spec": {"tolerations": [{"key": UNREACHABLE_TAINT, "effect": "NoSchedule"}]}});
        add_default_tolerations(&mut pod);
        assert_eq!(pod["spec"]["tolerations"].as_array().map(Vec::len), Some(3));
    }
}
