//! One case per OpenAPI rule: the exact kind, field and message kube-apiserver 1.37 reports.

use crd_schema::{ErrorKind, FieldError, Schema};
use serde_json::{Value, json};

/// Compiles `{type: object, properties: {spec: <spec>}}`.
fn spec_schema(spec: Value) -> Schema {
    Schema::compile(&json!({"type": "object", "properties": {"spec": spec}}))
        .expect("schema compiles")
}

fn obj_spec(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

struct Case {
    name: &'static str,
    spec_schema: Value,
    spec: Value,
    want: &'static [(ErrorKind, &'static str, &'static str)],
}

fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let schema = spec_schema(c.spec_schema);
        let errs: Vec<FieldError> = schema.validate(
            &json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"}, "spec": c.spec}),
            None,
        );
        let got: Vec<(ErrorKind, String, String)> = errs
            .iter()
            .map(|e| (e.kind, e.field.clone(), e.message()))
            .collect();
        let want: Vec<(ErrorKind, String, String)> = c
            .want
            .iter()
            .map(|(k, f, m)| (*k, f.to_string(), m.to_string()))
            .collect();
        if got != want {
            failures.push(format!("{}:\n  got  {got:?}\n  want {want:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

use ErrorKind::*;

#[test]
fn types() {
    check(vec![
        Case {
            name: "integer given a string",
            spec_schema: obj_spec(json!({"replicas": {"type": "integer"}})),
            spec: json!({"replicas": "3"}),
            want: &[(
                TypeInvalid,
                "spec.replicas",
                "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            )],
        },
        Case {
            name: "integer given a fraction also fails the range check",
            spec_schema: obj_spec(json!({"replicas": {"type": "integer"}})),
            spec: json!({"replicas": 1.5}),
            want: &[
                (
                    TypeInvalid,
                    "spec.replicas",
                    "Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"",
                ),
                (
                    Invalid,
                    "<nil>",
                    "Invalid value: \"\": Checked value must be of type integer (default format) in spec.replicas",
                ),
            ],
        },
        Case {
            name: "integer accepts 2.0",
            spec_schema: obj_spec(json!({"replicas": {"type": "integer"}})),
            spec: json!({"replicas": 2.0}),
            want: &[],
        },
        Case {
            name: "number accepts an integer",
            spec_schema: obj_spec(json!({"ratio": {"type": "number"}})),
            spec: json!({"ratio": 2}),
            want: &[],
        },
        Case {
            name: "string given a bool",
            spec_schema: obj_spec(json!({"name": {"type": "string"}})),
            spec: json!({"name": true}),
            want: &[(
                TypeInvalid,
                "spec.name",
                "Invalid value: \"boolean\": spec.name in body must be of type string: \"boolean\"",
            )],
        },
        Case {
            name: "boolean given a number",
            spec_schema: obj_spec(json!({"on": {"type": "boolean"}})),
            spec: json!({"on": 1}),
            want: &[(
                TypeInvalid,
                "spec.on",
                "Invalid value: \"integer\": spec.on in body must be of type boolean: \"integer\"",
            )],
        },
        Case {
            name: "object given an array",
            spec_schema: obj_spec(json!({"o": {"type": "object"}})),
            spec: json!({"o": []}),
            want: &[(
                TypeInvalid,
                "spec.o",
                "Invalid value: \"array\": spec.o in body must be of type object: \"array\"",
            )],
        },
        Case {
            name: "array given an object",
            spec_schema: obj_spec(json!({"l": {"type": "array", "items": {"type": "string"}}})),
            spec: json!({"l": {}}),
            want: &[(
                TypeInvalid,
                "spec.l",
                "Invalid value: \"object\": spec.l in body must be of type array: \"object\"",
            )],
        },
        Case {
            name: "null where not nullable",
            spec_schema: obj_spec(json!({"name": {"type": "string"}})),
            spec: json!({"name": null}),
            want: &[(
                TypeInvalid,
                "spec.name",
                "Invalid value: \"null\": spec.name in body must be of type string: \"null\"",
            )],
        },
        Case {
            name: "null where nullable",
            spec_schema: obj_spec(json!({"name": {"type": "string", "nullable": true}})),
            spec: json!({"name": null}),
            want: &[],
        },
        Case {
            name: "int-or-string accepts both",
            spec_schema: obj_spec(
                json!({"a": {"x-kubernetes-int-or-string": true}, "b": {"x-kubernetes-int-or-string": true}}),
            ),
            spec: json!({"a": 1, "b": "50%"}),
            want: &[],
        },
        Case {
            name: "int-or-string rejects a bool",
            spec_schema: obj_spec(json!({"a": {"x-kubernetes-int-or-string": true}})),
            spec: json!({"a": false}),
            want: &[(
                TypeInvalid,
                "spec.a",
                "Invalid value: \"boolean\": spec.a in body must be of type integer,string: \"boolean\"",
            )],
        },
        Case {
            name: "preserve-unknown-fields without type accepts anything",
            spec_schema: obj_spec(json!({"any": {"x-kubernetes-preserve-unknown-fields": true}})),
            spec: json!({"any": [1, "x", {"y": null}]}),
            want: &[],
        },
    ]);
}

#[test]
fn numbers() {
    check(vec![
        Case {
            name: "minimum",
            spec_schema: obj_spec(json!({"replicas": {"type": "integer", "minimum": 0}})),
            spec: json!({"replicas": -1}),
            want: &[(
                Invalid,
                "spec.replicas",
                "Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
            )],
        },
        Case {
            name: "exclusive minimum",
            spec_schema: obj_spec(
                json!({"replicas": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}}),
            ),
            spec: json!({"replicas": 0}),
            want: &[(
                Invalid,
                "spec.replicas",
                "Invalid value: 0: spec.replicas in body should be greater than 0",
            )],
        },
        Case {
            name: "maximum",
            spec_schema: obj_spec(json!({"replicas": {"type": "integer", "maximum": 10}})),
            spec: json!({"replicas": 11}),
            want: &[(
                Invalid,
                "spec.replicas",
                "Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            )],
        },
        Case {
            name: "exclusive maximum on a number",
            spec_schema: obj_spec(
                json!({"ratio": {"type": "number", "maximum": 1.5, "exclusiveMaximum": true}}),
            ),
            spec: json!({"ratio": 1.5}),
            want: &[(
                Invalid,
                "spec.ratio",
                "Invalid value: 1.5: spec.ratio in body should be less than 1.5",
            )],
        },
        Case {
            name: "large bound prints like Go",
            spec_schema: obj_spec(json!({"ratio": {"type": "number", "maximum": 1000000}})),
            spec: json!({"ratio": 1000000.5}),
            want: &[(
                Invalid,
                "spec.ratio",
                "Invalid value: 1.0000005e+06: spec.ratio in body should be less than or equal to 1e+06",
            )],
        },
        Case {
            name: "multipleOf",
            spec_schema: obj_spec(json!({"n": {"type": "integer", "multipleOf": 5}})),
            spec: json!({"n": 12}),
            want: &[(
                Invalid,
                "spec.n",
                "Invalid value: 12: spec.n in body should be a multiple of 5",
            )],
        },
        Case {
            name: "int32 range",
            spec_schema: obj_spec(json!({"n": {"type": "integer", "format": "int32"}})),
            spec: json!({"n": 3000000000u64}),
            want: &[(
                Invalid,
                "<nil>",
                "Invalid value: \"\": Checked value must be of type integer with format int32 in spec.n",
            )],
        },
        Case {
            name: "beyond int64 is a float to Go",
            spec_schema: obj_spec(json!({"n": {"type": "integer"}})),
            spec: json!({"n": 10000000000000000000u64}),
            want: &[
                (
                    TypeInvalid,
                    "spec.n",
                    "Invalid value: \"number\": spec.n in body must be of type integer: \"number\"",
                ),
                (
                    Invalid,
                    "<nil>",
                    "Invalid value: \"\": Checked value must be of type integer (default format) in spec.n",
                ),
            ],
        },
        Case {
            name: "int64 accepts big values",
            spec_schema: obj_spec(json!({"n": {"type": "integer", "format": "int64"}})),
            spec: json!({"n": 3000000000u64}),
            want: &[],
        },
    ]);
}

#[test]
fn strings() {
    check(vec![
        Case {
            name: "maxLength",
            spec_schema: obj_spec(json!({"name": {"type": "string", "maxLength": 3}})),
            spec: json!({"name": "abcd"}),
            want: &[(
                TooLong,
                "spec.name",
                "Too long: may not be more than 3 bytes",
            )],
        },
        Case {
            name: "maxLength counts characters",
            spec_schema: obj_spec(json!({"name": {"type": "string", "maxLength": 3}})),
            spec: json!({"name": "äöü"}),
            want: &[],
        },
        Case {
            name: "minLength",
            spec_schema: obj_spec(json!({"name": {"type": "string", "minLength": 3}})),
            spec: json!({"name": "ab"}),
            want: &[(
                Invalid,
                "spec.name",
                "Invalid value: \"ab\": spec.name in body should be at least 3 chars long",
            )],
        },
        Case {
            name: "pattern",
            spec_schema: obj_spec(json!({"fp": {"type": "string", "pattern": "^[a-f0-9]{64}$"}})),
            spec: json!({"fp": "XYZ"}),
            want: &[(
                Invalid,
                "spec.fp",
                "Invalid value: \"XYZ\": spec.fp in body should match '^[a-f0-9]{64}$'",
            )],
        },
        Case {
            name: "only the first string failure is reported",
            spec_schema: obj_spec(
                json!({"s": {"type": "string", "minLength": 3, "pattern": "^z"}}),
            ),
            spec: json!({"s": "a"}),
            want: &[(
                Invalid,
                "spec.s",
                "Invalid value: \"a\": spec.s in body should be at least 3 chars long",
            )],
        },
        Case {
            name: "enum",
            spec_schema: obj_spec(json!({"size": {"type": "string", "enum": ["s", "m"]}})),
            spec: json!({"size": "xl"}),
            want: &[(
                NotSupported,
                "spec.size",
                "Unsupported value: \"xl\": supported values: \"s\", \"m\"",
            )],
        },
        Case {
            name: "integer enum",
            spec_schema: obj_spec(json!({"n": {"type": "integer", "enum": [1, 2]}})),
            spec: json!({"n": 3}),
            want: &[(
                NotSupported,
                "spec.n",
                "Unsupported value: 3: supported values: \"1\", \"2\"",
            )],
        },
        Case {
            name: "enum accepts a member",
            spec_schema: obj_spec(json!({"size": {"type": "string", "enum": ["s", "m"]}})),
            spec: json!({"size": "m"}),
            want: &[],
        },
        Case {
            name: "date-time format",
            spec_schema: obj_spec(json!({"t": {"type": "string", "format": "date-time"}})),
            spec: json!({"t": "yesterday"}),
            want: &[(
                TypeInvalid,
                "spec.t",
                "Invalid value: \"yesterday\": spec.t in body must be of type date-time: \"yesterday\"",
            )],
        },
        Case {
            name: "date-time accepts RFC 3339",
            spec_schema: obj_spec(json!({"t": {"type": "string", "format": "date-time"}})),
            spec: json!({"t": "2026-11-25T17:00:00Z"}),
            want: &[],
        },
        Case {
            name: "int-or-string keeps string formats",
            spec_schema: obj_spec(
                json!({"t": {"x-kubernetes-int-or-string": true, "format": "date-time"}}),
            ),
            spec: json!({"t": "soon"}),
            want: &[(
                TypeInvalid,
                "spec.t",
                "Invalid value: \"soon\": spec.t in body must be of type date-time: \"soon\"",
            )],
        },
        Case {
            name: "unknown formats are ignored",
            spec_schema: obj_spec(json!({"t": {"type": "string", "format": "my-format"}})),
            spec: json!({"t": "anything"}),
            want: &[],
        },
    ]);
}

#[test]
fn arrays_and_objects() {
    check(vec![
        Case {
            name: "maxItems",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "items": {"type": "string"}, "maxItems": 2}}),
            ),
            spec: json!({"l": ["a", "b", "c"]}),
            want: &[(TooMany, "spec.l", "Too many: 3: must have at most 2 items")],
        },
        Case {
            name: "minItems",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "items": {"type": "string"}, "minItems": 2}}),
            ),
            spec: json!({"l": ["a"]}),
            want: &[(
                Invalid,
                "spec.l",
                "Invalid value: 1: spec.l in body should have at least 2 items",
            )],
        },
        Case {
            name: "item errors are indexed",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}),
            ),
            spec: json!({"l": [{"name": "a"}, {}]}),
            want: &[(Required, "spec.l[1].name", "Required value")],
        },
        Case {
            name: "required",
            spec_schema: json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}),
            spec: json!({}),
            want: &[(Required, "spec.name", "Required value")],
        },
        Case {
            name: "maxProperties",
            spec_schema: obj_spec(
                json!({"m": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1}}),
            ),
            spec: json!({"m": {"a": "1", "b": "2"}}),
            want: &[(TooMany, "spec.m", "Too many: 2: must have at most 1 item")],
        },
        Case {
            name: "minProperties",
            spec_schema: obj_spec(
                json!({"m": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}}),
            ),
            spec: json!({"m": {}}),
            want: &[(
                Invalid,
                "spec.m",
                "Invalid value: 0: spec.m in body should have at least 1 properties",
            )],
        },
        Case {
            name: "additionalProperties schema",
            spec_schema: obj_spec(
                json!({"m": {"type": "object", "additionalProperties": {"type": "integer"}}}),
            ),
            spec: json!({"m": {"a": "x"}}),
            want: &[(
                TypeInvalid,
                "spec.m.a",
                "Invalid value: \"string\": spec.m.a in body must be of type integer: \"string\"",
            )],
        },
        Case {
            name: "additionalProperties false",
            spec_schema: obj_spec(json!({"m": {"type": "object", "additionalProperties": false}})),
            spec: json!({"m": {"a": 1}}),
            want: &[(
                Invalid,
                "spec.m",
                "Invalid value: \"a\": spec.m.a in body is a forbidden property",
            )],
        },
    ]);
}

