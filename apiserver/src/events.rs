//! Owns the two views of Events: kube-apiserver stores `events.k8s.io/v1` Events in the core
//! `events` resource and converts between the two (`pkg/apis/events/v1/conversion.go`), so one
//! store serves both APIs: each sees the other's writes in get, list and watch, with shared
//! resourceVersions. Objects are stored in the core/v1 form; the events.k8s.io view is rendered
//! on the way out, its writes converted on the way in, and its field selectors renamed to the
//! stored fields (kube's field label conversions for events.k8s.io).
//!
//! Server-side apply through the view works on the view (`Store::apply`): the stored Event is
//! shown as events.k8s.io/v1 with the field sets of managers that wrote through the core API
//! converted to the view's field names, the configuration is merged there, and the result is
//! stored in the core form with each managedFields entry in its own apiVersion's field names,
//! as kube keeps every manager's set in the version it wrote through. Ordinary writes (create,
//! update, patch) through either API are recorded the same way ([`track_write`]): the entry
//! names the API the request came through, in that API's field names, and a field one API's
//! writer changes leaves the managers of the other API too.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::catalog::ResourceInfo;
use crate::status::ApiError;
use crate::store::Target;

/// The API group of the second view.
pub const GROUP: &str = "events.k8s.io";
/// The store key both views share: the core `events` resource.
const STORAGE: &str = "/events";

/// Fields renamed between core/v1 (first) and events.k8s.io/v1 (second); every other field of
/// the two types has the same name in both (`eventTime`, `series`, `action`, `reason`, `type`,
/// `related`, `reportingInstance`).
const RENAMED: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];
/// Fields both types have under the same name.
const SHARED: &[&str] = &[
    "metadata",
    "eventTime",
    "series",
    "action",
    "reason",
    "type",
    "related",
    "reportingInstance",
];

/// Field selector labels of events.k8s.io Events and the stored (core) field each one reads
/// (kube's field label conversions for `events.k8s.io/v1`).
pub const SELECTABLE: &[(&str, &str)] = &[
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("reason", "reason"),
    ("type", "type"),
    ("source", "source.component"),
];

/// The store key of a resource kept in another resource's storage (None: its own).
pub fn shared_storage(group: &str, plural: &str) -> Option<&'static str> {
    (group == GROUP && plural == "events").then_some(STORAGE)
}

/// The API whose `events` resource kube counts as equivalent to `group`'s `events` besides the
/// group's own other versions: kube keys its `EquivalentResourceRegistry` by storage prefix, and
/// the two APIs share one, so a webhook or policy rule for either matches writes through both
/// under `matchPolicy: Equivalent`. Answers (group, version).
pub fn equivalent_api(group: &str, plural: &str) -> Option<(&'static str, &'static str)> {
    match (group, plural) {
        ("", "events") => Some((GROUP, "v1")),
        (GROUP, "events") => Some(("", "v1")),
        _ => None,
    }
}

/// Whether `info` is the events.k8s.io view of the core events.
pub fn is_view(info: &ResourceInfo) -> bool {
    shared_storage(&info.group, &info.plural).is_some()
}

/// The stored field a field-selector label of `info` reads.
pub fn storage_field<'a>(info: &ResourceInfo, label: &'a str) -> &'a str {
    if !is_view(info) {
        return label;
    }
    SELECTABLE
        .iter()
        .find(|(view, _)| *view == label)
        .map_or(label, |(_, stored)| *stored)
}

fn rename(
    obj: &Value,
    pairs: impl Iterator<Item = (&'static str, &'static str)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(m) = obj.as_object() else {
        return out;
    };
    for (from, to) in pairs {
        if let Some(v) = m.get(from) {
            out.insert(to.to_owned(), v.clone());
        }
    }
    out
}

