//! kube's `TaintNodesByCondition` admission plugin (`plugin/pkg/admission/nodetaint`): a new
//! Node starts tainted `node.kubernetes.io/not-ready:NoSchedule`, which the node lifecycle
//! controller removes once the kubelet reports the Node ready. With no kubelet and no node
//! lifecycle controller here, the taint stays until a client removes it, as it would on a
//! cluster whose kubelet never came up.

use serde_json::{Value, json};

use super::{Write, creates_core};

/// The taint a new Node gets, and its effect.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const NO_SCHEDULE: &str = "NoSchedule";

/// The plugin's `Admit`: a Node's create, unless it already has a taint of that key and effect
/// (`Taint.MatchTaint`).
pub(super) fn admit(w: &Write<'_>, node: &mut Value) {
    if !creates_core(w, "nodes") {
        return;
    }
    if !node.get("spec").is_some_and(Value::is_object) {
        node["spec"] = json!({});
    }
    let spec = &mut node["spec"];
    if !spec.get("taints").is_some_and(Value::is_array) {
        spec["taints"] = json!([]);
    }
    let Some(taints) = spec["taints"].as_array_mut() else {
        return;
    };
    let present = taints.iter().any(|t| {
        t.get("key").and_then(Value::as_str) == Some(NOT_READY_TAINT)
            && t.get("effect").and_then(Value::as_str) == Some(NO_SCHEDULE)
    });
    if !present {
        taints.push(json!({"key": NOT_READY_TAINT, "effect": NO_SCHEDULE}));
    }
}