#[test]
fn value_validation_combinators() {
    check(vec![
        Case {
            name: "anyOf",
            spec_schema: json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}),
            spec: json!({}),
            want: &[
                (
                    Invalid,
                    "<nil>",
                    "Invalid value: \"\": \"spec\" must validate at least one schema (anyOf)",
                ),
                (Required, "spec.a", "Required value"),
            ],
        },
        Case {
            name: "oneOf with two matches",
            spec_schema: json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}),
            spec: json!({"a": "x", "b": "y"}),
            want: &[(
                Invalid,
                "<nil>",
                "Invalid value: \"\": \"spec\" must validate one and only one schema (oneOf). Found 2 valid alternatives",
            )],
        },
        Case {
            name: "allOf",
            spec_schema: json!({"type": "object", "properties": {"n": {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 5}]}}}),
            spec: json!({"n": 9}),
            want: &[
                (
                    Invalid,
                    "spec.n",
                    "Invalid value: 9: spec.n in body should be less than or equal to 5",
                ),
                (
                    Invalid,
                    "<nil>",
                    "Invalid value: \"\": \"spec.n\" must validate all the schemas (allOf)",
                ),
            ],
        },
        Case {
            name: "not",
            spec_schema: json!({"type": "object", "properties": {"n": {"type": "integer", "not": {"enum": [0]}}}}),
            spec: json!({"n": 0}),
            want: &[(
                Invalid,
                "<nil>",
                "Invalid value: \"\": \"spec.n\" must not validate the schema (not)",
            )],
        },
    ]);
}

