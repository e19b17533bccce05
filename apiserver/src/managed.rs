//! Owns field ownership: `metadata.managedFields` (kube's FieldsV1 encoding), the field sets of
//! applied configurations and of ordinary writes, and server-side apply's merge, pruning of fields
//! a manager stopped applying, and conflict detection — the parts of kube's
//! `k8s.io/apimachinery/pkg/util/managedfields` and `sigs.k8s.io/structured-merge-diff` a client
//! can observe.
//!
//! Types come from two places: built-in objects use the strategic-merge-patch table
//! ([`crate::smp`]: list merge keys, set-lists; every other list is atomic) plus the few facts it
//! lacks (two-key lists, atomic structs: [`BUILTIN_KEYS`], [`ATOMIC_BUILTIN_TYPES`]); custom
//! resources their CRD's `openAPIV3Schema` (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`). Their `metadata` is ObjectMeta.
//!
//! Not modelled: converting field sets between versions of a multi-version CRD.

mod apply;
mod compare;
mod entries;
mod fieldpath;
mod merge;
mod shape;
mod update;

use serde_json::{Map, Value};

use crate::status::Cause;

pub use apply::{KUBECTL, apply, update_last_applied};
use compare::{changes, index_items, item_pe, strip_set};
pub use compare::{compare, to_field_set};
pub use entries::{Entry, Operation, decode};
use entries::{is_reset, set_managed_fields, without_managed_fields};
use fieldpath::canonical_key;
pub use fieldpath::{Pe, Set, path_string};
pub use merge::{atomics, merge, prune};
pub use shape::{ListKind, Shape, empty_object};
pub use update::{Writer, track_update};

/// The manager kube-apiserver records for the fields an untracked object already had when the
/// first apply arrives (`skipnonapplied.go`), so applying over them conflicts.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// The longest field manager name kube-apiserver accepts (`FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LEN: usize = 128;

/// kube's `IgnoreManagedFieldsTimestampsTransformer`: when a write changes nothing but the times
/// in managedFields, the old times are kept, so the write is a no-op (no new resourceVersion).
pub fn keep_times_of_noop(old: &Value, new: &mut Value) {
    let old_mf = old.pointer("/metadata/managedFields");
    let new_mf = new.pointer("/metadata/managedFields");
    if old_mf == new_mf {
        return;
    }
    // Cheap checks first (every write comes here): the entries without their times, then the
    // object without managedFields and resourceVersion, compared in place.
    let without_times = |mf: Option<&Value>| -> Option<Vec<Map<String, Value>>> {
        mf?.as_array()?
            .iter()
            .map(|e| {
                let mut e = e.as_object()?.clone();
                e.remove("time");
                Some(e)
            })
            .collect()
    };
    if without_times(old_mf) != without_times(new_mf) {
        return;
    }
    // Order-insensitive map equality, skipping the `ignored` keys.
    fn same_map(a: &Map<String, Value>, b: &Map<String, Value>, ignored: &[&str]) -> bool {
        let kept =
            |m: &Map<String, Value>| m.keys().filter(|k| !ignored.contains(&k.as_str())).count();
        kept(a) == kept(b)
            && a.iter()
                .filter(|(k, _)| !ignored.contains(&k.as_str()))
                .all(|(k, v)| b.get(k) == Some(v))
    }
    let empty = Map::new();
    let same_except_meta = |a: &Value, b: &Value| match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same_map(a, b, &["metadata"]),
        _ => false,
    };
    let same_meta = |a: &Value, b: &Value| {
        same_map(
            a.get("metadata")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
            b.get("metadata")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
            &["managedFields", "resourceVersion"],
        )
    };
    if same_except_meta(old, new)
        && same_meta(old, new)
        && let Some(mf) = old_mf.cloned()
    {
        crate::meta::meta_mut(new).insert("managedFields".into(), mf);
    }
}

/// kube's `ValidateFieldManager`: at most 128 bytes, printable characters only.
pub fn validate_manager(manager: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LEN {
        causes.push(Cause::new(
            "FieldValueTooLong",
            "fieldManager",
            format!("Too long: may not be more than {FIELD_MANAGER_MAX_LEN} bytes"),
        ));
        // Unlike kube, stop here: one cause per bad character, each quoting the whole value,
        // grows with the square of the length, and a query string may be 400 KB long.
        return causes;
    }
    for (i, ch) in manager.char_indices() {
        if ch.is_control() {
            causes.push(Cause::new(
                "FieldValueInvalid",
                "fieldManager",
                format!(
                    "Invalid value: {}: invalid character U+{:04X} (at position {i})",
                    Value::from(manager),
                    ch as u32
                ),
            ));
        }
    }
    causes
}