/// A stored (core/v1) Event as events.k8s.io/v1 shows it.
pub fn to_view(core: &Value, api_version: &str) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), "Event".into());
    out.insert("apiVersion".into(), api_version.into());
    out.extend(rename(
        core,
        SHARED
            .iter()
            .map(|f| (*f, *f))
            .chain(RENAMED.iter().copied()),
    ));
    // As kube encodes the converted Go struct: eventTime has no omitempty in events.k8s.io/v1,
    // so an Event recorded through the core API without one shows it as null.
    go_form(out, api_version)
}

/// A converted Event as its Go struct writes it: Go's field presence and order.
fn go_form(map: Map<String, Value>, api_version: &str) -> Value {
    let mut v = Value::Object(map);
    crate::presence::apply(api_version, "Event", &mut v);
    crate::order::canonical(&mut v, false);
    v
}

/// An events.k8s.io/v1 Event in the stored core/v1 form; fields the view does not have are dropped.
pub fn to_core(view: &Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), "Event".into());
    out.insert("apiVersion".into(), "v1".into());
    out.extend(rename(
        view,
        SHARED
            .iter()
            .map(|f| (*f, *f))
            .chain(RENAMED.iter().map(|(core, v1)| (*v1, *core))),
    ));
    go_form(out, "v1")
}

/// The managedFields entries of `obj` that were not recorded through `keep` (an apiVersion)
/// with their top-level field names converted: to the view's names when `to_view`, else to the
/// core names. Field sets below the top level name the same fields in both types.
fn convert_managed_fields(obj: &mut Value, keep: &str, to_view: bool) {
    let Some(Value::Array(entries)) = obj.pointer_mut("/metadata/managedFields") else {
        return;
    };
    for entry in entries {
        if entry.get("apiVersion").and_then(Value::as_str) == Some(keep) {
            continue;
        }
        let Some(Value::Object(fields)) = entry.get_mut("fieldsV1") else {
            continue;
        };
        let renamed: Map<String, Value> = std::mem::take(fields)
            .into_iter()
            .map(|(k, v)| {
                let to = RENAMED.iter().find_map(|(core, view)| {
                    let (from, to) = if to_view { (core, view) } else { (view, core) };
                    (k.strip_prefix("f:") == Some(*from)).then(|| format!("f:{to}"))
                });
                (to.unwrap_or(k), v)
            })
            .collect();
        // Re-encoded so the renamed members keep FieldsV1's sorted order.
        let renamed = Value::Object(renamed);
        entry["fieldsV1"] =
            crate::managed::Set::from_fields_v1(&renamed).map_or(renamed, |s| s.to_fields_v1());
    }
}

/// Whether `info` is the storage both views share (core `events`).
fn is_storage(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.plural == "events"
}

/// The apiVersion an ordinary write's managedFields entry records: the API the request came
/// through (`request_version`, set by [`write`] for the view), else `info`'s.
pub fn writer_version(info: &ResourceInfo, request_version: Option<&str>) -> String {
    match request_version {
        Some(v) if is_storage(info) && v.starts_with("events.k8s.io/") => v.to_owned(),
        _ => info.api_version(),
    }
}

/// Records an ordinary write in `new`'s managedFields (`managed::track_update`). For Events, whose
/// managers' sets are kept in the field names of the API each wrote through, the sets are
/// compared in the stored (core) names, so that a writer of one API takes a field from a
/// manager of the other, and each entry goes back to its own API's names afterwards.
pub fn track_write(
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
    sent: Option<&Value>,
    w: crate::managed::Writer<'_>,
    shape: crate::managed::Shape<'_>,
) {
    if !is_storage(info) {
        crate::managed::track_update(old, new, sent, w, shape);
        return;
    }
    let old = old.map(|o| {
        let mut o = o.clone();
        convert_managed_fields(&mut o, "v1", false);
        o
    });
    let sent = sent.map(|mf| {
        let mut holder = serde_json::json!({"metadata": {"managedFields": mf}});
        convert_managed_fields(&mut holder, "v1", false);
        holder["metadata"]["managedFields"].take()
    });
    crate::managed::track_update(old.as_ref(), new, sent.as_ref(), w, shape);
    convert_managed_fields(new, "v1", true);
}