#[test]
fn list_types() {
    check(vec![
        Case {
            name: "set duplicates",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}),
            ),
            spec: json!({"l": ["a", "b", "a", "a"]}),
            want: &[(Duplicate, "spec.l[2]", "Duplicate value: \"a\"")],
        },
        Case {
            name: "map duplicates",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}}),
            ),
            spec: json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}),
            want: &[(Duplicate, "spec.l[1]", "Duplicate value: {\"name\":\"a\"}")],
        },
        Case {
            name: "map with two keys",
            spec_schema: obj_spec(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "port"],
                "items": {"type": "object", "required": ["name", "port"], "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}}),
            ),
            spec: json!({"l": [{"name": "a", "port": 1}, {"name": "a", "port": 2}, {"port": 1, "name": "a"}]}),
            want: &[(
                Duplicate,
                "spec.l[2]",
                "Duplicate value: {\"name\":\"a\",\"port\":1}",
            )],
        },
    ]);
}

#[test]
fn root_metadata_name_constraints_apply() {
    let schema = Schema::compile(&json!({
        "type": "object",
        "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}}}
    }))
    .unwrap();
    let errs = schema.validate(&json!({"metadata": {"name": "toolong"}}), None);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].to_string(),
        "metadata.name: Too long: may not be more than 5 bytes"
    );
}

