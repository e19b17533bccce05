//! Which fields a built-in object has once kube-apiserver has decoded it into its Go struct and
//! `encoding/json` writes it back: the decode stage's last step (after the decode checks, before
//! defaulting), so defaulting, admission, validation, the store and every response see the object
//! as kube holds it.
//!
//! Go's rules, per field of the struct (the generated protobuf table carries each field's Go
//! presence, `protobuf::Presence`):
//! - a pointer is written when set: `null` unsets it;
//! - an `omitempty` scalar, slice or map is left out when zero or empty (`"hostPort": 0`,
//!   `"labels": {}`, `"command": []` are dropped);
//! - a field without `omitempty` is always written: its zero value when unset (`0`, `""`,
//!   `false`; `null` for a slice or map);
//! - a struct that is not a pointer is always written, `omitempty` or not, so an unset one
//!   appears as `{}` (a container's `"resources": {}`) or, for the types with a JSON form of
//!   their own, as their zero value (`metav1.Time` `null`, as a pod condition's
//!   `"lastProbeTime": null`; `intstr` `0`; `Quantity` `"0"`; raw JSON `null`);
//! - `omitzero` (ObjectMeta's `creationTimestamp`) leaves a zero struct out.
//!
//! Fields the table does not know (`protobuf::schema::JSON_ONLY`, newer than the generated.proto
//! it is generated from) are left as they are.

use serde_json::{Map, Value};

use crate::protobuf::{self, Cardinality, Field, Kind, Message, Presence, Special};

/// Applies Go's field presence to a built-in object of `api_version` and `kind` in place.
pub fn apply(api_version: &str, kind: &str, obj: &mut Value) {
    let (Some(index), Value::Object(map)) = (protobuf::message_for(api_version, kind), obj) else {
        return;
    };
    message(map, protobuf::message(index));
}

fn message(map: &mut Map<String, Value>, msg: &'static Message) {
    for f in msg.fields {
        match f.kind {
            Kind::Msg(i) if f.inline => message(map, protobuf::message(i)),
            _ => field(map, f),
        }
    }
}

fn field(map: &mut Map<String, Value>, f: &'static Field) {
    let key = f.json;
    let value = map.get_mut(key);
    let keep = match (f.card, value) {
        (_, None) => {
            if let Some(zero) = written_when_unset(f) {
                map.insert(key.to_owned(), zero);
            }
            return;
        }
        (Cardinality::Many, Some(v)) => match v {
            Value::Null => f.presence == Presence::Always,
            Value::Array(items) => {
                items.iter_mut().for_each(|item| element(f.kind, item));
                !(items.is_empty() && f.presence == Presence::OmitEmpty)
            }
            _ => true,
        },
        (Cardinality::Map, Some(v)) => match v {
            Value::Null => f.presence == Presence::Always,
            Value::Object(entries) => {
                entries.values_mut().for_each(|item| element(f.kind, item));
                !(entries.is_empty() && f.presence == Presence::OmitEmpty)
            }
            _ => true,
        },
        (Cardinality::One, Some(v)) => match (f.kind, f.presence) {
            (_, Presence::Pointer | Presence::OmitZero) if v.is_null() => false,
            (Kind::Msg(i), _) => {
                single_message(protobuf::message(i), v);
                true
            }
            (_, Presence::OmitEmpty) => !is_zero_scalar(v),
            (kind, Presence::Always) => {
                if v.is_null() {
                    *v = zero_scalar(kind);
                }
                true
            }
            (_, Presence::Pointer | Presence::OmitZero) => true,
        },
    };
    if !keep {
        map.shift_remove(key);
    }
}

/// What Go writes for an unset field: structs always, fields without `omitempty` as zero.
fn written_when_unset(f: &Field) -> Option<Value> {
    match (f.card, f.presence, f.kind) {
        (_, Presence::Pointer | Presence::OmitZero, _) => None,
        (Cardinality::Many | Cardinality::Map, Presence::Always, _) => Some(Value::Null),
        (Cardinality::Many | Cardinality::Map, _, _) => None,
        (Cardinality::One, _, Kind::Msg(i)) => zero_message(protobuf::message(i)),
        (Cardinality::One, Presence::Always, kind) => Some(zero_scalar(kind)),
        (Cardinality::One, Presence::OmitEmpty, _) => None,
    }
}

