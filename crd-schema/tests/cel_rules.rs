//! `x-kubernetes-validations`: rules, messages, reasons, field paths and transition rules.

use crd_schema::{ErrorKind, Schema};
use serde_json::{Value, json};

fn schema_with_spec(spec: Value) -> Schema {
    Schema::compile(&json!({"type": "object", "properties": {"spec": spec}}))
        .expect("schema compiles")
}

fn messages(schema: &Schema, obj: &Value, old: Option<&Value>) -> Vec<String> {
    schema
        .validate(obj, old)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn immutable_spec_transition_rule() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "spec is immutable"}],
        "properties": {"a": {"type": "string"}}
    }));
    let old = json!({"spec": {"a": "x"}});
    // Create: no old object, so the transition rule does not run.
    assert!(messages(&schema, &old, None).is_empty());
    // Unchanged update passes.
    assert!(messages(&schema, &old, Some(&old)).is_empty());
    let new = json!({"spec": {"a": "y"}});
    let errs = schema.validate(&new, Some(&old));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, ErrorKind::Invalid);
    assert_eq!(errs[0].field, "spec");
    assert_eq!(
        errs[0].bad_value, None,
        "objects are omitted from CEL messages since 1.34"
    );
    assert_eq!(
        errs[0].to_string(),
        "spec: Invalid value: spec is immutable"
    );
}

#[test]
fn default_message_names_the_rule() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self == oldSelf"}],
        "properties": {"a": {"type": "string"}}
    }));
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"a": "y"}}),
            Some(&json!({"spec": {"a": "x"}}))
        ),
        ["spec: Invalid value: failed rule: self == oldSelf"]
    );
}

#[test]
fn scalar_rule_shows_the_value() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"replicas": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 3"}]}}
    }));
    assert_eq!(
        messages(&schema, &json!({"spec": {"replicas": 5}}), None),
        ["spec.replicas: Invalid value: 5: failed rule: self < 3"]
    );
    assert!(messages(&schema, &json!({"spec": {"replicas": 2}}), None).is_empty());
}

#[test]
fn message_expression_reason_and_field_path() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
        "x-kubernetes-validations": [{
            "rule": "self.min <= self.max",
            "messageExpression": "'min ' + string(self.min) + ' exceeds max ' + string(self.max)",
            "fieldPath": ".min",
            "reason": "FieldValueForbidden"
        }]
    }));
    let errs = schema.validate(&json!({"spec": {"min": 5, "max": 1}}), None);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, ErrorKind::Forbidden);
    assert_eq!(
        errs[0].to_string(),
        "spec.min: Forbidden: min 5 exceeds max 1"
    );
}

#[test]
fn string_functions_and_macros() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}}
        },
        "x-kubernetes-validations": [
            {"rule": "self.name.startsWith('rr-')", "message": "name must start with rr-"},
            {"rule": "self.tags.all(t, t.matches('^[a-z]+$'))", "message": "tags must be lowercase"},
            {"rule": "size(self.tags) <= 2", "message": "at most two tags"},
            {"rule": "!has(self.name) || self.name != 'forbidden'", "message": "no forbidden"}
        ]
    }));
    assert!(
        messages(
            &schema,
            &json!({"spec": {"name": "rr-1", "tags": ["a", "b"]}}),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"name": "x", "tags": ["A", "b", "c"]}}),
            None
        ),
        [
            "spec: Invalid value: name must start with rr-",
            "spec: Invalid value: tags must be lowercase",
            "spec: Invalid value: at most two tags"
        ]
    );
}

#[test]
fn runtime_error_is_reported_with_the_rule() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "self.a == 'x'"}]
    }));
    let errs = messages(&schema, &json!({"spec": {}}), None);
    assert_eq!(
        errs,
        ["spec: Invalid value: \"object\": no such key: a evaluating rule: self.a == 'x'"]
    );
}

#[test]
fn blocking_errors_skip_cel() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "false"}]
    }));
    assert_eq!(
        messages(&schema, &json!({"spec": {}}), None),
        [
            "spec.a: Required value",
            "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
        ]
    );
}

