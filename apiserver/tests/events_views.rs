//! core/v1 Events and events.k8s.io/v1 Events are two views of one stored resource: each API sees
//! the other's writes in get, list and watch with the same resourceVersions, fields converted
//! (`regarding` ↔ `involvedObject`, `note` ↔ `message`, `reportingController` ↔
//! `reportingComponent`, `deprecated*` ↔ the core timestamps, source and count), and
//! events.k8s.io field selectors (`regarding.*`, `reportingController`, `type`) work.

mod common;

use common::{apply, send, watch};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

const CORE: &str = "/api/v1/namespaces/default/events";
const V1: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn v1_event(name: &str, pod: &str, controller: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": pod, "namespace": "default", "uid": "u-1"},
        "reason": "Started", "note": "container started", "type": kind,
        "action": "Start",
        "reportingController": controller, "reportingInstance": "node-1",
        "series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
    })
}

#[tokio::test]
async fn writes_through_one_api_are_read_through_the_other() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let created = send(&s, "POST", V1, &v1_event("e1", "web", "kubelet", "Normal")).await;
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(created.body["apiVersion"], "events.k8s.io/v1");
    assert_eq!(created.body["note"], "container started");
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(core.code, 200);
    assert_eq!(core.body["apiVersion"], "v1");
    assert_eq!(core.body["involvedObject"]["name"], "web");
    assert_eq!(core.body["message"], "container started");
    assert_eq!(core.body["reportingComponent"], "kubelet");
    assert_eq!(core.body["series"]["count"], 2);
    assert!(core.body.get("regarding").is_none() && core.body.get("note").is_none());
    assert_eq!(
        core.body["metadata"]["resourceVersion"],
        created.body["metadata"]["resourceVersion"]
    );
    assert_eq!(
        core.body["metadata"]["uid"],
        created.body["metadata"]["uid"]
    );

    // A core write shows in the events.k8s.io view.
    let core_created = send(&s, "POST", CORE, &json!({
        "metadata": {"name": "e2"},
        "involvedObject": {"kind": "Node", "name": "n1"},
        "reason": "Rebooted", "message": "node rebooted", "type": "Warning",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:02:00Z", "count": 3,
    })).await;
    assert_eq!(core_created.code, 201, "{}", core_created.body);
    let view = send(&s, "GET", &format!("{V1}/e2"), &Value::Null).await;
    assert_eq!(view.code, 200);
    assert_eq!(view.body["regarding"]["name"], "n1");
    assert_eq!(view.body["note"], "node rebooted");
    assert_eq!(view.body["deprecatedSource"]["host"], "n1");
    assert_eq!(
        view.body["deprecatedFirstTimestamp"],
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(view.body["deprecatedLastTimestamp"], "2026-01-01T00:02:00Z");
    assert_eq!(view.body["deprecatedCount"], 3);
    assert_eq!(view.body["eventTime"], Value::Null);

    // Lists agree, with the same resourceVersion.
    let a = send(&s, "GET", CORE, &Value::Null).await;
    let b = send(&s, "GET", V1, &Value::Null).await;
    assert_eq!(
        a.body["metadata"]["resourceVersion"],
        b.body["metadata"]["resourceVersion"]
    );
    assert_eq!(b.body["kind"], "EventList");
    assert_eq!(b.body["apiVersion"], "events.k8s.io/v1");
    assert_eq!(b.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(b.body["items"][1]["note"], "node rebooted");

    // Patching the view writes the stored Event (events.k8s.io/v1 may change only its series:
    // the other fields are immutable through it, see tests/validation_core.rs).
    let series = json!({"count": 4, "lastObservedTime": "2026-01-01T00:03:00.000000Z"});
    let patched = send(
        &s,
        "PATCH",
        &format!("{V1}/e2"),
        &json!({ "series": series }),
    )
    .await;
    assert_eq!(patched.code, 200, "{}", patched.body);
    assert_eq!(patched.body["series"], series);
    let core = send(&s, "GET", &format!("{CORE}/e2"), &Value::Null).await;
    assert_eq!(core.body["series"], series);
    assert_eq!(core.body["message"], "node rebooted");
    // PUT through the view with a stale resourceVersion: 409 like any write.
    let mut stale = view.body.clone();
    stale["note"] = "x".into();
    let conflict = send(&s, "PUT", &format!("{V1}/e2"), &stale).await;
    assert_eq!(conflict.code, 409, "{}", conflict.body);
    // Deleting through the view deletes the one stored object.
    assert_eq!(
        send(&s, "DELETE", &format!("{V1}/e1"), &Value::Null)
            .await
            .code,
        200
    );
    assert_eq!(
        send(&s, "GET", &format!("{CORE}/e1"), &Value::Null)
            .await
            .code,
        404
    );
}

#[tokio::test]
async fn watches_of_either_api_see_both_apis_writes() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let list = send(&s, "GET", V1, &Value::Null).await;
    let rv = list.body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut view = watch(&s, &format!("{V1}?watch=1&resourceVersion={rv}")).await;
    let mut core = watch(&s, &format!("{CORE}?watch=1&resourceVersion={rv}")).await;
    assert_eq!(
        send(
            &s,
            "POST",
            CORE,
            &json!({"metadata": {"name": "c"}, "involvedObject": {"name": "p"},
        "message": "from core"})
        )
        .await
        .code,
        201
    );
    assert_eq!(
        send(&s, "POST", V1, &v1_event("v", "p", "ctl", "Normal"))
            .await
            .code,
        201
    );
    let first = view.next().await.expect("event");
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["apiVersion"], "events.k8s.io/v1");
    assert_eq!(first["object"]["note"], "from core");
    let second = view.next().await.expect("event");
    assert_eq!(second["object"]["metadata"]["name"], "v");
    let c1 = core.next().await.expect("event");
    let c2 = core.next().await.expect("event");
    assert_eq!(c1["object"]["message"], "from core");
    assert_eq!(c2["object"]["message"], "container started");
    assert_eq!(
        c2["object"]["metadata"]["resourceVersion"],
        second["object"]["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn events_k8s_io_field_selectors_use_its_own_field_names() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    assert_eq!(
        send(&s, "POST", V1, &v1_event("a", "web", "kubelet", "Normal"))
            .await
            .code,
        201
    );
    assert_eq!(
        send(&s, "POST", V1, &v1_event("b", "db", "scheduler", "Warning"))
            .await
            .code,
        201
    );
    let client = s.client().expect("client");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let names = |l: kube::core::ObjectList<Event>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|e| e.metadata.name)
            .collect()
    };
    for (selector, want) in [
        ("regarding.name=db", vec!["b"]),
        ("reportingController=kubelet", vec!["a"]),
        ("type=Warning", vec!["b"]),
        ("regarding.kind=Pod,reason=Started", vec!["a", "b"]),
    ] {
        let got = events
            .list(&ListParams::default().fields(selector))
            .await
            .expect("list");
        assert_eq!(names(got), want, "{selector}");
    }
    // The core names are not labels of events.k8s.io.
    let wrong = send(
        &s,
        "GET",
        &format!("{V1}?fieldSelector=involvedObject.name%3Ddb"),
        &Value::Null,
    )
    .await;
    assert_eq!(wrong.code, 400);
    assert_eq!(
        wrong.body["message"],
        "field label not supported: involvedObject.name"
    );
    // And the core API still selects by its own names.
    let core: Api<CoreEvent> = Api::namespaced(client, "default");
    let got = core
        .list(&ListParams::default().fields("involvedObject.name=web"))
        .await
        .expect("list");
    assert_eq!(got.items.len(), 1);
    assert_eq!(got.items[0].message.as_deref(), Some("container started"));
}

