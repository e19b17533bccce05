//! Reads that ask for a resourceVersion the store has not reached yet: served once a write
//! reaches it, a 504 `Too large resource version` after kube's watch cache wait (3 s).

mod common;

use std::time::Duration;

use common::{send, watch};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Longer than the server's 3 s wait, so a test that polls never gives up before the server.
const DEADLINE: Duration = Duration::from_secs(10);

/// These tests count ConfigMaps: no `kube-root-ca.crt`.
async fn server() -> apiserver::ApiServer {
    common::server_without_namespace_defaults().await
}

/// Waits until `n` requests are being handled: the ones the test just sent reached the server.
async fn until_in_flight(s: &apiserver::ApiServer, n: usize) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while s.requests_in_flight() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request never reached the server"
        );
        tokio::task::yield_now().await;
    }
}

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("numeric resourceVersion")
}

#[tokio::test]
async fn reads_ahead_of_the_store_are_answered_once_a_write_reaches_them() {
    let s = std::sync::Arc::new(server().await);
    send(&s, "POST", CMS, &json!({"metadata": {"name": "a"}})).await;
    // Every earlier request logged: only the reads below are in flight.
    s.requests_settled().await;
    let ahead = s.resource_version() + 1;
    let reads = [
        format!("{CMS}?resourceVersion={ahead}&resourceVersionMatch=NotOlderThan"),
        format!("{CMS}?resourceVersion={ahead}"),
        format!("{CMS}/a?resourceVersion={ahead}"),
    ];
    let pending: Vec<_> = reads
        .iter()
        .map(|path| {
            let (s, path) = (s.clone(), path.clone());
            tokio::spawn(async move { send(&s, "GET", &path, &Value::Null).await })
        })
        .collect();
    until_in_flight(&s, reads.len()).await;
    let w = send(&s, "POST", CMS, &json!({"metadata": {"name": "b"}})).await;
    assert_eq!(w.code, 201, "{}", w.body);
    for (path, read) in reads.iter().zip(pending) {
        let r = tokio::time::timeout(DEADLINE, read)
            .await
            .expect("answered")
            .expect("task");
        assert_eq!(r.code, 200, "{path}: {}", r.body);
        if r.body["kind"] == "ConfigMapList" {
            assert!(rv(&r.body) >= ahead, "{path}: {}", r.body);
            assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
        } else {
            assert_eq!(r.body["metadata"]["name"], "a", "{path}: {}", r.body);
        }
    }
}

#[tokio::test]
async fn reads_ahead_of_the_store_time_out_as_kube_watch_cache_does() {
    let s = server().await;
    let current = s.resource_version();
    let ahead = current + 5;
    let started = tokio::time::Instant::now();
    let r = send(
        &s,
        "GET",
        &format!("{CMS}?resourceVersion={ahead}&resourceVersionMatch=NotOlderThan"),
        &Value::Null,
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(r.code, 504, "{}", r.body);
    assert_eq!(r.body["reason"], "Timeout", "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("Timeout: Too large resource version: {ahead}, current: {current}"),
    );
    assert_eq!(r.body["details"]["retryAfterSeconds"], 1, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge",
        "{}",
        r.body
    );
    // The server waited for a write before answering (kube's 3 s `blockTimeout`) rather than
    // refusing at once. A lower bound only: it says what happened, not how fast; an upper bound
    // would measure the machine's load.
    assert!(
        waited >= Duration::from_millis(2900),
        "answered after {waited:?}"
    );
}

#[tokio::test]
async fn a_watch_list_waits_for_its_resource_version_and_a_watch_skips_up_to_it() {
    let s = std::sync::Arc::new(server().await);
    s.requests_settled().await;
    let current = s.resource_version();
    // An ordinary watch from two writes ahead starts at once and sends only what follows them
    // (kube's cacheWatcher skips events up to the requested resourceVersion).
    let mut skipping = watch(
        &s,
        &format!("{CMS}?watch=1&resourceVersion={}", current + 2),
    )
    .await;
    assert_eq!(skipping.code, 200);
    // A watch list (`sendInitialEvents`) from one write ahead waits for it first.
    let list_path = format!(
        "{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion={}",
        current + 1
    );
    let opening = {
        let s = s.clone();
        tokio::spawn(async move { watch(&s, &list_path).await })
    };
    // The open watch is answered already; the watch list is the one request in flight.
    until_in_flight(&s, 1).await;
    for name in ["a", "b", "c"] {
        send(&s, "POST", CMS, &json!({"metadata": {"name": name}})).await;
    }
    assert_eq!(
        skipping.next_named().await,
        Some(("ADDED".into(), "c".into()))
    );
    let mut listed = tokio::time::timeout(DEADLINE, opening)
        .await
        .expect("opened")
        .expect("task");
    assert_eq!(listed.code, 200);
    let first = listed.next().await.expect("an event");
    assert_eq!(first["type"], "ADDED", "{first}");
    assert!(rv(&first["object"]) > current, "{first}");
}

#[tokio::test]
async fn a_watch_list_ahead_of_the_store_ends_with_the_timeout_as_its_error_event() {
    let s = server().await;
    let current = s.resource_version();
    let mut w = watch(
        &s,
        &format!(
            "{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion={}",
            current + 1
        ),
    )
    .await;
    assert_eq!(w.code, 200);
    let ev = w.next().await.expect("the ERROR event");
    assert_eq!(ev["type"], "ERROR", "{ev}");
    assert_eq!(ev["object"]["code"], 504, "{ev}");
    assert_eq!(
        ev["object"]["details"]["causes"][0]["reason"], "ResourceVersionTooLarge",
        "{ev}"
    );
}