/// A stored (core/v1) Event as a server-side apply through `api_version` of the view reads it:
/// the view, with every other API's field sets in the view's field names.
pub fn apply_live(core: &Value, api_version: &str) -> Value {
    let mut view = to_view(core, api_version);
    convert_managed_fields(&mut view, api_version, true);
    view
}

/// The result of a server-side apply through `api_version` of the view, for storage: the core
/// form, the field sets of managers of other APIs back in the core field names.
pub fn applied_core(view: &Value, api_version: &str) -> Value {
    let mut core = to_core(view);
    convert_managed_fields(&mut core, api_version, false);
    core
}

/// Renders a stored Event for `info` when `info` is the events.k8s.io view.
pub fn render(info: &ResourceInfo, stored: &Value) -> Option<Bytes> {
    is_view(info).then(|| {
        Bytes::from(serde_json::to_vec(&to_view(stored, &info.api_version())).unwrap_or_default())
    })
}

/// The core target an events.k8s.io request writes through.
pub fn core_target<'a>(t: &Target<'a>) -> Target<'a> {
    Target {
        group: "",
        version: "v1",
        plural: "events",
        ..*t
    }
}

/// Checks that a body sent to the view is an events.k8s.io Event and converts it for storage.
pub fn incoming(info: &ResourceInfo, body: &Value) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type Event): the body is not a JSON object",
        ));
    }
    let want = info.api_version();
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !api_version.is_empty() && api_version != want {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != "Event" {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind (Event)"
        )));
    }
    Ok(to_core(body))
}

/// A written core Event's bytes re-rendered for the view.
pub fn outgoing(info: &ResourceInfo, core: &[u8]) -> Result<Bytes, ApiError> {
    let v: Value = serde_json::from_slice(core)
        .map_err(|e| ApiError::internal(format!("a stored Event is not JSON: {e}")))?;
    Ok(Bytes::from(
        serde_json::to_vec(&to_view(&v, &info.api_version())).unwrap_or_default(),
    ))
}