/// A slice element or map value: a struct element decodes `null` as its zero struct.
fn element(kind: Kind, v: &mut Value) {
    if let Kind::Msg(i) = kind {
        single_message(protobuf::message(i), v);
    }
}

/// A struct value (not a pointer): normalised inside; `null` becomes the zero struct.
fn single_message(msg: &'static Message, v: &mut Value) {
    match (msg.special, v) {
        (None, Value::Object(map)) => message(map, msg),
        (None | Some(Special::Time | Special::MicroTime), v @ Value::Null) => {
            if let Some(zero) = zero_message(msg) {
                *v = zero;
            }
        }
        _ => {}
    }
}

/// The JSON of a zero Go struct of this message (None where Go's own form would be left out
/// or cannot be told: an array-of-items type and the schema-or-something unions).
fn zero_message(msg: &'static Message) -> Option<Value> {
    match msg.special {
        None => {
            let mut map = Map::new();
            message(&mut map, msg);
            Some(Value::Object(map))
        }
        Some(Special::Time | Special::MicroTime | Special::RawJson) => Some(Value::Null),
        Some(Special::IntOrString) => Some(Value::from(0)),
        Some(Special::Quantity) => Some(Value::from("0")),
        Some(
            Special::ArrayOfItems
            | Special::SchemaOrArray
            | Special::SchemaOrBool
            | Special::SchemaOrStringArray,
        ) => None,
    }
}

fn zero_scalar(kind: Kind) -> Value {
    match kind {
        Kind::Str | Kind::Bytes => Value::from(""),
        Kind::Bool => Value::Bool(false),
        Kind::I32 | Kind::I64 => Value::from(0),
        Kind::F64 => Value::from(0.0),
        Kind::Msg(_) => Value::Null,
    }
}

fn is_zero_scalar(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn applied(mut v: Value) -> Value {
        let (api_version, kind) = (
            v["apiVersion"].as_str().unwrap().to_owned(),
            v["kind"].as_str().unwrap().to_owned(),
        );
        apply(&api_version, &kind, &mut v);
        v
    }

    #[test]
    fn omitempty_zeroes_go_pointers_stay_and_structs_are_always_written() {
        let pod = applied(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {}, "creationTimestamp": null, "generateName": ""},
            "spec": {"containers": [{"name": "c", "image": "i", "command": [], "ports": [{"containerPort": 80, "hostPort": 0}],
                "securityContext": null, "stdin": false}],
                "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": null},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        // omitempty zero values are dropped; creationTimestamp is omitzero.
        assert_eq!(pod["metadata"], json!({"name": "p"}));
        let c = &pod["spec"]["containers"][0];
        assert!(
            c.get("command").is_none() && c.get("stdin").is_none(),
            "{c}"
        );
        assert!(
            c.get("securityContext").is_none(),
            "a null pointer is unset: {c}"
        );
        // hostPort is omitempty; containerPort is not.
        assert_eq!(c["ports"][0], json!({"containerPort": 80}));
        // A non-pointer struct is written even when unset.
        assert_eq!(c["resources"], json!({}));
        // A pointer set to zero is kept; a null pointer is not.
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 0);
        assert!(pod["spec"].get("activeDeadlineSeconds").is_none());
        // metav1.Time is a struct: an unset one is written as null.
        let cond = &pod["status"]["conditions"][0];
        assert_eq!(cond["lastProbeTime"], Value::Null);
        assert_eq!(cond["lastTransitionTime"], Value::Null);
    }

    #[test]
    fn fields_without_omitempty_are_written_as_zero_and_nil_slices_as_null() {
        let role = applied(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}}),
        );
        // ClusterRole.rules has no omitempty.
        assert_eq!(role["rules"], Value::Null);
        assert!(role.as_object().unwrap().contains_key("rules"));
        let binding = applied(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"}}),
        );
        // RoleRef.apiGroup has no omitempty: written as "".
        assert_eq!(binding["roleRef"]["apiGroup"], "");
    }

    #[test]
    fn raw_json_and_unknown_kinds_are_left_alone() {
        let mut cr =
            json!({"apiVersion": "x.io/v1", "kind": "Widget", "spec": {"a": null, "b": []}});
        let before = cr.clone();
        apply("x.io/v1", "Widget", &mut cr);
        assert_eq!(cr, before);
        let rev = applied(
            json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "r"}, "revision": 1, "data": {"z": null, "a": []}}),
        );
        assert_eq!(rev["data"], json!({"z": null, "a": []}));
    }
}
