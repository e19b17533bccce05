//! Owns the audit event model (schema version 1.0) and its validation, shared by DataStorage
//! (which must reject bad input naming the field) and its clients (which check before buffering
//! so that one bad event cannot make the server reject a whole batch).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The only schema version this crate reads and writes.
pub const EVENT_VERSION: &str = "1.0";

/// Longest accepted value of the short text fields (types, ids, names). Kubernetes names are at
/// most 253 characters; 255 leaves room for the `ns/kind/name` style ids without allowing blobs.
pub const MAX_SHORT_FIELD_LEN: usize = 255;

/// Longest accepted `error_message`: enough for a wrapped error chain, small enough that a batch
/// of 1,000 events stays a few megabytes.
pub const MAX_ERROR_MESSAGE_LEN: usize = 4096;

/// Largest accepted `event_data` once serialised. Audit payloads are summaries, not dumps; the
/// bound keeps a full batch (1,000 events) well under the server's body limit.
pub const MAX_EVENT_DATA_BYTES: usize = 16 * 1024;

/// Largest number of events in one batch request (DataStorage's contract).
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Earliest storable `event_timestamp`, `0000-01-01T00:00:00Z` (as seconds since the Unix epoch):
/// RFC 3339 years have four digits, so an earlier instant (e.g. `0000-01-01T00:00:00+01:00`,
/// which is in year -1 in UTC) would be returned as text no RFC 3339 reader accepts.
/// PostgreSQL's `timestamptz` reaches further back (4713 BC), so this is the binding bound.
pub const MIN_EVENT_TIMESTAMP_SECS: i64 = -62_167_219_200;

/// Latest storable `event_timestamp`, `9999-12-31T23:59:59.999999999Z` (its whole seconds):
/// beyond it the UTC form has a five-digit year (`+10000-01-01T...`), which RFC 3339 cannot
/// express, although PostgreSQL would store it (its `timestamptz` reaches year 294276).
pub const MAX_EVENT_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// Text of the storable `event_timestamp` range, for error messages and docs.
pub const EVENT_TIMESTAMP_RANGE: &str = "0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z";

/// Outcome of the audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcome {
    /// The action succeeded.
    Success,
    /// The action failed.
    Failure,
    /// The action started and has not finished yet.
    Pending,
}

impl EventOutcome {
    /// Every outcome, in the order the schema lists them.
    pub const ALL: [EventOutcome; 3] = [
        EventOutcome::Success,
        EventOutcome::Failure,
        EventOutcome::Pending,
    ];

    /// The wire (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Success => "success",
            EventOutcome::Failure => "failure",
            EventOutcome::Pending => "pending",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl std::fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit event. `event_id` is assigned by DataStorage: it is `None` in requests and `Some`
/// in everything DataStorage returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Server-assigned identifier (the primary key; it makes dead-letter replays idempotent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// Schema version, always [`EVENT_VERSION`].
    pub version: String,
    /// Dotted type, e.g. `workflowexecution.workflow.completed`.
    pub event_type: String,
    /// When the audited action happened.
    pub event_timestamp: DateTime<Utc>,
    /// Broad category, e.g. `workflowexecution`.
    pub event_category: String,
    /// The action, e.g. `completed`.
    pub event_action: String,
    /// How it ended.
    pub event_outcome: EventOutcome,
    /// Ties the events of one remediation together (the RemediationRequest name).
    pub correlation_id: String,
    /// Free-form details; always a JSON object.
    pub event_data: Map<String, Value>,
    /// Who acted, e.g. `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_type: Option<String>,
    /// Who acted, e.g. `workflowexecution-controller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Kind of the affected resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Name or id of the affected resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Kubernetes namespace of the affected resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How long the action took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Machine-readable error code, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Human-readable error, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// An event that does not satisfy the schema. `field` names the offending field (prefixed with
/// `[i].` inside a batch) so that a 400 answer can point at it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid audit event field `{field}`: {reason}")]
pub struct ValidationError {
    /// The offending field, e.g. `event_outcome` or `[3].event_data`.
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl ValidationError {
    fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The same error for the event at `index` of a batch.
    pub fn in_batch(mut self, index: usize) -> Self {
        self.field = format!("[{index}].{}", self.field);
        self
    }
}

const REQUIRED_TEXT: [&str; 5] = [
    "event_type",
    "event_category",
    "event_action",
    "correlation_id",
    "version",
];
const OPTIONAL_TEXT: [&str; 7] = [
    "actor_type",
    "actor_id",
    "resource_type",
    "resource_id",
    "namespace",
    "error_code",
    "error_message",
];
const OTHER_FIELDS: [&str; 4] = [
    "event_timestamp",
    "event_outcome",
    "event_data",
    "duration_ms",
];

impl AuditEvent {
    /// A new event happening now, with empty `event_data` and no optional fields.
    pub fn new(
        event_type: impl Into<String>,
        event_category: impl Into<String>,
        event_action: impl Into<String>,
        event_outcome: EventOutcome,
        correlation_id: impl Into<String>,
    ) -> Self {
        Self {
            event_id: None,
            version: EVENT_VERSION.to_owned(),
            event_type: event_type.into(),
            event_timestamp: Utc::now(),
            event_category: event_category.into(),
            event_action: event_action.into(),
            event_outcome,
            correlation_id: correlation_id.into(),
            event_data: Map::new(),
            actor_type: None,
            actor_id: None,
            resource_type: None,
            resource_id: None,
            namespace: None,
            duration_ms: None,
            error_code: None,
            error_message: None,
        }
    }

