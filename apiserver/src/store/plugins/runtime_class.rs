//! kube's `RuntimeClass` admission plugin (`plugin/pkg/admission/runtimeclass`), on a Pod's
//! create: the RuntimeClass the Pod names must exist (403 otherwise); its `overhead.podFixed`
//! becomes the Pod's `spec.overhead` (a different overhead sent by the client is refused), its
//! `scheduling.nodeSelector` is merged into the Pod's (a conflicting value is refused) and its
//! `scheduling.tolerations` into the Pod's, a toleration another one covers being dropped
//! (`tolerations.MergeTolerations`). The validating half refuses an overhead no RuntimeClass
//! gave.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Inner, Write, creates_core, forbidden};
use crate::status::ApiError;
use crate::validation::quantity::Quantity;

const RUNTIME_CLASSES_KEY: &str = "node.k8s.io/runtimeclasses";
const MISMATCH: &str = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";
const UNEXPECTED: &str =
    "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead";

impl Inner {
    /// `prepareObjects`: the RuntimeClass the Pod names (None when it names none).
    fn pod_runtime_class(&self, w: &Write<'_>, pod: &Value) -> Result<Option<Value>, ApiError> {
        let Some(name) = pod
            .pointer("/spec/runtimeClassName")
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().unwrap_or(""))
        else {
            return Ok(None);
        };
        match self.get_by_key(RUNTIME_CLASSES_KEY, &(String::new(), name.to_owned())) {
            Some(class) => Ok(Some(class.value().clone())),
            None => Err(forbidden(
                w,
                pod,
                &format!(
                    "pod rejected: RuntimeClass {} not found",
                    crd_schema::go_quote(name)
                ),
            )),
        }
    }

    /// The plugin's `Admit`: the class's overhead and scheduling constraints.
    pub(super) fn admit_runtime_class(
        &self,
        w: &Write<'_>,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        if !creates_core(w, "pods") {
            return Ok(());
        }
        let Some(class) = self.pod_runtime_class(w, pod)? else {
            return Ok(());
        };
        if !pod.get("spec").is_some_and(Value::is_object) {
            pod["spec"] = json!({});
        }
        if let Some(fixed) = class.pointer("/overhead/podFixed").filter(|v| !v.is_null()) {
            let sent = pod.pointer("/spec/overhead").and_then(Value::as_object);
            if sent.is_some_and(|s| !s.is_empty())
                && !same_resources(fixed, &pod["spec"]["overhead"])
            {
                return Err(forbidden(w, pod, MISMATCH));
            }
            pod["spec"]["overhead"] = fixed.clone();
        }
        let Some(scheduling) = class.get("scheduling").filter(|v| !v.is_null()) else {
            return Ok(());
        };
        if let Some(selector) = scheduling.get("nodeSelector").and_then(Value::as_object) {
            let mut merged: Map<String, Value> = pod
                .pointer("/spec/nodeSelector")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let had_selector = pod
                .pointer("/spec/nodeSelector")
                .is_some_and(Value::is_object);
            for (key, value) in selector {
                if had_selector
                    && let Some(existing) = merged.get(key)
                    && existing != value
                {
                    let why = format!(
                        "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {}; pod.spec.nodeSelector[{key}] = {}",
                        value.as_str().unwrap_or(""),
                        existing.as_str().unwrap_or("")
                    );
                    return Err(forbidden(w, pod, &why));
                }
                merged.insert(key.clone(), value.clone());
            }
            if !merged.is_empty() {
                pod["spec"]["nodeSelector"] = Value::Object(merged);
            }
        }
        let own = pod
            .pointer("/spec/tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let added = scheduling
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let merged = merge_tolerations(own, added);
        if merged.is_empty() {
            if let Some(spec) = pod["spec"].as_object_mut() {
                spec.remove("tolerations");
            }
        } else {
            pod["spec"]["tolerations"] = Value::Array(merged);
        }
        Ok(())
    }

    /// The plugin's `Validate`: an overhead only as the Pod's RuntimeClass defines it.
    pub(super) fn validate_runtime_class(&self, w: &Write<'_>) -> Result<(), ApiError> {
        let Some(pod) = w.object.filter(|_| creates_core(w, "pods")) else {
            return Ok(());
        };
        let class = self.pod_runtime_class(w, pod)?;
        let Some(overhead) = pod
            .pointer("/spec/overhead")
            .filter(|o| o.as_object().is_some_and(|m| !m.is_empty()))
        else {
            return Ok(());
        };
        match class
            .as_ref()
            .and_then(|c| c.pointer("/overhead/podFixed"))
            .filter(|v| !v.is_null())
        {
            Some(fixed) if same_resources(fixed, overhead) => Ok(()),
            Some(_) => Err(forbidden(w, pod, MISMATCH)),
            None => Err(forbidden(w, pod, UNEXPECTED)),
        }
    }
}

