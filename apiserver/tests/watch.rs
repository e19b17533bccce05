//! Watch semantics over raw HTTP: resume from a resourceVersion, 410 Expired, bookmarks, streaming
//! lists, selector transitions, timeouts.

mod common;

use common::{send, watch};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("numeric")
}

#[tokio::test]
async fn resumes_after_a_resource_version_in_order() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let a = send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}}))
        .await
        .body;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "b"}})).await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/a"),
        &json!({"data": {"x": "1"}}),
    )
    .await;
    send(
        &s,
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        &json!({"metadata": {"name": "other-ns"}}),
    )
    .await;
    send(&s, "DELETE", &format!("{CMS}/b"), &Value::Null).await;
    let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion={}", rv(&a))).await;
    assert_eq!(w.code, 200);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(w.next_named().await.expect("event"));
    }
    let want: Vec<(String, String)> = [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
        .iter()
        .map(|(t, n)| ((*t).into(), (*n).into()))
        .collect();
    assert_eq!(seen, want);
    // Live events follow.
    send(&s, "POST", CMS, &json!({"metadata": {"name": "c"}})).await;
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "c".into())));
}

#[tokio::test]
async fn without_resource_version_starts_with_current_state() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}})).await;
    let mut w = watch(&s, &format!("{CMS}?watch=true")).await;
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "a".into())));
    // The namespace's root CA ConfigMap is part of the current state too.
    assert_eq!(
        w.next_named().await,
        Some(("ADDED".into(), "kube-root-ca.crt".into()))
    );
    send(&s, "DELETE", &format!("{CMS}/a"), &Value::Null).await;
    let ev = w.next().await.expect("event");
    assert_eq!(ev["type"], "DELETED");
    // The DELETED object carries the deletion's resourceVersion.
    assert_eq!(rv(&ev["object"]), s.resource_version());
}

#[tokio::test]
async fn too_old_resource_version_is_410_expired() {
    let s = apiserver::ApiServer::builder()
        .watch_history(3)
        .start()
        .await
        .expect("start");
    for i in 0..5 {
        send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": format!("c{i}")}}),
        )
        .await;
    }
    let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion=2")).await;
    assert_eq!(w.code, 200);
    let ev = w.next().await.expect("error event");
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    let current = s.resource_version();
    assert_eq!(
        ev["object"]["message"],
        format!("too old resource version: 2 ({})", current - 2)
    );
    assert!(w.next().await.is_none(), "the stream ends after the error");
}

#[tokio::test]
async fn streaming_list_ends_with_initial_events_end_bookmark() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}})).await;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "b"}})).await;
    let mut w = watch(&s, &format!("{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")).await;
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "a".into())));
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "b".into())));
    assert_eq!(
        w.next_named().await,
        Some(("ADDED".into(), "kube-root-ca.crt".into()))
    );
    let bm = w.next().await.expect("bookmark");
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(bm["object"]["kind"], "ConfigMap");
    assert_eq!(
        bm["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(rv(&bm["object"]), s.resource_version());

    let bad = common::send(
        &s,
        "GET",
        &format!("{CMS}?watch=1&sendInitialEvents=true"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        (bad.code, bad.body["reason"].as_str()),
        (422, Some("Invalid")),
        "{}",
        bad.body
    );
}

#[tokio::test]
async fn timeout_ends_the_watch_with_a_bookmark() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let current = s.resource_version();
    let mut w = watch(
        &s,
        &format!(
            "{CMS}?watch=1&resourceVersion={current}&timeoutSeconds=1&allowWatchBookmarks=true"
        ),
    )
    .await;
    let bm = w.next().await.expect("bookmark before the end");
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(rv(&bm["object"]), current);
    assert!(w.next().await.is_none(), "the stream ends at the timeout");
}

#[tokio::test]
async fn label_selector_watch_sees_objects_enter_and_leave() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let current = s.resource_version();
    let mut w = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={current}&labelSelector=app%3Dweb"),
    )
    .await;
    send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "other", "labels": {"app": "db"}}}),
    )
    .await;
    send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x", "labels": {"app": "db"}}}),
    )
    .await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/x"),
        &json!({"metadata": {"labels": {"app": "web"}}}),
    )
    .await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/x"),
        &json!({"data": {"k": "v"}}),
    )
    .await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/x"),
        &json!({"metadata": {"labels": {"app": "db"}}}),
    )
    .await;
    send(&s, "DELETE", &format!("{CMS}/x"), &Value::Null).await;
    send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "y", "labels": {"app": "web"}}}),
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(w.next_named().await.expect("event"));
    }
    let want: Vec<(String, String)> = [
        ("ADDED", "x"),
        ("MODIFIED", "x"),
        ("DELETED", "x"),
        ("ADDED", "y"),
    ]
    .iter()
    .map(|(t, n)| ((*t).into(), (*n).into()))
    .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn field_selector_and_namespace_scope_the_watch() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let current = s.resource_version();
    let mut w = watch(&s, &format!("/api/v1/configmaps?watch=1&resourceVersion={current}&fieldSelector=metadata.name%3Dwanted")).await;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "unwanted"}})).await;
    send(
        &s,
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        &json!({"metadata": {"name": "wanted"}}),
    )
    .await;
    assert_eq!(
        w.next_named().await,
        Some(("ADDED".into(), "wanted".into()))
    );
}

#[tokio::test]
async fn shutdown_ends_open_watches() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let mut w = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={}", s.resource_version()),
    )
    .await;
    s.shutdown().await;
    assert!(w.next().await.is_none());
}

