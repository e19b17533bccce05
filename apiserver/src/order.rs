//! Puts an object's keys in the order kube-apiserver encodes them, once, when the store commits
//! it (so a GET still sends the stored bytes as they are): built-in types as their Go structs
//! order fields — `kind` before `apiVersion` (TypeMeta), then `metadata` in ObjectMeta's field
//! order, then the type's own fields with `status` last — and custom resources as Go encodes
//! an unstructured map: every object's keys sorted, at every depth.
//!
//! Not modelled: the Go field order inside a built-in type's spec and status (that needs a table
//! per type); those keep the order they were written in.

use serde_json::{Map, Value};

/// metav1.ObjectMeta's JSON fields in Go struct order.
pub(crate) const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Reorders `obj` in place (a no-op when it is already in order).
pub fn canonical(obj: &mut Value, custom: bool) {
    if custom {
        sort_recursively(obj);
        return;
    }
    let Value::Object(map) = obj else {
        return;
    };
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        order_by(meta, OBJECT_META);
    }
    let wanted = ["kind", "apiVersion", "metadata"];
    let status_last = map
        .keys()
        .position(|k| k == "status")
        .is_none_or(|i| i + 1 == map.len());
    let head_ok = map
        .keys()
        .zip(wanted.iter().filter(|k| map.contains_key(**k)))
        .all(|(a, b)| a == b);
    if head_ok && status_last {
        return;
    }
    let mut rest = std::mem::take(map);
    for k in wanted {
        if let Some(v) = rest.shift_remove(k) {
            map.insert(k.to_owned(), v);
        }
    }
    let status = rest.shift_remove("status");
    map.extend(rest);
    if let Some(s) = status {
        map.insert("status".into(), s);
    }
}

/// Moves the `order`ed keys of `map` to its front, in that order; others follow as they were.
fn order_by(map: &mut Map<String, Value>, order: &[&str]) {
    let in_order = {
        let mut last = 0;
        map.keys().all(|k| match order.iter().position(|o| o == k) {
            Some(i) if i >= last => {
                last = i;
                true
            }
            Some(_) => false,
            None => {
                last = order.len();
                true
            }
        })
    };
    if in_order {
        return;
    }
    let mut rest = std::mem::take(map);
    for k in order {
        if let Some(v) = rest.shift_remove(*k) {
            map.insert((*k).to_owned(), v);
        }
    }
    map.extend(rest);
}

fn sort_recursively(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if !map.keys().zip(map.keys().skip(1)).all(|(a, b)| a <= b) {
                map.sort_keys();
            }
            map.values_mut().for_each(sort_recursively);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_recursively),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn builtin_types_follow_go_struct_order() {
        let mut cm = json!({"apiVersion": "v1", "data": {"b": "1", "a": "2"}, "kind": "ConfigMap",
            "metadata": {"uid": "u", "labels": {}, "name": "n", "creationTimestamp": "t", "namespace": "d"}});
        canonical(&mut cm, false);
        assert_eq!(keys(&cm), ["kind", "apiVersion", "metadata", "data"]);
        assert_eq!(
            keys(&cm["metadata"]),
            ["name", "namespace", "uid", "creationTimestamp", "labels"]
        );
        // A map's entries keep their order (Go sorts map keys: not modelled for built-ins' data).
        assert_eq!(keys(&cm["data"]), ["b", "a"]);
        let mut pod = json!({"status": {}, "spec": {}, "metadata": {"name": "p"}, "kind": "Pod", "apiVersion": "v1"});
        canonical(&mut pod, false);
        assert_eq!(
            keys(&pod),
            ["kind", "apiVersion", "metadata", "spec", "status"]
        );
    }

    #[test]
    fn custom_resources_sort_every_map() {
        let mut cr = json!({"kind": "W", "apiVersion": "x/v1", "spec": {"z": 1, "a": [{"y": 1, "b": 2}]},
            "metadata": {"name": "w", "annotations": {"z": "1", "a": "2"}}});
        canonical(&mut cr, true);
        assert_eq!(keys(&cr), ["apiVersion", "kind", "metadata", "spec"]);
        assert_eq!(keys(&cr["metadata"]), ["annotations", "name"]);
        assert_eq!(keys(&cr["metadata"]["annotations"]), ["a", "z"]);
        assert_eq!(keys(&cr["spec"]["a"][0]), ["b", "y"]);
    }
}