    /// Sets `event_timestamp`.
    pub fn at(mut self, timestamp: DateTime<Utc>) -> Self {
        self.event_timestamp = timestamp;
        self
    }

    /// Sets `actor_type` and `actor_id`.
    pub fn with_actor(
        mut self,
        actor_type: impl Into<String>,
        actor_id: impl Into<String>,
    ) -> Self {
        self.actor_type = Some(actor_type.into());
        self.actor_id = Some(actor_id.into());
        self
    }

    /// Sets `resource_type` and `resource_id`.
    pub fn with_resource(
        mut self,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> Self {
        self.resource_type = Some(resource_type.into());
        self.resource_id = Some(resource_id.into());
        self
    }

    /// Sets `namespace`.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Sets one key of `event_data`.
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.event_data.insert(key.into(), value.into());
        self
    }

    /// Sets `duration_ms`.
    pub fn with_duration_ms(mut self, duration_ms: i64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }

    /// Sets `error_code` and `error_message`.
    pub fn with_error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.error_code = Some(code.into());
        self.error_message = Some(message.into());
        self
    }

    /// Checks the schema's rules that the types alone do not enforce: the version, non-empty
    /// required text, lengths, a non-negative duration, the size of `event_data`, and what
    /// PostgreSQL cannot store or the JSON output cannot return: a NUL character (`\u0000`) in
    /// any string, `event_data` keys and values at any depth included (the error names the JSON
    /// path, e.g. `event_data.steps[2].name`), and an `event_timestamp` outside
    /// [`EVENT_TIMESTAMP_RANGE`].
    /// `event_id` is not checked here: DataStorage rejects it in requests (see [`Self::from_request`]).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.version != EVENT_VERSION {
            return Err(ValidationError::new(
                "version",
                format!(
                    "unsupported version {:?}; this service accepts {EVENT_VERSION:?}",
                    self.version
                ),
            ));
        }
        let required = [
            ("event_type", &self.event_type),
            ("event_category", &self.event_category),
            ("event_action", &self.event_action),
            ("correlation_id", &self.correlation_id),
        ];
        for (field, value) in required {
            if value.trim().is_empty() {
                return Err(ValidationError::new(field, "must not be empty"));
            }
            check_len(field, value, MAX_SHORT_FIELD_LEN)?;
        }
        let optional = [
            ("actor_type", &self.actor_type),
            ("actor_id", &self.actor_id),
            ("resource_type", &self.resource_type),
            ("resource_id", &self.resource_id),
            ("namespace", &self.namespace),
            ("error_code", &self.error_code),
        ];
        for (field, value) in optional {
            if let Some(value) = value {
                check_len(field, value, MAX_SHORT_FIELD_LEN)?;
            }
        }
        if let Some(message) = &self.error_message {
            check_len("error_message", message, MAX_ERROR_MESSAGE_LEN)?;
        }
        if let Some(duration) = self.duration_ms
            && duration < 0
        {
            return Err(ValidationError::new(
                "duration_ms",
                format!("must not be negative, got {duration}"),
            ));
        }
        // Serialising a Map of Values cannot fail; measuring it bounds what one event may store.
        let data_len = serde_json::to_vec(&self.event_data)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if data_len > MAX_EVENT_DATA_BYTES {
            return Err(ValidationError::new(
                "event_data",
                format!("is {data_len} bytes serialised; the limit is {MAX_EVENT_DATA_BYTES}"),
            ));
        }
        self.check_storable()
    }

    /// The rules PostgreSQL or the JSON output would otherwise break on: NUL characters (which
    /// `text` and `jsonb` refuse) and timestamps outside [`EVENT_TIMESTAMP_RANGE`].
    fn check_storable(&self) -> Result<(), ValidationError> {
        let text = [
            ("version", Some(&self.version)),
            ("event_type", Some(&self.event_type)),
            ("event_category", Some(&self.event_category)),
            ("event_action", Some(&self.event_action)),
            ("correlation_id", Some(&self.correlation_id)),
            ("actor_type", self.actor_type.as_ref()),
            ("actor_id", self.actor_id.as_ref()),
            ("resource_type", self.resource_type.as_ref()),
            ("resource_id", self.resource_id.as_ref()),
            ("namespace", self.namespace.as_ref()),
            ("error_code", self.error_code.as_ref()),
            ("error_message", self.error_message.as_ref()),
        ];
        for (field, value) in text {
            if let Some(value) = value {
                check_no_nul(field, value)?;
            }
        }
        let mut path = String::from("event_data");
        check_json_no_nul(&mut path, &self.event_data)?;
        let seconds = self.event_timestamp.timestamp();
        if !(MIN_EVENT_TIMESTAMP_SECS..=MAX_EVENT_TIMESTAMP_SECS).contains(&seconds) {
            return Err(ValidationError::new(
                "event_timestamp",
                format!(
                    "is {} in UTC, outside the storable range {EVENT_TIMESTAMP_RANGE} \
                     (RFC 3339 years have four digits); check the clock and the UTC offset",
                    self.event_timestamp
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
            ));
        }
        Ok(())
    }

    /// Reads one event from a request body value, naming the first offending field: unknown
    /// fields, a client-supplied `event_id`, missing required fields, wrong JSON types, a bad
    /// enum value, a non-object `event_data`, then everything [`Self::validate`] checks.
    pub fn from_request(value: Value) -> Result<Self, ValidationError> {
        let Value::Object(object) = value else {
            return Err(ValidationError::new(
                "event",
                format!("must be a JSON object, got {}", json_type(&value)),
            ));
        };
        for key in object.keys() {
            if key == "event_id" {
                return Err(ValidationError::new(
                    "event_id",
                    "is assigned by the server; leave it out",
                ));
            }
            let known = REQUIRED_TEXT.contains(&key.as_str())
                || OPTIONAL_TEXT.contains(&key.as_str())
                || OTHER_FIELDS.contains(&key.as_str());
            if !known {
                // An empty key still needs a visible name in the answer.
                let name = if key.is_empty() { "\"\"" } else { key.as_str() };
                return Err(ValidationError::new(
                    name,
                    "is not a field of audit event schema 1.0",
                ));
            }
        }
        // Check presence and JSON types first so the error names the field rather than quoting serde.
        for field in REQUIRED_TEXT {
            match object.get(field) {
                None | Some(Value::Null) => return Err(ValidationError::new(field, "is required")),
                Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(ValidationError::new(
                        field,
                        format!("must be a string, got {}", json_type(other)),
                    ));
                }
            }
        }
        for field in OPTIONAL_TEXT {
            match object.get(field) {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(ValidationError::new(
                        field,
                        format!("must be a string, got {}", json_type(other)),
                    ));
                }
            }
        }
        match object.get("event_timestamp") {
            None | Some(Value::Null) => {
                return Err(ValidationError::new("event_timestamp", "is required"));
            }
            Some(Value::String(s)) => {
                if DateTime::parse_from_rfc3339(s).is_err() {
                    return Err(ValidationError::new(
                        "event_timestamp",
                        format!(
                            "must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, got {s:?}"
                        ),
                    ));
                }
            }
            Some(other) => {
                return Err(ValidationError::new(
                    "event_timestamp",
                    format!("must be an RFC 3339 string, got {}", json_type(other)),
                ));
            }
        }
        match object.get("event_outcome") {
            None | Some(Value::Null) => {
                return Err(ValidationError::new("event_outcome", "is required"));
            }
            Some(Value::String(s)) if EventOutcome::parse(s).is_some() => {}
            Some(other) => {
                return Err(ValidationError::new(
                    "event_outcome",
                    format!("must be one of \"success\", \"failure\", \"pending\"; got {other}"),
                ));
            }
        }
        match object.get("event_data") {
            None | Some(Value::Null) => {
                return Err(ValidationError::new(
                    "event_data",
                    "is required (use {} for none)",
                ));
            }
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(ValidationError::new(
                    "event_data",
                    format!("must be a JSON object, got {}", json_type(other)),
                ));
            }
        }
        match object.get("duration_ms") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_i64().is_some() => {}
            Some(other) => {
                return Err(ValidationError::new(
                    "duration_ms",
                    format!("must be an integer number of milliseconds, got {other}"),
                ));
            }
        }
        // Every field has been checked, so this only fails if the two lists above and the struct
        // disagree; report it against the event rather than panicking.
        let event: AuditEvent = serde_json::from_value(Value::Object(object)).map_err(|e| {
            ValidationError::new("event", format!("does not match schema 1.0: {e}"))
        })?;
        event.validate()?;
        Ok(event)
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        return Err(ValidationError::new(
            field,
            format!("is {} bytes long; the limit is {max}", value.len()),
        ));
    }
    Ok(())
}

