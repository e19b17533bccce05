//! Property tests of event validation: any JSON a client may send is either accepted as an
//! event that survives a round trip, or rejected naming a field; it never panics.

use audit::{AuditEvent, EventOutcome};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Field names the schema knows, plus a few it does not.
const KEYS: [&str; 20] = [
    "version",
    "event_type",
    "event_timestamp",
    "event_category",
    "event_action",
    "event_outcome",
    "correlation_id",
    "event_data",
    "actor_type",
    "actor_id",
    "resource_type",
    "resource_id",
    "namespace",
    "duration_ms",
    "error_code",
    "error_message",
    "event_id",
    "extra",
    "",
    "ευ",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::from),
        Just(json!("1.0")),
        Just(json!("success")),
        Just(json!("2026-01-02T03:04:05Z")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..6).prop_map(
                |kvs| Value::Object(kvs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
        ]
    })
}

/// Objects over the schema's keys with mostly well-typed values, so that many are valid.
fn near_event() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        3 => "[a-z.]{1,12}".prop_map(Value::from),
        1 => json_value(),
        1 => Just(json!({"k": 1})),
        1 => (0i64..10_000).prop_map(Value::from),
    ];
    prop::collection::vec((prop::sample::select(KEYS[..16].to_vec()), value), 0..16).prop_map(
        |kvs| {
            let mut base: Map<String, Value> = serde_json::from_value(json!({
                "version": "1.0", "event_type": "a.b", "event_timestamp": "2026-01-02T03:04:05Z",
                "event_category": "a", "event_action": "b", "event_outcome": "pending",
                "correlation_id": "c", "event_data": {}
            }))
            .expect("base");
            for (k, v) in kvs {
                base.insert(k.to_owned(), v);
            }
            Value::Object(base)
        },
    )
}

fn check(value: Value) {
    match AuditEvent::from_request(value) {
        Ok(event) => {
            event.validate().expect("an accepted event is valid");
            assert!(EventOutcome::parse(event.event_outcome.as_str()).is_some());
            let back = serde_json::to_value(&event).expect("serialise");
            assert_eq!(AuditEvent::from_request(back).expect("round trip"), event);
        }
        Err(e) => {
            assert!(!e.field.is_empty(), "the error names a field: {e}");
            assert!(!e.reason.is_empty());
        }
    }
}

proptest! {
    // Failures print the minimal input; persisting it needs a src/ file this test has not.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        check(value);
    }

    #[test]
    fn near_valid_events_are_accepted_or_name_the_field(value in near_event()) {
        check(value);
    }
}
