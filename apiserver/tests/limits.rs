//! What the server keeps: the per-object storage limit (etcd's request limit, answered as
//! kube-apiserver answers it) and the watch history bounded in bytes as well as in events.

mod common;

use common::{raw, send, watch};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
/// Data keys of the managedFields test: about 40 KB of keys, about 50 KB more of managedFields.
const KEYS: usize = 2500;
/// The storage limit the tests set: small, so that the objects stay far below the 3 MiB body limit.
const LIMIT: usize = 64 * 1024;

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("numeric")
}

/// A ConfigMap whose encoding is a little over `bytes`.
fn config_map(name: &str, bytes: usize) -> Value {
    json!({"metadata": {"name": name}, "data": {"blob": "x".repeat(bytes)}})
}

/// kube-apiserver's answer to a write etcd refuses (`--max-request-bytes`): the etcd error is not a
/// Status, so `responsewriters.ErrorToAPIStatus` makes it a 500 with no reason.
fn assert_too_large(r: &common::Raw) {
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "etcdserver: request is too large",
            "code": 500,
        })
    );
}

#[tokio::test]
async fn an_object_over_the_storage_limit_is_refused_as_etcd_refuses_it() {
    let s = apiserver::ApiServer::builder()
        .max_object_bytes(LIMIT)
        .start()
        .await
        .expect("start");
    let before = s.resource_version();
    assert_too_large(&send(&s, "POST", CMS, &config_map("big", LIMIT)).await);
    assert_eq!(
        s.resource_version(),
        before,
        "a refused create stores nothing"
    );
    let missing = send(&s, "GET", &format!("{CMS}/big"), &Value::Null).await;
    assert_eq!(missing.code, 404);

    // Growing an object past the limit by update and by patch is refused the same way, and the
    // stored object stays as it was.
    let small = send(&s, "POST", CMS, &config_map("grows", 100)).await;
    assert_eq!(small.code, 201, "{}", small.body);
    let mut bigger = small.body.clone();
    bigger["data"]["blob"] = "y".repeat(LIMIT).into();
    assert_too_large(&send(&s, "PUT", &format!("{CMS}/grows"), &bigger).await);
    let patch = json!({"data": {"more": "z".repeat(LIMIT)}});
    assert_too_large(&send(&s, "PATCH", &format!("{CMS}/grows"), &patch).await);
    let now = send(&s, "GET", &format!("{CMS}/grows"), &Value::Null).await;
    assert_eq!(now.body["data"], small.body["data"]);
    assert_eq!(rv(&now.body), rv(&small.body));

    // A dry run never reaches storage: kube-apiserver answers it without the limit.
    let dry = send(
        &s,
        "POST",
        &format!("{CMS}?dryRun=All"),
        &config_map("dry", LIMIT),
    )
    .await;
    assert_eq!(dry.code, 201, "{}", dry.body);
}

#[tokio::test]
async fn an_object_just_under_the_limit_is_stored() {
    let s = apiserver::ApiServer::builder()
        .max_object_bytes(LIMIT)
        .start()
        .await
        .expect("start");
    // The object's metadata (uid, timestamps, managedFields, resourceVersion) takes well under
    // 1 KiB: a 60 KiB payload fits in 64 KiB.
    let r = send(&s, "POST", CMS, &config_map("fits", LIMIT - 4096)).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn the_default_limit_is_etcds_request_limit() {
    assert_eq!(apiserver::MAX_OBJECT_BYTES, 1_572_864);
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    // 1.6 MB: under the 3 MiB body limit, over etcd's 1.5 MiB. An Event, because a ConfigMap's
    // own validation refuses data over 1 MiB (422) before storage is reached, as in kube.
    const EVENTS: &str = "/api/v1/namespaces/default/events";
    let event = |name: &str, bytes: usize| {
        json!({"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": "p"},
               "message": "x".repeat(bytes)})
    };
    assert_too_large(&send(&s, "POST", EVENTS, &event("big", 1_600_000)).await);
    let r = send(&s, "POST", EVENTS, &event("fits", 1_500_000)).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn an_update_that_fits_only_without_managed_fields_is_stored_without_them() {
    let s = apiserver::ApiServer::builder()
        .max_object_bytes(LIMIT)
        .start()
        .await
        .expect("start");
    // managedFields naming many keys: each data key is one `f:` entry, so the object with them
    // is about twice the object without.
    let mut data = serde_json::Map::new();
    for i in 0..KEYS {
        data.insert(format!("key-{i:05}"), "v".into());
    }
    let keys = Value::Object(data).to_string().len();
    assert!(keys < LIMIT && 2 * keys > LIMIT, "{keys} bytes of keys");
    let r = send(
        &s,
        "POST",
        &format!("{CMS}?fieldManager=writer"),
        &json!({"metadata": {"name": "many"}, "data": Value::Object(
            (0..KEYS).map(|i| (format!("key-{i:05}"), Value::from("v"))).collect()
        )}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(
        r.body["metadata"].get("managedFields").is_none(),
        "stored without managedFields, as kube-apiserver retries: {}",
        r.body["metadata"]
    );
    // Server-side apply does not retry (its managedFields are what it computed).
    let apply = raw(
        &s,
        "PATCH",
        &format!("{CMS}/applied?fieldManager=applier"),
        Some("application/apply-patch+yaml"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": Value::Object(
            (0..KEYS).map(|i| (format!("key-{i:05}"), Value::from("v"))).collect()
        )})
        .to_string(),
    )
    .await;
    assert_too_large(&apply);
}

#[tokio::test]
async fn the_watch_history_is_bounded_in_bytes_and_older_versions_expire() {
    let s = apiserver::ApiServer::builder()
        .watch_history_bytes(4 * LIMIT)
        .start()
        .await
        .expect("start");
    let first = send(&s, "POST", CMS, &config_map("c0", LIMIT / 2)).await;
    assert_eq!(first.code, 201, "{}", first.body);
    let start = rv(&first.body);
    // Ten events of half the bound's quarter each: the history keeps the last eight at most.
    for i in 1..10 {
        let r = send(&s, "POST", CMS, &config_map(&format!("c{i}"), LIMIT / 2)).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion={start}")).await;
    let ev = w.next().await.expect("error event");
    assert_eq!(ev["type"], "ERROR", "{ev}");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    let message = ev["object"]["message"].as_str().expect("message");
    let oldest: u64 = message
        .strip_prefix(&format!("too old resource version: {start} ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("kube's compaction message, got {message:?}"));
    let current = s.resource_version();
    assert!(
        current - oldest < 8,
        "at most 4 × LIMIT bytes kept: oldest {oldest}, current {current}"
    );
    // The newest events are still there: a watch from just before the last write replays it.
    let mut w = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={}", current - 1),
    )
    .await;
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "c9".into())));

    // A list page's continue token from before the compaction is 410 as well.
    let page = send(&s, "GET", &format!("{CMS}?limit=1"), &Value::Null).await;
    let token = page.body["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_owned();
    for i in 10..20 {
        send(&s, "POST", CMS, &config_map(&format!("c{i}"), LIMIT / 2)).await;
    }
    let stale = send(
        &s,
        "GET",
        &format!("{CMS}?limit=1&continue={token}"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        (stale.code, stale.body["reason"].as_str()),
        (410, Some("Expired"))
    );
}
