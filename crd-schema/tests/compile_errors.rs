//! Schemas kube-apiserver refuses in a CRD: non-structural ones, bad patterns, bad CEL.

use crd_schema::{ErrorKind, Schema, SchemaError};
use serde_json::{Value, json};

fn causes(schema: Value) -> Vec<String> {
    match Schema::compile(&schema) {
        Ok(_) => Vec::new(),
        Err(e) => e.causes().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn table() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "missing type on a field",
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
            vec![
                "openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            "missing type at the root",
            json!({"properties": {"spec": {"type": "object"}}}),
            vec!["openAPIV3Schema.type: Required value: must not be empty at the root"],
        ),
        (
            "root must be an object",
            json!({"type": "string"}),
            vec!["openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"],
        ),
        (
            "array without items",
            json!({"type": "object", "properties": {"l": {"type": "array"}}}),
            vec!["openAPIV3Schema.properties[l].items: Required value: must be specified"],
        ),
        (
            "missing type on array items",
            json!({"type": "object", "properties": {"l": {"type": "array", "items": {}}}}),
            vec![
                "openAPIV3Schema.properties[l].items.type: Required value: must not be empty for specified array items",
            ],
        ),
        (
            "type inside anyOf",
            json!({"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"type": "string"}]}}}),
            vec![
                "openAPIV3Schema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural",
            ],
        ),
        (
            "property only in allOf",
            json!({"type": "object", "allOf": [{"properties": {"x": {"minimum": 1}}}]}),
            vec![
                "openAPIV3Schema.properties[x]: Required value: because it is defined in openAPIV3Schema.allOf[0].properties[x]",
            ],
        ),
        (
            "additionalProperties with properties",
            json!({"type": "object", "properties": {"m": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}}),
            vec![
                "openAPIV3Schema.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            ],
        ),
        (
            "uniqueItems",
            json!({"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}}}),
            vec![
                "openAPIV3Schema.properties[l].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ],
        ),
        (
            "bad pattern",
            json!({"type": "object", "properties": {"s": {"type": "string", "pattern": "(["}}}),
            vec![
                "openAPIV3Schema.properties[s].pattern: Invalid value: \"([\": must be a valid regular expression, but isn't: ",
            ],
        ),
        (
            "metadata with more than name",
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            vec![
                "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            "metadata with a description",
            json!({"type": "object", "properties": {"metadata": {"type": "object", "description": "meta"}}}),
            vec![
                "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            "int-or-string with preserve-unknown-fields",
            json!({"type": "object", "properties": {"a": {"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}}}),
            vec![
                "openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
            ],
        ),
        (
            "embedded resource must be an object",
            json!({"type": "object", "properties": {"e": {"type": "string", "x-kubernetes-embedded-resource": true, "properties": {"a": {"type": "string"}}}}}),
            vec![
                "openAPIV3Schema.properties[e].type: Invalid value: \"string\": must be object if x-kubernetes-embedded-resource is true",
            ],
        ),
        (
            "list-type map without keys",
            json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}}),
            vec![
                "openAPIV3Schema.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            ],
        ),
        (
            "unknown list type",
            json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}}}}),
            vec![
                "openAPIV3Schema.properties[l].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\"",
            ],
        ),
        (
            "unknown type",
            json!({"type": "object", "properties": {"a": {"type": "text"}}}),
            vec![
                "openAPIV3Schema.properties[a].type: Unsupported value: \"text\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
            ],
        ),
        (
            "$ref",
            json!({"type": "object", "properties": {"a": {"type": "object", "$ref": "#/definitions/x"}}}),
            vec!["openAPIV3Schema.properties[a].$ref: Forbidden: $ref is not supported"],
        ),
        (
            "not an object",
            json!("object"),
            vec!["openAPIV3Schema: Invalid value: \"object\": must be a JSON object (a schema)"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, schema, want) in cases {
        let got = causes(schema);
        let matches =
            got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.starts_with(w));
        if !matches {
            failures.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_cel_rule_is_rejected_with_its_path() {
    let err = Schema::compile(&json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self ==="}]}}
    }))
    .unwrap_err();
    let SchemaError::Invalid { causes } = &err;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].kind, ErrorKind::Invalid);
    assert_eq!(
        causes[0].field,
        "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    );
    assert!(
        causes[0].detail.starts_with("compilation failed: "),
        "{}",
        causes[0].detail
    );
    assert!(
        err.to_string().contains("x-kubernetes-validations[0].rule"),
        "{err}"
    );
}

#[test]
fn bad_rule_fields_are_rejected() {
    let got = causes(json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-validations": [
            {"rule": ""},
            {"rule": "true", "reason": "Sometimes"},
            {"rule": "true", "fieldPath": ".nope"},
            {"rule": "true", "messageExpression": "'a' +"}
        ]}}
    }));
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got[0].starts_with(
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Required value"
        ),
        "{got:?}"
    );
    assert!(got[1].starts_with("openAPIV3Schema.properties[spec].x-kubernetes-validations[1].reason: Unsupported value: \"Sometimes\""), "{got:?}");
    assert!(got[2].starts_with("openAPIV3Schema.properties[spec].x-kubernetes-validations[2].fieldPath: Invalid value: \".nope\""), "{got:?}");
    assert!(got[3].starts_with("openAPIV3Schema.properties[spec].x-kubernetes-validations[3].messageExpression: Invalid value"), "{got:?}");
}