#[test]
fn rules_on_map_values_and_list_items() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [{"rule": "size(self) < 4"}]}},
            "items": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}}
        }
    }));
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"labels": {"k": "long"}, "items": [1, 0]}}),
            None
        ),
        [
            "spec.labels[k]: Invalid value: \"long\": failed rule: size(self) < 4",
            "spec.items[1]: Invalid value: 0: failed rule: self > 0"
        ]
    );
}

#[test]
fn transition_rule_on_field_runs_only_when_old_value_exists() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"phase": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf || oldSelf == 'Pending'", "message": "phase only leaves Pending"}]}}
    }));
    let old = json!({"spec": {}});
    assert!(messages(&schema, &json!({"spec": {"phase": "Done"}}), Some(&old)).is_empty());
    let old = json!({"spec": {"phase": "Running"}});
    assert_eq!(
        messages(&schema, &json!({"spec": {"phase": "Done"}}), Some(&old)),
        ["spec.phase: Invalid value: \"Done\": phase only leaves Pending"]
    );
}

#[test]
fn root_rule_sees_metadata_name() {
    let schema = Schema::compile(&json!({
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.metadata.name.size() <= 5", "message": "short names only"}],
        "properties": {"spec": {"type": "object"}}
    }))
    .unwrap();
    assert!(
        schema
            .validate(&json!({"metadata": {"name": "abc", "uid": "u"}}), None)
            .is_empty()
    );
    assert_eq!(
        messages(&schema, &json!({"metadata": {"name": "abcdefgh"}}), None),
        ["<nil>: Invalid value: short names only"]
    );
}

#[test]
fn date_time_fields_are_timestamps() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"}
        },
        "x-kubernetes-validations": [{"rule": "self.start < self.end", "message": "start before end"}]
    }));
    assert!(
        messages(
            &schema,
            &json!({"spec": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}}),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"start": "2026-01-03T00:00:00Z", "end": "2026-01-02T00:00:00Z"}}),
            None
        ),
        ["spec: Invalid value: start before end"]
    );
}

#[test]
fn property_names_are_escaped_like_kubernetes() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"max-size": {"type": "integer"}, "namespace": {"type": "string"}, "a.b": {"type": "string"}},
        "x-kubernetes-validations": [
            {"rule": "self.max__dash__size < 10", "message": "dash"},
            {"rule": "self.__namespace__ != 'kube-system'", "message": "keyword"},
            {"rule": "self.a__dot__b != 'x'", "message": "dot"}
        ]
    }));
    assert!(
        messages(
            &schema,
            &json!({"spec": {"max-size": 1, "namespace": "default", "a.b": "y"}}),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"max-size": 11, "namespace": "kube-system", "a.b": "x"}}),
            None
        ),
        [
            "spec: Invalid value: dash",
            "spec: Invalid value: keyword",
            "spec: Invalid value: dot"
        ]
    );
}

#[test]
fn optional_old_self_runs_on_create_too() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"mode": {"type": "string", "x-kubernetes-validations": [{
            "rule": "oldSelf.hasValue() ? self == oldSelf.value() : self == 'initial'",
            "optionalOldSelf": true,
            "message": "mode starts as initial and never changes"
        }]}}
    }));
    assert!(messages(&schema, &json!({"spec": {"mode": "initial"}}), None).is_empty());
    assert_eq!(
        messages(&schema, &json!({"spec": {"mode": "other"}}), None),
        ["spec.mode: Invalid value: \"other\": mode starts as initial and never changes"]
    );
    let old = json!({"spec": {"mode": "initial"}});
    assert!(messages(&schema, &old, Some(&old)).is_empty());
    assert_eq!(
        messages(&schema, &json!({"spec": {"mode": "other"}}), Some(&old)),
        ["spec.mode: Invalid value: \"other\": mode starts as initial and never changes"]
    );
}

