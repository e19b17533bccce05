//! The expression cache: a schema compiled after an earlier compile of the same rules reads
//! their syntax trees instead of parsing, and validates exactly as a parsed one; damaged entries
//! are parsed again; rules that do not parse are never stored and report the parser's errors.
//! One test in its own binary: the cache is process-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crd_schema::{ExpressionCache, Schema};
use serde_json::{Value, json};

#[derive(Default)]
struct Counted {
    entries: Mutex<HashMap<String, Vec<u8>>>,
    hits: Mutex<usize>,
    stores: Mutex<Vec<String>>,
}

/// The test's handle on the cache it gave away.
struct Shared(Arc<Counted>);

impl ExpressionCache for Shared {
    fn load(&self, source: &str) -> Option<Vec<u8>> {
        let found = self.0.entries.lock().unwrap().get(source).cloned();
        if found.is_some() {
            *self.0.hits.lock().unwrap() += 1;
        }
        found
    }

    fn store(&self, source: &str, encoded: &[u8]) {
        self.0.stores.lock().unwrap().push(source.to_owned());
        self.0
            .entries
            .lock()
            .unwrap()
            .insert(source.to_owned(), encoded.to_vec());
    }
}

const RULE: &str = "self.replicas <= self.max && self.tags.all(t, t.size() < 5)";
const MESSAGE: &str = "'replicas ' + string(self.replicas) + ' over ' + string(self.max)";
const TRANSITION: &str = "self.max >= oldSelf.max";

fn schema_json() -> Value {
    json!({"type": "object", "properties": {"spec": {
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": RULE, "messageExpression": MESSAGE},
            {"rule": TRANSITION, "message": "max may not shrink"},
        ],
        "properties": {
            "replicas": {"type": "integer"},
            "max": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }}})
}

/// What the schema says of a few objects: the messages a cached compile must reproduce.
fn verdicts(schema: &Schema) -> Vec<Vec<String>> {
    let ok = json!({"spec": {"replicas": 1, "max": 3, "tags": ["a"]}});
    let over = json!({"spec": {"replicas": 4, "max": 3, "tags": ["a"]}});
    let long_tag = json!({"spec": {"replicas": 1, "max": 3, "tags": ["abcdef"]}});
    let shrunk = json!({"spec": {"replicas": 1, "max": 2, "tags": []}});
    [
        schema.validate(&ok, None),
        schema.validate(&over, None),
        schema.validate(&long_tag, None),
        schema.validate(&shrunk, Some(&ok)),
    ]
    .iter()
    .map(|errs| errs.iter().map(ToString::to_string).collect())
    .collect()
}

#[test]
fn cached_rules_validate_as_parsed_ones() {
    let cache = Arc::new(Counted::default());
    assert!(crd_schema::keep_expressions_in(Box::new(Shared(
        cache.clone()
    ))));
    assert!(
        !crd_schema::keep_expressions_in(Box::new(Shared(Arc::default()))),
        "the first cache given wins"
    );

    // First compile: every expression parsed and stored, none read.
    let parsed = Schema::compile(&schema_json()).expect("schema compiles");
    let mut stored = cache.stores.lock().unwrap().clone();
    stored.sort();
    let mut expected = vec![MESSAGE.to_owned(), RULE.to_owned(), TRANSITION.to_owned()];
    expected.sort();
    assert_eq!(stored, expected);
    assert_eq!(*cache.hits.lock().unwrap(), 0);
    let want = verdicts(&parsed);
    assert_eq!(
        want,
        [
            vec![],
            vec!["spec: Invalid value: replicas 4 over 3".to_owned()],
            // The message expression words every failure of its rule.
            vec!["spec: Invalid value: replicas 1 over 3".to_owned()],
            vec!["spec: Invalid value: max may not shrink".to_owned()],
        ]
    );

    // Second compile: all three read back, nothing parsed or stored, the same verdicts.
    let cached = Schema::compile(&schema_json()).expect("schema compiles from the cache");
    assert_eq!(*cache.hits.lock().unwrap(), 3);
    assert_eq!(cache.stores.lock().unwrap().len(), 3);
    assert_eq!(verdicts(&cached), want);

    // A damaged entry is parsed again (and replaced); the verdicts do not change.
    cache
        .entries
        .lock()
        .unwrap()
        .insert(RULE.to_owned(), b"[7, {\"Call\": 1}]".to_vec());
    let repaired = Schema::compile(&schema_json()).expect("schema compiles past a bad entry");
    assert_eq!(verdicts(&repaired), want);
    assert_eq!(cache.stores.lock().unwrap().last().unwrap(), RULE);

    // A rule that does not parse: the parser's error, and nothing stored for it.
    let stores_before = cache.stores.lock().unwrap().len();
    let broken = json!({"type": "object", "properties": {"spec": {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.replicas <"}],
        "properties": {"replicas": {"type": "integer"}},
    }}});
    let err = Schema::compile(&broken).expect_err("a rule that does not parse");
    assert!(
        err.to_string().contains("compilation failed"),
        "the parser's error: {err}"
    );
    assert_eq!(cache.stores.lock().unwrap().len(), stores_before);
    assert!(
        !cache
            .entries
            .lock()
            .unwrap()
            .contains_key("self.replicas <")
    );
}