#[test]
fn valid_schemas_compile() {
    let ok = [
        json!({"type": "object"}),
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
        json!({"type": "object", "properties": {"a": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}),
        json!({"type": "object", "properties": {"e": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}),
        json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}),
    ];
    for s in ok {
        if let Err(e) = Schema::compile(&s) {
            panic!("{s} should compile: {e}");
        }
    }
}

#[test]
fn defaults_must_be_pruned_and_valid() {
    let got = causes(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "minimum": 0, "default": -1},
            "strategy": {"type": "object", "default": {"kind": "x"}, "properties": {"type": {"type": "string"}}},
            "name": {"type": "string", "default": "ab", "x-kubernetes-validations": [{"rule": "self.size() > 3", "message": "too short"}]},
            "ok": {"type": "string", "default": "fine", "enum": ["fine"]}
        }}}}),
    );
    assert_eq!(
        got,
        [
            "openAPIV3Schema.properties[spec].properties[name].default: Invalid value: \"ab\": too short",
            "openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: -1:  in body should be greater than or equal to 0",
            "openAPIV3Schema.properties[spec].properties[strategy].default: Invalid value: {\"kind\":\"x\"}: must not have unknown fields",
        ]
    );
}

#[test]
fn rules_naming_undeclared_fields_are_rejected() {
    let got = causes(json!({
        "type": "object",
        "properties": {"spec": {"type": "object",
            "properties": {"replicas": {"type": "integer"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            "x-kubernetes-validations": [
                {"rule": "self.replicas > 0 && self.labels.anything == 'x' && self.free.whatever.deeper == 1"},
                {"rule": "self.items.all(i, i.name != '') && self.items[0].name != ''"},
                {"rule": "self.replicaz > 0"},
                {"rule": "has(self.items[0].nam)"}
            ]}}
    }));
    assert_eq!(
        got,
        [
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[2].rule: Invalid value: {\"rule\":\"self.replicaz > 0\"}: compilation failed: undefined field 'replicaz'",
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[3].rule: Invalid value: {\"rule\":\"has(self.items[0].nam)\"}: compilation failed: undefined field 'nam'",
        ]
    );
}

#[test]
fn transition_rules_need_correlatable_values() {
    let got = causes(json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "atomic": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}},
            "keyed": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}},
                    "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}},
            "flag": {"type": "string", "x-kubernetes-validations": [{"rule": "self != ''", "optionalOldSelf": true}]}
        }}}
    }));
    assert_eq!(
        got,
        [
            "openAPIV3Schema.properties[spec].properties[atomic].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within openAPIV3Schema.properties[spec].properties[atomic]",
            "openAPIV3Schema.properties[spec].properties[flag].x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule",
        ]
    );
}

/// Tokio worker threads have 2 MiB of stack; compiling and running rules there must not abort.
const WORKER_STACK: usize = 2 << 20;

#[test]
fn deep_rules_compile_and_run_on_small_stacks() {
    let handle = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(|| {
            let parens = format!("{}self.a{} == 1", "(".repeat(60), ")".repeat(60));
            let comprehensions = format!(
                "{}self.a == 1{}",
                (0..14)
                    .map(|i| format!("[1].all(x{i}, "))
                    .collect::<String>(),
                ")".repeat(14)
            );
            let schema = Schema::compile(&json!({
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": parens}, {"rule": comprehensions}]
            }))
            .expect("deep but acceptable rules compile");
            // Nesting 8 is compiled on the caller's thread (no helper thread): it must fit too.
            let shallow = format!("{}self.a{} == 1", "(".repeat(4), ")".repeat(4));
            let shallow_macro = "[1].all(x, [2].exists(y, ((((self.a + x + y)))) > 0))".to_string();
            let schema2 = Schema::compile(&json!({
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": shallow}, {"rule": shallow_macro}]
            }))
            .expect("shallow rules compile");
            schema.validate(&json!({"a": 1}), None).len()
                + schema.validate(&json!({"a": 2}), None).len()
                + schema2.validate(&json!({"a": 1}), None).len()
        })
        .expect("thread starts");
    assert_eq!(handle.join().expect("no stack overflow"), 2);
}

#[test]
fn too_deep_rules_are_rejected() {
    let rule = format!("{}self.a{} > 0", "(1 + ".repeat(40), ")".repeat(40));
    let got = causes(
        json!({"type": "object", "properties": {"a": {"type": "integer"}}, "x-kubernetes-validations": [{"rule": rule}]}),
    );
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("compilation failed: expression nesting depth 43 exceeds the limit of 32"),
        "{got:?}"
    );
    let rule = format!("{}1{} == 1", "(".repeat(200), ")".repeat(200));
    let got = causes(json!({"type": "object", "x-kubernetes-validations": [{"rule": rule}]}));
    assert_eq!(got.len(), 1, "cel's parser limit rejects it: {got:?}");
}
