//! Event validation, as kube's `pkg/apis/core/validation/events.go` (`ValidateEventCreate`,
//! `ValidateEventUpdate`) and the Event strategy (`pkg/registry/core/event/strategy.go`) apply it.
//!
//! core/v1 and events.k8s.io/v1 Events are one stored resource (`crate::events`), validated in
//! the stored core form (so kube's paths name the core fields: `involvedObject`, `message`,
//! `reportingController`), but how strictly depends on the API the request came through: every
//! Event passes the legacy rules; a write through events.k8s.io/v1 (anything but core v1 and
//! events.k8s.io/v1beta1) must also be a well-formed new-style Event (ObjectMeta with a
//! DNS-subdomain name, `eventTime`, a `Normal`/`Warning` type, a valid series, the deprecated
//! fields unset) and may change none of its fields on update.
//!
//! The Event strategy's `Validate` replaces the generic store's ObjectMeta check only when it
//! fails: kube then checks ObjectMeta with path-segment names (`rest.BeforeCreate`), so a core v1
//! Event may have a name such as `Pod_A.17f0`; `crate::validation::validate_create` orders the two.

use serde_json::Value;

use crate::status::Cause;
use crate::validation::field::{self, GO_EMPTY_STRING, go_struct, str_of};
use crate::validation::objectmeta::{self, NameRule};
use crate::validation::selector::invalid_go;

/// `ReportingInstanceLengthLimit`, `ActionLengthLimit`, `ReasonLengthLimit`.
const SHORT_LIMIT: usize = 128;
/// `NoteLengthLimit`.
const NOTE_LIMIT: usize = 1024;
const FIELD_IMMUTABLE: &str = "field is immutable";

/// Whether a request through `api_version` gets the strict (events.k8s.io/v1) rules: kube
/// keeps core v1 and events.k8s.io/v1beta1 lenient for backwards compatibility.
pub fn strict(api_version: &str) -> bool {
    !matches!(api_version, "v1" | "events.k8s.io/v1beta1")
}

/// Whether a `metav1.Time`/`MicroTime` field is Go's zero time (unset, null, or year 1).
fn zero_time(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .is_ok_and(|t| t == "0001-01-01T00:00:00Z".parse().unwrap_or(t)),
        Some(_) => false,
    }
}

/// `field.Invalid(path, "", detail)`: kube reports these with an empty bad value.
fn invalid_empty(path: &str, detail: &str) -> Cause {
    field::invalid_str(path, "", detail)
}