/// A merge patch of e1's `message` through the core API by manager `editor`, which then owns
/// exactly that field under `v1`; the answer.
async fn edit_message_through_core(s: &apiserver::ApiServer) -> common::Raw {
    let edit = common::raw(
        s,
        "PATCH",
        &format!("{CORE}/e1?fieldManager=editor"),
        Some("application/merge-patch+json"),
        json!({"message": "edited"}).to_string(),
    )
    .await;
    assert_eq!(edit.code, 200, "{}", edit.body);
    let editor = entry_of(&edit.body, "editor");
    assert_eq!(editor["apiVersion"], "v1");
    assert_eq!(editor["fieldsV1"], json!({"f:message": {}}));
    edit
}

/// The managedFields entry of `manager` in `obj`.
fn entry_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no entry of {manager}: {}", obj["metadata"]))
}

#[tokio::test]
async fn server_side_apply_works_through_the_events_k8s_io_view() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let path = format!("{V1}/e1");
    let config = v1_event("e1", "web", "kubelet", "Normal");

    // Apply-create: 201, answered in the view, the applier's fields in its own apiVersion.
    let created = apply(&s, &path, "ctrl", "", &config).await;
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(created.body["apiVersion"], "events.k8s.io/v1");
    assert_eq!(created.body["note"], "container started");
    let ctrl = entry_of(&created.body, "ctrl");
    assert_eq!(
        (&ctrl["operation"], &ctrl["apiVersion"]),
        (&json!("Apply"), &json!("events.k8s.io/v1"))
    );
    let fields = &ctrl["fieldsV1"];
    for f in ["f:note", "f:regarding", "f:reportingController", "f:series"] {
        assert!(fields.get(f).is_some(), "{f} not owned: {fields}");
    }
    assert!(fields.get("f:message").is_none(), "{fields}");
    // The core API reads the same Event and the same entry, kept in the view's field names.
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(core.body["message"], "container started");
    assert_eq!(core.body["involvedObject"]["name"], "web");
    assert_eq!(entry_of(&core.body, "ctrl")["fieldsV1"], *fields);

    // The same configuration again changes nothing.
    let again = apply(&s, &path, "ctrl", "", &config).await;
    assert_eq!(again.code, 200, "{}", again.body);
    assert_eq!(
        again.body["metadata"]["resourceVersion"],
        created.body["metadata"]["resourceVersion"]
    );
    // A changed series is applied and read through both APIs.
    let mut changed = config.clone();
    changed["series"]["count"] = 3.into();
    let r = apply(&s, &path, "ctrl", "", &changed).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["series"]["count"], 3);
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(core.body["series"]["count"], 3);
    // An update through events.k8s.io may change only the series (kube's ValidateEventUpdate,
    // whose paths name the core fields).
    let mut noted = changed.clone();
    noted["note"] = "container restarted".into();
    let r = apply(&s, &path, "ctrl", "", &noted).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Event \"e1\" is invalid: message: Invalid value: \"container restarted\": field is immutable"
    );

    // Another applier's different value conflicts with the owner.
    let other = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e1"}, "note": "mine"});
    let r = apply(&s, &path, "other", "", &other).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Apply failed with 1 conflict: conflict with \"ctrl\": .note"
    );
    assert_eq!(
        r.body["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"ctrl\"", "field": ".note"}])
    );

    // A core Update manager's field, converted: its `message` is the view's `note`.
    edit_message_through_core(&s).await;
    let r = apply(&s, &path, "ctrl", "", &changed).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Apply failed with 1 conflict: conflict with \"editor\" using v1: .note"
    );

    // Forced, an applier takes a field from its owner.
    let forced = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e1"}, "series": {"count": 9, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}});
    let r = apply(&s, &path, "other", "", &forced).await;
    assert_eq!(r.code, 409, "{}", r.body);
    let r = apply(&s, &path, "other", "&force=true", &forced).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["series"]["count"], 9);
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(core.body["series"]["count"], 9);
    assert_eq!(core.body["message"], "edited");
    assert_eq!(
        entry_of(&core.body, "other")["fieldsV1"],
        json!({"f:series": {"f:count": {}, "f:lastObservedTime": {}}})
    );
    assert!(
        entry_of(&core.body, "ctrl")["fieldsV1"]["f:series"]
            .get("f:count")
            .is_none(),
        "{}",
        core.body["metadata"]
    );
    assert_eq!(
        entry_of(&core.body, "editor")["fieldsV1"],
        json!({"f:message": {}})
    );

    // Validated as strictly as events.k8s.io asks: no eventTime is a 422.
    let mut bad = v1_event("e2", "web", "kubelet", "Normal");
    bad.as_object_mut().expect("object").remove("eventTime");
    let r = apply(&s, &format!("{V1}/e2"), "ctrl", "", &bad).await;
    assert_eq!(r.code, 422, "{}", r.body);
    // A configuration of the core type does not name the URL's type.
    let r = apply(
        &s,
        &format!("{V1}/e2"),
        "ctrl",
        "",
        &json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "e2"}}),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["message"], "invalid object type: /v1, Kind=Event");
}