/// `apiequality.Semantic.DeepEqual` of two resource lists: the same names, equal quantities.
fn same_resources(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| -> Option<BTreeMap<String, Quantity>> {
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, q)| Some((k.clone(), Quantity::parse(q)?)))
            .collect()
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, q)| b.get(k).is_some_and(|o| q.cmp(o) == Ordering::Equal))
        }
        _ => a == b,
    }
}

/// A toleration's fields as Go compares them (absent is the zero value).
#[derive(PartialEq, Eq)]
struct Toleration<'a> {
    key: &'a str,
    operator: &'a str,
    value: &'a str,
    effect: &'a str,
    seconds: Option<i64>,
}

impl<'a> Toleration<'a> {
    fn of(v: &'a Value) -> Self {
        let s = |f: &str| v.get(f).and_then(Value::as_str).unwrap_or("");
        Self {
            key: s("key"),
            operator: s("operator"),
            value: s("value"),
            effect: s("effect"),
            seconds: v.get("tolerationSeconds").and_then(Value::as_i64),
        }
    }

    /// `isSuperset`: whether `self` tolerates everything `t` does.
    fn covers(&self, t: &Toleration<'_>) -> bool {
        if self == t {
            return true;
        }
        // An empty key with Exists matches every key.
        if t.key != self.key && (!self.key.is_empty() || self.operator != "Exists") {
            return false;
        }
        // An empty effect matches every effect.
        if t.effect != self.effect && !self.effect.is_empty() {
            return false;
        }
        if self.effect == "NoExecute"
            && let Some(mine) = self.seconds
            && t.seconds.is_none_or(|theirs| theirs > mine)
        {
            return false;
        }
        match self.operator {
            "Equal" | "" => t.operator == "Equal" && t.value == self.value,
            "Exists" => true,
            _ => false,
        }
    }
}

/// `tolerations.MergeTolerations`: the Pod's then the class's, each dropped when another one
/// (kept, or later and different) covers it.
fn merge_tolerations(first: Vec<Value>, second: Vec<Value>) -> Vec<Value> {
    let all: Vec<Value> = first.into_iter().chain(second).collect();
    let mut merged: Vec<Value> = Vec::new();
    for (i, t) in all.iter().enumerate() {
        let tol = Toleration::of(t);
        if merged.iter().any(|m| Toleration::of(m).covers(&tol)) {
            continue;
        }
        let later_covers = all[i + 1..].iter().any(|t2| {
            let t2 = Toleration::of(t2);
            t2 != tol && t2.covers(&tol)
        });
        if later_covers {
            continue;
        }
        merged.push(t.clone());
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_covered_toleration_is_dropped_when_merging() {
        let pod =
            vec![json!({"key": "a", "operator": "Equal", "value": "1", "effect": "NoSchedule"})];
        let class = vec![
            json!({"key": "a", "operator": "Exists"}),
            json!({"key": "b", "operator": "Exists", "effect": "NoSchedule"}),
        ];
        let merged = merge_tolerations(pod, class);
        assert_eq!(
            merged,
            [
                json!({"key": "a", "operator": "Exists"}),
                json!({"key": "b", "operator": "Exists", "effect": "NoSchedule"}),
            ]
        );
        // Equal tolerations: the first is kept.
        let same = json!({"key": "x", "operator": "Exists"});
        assert_eq!(
            merge_tolerations(vec![same.clone()], vec![same.clone()]),
            [same]
        );
        // A longer NoExecute time covers a shorter one, not the other way round.
        let short = json!({"key": "n", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10});
        let long = json!({"key": "n", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60});
        assert_eq!(
            merge_tolerations(vec![long.clone()], vec![short.clone()]),
            std::slice::from_ref(&long)
        );
        assert_eq!(
            merge_tolerations(vec![short.clone()], vec![long.clone()]),
            std::slice::from_ref(&long)
        );
        let forever = json!({"key": "n", "operator": "Exists", "effect": "NoExecute"});
        assert_eq!(
            merge_tolerations(vec![short.clone()], vec![forever.clone()]),
            [forever]
        );
    }

    #[test]
    fn overheads_compare_as_quantities() {
        assert!(same_resources(
            &json!({"cpu": "0.1"}),
            &json!({"cpu": "100m"})
        ));
        assert!(!same_resources(
            &json!({"cpu": "100m"}),
            &json!({"cpu": "100m", "memory": "1"})
        ));
    }
}
