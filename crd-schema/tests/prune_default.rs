//! Pruning of unknown fields and defaulting, as kube-apiserver does on decode.

use crd_schema::Schema;
use serde_json::json;

fn schema() -> Schema {
    Schema::compile(&json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer", "default": 1},
                    "strategy": {
                        "type": "object",
                        "default": {},
                        "properties": {
                            "type": {"type": "string", "default": "Rolling"},
                            "maxSurge": {"x-kubernetes-int-or-string": true, "default": "25%"}
                        }
                    },
                    "nullableNoDefault": {"type": "string", "nullable": true},
                    "plain": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "opaque": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"known": {"type": "object", "properties": {"x": {"type": "string"}}}}},
                    "list": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}}}},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                        "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}}},
                    "freeform": {"type": "object", "additionalProperties": true}
                }
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    }))
    .expect("schema compiles")
}

#[test]
fn prune_removes_unknown_fields_and_reports_paths() {
    let s = schema();
    let mut obj = json!({
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "X",
        "metadata": {"name": "a", "labels": {"x": "y"}},
        "unknownTop": 1,
        "spec": {
            "replicas": 2,
            "bogus": true,
            "labels": {"a": "b"},
            "opaque": {"anything": {"goes": 1}, "known": {"x": "1", "y": 2}},
            "list": [{"name": "a", "extra": 1}],
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1}, "spec": {"image": "i", "junk": 2}, "other": 3},
            "freeform": {"k": {"nested": 1}, "s": "v"}
        },
        "status": {"free": {"form": true}}
    });
    let removed = s.prune(&mut obj);
    assert_eq!(
        removed,
        [
            "spec.bogus",
            "spec.freeform.k.nested",
            "spec.list[0].extra",
            "spec.opaque.known.y",
            "spec.template.metadata.junk",
            "spec.template.other",
            "spec.template.spec.junk",
            "unknownTop",
        ]
    );
    assert_eq!(
        obj,
        json!({
            "apiVersion": "kubernaut.ai/v1alpha1",
            "kind": "X",
            "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {
                "replicas": 2,
                "labels": {"a": "b"},
                "opaque": {"anything": {"goes": 1}, "known": {"x": "1"}},
                "list": [{"name": "a"}],
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"image": "i"}},
                "freeform": {"k": {}, "s": "v"}
            },
            "status": {"free": {"form": true}}
        })
    );
}

#[test]
fn prune_drops_non_nullable_nulls_without_defaults() {
    let s = schema();
    let mut obj = json!({"spec": {"plain": null, "nullableNoDefault": null, "replicas": null}});
    assert!(s.prune(&mut obj).is_empty());
    assert_eq!(
        obj,
        json!({"spec": {"nullableNoDefault": null, "replicas": null}})
    );
}

#[test]
fn defaults_fill_missing_fields_and_nested_defaults() {
    let s = schema();
    let mut obj = json!({"spec": {"list": [{"name": "a"}, {"name": "b", "port": 8080}]}});
    s.apply_defaults(&mut obj);
    assert_eq!(
        obj,
        json!({"spec": {
            "list": [{"name": "a", "port": 80}, {"name": "b", "port": 8080}],
            "replicas": 1,
            "strategy": {"type": "Rolling", "maxSurge": "25%"}
        }})
    );
    assert!(s.validate(&obj, None).is_empty());
}

#[test]
fn defaults_replace_non_nullable_null_and_keep_values() {
    let s = schema();
    let mut obj = json!({"spec": {"replicas": null, "strategy": {"type": "Recreate"}}});
    s.apply_defaults(&mut obj);
    assert_eq!(
        obj,
        json!({"spec": {"replicas": 1, "strategy": {"type": "Recreate", "maxSurge": "25%"}}})
    );
}

#[test]
fn no_spec_means_no_spec_defaults() {
    let s = schema();
    let mut obj = json!({"metadata": {"name": "a"}});
    s.apply_defaults(&mut obj);
    assert_eq!(obj, json!({"metadata": {"name": "a"}}));
}

#[test]
fn wrong_types_are_left_for_validation() {
    let s = schema();
    let mut obj = json!({"spec": "not an object", "status": 3});
    assert!(s.prune(&mut obj).is_empty());
    s.apply_defaults(&mut obj);
    assert_eq!(obj, json!({"spec": "not an object", "status": 3}));
    let errs: Vec<String> = s
        .validate(&obj, None)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "spec: Invalid value: \"string\": spec in body must be of type object: \"string\"",
            "status: Invalid value: \"integer\": status in body must be of type object: \"integer\""
        ]
    );
}
