//! Puts an object's keys in the order kube-apiserver encodes them, once, when the store commits
//! it (so a GET still sends the stored bytes as they are).
//!
//! Built-in types are Go structs to kube, and `encoding/json` writes a struct's fields in their
//! declaration order and a map's keys sorted: `kind` before `apiVersion` (TypeMeta), then every
//! field at every depth in its Go struct's order (the generated protobuf table carries that order,
//! `protobuf::Message::go_order`, read from the Go sources with the struct tags), and the entries
//! of every map field (labels, annotations, ConfigMap data, nodeSelector, ...) sorted by key.
//! Custom resources are unstructured maps to kube: every object's keys sorted, at every depth.
//!
//! Values kube keeps as raw JSON (RawExtension, FieldsV1, apiextensions `JSON`) keep the order
//! they were written in, as kube keeps their bytes. A field the table does not know
//! (`protobuf::schema::JSON_ONLY`) goes after the known ones.

use serde_json::{Map, Value};

use crate::protobuf::{self, Field, Kind, Message, Special};

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

/// TypeMeta, inlined first into every top-level object.
const TYPE_META: &[&str] = &["kind", "apiVersion"];

/// Reorders `obj` in place (a no-op when it is already in order).
pub fn canonical(obj: &mut Value, custom: bool) {
    if custom {
        sort_recursively(obj);
        return;
    }
    let message = match obj {
        Value::Object(map) => match (map.get("apiVersion"), map.get("kind")) {
            (Some(Value::String(v)), Some(Value::String(k))) => protobuf::message_for(v, k),
            _ => None,
        },
        _ => return,
    };
    let Value::Object(map) = obj else {
        return;
    };
    match message {
        Some(index) => order_message(map, protobuf::message(index), TYPE_META),
        None => top_level_only(map),
    }
}

/// A struct's keys in Go order (`head` first, keys Go does not know last, as they were), then
/// each field's value by its type.
fn order_message(map: &mut Map<String, Value>, msg: &'static Message, head: &[&str]) {
    let rank = |k: &str| {
        head.iter()
            .position(|h| *h == k)
            .or_else(|| {
                msg.go_order
                    .iter()
                    .position(|o| *o == k)
                    .map(|i| i + head.len())
            })
            .unwrap_or(usize::MAX)
    };
    if !map
        .keys()
        .zip(map.keys().skip(1))
        .all(|(a, b)| rank(a) <= rank(b))
    {
        let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
        // Stable: keys Go does not know keep their relative order.
        entries.sort_by_key(|(k, _)| rank(k));
        map.extend(entries);
    }
    for (k, v) in map.iter_mut() {
        if let Some(f) = protobuf::json_field(msg, k) {
            order_field(f, v);
        }
    }
}

fn order_field(f: &Field, v: &mut Value) {
    match (f.card, v) {
        (protobuf::Cardinality::Many, Value::Array(items)) => {
            items.iter_mut().for_each(|item| order_kind(f.kind, item))
        }
        (protobuf::Cardinality::Map, Value::Object(map)) => {
            if !map.keys().zip(map.keys().skip(1)).all(|(a, b)| a <= b) {
                map.sort_keys();
            }
            map.values_mut().for_each(|item| order_kind(f.kind, item));
        }
        (protobuf::Cardinality::One, v) => order_kind(f.kind, v),
        _ => {}
    }
}

fn order_kind(kind: Kind, v: &mut Value) {
    let Kind::Msg(index) = kind else {
        return;
    };
    let msg = protobuf::message(index);
    match (msg.special, v) {
        (None, Value::Object(map)) => order_message(map, msg, &[]),
        // JSONSchemaProps or an array of them / a boolean / a string array: the schemas in them.
        (
            Some(Special::SchemaOrArray | Special::SchemaOrBool | Special::SchemaOrStringArray),
            Value::Object(map),
        ) => order_message(map, protobuf::schema_props(), &[]),
        (Some(Special::SchemaOrArray), Value::Array(items)) => {
            for item in items {
                if let Value::Object(map) = item {
                    order_message(map, protobuf::schema_props(), &[]);
                }
            }
        }
        _ => {}
    }
}