#[test]
fn kubernetes_list_and_regex_libraries() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "nums": {"type": "array", "items": {"type": "integer"}},
            "words": {"type": "array", "items": {"type": "string"}},
            "text": {"type": "string"}
        },
        "x-kubernetes-validations": [
            {"rule": "self.nums.isSorted()", "message": "sorted"},
            {"rule": "self.nums.sum() <= 10", "message": "sum"},
            {"rule": "self.nums.min() >= 0 && self.nums.max() < 9", "message": "range"},
            {"rule": "self.words.indexOf('b') == self.words.lastIndexOf('b')", "message": "one b"},
            {"rule": "self.text.find('[0-9]+') != '' && self.text.findAll('[a-z]').size() <= 3", "message": "text"}
        ]
    }));
    assert!(
        messages(
            &schema,
            &json!({"spec": {"nums": [1, 2, 3], "words": ["a", "b"], "text": "ab12"}}),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages(
            &schema,
            &json!({"spec": {"nums": [3, 9, -1], "words": ["b", "b"], "text": "abcd"}}),
            None
        ),
        [
            "spec: Invalid value: sorted",
            "spec: Invalid value: sum",
            "spec: Invalid value: range",
            "spec: Invalid value: one b",
            "spec: Invalid value: text"
        ]
    );
}

#[test]
fn duration_fields_are_durations() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"timeout": {"type": "string", "format": "duration"}},
        "x-kubernetes-validations": [{"rule": "self.timeout <= duration('1h')", "message": "at most an hour"}]
    }));
    assert!(messages(&schema, &json!({"spec": {"timeout": "30m"}}), None).is_empty());
    assert!(messages(&schema, &json!({"spec": {"timeout": "1h0m0.5s"}}), None).len() == 1);
    assert_eq!(
        messages(&schema, &json!({"spec": {"timeout": "90m"}}), None),
        ["spec: Invalid value: at most an hour"]
    );
}

#[test]
fn ratcheted_rule_failures_are_warnings_and_transition_rules_still_fail() {
    // The schema gained rules the stored object breaks: `size` and `tags` are invalid but
    // unchanged by this update, `name` is invalid and changed.
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "size": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self < 10", "message": "size is below 10"},
                {"rule": "self == oldSelf", "message": "size is immutable"}
            ]},
            "name": {"type": "string", "x-kubernetes-validations": [{"rule": "size(self) < 4"}]},
            // An atomic list: its items cannot be correlated one by one, so they ratchet with
            // the list (kube's nearest correlatable parent).
            "tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'bad'"}]}}
        }
    }));
    let old = json!({"spec": {"size": 12, "name": "long", "tags": ["bad"]}});
    let new = json!({"spec": {"size": 12, "name": "longer", "tags": ["bad"]}});
    let checked = schema.check(&new, Some(&old));
    let errors: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["spec.name: Invalid value: \"longer\": failed rule: size(self) < 4"]
    );
    assert_eq!(
        checked.warnings,
        [
            "spec.size: Invalid value: 12: size is below 10",
            "spec.tags[0]: Invalid value: \"bad\": failed rule: self != 'bad'"
        ]
    );
    // A changed list is checked item by item, and creates have nothing to ratchet.
    let changed = json!({"spec": {"size": 12, "name": "ok", "tags": ["bad", "x"]}});
    let checked = schema.check(&changed, Some(&old));
    assert_eq!(
        checked
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["spec.tags[0]: Invalid value: \"bad\": failed rule: self != 'bad'"]
    );
    assert_eq!(
        checked.warnings,
        ["spec.size: Invalid value: 12: size is below 10"]
    );
    let created = schema.check(&old, None);
    assert_eq!(created.errors.len(), 3, "{:?}", created.errors);
    assert!(created.warnings.is_empty());
    // The transition rule fails on a change, never as a warning.
    let resized = schema.check(&json!({"spec": {"size": 3}}), Some(&old));
    assert_eq!(
        resized
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["spec.size: Invalid value: 3: size is immutable"]
    );
    assert!(resized.warnings.is_empty(), "{:?}", resized.warnings);
}