/// `legacyValidateEvent`: the namespace agrees with the involved object's; new-style Events
/// (with an `eventTime`) name their reporter, action and reason within the length limits.
fn legacy(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = obj
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mismatch = || {
        field::invalid_str(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    if zero_time(obj.get("eventTime")) {
        let agrees = if involved_ns.is_empty() {
            // Old clients wrote cluster-scoped objects' Events to "default".
            matches!(namespace, "" | "default")
        } else {
            namespace == involved_ns
        };
        if !agrees {
            causes.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && !matches!(namespace, "default" | "kube-system") {
            causes.push(mismatch());
        }
        let controller = str_of(obj, "reportingComponent");
        if controller.is_empty() {
            causes.push(field::required("reportingController", ""));
        }
        causes.extend(field::each(
            "reportingController",
            controller,
            field::qualified_name(controller),
        ));
        for (path, json, limit) in [
            ("reportingInstance", "reportingInstance", SHORT_LIMIT),
            ("action", "action", SHORT_LIMIT),
            ("reason", "reason", SHORT_LIMIT),
        ] {
            let value = str_of(obj, json);
            if value.is_empty() {
                causes.push(field::required(path, ""));
            }
            if value.len() > limit {
                causes.push(invalid_empty(
                    path,
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
        if str_of(obj, "message").len() > NOTE_LIMIT {
            causes.push(invalid_empty(
                "message",
                &format!("can have at most {NOTE_LIMIT} characters"),
            ));
        }
    }
    causes.extend(field::each(
        "namespace",
        namespace,
        field::dns1123_subdomain(namespace),
    ));
    causes
}

/// `validateV1EventSeries`.
fn series(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(series) = obj.get("series").filter(|s| !s.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            causes.push(invalid_empty("series.count", "should be at least 2"));
        }
        if zero_time(series.get("lastObservedTime")) {
            causes.push(field::required("series.lastObservedTime", ""));
        }
    }
    causes
}

/// `ValidateEventCreate` for a request through `api_version` (without the generic ObjectMeta
/// check, which `validate_create` adds when this passes).
pub fn validate(obj: &Value, api_version: &str) -> Vec<Cause> {
    let mut causes = legacy(obj);
    if !strict(api_version) {
        return causes;
    }
    // Core's `ValidateObjectMeta` wrapper: apimachinery's checks, then the finalizer names.
    causes.extend(objectmeta::validate(obj, true, NameRule::Subdomain));
    causes.extend(objectmeta::kube_finalizer_names(obj));
    causes.extend(series(obj));
    if zero_time(obj.get("eventTime")) {
        causes.push(field::required("eventTime", ""));
    }
    let ty = str_of(obj, "type");
    if !matches!(ty, "Normal" | "Warning") {
        causes.push(invalid_empty("type", &format!("has invalid value: {ty}")));
    }
    for f in ["firstTimestamp", "lastTimestamp"] {
        if !zero_time(obj.get(f)) {
            causes.push(invalid_empty(f, "needs to be unset"));
        }
    }
    if obj.get("count").and_then(Value::as_i64).unwrap_or(0) != 0 {
        causes.push(invalid_empty("count", "needs to be unset"));
    }
    let source = obj.get("source").unwrap_or(&Value::Null);
    if !str_of(source, "component").is_empty() || !str_of(source, "host").is_empty() {
        causes.push(invalid_empty("source", "needs to be unset"));
    }
    causes
}

/// The internal `core.ObjectReference`'s fields (Go name, JSON name, zero value).
fn object_reference() -> [(&'static str, &'static str, Value); 7] {
    [
        ("Kind", "kind", GO_EMPTY_STRING),
        ("Namespace", "namespace", GO_EMPTY_STRING),
        ("Name", "name", GO_EMPTY_STRING),
        ("UID", "uid", GO_EMPTY_STRING),
        ("APIVersion", "apiVersion", GO_EMPTY_STRING),
        ("ResourceVersion", "resourceVersion", GO_EMPTY_STRING),
        ("FieldPath", "fieldPath", GO_EMPTY_STRING),
    ]
}

/// How the bad value of an immutable Event field prints (`ValidateImmutableField(new, ...)`):
/// strings quoted, the count bare, times as Go's `Time.String()`, the internal structs as
/// their Go JSON, a nil `related` as `null`.
fn render(field: &str, v: Option<&Value>) -> String {
    let v = v.filter(|x| !x.is_null());
    match field {
        "count" => v.and_then(Value::as_i64).unwrap_or(0).to_string(),
        "firstTimestamp" | "lastTimestamp" | "eventTime" => {
            let text = v.filter(|t| !zero_time(Some(t))).and_then(Value::as_str);
            field::go_time(text, field == "eventTime")
        }
        "involvedObject" => go_struct(v.unwrap_or(&Value::Null), &object_reference()),
        "related" => v.map_or("null".into(), |r| go_struct(r, &object_reference())),
        "source" => go_struct(
            v.unwrap_or(&Value::Null),
            &[
                ("Component", "component", GO_EMPTY_STRING),
                ("Host", "host", GO_EMPTY_STRING),
            ],
        ),
        _ => field::quote(v.and_then(Value::as_str).unwrap_or("")),
    }
}

/// Whether a field is unchanged as kube's `Semantic.DeepEqual` sees it: absent and null (and
/// zero values) alike, times compared as instants.
fn same(field: &str, new: Option<&Value>, old: Option<&Value>) -> bool {
    let (n, o) = (new.filter(|x| !x.is_null()), old.filter(|x| !x.is_null()));
    match field {
        "firstTimestamp" | "lastTimestamp" | "eventTime" => {
            let instant = |v: Option<&Value>| {
                if zero_time(v) {
                    return Ok(None);
                }
                let text = v.and_then(Value::as_str).unwrap_or("");
                text.parse::<jiff::Timestamp>()
                    .map(Some)
                    .map_err(|_| text.to_owned())
            };
            instant(n) == instant(o)
        }
        "count" => n.and_then(Value::as_i64).unwrap_or(0) == o.and_then(Value::as_i64).unwrap_or(0),
        "related" => n == o,
        "involvedObject" | "source" => {
            let strip = |v: Option<&Value>| {
                let mut m = v.and_then(Value::as_object).cloned().unwrap_or_default();
                m.retain(|_, x| !x.is_null() && x.as_str() != Some(""));
                m
            };
            strip(n) == strip(o)
        }
        _ => n.and_then(Value::as_str).unwrap_or("") == o.and_then(Value::as_str).unwrap_or(""),
    }
}

/// The fields a strict update may not change, in kube's order (`reason` is checked twice
/// there, so it is listed twice: the 422 carries both causes), with their stored (core) names.
const IMMUTABLE: [&str; 14] = [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "reason",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
];

/// The path kube reports for a stored field (its core name, but `reportingController`).
fn path_of(stored: &str) -> &str {
    match stored {
        "reportingComponent" => "reportingController",
        other => other,
    }
}

/// `ValidateEventUpdate` for a request through `api_version` (the generic ObjectMeta update
/// check comes first, from `objectmeta::validate_update`).
pub fn validate_update(new: &Value, old: &Value, api_version: &str) -> Vec<Cause> {
    let mut causes = legacy(new);
    if !strict(api_version) {
        return causes;
    }
    // kube's strategy checks ObjectMeta's update rules again (after the generic store did).
    causes.extend(objectmeta::validate_update(new, old));
    causes.extend(objectmeta::kube_finalizer_names(new));
    let null = Value::Null;
    if new.get("series").unwrap_or(&null) != old.get("series").unwrap_or(&null) {
        causes.extend(series(new));
    }
    for stored in IMMUTABLE {
        let (n, o) = (new.get(stored), old.get(stored));
        if !same(stored, n, o) {
            causes.push(invalid_go(
                path_of(stored),
                &render(stored, n),
                FIELD_IMMUTABLE,
            ));
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn arbitrary_json_is_tolerated() {
        for v in [
            json!(null),
            json!(5),
            json!({"series": 3, "eventTime": 1, "source": []}),
        ] {
            let _ = validate(&v, "events.k8s.io/v1");
            let _ = validate_update(&v, &json!(null), "events.k8s.io/v1");
        }
    }

    #[test]
    fn legacy_rules_apply_to_core_writes() {
        let e = json!({"metadata": {"namespace": "a"}, "involvedObject": {"namespace": "b"}});
        assert_eq!(
            messages(&validate(&e, "v1")),
            vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
        );
        let e = json!({"metadata": {"namespace": "default"}, "eventTime": "2026-01-01T00:00:00.000000Z"});
        assert_eq!(
            messages(&validate(&e, "v1")),
            vec![
                "reportingController: Required value",
                "reportingController: Invalid value: \"\": name part must be non-empty",
                "reportingController: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
            ]
        );
    }

    #[test]
    fn immutable_values_print_as_kube_prints_them() {
        assert_eq!(
            render("eventTime", Some(&json!("2026-01-01T00:00:00.500000Z"))),
            r#""2026-01-01T00:00:00.500000Z""#
        );
        // metav1.MicroTime and Time are json.Marshalers: RFC 3339 in UTC, null when zero.
        assert_eq!(
            render("eventTime", Some(&json!("2026-01-01T01:00:00+01:00"))),
            r#""2026-01-01T00:00:00.000000Z""#
        );
        assert_eq!(
            render("firstTimestamp", Some(&json!("2026-01-01T00:00:07Z"))),
            r#""2026-01-01T00:00:07Z""#
        );
        assert_eq!(render("lastTimestamp", None), "null");
        assert_eq!(
            render("involvedObject", Some(&json!({"kind": "Pod", "name": "p"}))),
            r#"{"Kind":"Pod","Namespace":"","Name":"p","UID":"","APIVersion":"","ResourceVersion":"","FieldPath":""}"#
        );
        assert_eq!(render("related", None), "null");
        assert!(same(
            "eventTime",
            Some(&json!("2026-01-01T00:00:00Z")),
            Some(&json!("2026-01-01T00:00:00.000000Z"))
        ));
    }
}