/// The order of a kind without a generated message: TypeMeta, ObjectMeta's fields, `status` last.
fn top_level_only(map: &mut Map<String, Value>) {
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
        // Go's encoding/json writes a map's keys sorted.
        assert_eq!(keys(&cm["data"]), ["a", "b"]);
        let mut pod = json!({"status": {}, "spec": {}, "metadata": {"name": "p"}, "kind": "Pod", "apiVersion": "v1"});
        canonical(&mut pod, false);
        assert_eq!(
            keys(&pod),
            ["kind", "apiVersion", "metadata", "spec", "status"]
        );
    }

    #[test]
    fn nested_structs_follow_their_go_struct_and_maps_are_sorted() {
        // Written in alphabetical order (as k8s-openapi serializes); Go's PodSpec declares
        // volumes, initContainers, containers, restartPolicy, ..., nodeSelector, in that order.
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"z": "1", "app": "a"}},
            "spec": {
                "containers": [{"volumeMounts": [{"name": "v", "mountPath": "/v"}],
                    "ports": [{"protocol": "TCP", "containerPort": 80}],
                    "name": "c", "image": "i", "imagePullPolicy": "Always"}],
                "initContainers": [],
                "nodeSelector": {"zone": "b", "disk": "ssd"},
                "restartPolicy": "Always",
                "volumes": [{"name": "v", "emptyDir": {}}],
                "x-not-go": 1},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "True"}]}});
        canonical(&mut pod, false);
        assert_eq!(
            keys(&pod["spec"]),
            [
                "volumes",
                "initContainers",
                "containers",
                "restartPolicy",
                "nodeSelector",
                "x-not-go"
            ]
        );
        assert_eq!(
            keys(&pod["spec"]["containers"][0]),
            ["name", "image", "ports", "volumeMounts", "imagePullPolicy"]
        );
        assert_eq!(
            keys(&pod["spec"]["containers"][0]["ports"][0]),
            ["containerPort", "protocol"]
        );
        assert_eq!(
            keys(&pod["spec"]["containers"][0]["volumeMounts"][0]),
            ["name", "mountPath"]
        );
        // Volume inlines VolumeSource: its fields take the inlined struct's place.
        assert_eq!(keys(&pod["spec"]["volumes"][0]), ["name", "emptyDir"]);
        assert_eq!(keys(&pod["spec"]["nodeSelector"]), ["disk", "zone"]);
        assert_eq!(keys(&pod["metadata"]["labels"]), ["app", "z"]);
        assert_eq!(keys(&pod["status"]["conditions"][0]), ["type", "status"]);
        assert_eq!(keys(&pod["status"]), ["phase", "conditions"]);
    }

    #[test]
    fn crd_schemas_follow_json_schema_props_and_raw_json_keeps_its_order() {
        let mut crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.x.io"},
            "spec": {"versions": [{"storage": true, "served": true, "name": "v1", "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "default": {"z": 1, "a": 2}, "description": "d"}},
                "items": {"type": "string", "description": "i"}}}}],
                "scope": "Namespaced", "names": {"plural": "ws", "kind": "W"}, "group": "x.io"}});
        canonical(&mut crd, false);
        assert_eq!(keys(&crd["spec"]), ["group", "names", "scope", "versions"]);
        assert_eq!(
            keys(&crd["spec"]["versions"][0]),
            ["name", "served", "storage", "schema"]
        );
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        // JSONSchemaProps declares description and type before items and properties.
        assert_eq!(keys(schema), ["type", "items", "properties"]);
        assert_eq!(keys(&schema["items"]), ["description", "type"]);
        let spec = &schema["properties"]["spec"];
        assert_eq!(keys(spec), ["description", "type", "default"]);
        // `default` is apiextensions JSON: kube keeps its bytes as written.
        assert_eq!(keys(&spec["default"]), ["z", "a"]);
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