/// POST, PUT and PATCH through the events.k8s.io view: converted to the core form and written
/// to the shared storage; the answer is rendered back in the view. A PATCH is applied to the
/// view of the stored Event, then written as an update guarded by the read resourceVersion.
/// (Server-side apply takes the generic route: `Store::apply` handles the view.)
pub async fn write(
    state: &crate::http::State,
    info: &ResourceInfo,
    t: &Target<'_>,
    sub: crate::store::Sub,
    q: &[(String, String)],
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<crate::http::Body>, ApiError> {
    use crate::http as h;
    use crate::subresources::rmw::{self, Failed};
    let core = core_target(t);
    // Validation reads the API the request came through (`validation::core::event`).
    let through = |mut opts: crate::store::WriteOpts| {
        opts.request_version = Some(info.api_version());
        opts
    };
    // Admitted as requests for this API (`request_version`): rules for it match them directly,
    // rules for core `events` under `matchPolicy: Equivalent` see the stored core form
    // (`admission::matching`, `admission::versioned`).
    let w = match *req.method() {
        http::Method::POST => {
            let mut opts = through(h::write_opts(q, &req, "CreateOptions", Vec::new())?);
            let (body, strict) = h::read_write_body(req, info).await?;
            opts.body_strict = strict;
            let body = incoming(info, &body)?;
            h::admitted(state, info, opts, body, |b, o| {
                state.store.create(&core, b, o)
            })
            .await?
        }
        http::Method::PUT => {
            let mut opts = through(h::write_opts(q, &req, "UpdateOptions", Vec::new())?);
            let (body, strict) = h::read_write_body(req, info).await?;
            opts.body_strict = strict;
            let body = incoming(info, &body)?;
            h::admitted(state, info, opts, body, |b, o| {
                state.store.update(&core, sub, b, o)
            })
            .await?
        }
        _ => {
            let kind = h::patch_kind(&req)?;
            let opts = through(h::write_opts(q, &req, "PatchOptions", Vec::new())?);
            let body = h::read_body(req).await?;
            h::admitted(state, info, opts, body, |body, opts| {
                rmw::retry_conflicts(|| {
                    let stored = rmw::read(&state.store, &core)?;
                    let view = to_view(&stored, &info.api_version());
                    let patched = rmw::patch_view(&view, kind, &body)?;
                    let read_rv = crate::meta::meta_str(&stored, "resourceVersion");
                    let named = crate::meta::meta_str(&patched, "resourceVersion") != read_rv;
                    let mut next = incoming(info, &patched)?;
                    // Without the client's own precondition, the read resourceVersion guards
                    // the write.
                    if !named {
                        next["metadata"]["resourceVersion"] = read_rv.into();
                    }
                    state
                        .store
                        .update(&core, sub, next, opts)
                        .map_err(|e| Failed::of_write(e, named))
                })
            })
            .await?
        }
    };
    let body = outgoing(info, &w.body)?;
    let mut resp = h::json_response(w.code, body);
    for warning in &w.warnings {
        let text = format!(
            "299 - {}",
            serde_json::to_string(warning).unwrap_or_default()
        );
        if let Ok(v) = http::HeaderValue::from_str(&text) {
            resp.headers_mut().append(http::header::WARNING, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversion_round_trips_every_field() {
        let core = json!({
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"name": "e", "namespace": "n"},
            "involvedObject": {"kind": "Pod", "name": "p", "uid": "u"},
            "reason": "Started", "message": "started container", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z",
            "count": 3, "eventTime": "2026-01-01T00:00:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
            "action": "Start", "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet", "reportingInstance": "node-1",
        });
        let view = to_view(&core, "events.k8s.io/v1");
        assert_eq!(view["regarding"]["name"], "p");
        assert_eq!(view["note"], "started container");
        assert_eq!(view["reportingController"], "kubelet");
        assert_eq!(view["deprecatedSource"]["host"], "node-1");
        assert_eq!(view["deprecatedFirstTimestamp"], "2026-01-01T00:00:00Z");
        assert_eq!(view["deprecatedCount"], 3);
        assert!(view.get("involvedObject").is_none() && view.get("message").is_none());
        assert_eq!(to_core(&view), core);
    }

    #[test]
    fn field_sets_of_other_apis_are_converted_both_ways() {
        let core = json!({"metadata": {"name": "e", "managedFields": [
            {"manager": "old", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:message": {}, "f:involvedObject": {"f:name": {}}, "f:reason": {}}},
            {"manager": "new", "operation": "Apply", "apiVersion": "events.k8s.io/v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:note": {}}},
        ]}});
        let view = apply_live(&core, "events.k8s.io/v1");
        let entries = &view["metadata"]["managedFields"];
        assert_eq!(
            entries[0]["fieldsV1"],
            json!({"f:note": {}, "f:reason": {}, "f:regarding": {"f:name": {}}})
        );
        assert_eq!(entries[1]["fieldsV1"], json!({"f:note": {}}));
        let back = applied_core(&view, "events.k8s.io/v1");
        assert_eq!(
            back["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:involvedObject": {"f:name": {}}, "f:message": {}, "f:reason": {}})
        );
        assert_eq!(
            back["metadata"]["managedFields"][1]["fieldsV1"],
            json!({"f:note": {}})
        );
    }

    #[test]
    fn core_events_without_event_time_show_null() {
        let view = to_view(&json!({"metadata": {"name": "e"}}), "events.k8s.io/v1");
        assert_eq!(view["eventTime"], Value::Null);
    }
}