#[tokio::test]
async fn ordinary_writes_through_either_api_record_their_own_api_and_field_names() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    // A create through events.k8s.io: its entry names that API and the view's fields, read
    // through either API (kube keeps every manager's set in the version it wrote through).
    let created = send(
        &s,
        "POST",
        &format!("{V1}?fieldManager=recorder"),
        &v1_event("e1", "web", "kubelet", "Normal"),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    let recorder = entry_of(&created.body, "recorder");
    assert_eq!(
        (&recorder["operation"], &recorder["apiVersion"]),
        (&json!("Update"), &json!("events.k8s.io/v1"))
    );
    let fields = recorder["fieldsV1"].clone();
    for f in ["f:note", "f:regarding", "f:reportingController", "f:series"] {
        assert!(fields.get(f).is_some(), "{f} not owned: {fields}");
    }
    for f in ["f:message", "f:involvedObject", "f:reportingComponent"] {
        assert!(fields.get(f).is_none(), "{f} in the view's entry: {fields}");
    }
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(entry_of(&core.body, "recorder")["fieldsV1"], fields);

    // A core writer that changes the message takes it from the view's manager (its `note`).
    let edit = edit_message_through_core(&s).await;
    let recorder = entry_of(&edit.body, "recorder");
    assert!(
        recorder["fieldsV1"].get("f:note").is_none(),
        "the note moved to the editor: {}",
        recorder["fieldsV1"]
    );
    assert!(recorder["fieldsV1"].get("f:regarding").is_some());

    assert!(recorder["fieldsV1"].get("f:involvedObject").is_none());

    // A patch through the view by a third manager (an update through events.k8s.io may change
    // only the series): recorded under that API, and the field leaves the creator's set.
    let view_edit = common::raw(
        &s,
        "PATCH",
        &format!("{V1}/e1?fieldManager=viewer"),
        Some("application/merge-patch+json"),
        json!({"series": {"count": 7}}).to_string(),
    )
    .await;
    assert_eq!(view_edit.code, 200, "{}", view_edit.body);
    let viewer = entry_of(&view_edit.body, "viewer");
    assert_eq!(viewer["apiVersion"], "events.k8s.io/v1");
    assert_eq!(viewer["fieldsV1"], json!({"f:series": {"f:count": {}}}));
    let recorder = entry_of(&view_edit.body, "recorder");
    let series = &recorder["fieldsV1"]["f:series"];
    assert!(
        series.get("f:count").is_none() && series.get("f:lastObservedTime").is_some(),
        "{}",
        recorder["fieldsV1"]
    );
    let core = send(&s, "GET", &format!("{CORE}/e1"), &Value::Null).await;
    assert_eq!(core.body["series"]["count"], 7);
    assert_eq!(
        entry_of(&core.body, "viewer")["fieldsV1"],
        json!({"f:series": {"f:count": {}}})
    );
}