#[test]
fn ratcheting_keeps_unchanged_invalid_values() {
    let schema = spec_schema(obj_spec(
        json!({"a": {"type": "integer", "minimum": 5}, "b": {"type": "integer", "minimum": 5}}),
    ));
    let old = json!({"spec": {"a": 1, "b": 1}});
    let new = json!({"spec": {"a": 1, "b": 2}});
    let errs = schema.validate(&new, Some(&old));
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["spec.b"], "{errs:?}");
    assert_eq!(schema.validate(&new, None).len(), 2);
}

#[test]
fn reasons_are_kubernetes_cause_types() {
    let table = [
        (Invalid, "FieldValueInvalid"),
        (Required, "FieldValueRequired"),
        (NotSupported, "FieldValueNotSupported"),
        (TypeInvalid, "FieldValueTypeInvalid"),
        (TooLong, "FieldValueTooLong"),
        (TooMany, "FieldValueTooMany"),
        (Forbidden, "FieldValueForbidden"),
        (Duplicate, "FieldValueDuplicate"),
        (NotFound, "FieldValueNotFound"),
        (Internal, "InternalError"),
    ];
    for (k, r) in table {
        assert_eq!(k.reason(), r);
    }
}

#[test]
fn embedded_resources_need_api_version_and_kind() {
    let schema = spec_schema(obj_spec(
        json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}),
    ));
    let msgs = |spec: Value| -> Vec<String> {
        schema
            .validate(&json!({"spec": spec}), None)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        msgs(json!({"template": {}})),
        [
            "spec.template.apiVersion: Required value",
            "spec.template.kind: Required value"
        ]
    );
    assert_eq!(
        msgs(
            json!({"template": {"apiVersion": "a/b/c", "kind": "Bad_Kind", "metadata": {"name": "x/y"}}})
        ),
        [
            "spec.template.apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c",
            "spec.template.kind: Invalid value: \"Bad_Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            "spec.template.metadata.name: Invalid value: \"x/y\": may not contain '/'"
        ]
    );
    assert!(
        msgs(json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}))
            .is_empty()
    );
}

#[test]
fn status_updates_validate_only_status_against_the_schema() {
    let schema = Schema::compile(&json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
            "status": {"type": "object", "properties": {"phase": {"type": "string", "enum": ["Pending", "Done"]}}}
        }
    }))
    .unwrap();
    // The stored spec is invalid (written before the schema tightened): status writes still pass.
    let old = json!({"spec": {"n": -1}, "status": {"phase": "Pending"}});
    let new = json!({"spec": {"n": -1}, "status": {"phase": "Done"}});
    assert!(schema.validate_status_update(&new, &old).is_empty());
    let bad = json!({"spec": {"n": -1}, "status": {"phase": 3}});
    let msgs: Vec<String> = schema
        .validate_status_update(&bad, &old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        msgs,
        [
            "status.phase: Invalid value: \"integer\": phase in body must be of type string: \"integer\"",
            "status.phase: Unsupported value: 3: supported values: \"Pending\", \"Done\"",
            "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
        ]
    );
}
