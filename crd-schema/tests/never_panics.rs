//! Property tests: prune, default and validate never panic, whatever JSON they get, and
//! pruning is idempotent.

use crd_schema::Schema;
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z0-9%:. -]{0,12}".prop_map(Value::String),
        Just(json!("2026-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("spec".to_string()),
                        Just("name".to_string()),
                        Just("replicas".to_string()),
                        Just("items".to_string()),
                        Just("labels".to_string()),
                        Just("metadata".to_string()),
                        "[a-z]{1,6}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Mostly valid structural schemas, typed by a randomly chosen `type`, with value validations
/// that fit the type; `noise` sometimes adds a keyword of the wrong shape.
fn arb_schema() -> impl Strategy<Value = Value> {
    let noise = prop_oneof![
        8 => Just(None),
        1 => Just(Some(("minimum", json!("x")))),
        1 => Just(Some(("pattern", json!("([")))),
        1 => Just(Some(("x-kubernetes-list-type", json!("bag")))),
        1 => Just(Some(("type", json!("text")))),
        1 => Just(Some(("x-kubernetes-validations", json!([{"rule": "self ==="}])))),
    ];
    let leaf = (0u8..6, any::<u16>(), noise.clone()).prop_map(|(t, r, noise)| {
        let mut o = match t {
            0 => json!({"type": "string"}),
            1 => json!({"type": "integer"}),
            2 => json!({"type": "number"}),
            3 => json!({"type": "boolean"}),
            4 => json!({"x-kubernetes-int-or-string": true}),
            _ => json!({"x-kubernetes-preserve-unknown-fields": true}),
        };
        let m = o.as_object_mut().expect("object literal");
        match (t, r % 7) {
            (0, 0) => {
                m.insert("maxLength".into(), json!(r % 5));
            }
            (0, 1) => {
                m.insert("pattern".into(), json!("^[a-z]*$"));
            }
            (0, 2) => {
                m.insert("enum".into(), json!(["a", "b"]));
            }
            (0, 3) => {
                m.insert("format".into(), json!("date-time"));
            }
            (1, 0) => {
                m.insert("minimum".into(), json!(0));
                m.insert("maximum".into(), json!(r % 100));
            }
            (1, 1) => {
                m.insert("format".into(), json!("int32"));
            }
            (1, 2) => {
                m.insert("multipleOf".into(), json!(3));
            }
            (2, 0) => {
                m.insert("maximum".into(), json!(1.5));
                m.insert("exclusiveMaximum".into(), json!(true));
            }
            (_, 4) => {
                m.insert("nullable".into(), json!(true));
            }
            (_, 5) => {
                m.insert(
                    "x-kubernetes-validations".into(),
                    json!([{"rule": "self == oldSelf"}]),
                );
            }
            _ => {}
        }
        if let Some((k, v)) = noise {
            m.insert(k.into(), v);
        }
        o
    });
    leaf.prop_recursive(4, 40, 4, move |inner| {
        prop_oneof![
            (prop::collection::vec((prop_oneof![Just("a"), Just("b"), Just("name"), Just("spec")], inner.clone()), 0..4), any::<u8>())
                .prop_map(|(props, r)| {
                    let names: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
                    let mut o = json!({"type": "object", "properties": props.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<serde_json::Map<_, _>>()});
                    if r % 3 == 0 && !names.is_empty() { o["required"] = json!([names[0]]); }
                    if r % 4 == 0 { o["x-kubernetes-validations"] = json!([{"rule": "has(self.a) || size(self) >= 0"}]); }
                    if r % 5 == 0 && !names.is_empty() { o["anyOf"] = json!([{"required": [names[0]]}, {"minProperties": 1}]); }
                    o
                }),
            (inner.clone(), any::<u8>()).prop_map(|(items, r)| {
                let mut o = json!({"type": "array", "items": items});
                if r % 3 == 0 { o["maxItems"] = json!(r % 4); }
                if r % 4 == 0 && o["items"]["type"] == json!("string") { o["x-kubernetes-list-type"] = json!("set"); }
                o
            }),
            inner.clone().prop_map(|v| json!({"type": "object", "additionalProperties": v, "maxProperties": 3})),
            Just(json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "a": {"type": "integer"}}}})),
        ]
    })
    .prop_map(|s| json!({"type": "object", "properties": {"spec": s}}))
}

fn schema() -> Schema {
    Schema::compile(&json!({
        "type": "object",
        "x-kubernetes-validations": [{"rule": "!has(self.spec) || !has(self.spec.name) || self.spec.name != 'forbidden'"}],
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}},
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}],
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "pattern": "^[a-z]+$", "default": "x"},
                    "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10, "multipleOf": 2, "default": 2,
                        "x-kubernetes-validations": [{"rule": "self % 2 == 0"}]},
                    "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1.5},
                    "when": {"type": "string", "format": "date-time"},
                    "size": {"type": "string", "enum": ["s", "m"]},
                    "ios": {"x-kubernetes-int-or-string": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 5}, "maxProperties": 3},
                    "items": {"type": "array", "maxItems": 4, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "v": {"type": "integer", "default": 1}},
                            "x-kubernetes-validations": [{"rule": "self.name.size() < 10"}]}},
                    "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                    "anything": {"x-kubernetes-preserve-unknown-fields": true},
                    "embedded": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                    "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                        "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
                }
            }
        }
    }))
    .expect("schema compiles")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_objects(spec in arb_json(), old_spec in arb_json(), top in arb_json()) {
        let s = schema();
        let mut obj = json!({"spec": spec, "other": top});
        let old = json!({"spec": old_spec});
        let _ = s.validate(&obj, Some(&old));
        let _ = s.validate(&obj, None);
        let _ = s.validate_status_update(&obj, &old);
        s.prune(&mut obj);
        let once = obj.clone();
        prop_assert!(s.prune(&mut obj).is_empty(), "pruning twice removes nothing more");
        prop_assert_eq!(&obj, &once);
        s.apply_defaults(&mut obj);
        let _ = s.validate(&obj, Some(&old));
    }

    #[test]
    fn arbitrary_roots(root in arb_json()) {
        let s = schema();
        let mut obj = root;
        let _ = s.validate(&obj, None);
        let _ = s.validate(&obj, Some(&obj.clone()));
        s.prune(&mut obj);
        s.apply_defaults(&mut obj);
        let _ = s.validate(&obj, None);
    }

    #[test]
    fn arbitrary_schemas_compile_or_fail_cleanly(schema in arb_schema(), obj in arb_json(), old in arb_json()) {
        if let Ok(s) = Schema::compile(&schema) {
            let mut obj = json!({"spec": obj});
            let old = json!({"spec": old});
            let _ = s.validate(&obj, None);
            let _ = s.validate(&obj, Some(&old));
            let _ = s.validate_status_update(&obj, &old);
            s.prune(&mut obj);
            s.apply_defaults(&mut obj);
            let _ = s.validate(&obj, Some(&old));
        }
        let _ = crd_schema::openapi_v3_component(&schema, "example.com", "v1", "Thing");
    }
}

#[test]
fn generated_schemas_sometimes_compile() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_schema();
    let compiled = (0..500)
        .filter(|_| {
            let s = strategy.new_tree(&mut runner).expect("tree").current();
            Schema::compile(&s).is_ok()
        })
        .count();
    assert!(
        compiled > 200,
        "only {compiled} of 500 generated schemas compiled; the generator explores too little of the valid space"
    );
}