#[tokio::test]
async fn finalizer_removal_emits_modified_then_deleted() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "f", "finalizers": ["example.com/x"]}}),
    )
    .await;
    let mut w = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={}", s.resource_version()),
    )
    .await;
    send(&s, "DELETE", &format!("{CMS}/f"), &Value::Null).await;
    let marked = w.next().await.expect("event");
    assert_eq!(marked["type"], "MODIFIED");
    assert!(marked["object"]["metadata"]["deletionTimestamp"].is_string());
    send(
        &s,
        "PATCH",
        &format!("{CMS}/f"),
        &json!({"metadata": {"finalizers": []}}),
    )
    .await;
    let modified = w.next().await.expect("event");
    assert_eq!(modified["type"], "MODIFIED");
    // `finalizers` is omitempty: the emptied list is not written.
    assert!(
        modified["object"]["metadata"].get("finalizers").is_none(),
        "{modified}"
    );
    let deleted = w.next().await.expect("event");
    assert_eq!(deleted["type"], "DELETED");
    assert!(rv(&deleted["object"]) > rv(&modified["object"]));
}

/// The watch consistency check (`ApiServer::watch_violations`) finds nothing wrong with correct
/// watches of every kind: from the current state, resumed from a resourceVersion (replayed
/// history), all namespaces, a label selector that objects enter and leave, and a watch that
/// was closed part-way.
#[tokio::test]
async fn the_watch_check_passes_correct_watches_of_every_kind() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let a = send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}}))
        .await
        .body;
    let mut current = watch(&s, &format!("{CMS}?watch=1")).await;
    assert_eq!(
        current.next_named().await,
        Some(("ADDED".into(), "a".into()))
    );
    let mut closed = watch(&s, "/api/v1/configmaps?watch=1").await;
    let mut selector = watch(
        &s,
        &format!(
            "{CMS}?watch=1&resourceVersion={}&labelSelector=app%3Dweb",
            s.resource_version()
        ),
    )
    .await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/a"),
        &json!({"metadata": {"labels": {"app": "web"}}}),
    )
    .await;
    send(
        &s,
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        &json!({"metadata": {"name": "elsewhere"}}),
    )
    .await;
    send(
        &s,
        "PATCH",
        &format!("{CMS}/a"),
        &json!({"metadata": {"labels": {"app": "db"}}}),
    )
    .await;
    drop(closed.next_named().await);
    drop(closed);
    send(&s, "DELETE", &format!("{CMS}/a"), &Value::Null).await;
    // Resumed from a's creation: the whole history since is replayed, then live events.
    let mut resumed = watch(&s, &format!("{CMS}?watch=1&resourceVersion={}", rv(&a))).await;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "last"}})).await;
    for _ in 0..4 {
        current.next().await.expect("event");
    }
    assert_eq!(
        selector.next_named().await,
        Some(("ADDED".into(), "a".into()))
    );
    assert_eq!(
        selector.next_named().await,
        Some(("DELETED".into(), "a".into()))
    );
    for _ in 0..4 {
        resumed.next().await.expect("event");
    }
    common::eventually("every watch recorded what it sent", || async {
        s.watch_violations().is_empty().then_some(())
    })
    .await;
    // Stable: nothing was left unreported that a later look would find.
    assert_eq!(s.watch_violations(), vec![]);
}

/// A deliberately broken server (one live event skipped) is caught, named, and can be taken
/// so later checks pass again.
#[tokio::test]
async fn the_watch_check_reports_a_lost_event() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let mut w = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={}", s.resource_version()),
    )
    .await;
    s.drop_next_watch_events(1);
    let lost = send(&s, "POST", CMS, &json!({"metadata": {"name": "lost"}}))
        .await
        .body;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "kept"}})).await;
    // The watch moved past the lost event as if it had sent it.
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "kept".into())));
    let found = common::eventually("the check to see the lost event", || async {
        let v = s.watch_violations();
        (!v.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].problem,
        apiserver::WatchProblem::Missing { rv: rv(&lost) }
    );
    assert_eq!(found[0].namespace, "default");
    let text = found[0].to_string();
    assert!(
        text.contains(&format!("resourceVersion {} was never sent", rv(&lost))),
        "{text}"
    );
    assert_eq!(s.take_watch_violations(), found);
    assert_eq!(s.watch_violations(), vec![]);
}

/// `cut_watches` ends every open watch (the client resumes from its last resourceVersion); a
/// watch opened afterwards is not affected, and the check still passes.
#[tokio::test]
async fn cut_watches_ends_the_open_watches_only() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let from = s.resource_version();
    let mut before = watch(&s, &format!("{CMS}?watch=1&resourceVersion={from}")).await;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}})).await;
    assert_eq!(
        before.next_named().await,
        Some(("ADDED".into(), "a".into()))
    );
    s.cut_watches();
    assert_eq!(before.next().await, None, "the cut watch ends");
    let mut after = watch(&s, &format!("{CMS}?watch=1&resourceVersion={from}")).await;
    send(&s, "POST", CMS, &json!({"metadata": {"name": "b"}})).await;
    assert_eq!(after.next_named().await, Some(("ADDED".into(), "a".into())));
    assert_eq!(after.next_named().await, Some(("ADDED".into(), "b".into())));
    common::eventually("every watch recorded what it sent", || async {
        s.watch_violations().is_empty().then_some(())
    })
    .await;
}