/// Why a NUL is refused, shared by every message that reports one.
const NUL_REASON: &str = "PostgreSQL cannot store it in text or jsonb; remove or replace it";

fn check_no_nul(field: &str, value: &str) -> Result<(), ValidationError> {
    match value.find('\0') {
        None => Ok(()),
        Some(at) => Err(ValidationError::new(
            field,
            format!("contains a NUL character (\\u0000) at byte {at}; {NUL_REASON}"),
        )),
    }
}

/// Walks `event_data`, extending `path` as it descends, and names the first key or string
/// value holding a NUL.
fn check_json_no_nul(
    path: &mut String,
    object: &Map<String, Value>,
) -> Result<(), ValidationError> {
    for (key, value) in object {
        let len = path.len();
        push_key(path, key);
        if key.contains('\0') {
            return Err(ValidationError::new(
                path,
                format!("is a key containing a NUL character (\\u0000); {NUL_REASON}"),
            ));
        }
        check_value_no_nul(path, value)?;
        path.truncate(len);
    }
    Ok(())
}

fn check_value_no_nul(path: &mut String, value: &Value) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => check_no_nul(path, s),
        Value::Object(object) => check_json_no_nul(path, object),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_value_no_nul(path, item)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Appends `.key` for identifier-like keys and `["key"]` (JSON-escaped) for any other, so the