/// kube's `prefixFromUserAgent`: the User-Agent up to the first `/`, printable characters only,
/// cut at 128 bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let mut out = String::new();
    for ch in user_agent.split('/').next().unwrap_or("").chars() {
        if ch.is_control() {
            continue;
        }
        if out.len() + ch.len_utf8() > FIELD_MANAGER_MAX_LEN {
            break;
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::apply::conflict_error;
    use crate::smp;

    #[test]
    fn an_overlong_manager_is_one_cause_not_one_per_character() {
        let causes = validate_manager(&"\u{1}".repeat(100_000));
        assert_eq!(causes.len(), 1);
        let causes = validate_manager("a\u{1}b\u{2}");
        assert_eq!(
            causes.len(),
            2,
            "each bad character of a short value is named"
        );
    }

    fn deployment_shape() -> Shape<'static> {
        Shape::builtin(smp::root_type("apps/v1", "Deployment").expect("built in"))
    }

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}},
                       "f:finalizers": {"v:\"a\"": {}}});
        let set = Set::from_fields_v1(&v).expect("valid");
        assert_eq!(set.to_fields_v1(), v);
        assert!(set.has(&[
            Pe::Field("spec".into()),
            Pe::Field("template".into()),
            Pe::Field("spec".into()),
            Pe::Field("containers".into()),
            Pe::Key(r#"{"name":"app"}"#.into())
        ]));
        assert!(Set::from_fields_v1(&json!({"x:bad": {}})).is_none());
        assert!(Set::from_fields_v1(&json!({"f:a": 1})).is_none());
    }

    #[test]
    fn field_set_of_a_configuration() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "i", "args": ["a"]}]}}}});
        let mut set = to_field_set(&config, deployment_shape()).unwrap();
        set.difference(&strip_set());
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                       "k:{\"name\":\"app\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        let missing_key = json!({"spec": {"template": {"spec": {"containers": [{"image": "i"}]}}}});
        let err = to_field_set(&missing_key, deployment_shape()).unwrap_err();
        assert_eq!(
            err,
            ".spec.template.spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
        );
    }

    #[test]
    fn merge_keeps_live_only_items_in_place() {
        let shape = deployment_shape();
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "s", "image": "side"}, {"name": "b", "image": "1"}]}}}});
        let config = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "2"}, {"name": "x", "image": "new"}, {"name": "b", "image": "2"}]}}}});
        let merged = merge(&live, &config, shape).unwrap();
        let names: Vec<&str> = merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "s", "x", "b"]);
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"][3]["image"],
            "2"
        );
    }

    #[test]
    fn compare_reports_added_modified_removed() {
        let shape = deployment_shape();
        let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}});
        let new = json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 2}, "data": {"k": "v"}});
        let c = compare(&old, &new, shape);
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {"f:c": {}}}})
        );
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            c.removed.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:b": {}}}})
        );
    }

    #[test]
    fn conflict_messages_read_like_kube() {
        let one = conflict_error(vec![(
            "\"mgr\"".into(),
            vec![Pe::Field("spec".into()), Pe::Field("replicas".into())],
        )]);
        assert_eq!(
            one.message,
            "Apply failed with 1 conflict: conflict with \"mgr\": .spec.replicas"
        );
        let two = conflict_error(vec![
            ("\"b\" using v1".into(), vec![Pe::Field("data".into())]),
            (
                "\"a\"".into(),
                vec![Pe::Field("spec".into()), Pe::Key(r#"{"name":"x"}"#.into())],
            ),
        ]);
        assert_eq!(
            two.message,
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec[name=\"x\"]\nconflicts with \"b\" using v1:\n- .data"
        );
    }

    #[test]
    fn user_agent_prefix() {
        assert_eq!(
            manager_from_user_agent("kubectl/v1.37.1 (linux/amd64)"),
            "kubectl"
        );
        assert_eq!(manager_from_user_agent(""), "");
        assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
        assert!(validate_manager("ok").is_empty());
        assert_eq!(validate_manager(&"x".repeat(129)).len(), 1);
        assert_eq!(validate_manager("a\u{7}").len(), 1);
    }
}