/// path reads unambiguously whatever the key holds.
fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        // Serialising a string cannot fail.
        path.push('[');
        path.push_str(&serde_json::to_string(key).unwrap_or_default());
        path.push(']');
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "version": "1.0",
            "event_type": "workflowexecution.workflow.completed",
            "event_timestamp": "2026-01-02T03:04:05Z",
            "event_category": "workflowexecution",
            "event_action": "completed",
            "event_outcome": "success",
            "correlation_id": "rr-1",
            "event_data": {"k": 1},
            "actor_type": "service",
            "duration_ms": 12
        })
    }

    fn field_of(value: Value) -> String {
        AuditEvent::from_request(value)
            .expect_err("must be rejected")
            .field
    }

    #[test]
    fn accepts_a_valid_event_and_round_trips() {
        let event = AuditEvent::from_request(valid()).expect("valid");
        assert_eq!(event.event_outcome, EventOutcome::Success);
        assert_eq!(event.duration_ms, Some(12));
        let back = serde_json::to_value(&event).expect("serialise");
        assert_eq!(AuditEvent::from_request(back).expect("round trip"), event);
    }

    #[test]
    fn names_each_missing_required_field() {
        for field in REQUIRED_TEXT
            .iter()
            .chain(&["event_timestamp", "event_outcome", "event_data"])
        {
            let mut v = valid();
            v.as_object_mut().expect("object").remove(*field);
            assert_eq!(field_of(v), *field);
        }
    }

    #[test]
    fn names_bad_types_and_values() {
        let cases = [
            ("event_outcome", json!("maybe")),
            ("event_outcome", json!(1)),
            ("event_data", json!([1, 2])),
            ("event_data", json!("x")),
            ("event_type", json!(5)),
            ("actor_id", json!({"a": 1})),
            ("event_timestamp", json!("yesterday")),
            ("duration_ms", json!(-1)),
            ("duration_ms", json!(1.5)),
            ("version", json!("2.0")),
            ("correlation_id", json!("  ")),
            ("event_action", json!("x".repeat(MAX_SHORT_FIELD_LEN + 1))),
        ];
        for (field, bad) in cases {
            let mut v = valid();
            v[field] = bad.clone();
            assert_eq!(field_of(v), field, "value {bad}");
        }
    }

    #[test]
    fn rejects_unknown_fields_event_id_and_non_objects() {
        let mut v = valid();
        v["colour"] = json!("red");
        assert_eq!(field_of(v), "colour");
        let mut v = valid();
        v["event_id"] = json!(Uuid::new_v4());
        assert_eq!(field_of(v), "event_id");
        assert_eq!(field_of(json!([1])), "event");
    }

    #[test]
    fn rejects_oversized_event_data() {
        let mut v = valid();
        v["event_data"] = json!({"blob": "x".repeat(MAX_EVENT_DATA_BYTES)});
        assert_eq!(field_of(v), "event_data");
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_its_json_path() {
        let cases = [
            (json!({"k": "a\u{0}b"}), "event_data.k"),
            (
                json!({"outer": {"list": [1, "x\u{0}"]}}),
                "event_data.outer.list[1]",
            ),
            (json!({"a\u{0}b": 1}), "event_data[\"a\\u0000b\"]"),
            (
                json!({"ok": {"has space": ["\u{0}"]}}),
                "event_data.ok[\"has space\"][0]",
            ),
            (
                json!({"deep": [[{"x-y": "\u{0}"}]]}),
                "event_data.deep[0][0].x-y",
            ),
        ];
        for (data, path) in cases {
            let mut v = valid();
            v["event_data"] = data.clone();
            let err = AuditEvent::from_request(v).expect_err("NUL must be refused");
            assert_eq!(err.field, path, "{data}");
            assert!(err.reason.contains("NUL"), "{err}");
        }
        for field in [
            "correlation_id",
            "event_type",
            "actor_id",
            "error_message",
            "namespace",
        ] {
            let mut v = valid();
            v[field] = json!("a\u{0}b");
            assert_eq!(field_of(v), field);
        }
        // Other control characters are stored fine and stay accepted.
        let mut v = valid();
        v["event_data"] = json!({"k": "tab\there\u{1}"});
        AuditEvent::from_request(v).expect("accepted");
    }

    #[test]
    fn timestamps_outside_the_four_digit_utc_years_are_refused_naming_the_range() {
        for bad in [
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:00:00-01:00",
            "0000-01-01T00:00:00+01:00",
        ] {
            let mut v = valid();
            v["event_timestamp"] = json!(bad);
            let err = AuditEvent::from_request(v).expect_err(bad);
            assert_eq!(err.field, "event_timestamp", "{bad}");
            assert!(err.reason.contains(EVENT_TIMESTAMP_RANGE), "{err}");
        }
        for good in [
            "9999-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59+14:00",
            "0000-01-01T00:00:00Z",
            "0000-01-01T10:00:00+10:00",
        ] {
            let mut v = valid();
            v["event_timestamp"] = json!(good);
            let event = AuditEvent::from_request(v).expect(good);
            // What DataStorage returns reads back as the same instant.
            let back = serde_json::to_value(&event).expect("serialise");
            assert_eq!(AuditEvent::from_request(back).expect(good), event);
        }
    }

    #[test]
    fn batch_prefix_names_the_index() {
        let err = ValidationError::new("event_type", "is required").in_batch(3);
        assert_eq!(err.field, "[3].event_type");
    }

    #[test]
    fn builder_produces_a_valid_event() {
        let e = AuditEvent::new("a.b.c", "a", "c", EventOutcome::Failure, "rr")
            .with_actor("service", "x")
            .with_resource("WorkflowExecution", "we-1")
            .with_namespace("ns")
            .with_data("k", "v")
            .with_duration_ms(3)
            .with_error("E1", "boom");
        e.validate().expect("valid");
        assert!(e.event_id.is_none());
    }
}
