//! The faults fault campaigns are made of, seen by real clients: probabilistic write errors,
//! watches cut short, resumed watches told their resourceVersion expired (and kube-runtime's
//! watcher relisting), and a server restart that keeps the port and the store.

mod common;

use std::time::Duration;

use common::{WAIT, send, watch};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

use apiserver::{ApiServer, Match};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> ApiServer {
    ApiServer::builder().start().await.expect("server starts")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).expect("cm")
}

#[tokio::test]
async fn a_cut_watch_ends_after_its_drawn_lifetime() {
    const LIFETIME: Duration = Duration::from_millis(300);
    let server = server().await;
    server
        .faults()
        .cut_watches(Match::verb("watch"), LIFETIME, LIFETIME);
    let started = tokio::time::Instant::now();
    // A namespace without objects: no initial ADDED events, so the stream's end is all it sends.
    let mut w = watch(&server, "/api/v1/namespaces/empty/configmaps?watch=1").await;
    assert_eq!(w.code, 200);
    // No events: the stream just ends, as when kube-apiserver's watch timeout fires.
    assert_eq!(w.next().await, None);
    let took = started.elapsed();
    assert!(took >= LIFETIME && took < WAIT, "{took:?}");
    assert_eq!(server.faults().injected().watch_lifetimes, 1);
    // Without the rule, a watch outlives the lifetime by far.
    server.faults().clear();
    let mut w = watch(&server, "/api/v1/namespaces/empty/configmaps?watch=1").await;
    assert!(
        tokio::time::timeout(LIFETIME * 3, w.next()).await.is_err(),
        "an uncut watch ended"
    );
}

/// Only the watch that resumes where an injected cut stopped is expired: the first watch from a
/// resourceVersion (as after a list) runs, and one cut gives one expiry.
#[tokio::test]
async fn a_watch_resumed_after_a_cut_is_told_its_resource_version_expired() {
    const LIFETIME: Duration = Duration::from_millis(200);
    let server = server().await;
    server
        .faults()
        .cut_watches(Match::verb("watch"), LIFETIME, LIFETIME);
    server
        .faults()
        .expire_rewatches(Match::verb("watch"), 1.0)
        .unwrap();
    let created = send(&server, "POST", CMS, &json!({"metadata": {"name": "a"}})).await;
    let rv = created.body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    // As after a list at `rv`: no cut stopped there, so the watch runs until its cut.
    let mut first = watch(&server, &format!("{CMS}?watch=1&resourceVersion={rv}")).await;
    assert_eq!(
        first.next().await,
        None,
        "the first watch ends at its cut, with no event"
    );
    assert_eq!(server.faults().injected().expiries, 0);
    let mut resumed = watch(&server, &format!("{CMS}?watch=1&resourceVersion={rv}")).await;
    let ev = resumed.next().await.expect("an ERROR event");
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(
        (ev["object"]["code"].clone(), ev["object"]["reason"].clone()),
        (json!(410), json!("Expired"))
    );
    assert!(
        ev["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("too old resource version: {rv} (")),
        "{ev}"
    );
    // A watch from the current state has nothing to expire: it gets the objects.
    let mut fresh = watch(&server, &format!("{CMS}?watch=1")).await;
    let mut names = Vec::new();
    while let Some((kind, name)) = fresh.next_named().await {
        assert_eq!(kind, "ADDED");
        names.push(name);
        if names.contains(&"a".to_owned()) {
            break;
        }
    }
    // The server counted the one expiry it injected: the relist's watch runs again.
    assert_eq!(server.faults().injected().expiries, 1);
    let mut again = watch(&server, &format!("{CMS}?watch=1&resourceVersion={rv}")).await;
    assert_eq!(again.next().await, None, "one cut, one expiry");
    assert_eq!(server.faults().injected().expiries, 1);
}

/// kube-runtime's watcher under the watch-expiry campaign: every watch is cut after 200 ms and
/// every re-watch after a cut expires, so it must relist (a new Init) and still see every
/// object; the watch after each relist runs, so some objects arrive as watch events.
#[tokio::test]
async fn the_watcher_relists_after_expiry_and_misses_nothing() {
    let server = server().await;
    let faults = server.faults();
    faults.cut_watches(
        Match::verb("watch"),
        Duration::from_millis(200),
        Duration::from_millis(200),
    );
    faults.expire_rewatches(Match::verb("watch"), 1.0).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                api.create(&PostParams::default(), &cm(&format!("c{i}")))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut inits = 0;
    let mut watched = 0;
    let mut seen = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.len() < 10 || inits < 2 {
        let ev = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("watcher saw {seen:?} after {inits} inits"));
        match ev {
            Some(Ok(watcher::Event::Init)) => inits += 1,
            Some(Ok(watcher::Event::InitApply(o))) => {
                seen.insert(o.metadata.name.unwrap_or_default());
            }
            Some(Ok(watcher::Event::Apply(o))) => {
                watched += 1;
                seen.insert(o.metadata.name.unwrap_or_default());
            }
            // The 410 surfaces as an error the watcher recovers from by relisting.
            Some(_) => {}
            None => panic!("the watcher stream ended"),
        }
    }
    writer.await.unwrap();
    let expired = server
        .requests()
        .into_iter()
        .filter(|r| r.verb == "watch")
        .count();
    assert!(expired >= 2, "{expired} watches");
    // Expiring the watch after each fresh list too (which kube never does) would leave the
    // watcher relisting forever: every object would come from a list, none from a watch.
    assert!(
        watched > 0,
        "no object came from a watch after {inits} relists"
    );
    let injected = server.faults().injected();
    assert!(
        injected.expiries <= injected.watch_lifetimes,
        "more expiries than cuts: {injected:?}"
    );
}

#[tokio::test]
async fn a_restart_keeps_port_token_and_store_and_ends_watches() {
    let server = server().await;
    let url = server.url().to_owned();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    api.create(&PostParams::default(), &cm("before"))
        .await
        .unwrap();
    let rv_before = server.resource_version();
    let mut w = watch(&server, &format!("{CMS}?watch=1")).await;
    assert_eq!(
        w.next_named().await,
        Some(("ADDED".into(), "before".into()))
    );

    server.restart().await.unwrap();

    // The watch ends (its connection closes) within the restart's drain time.
    assert!(w.ends_within(WAIT).await, "the watch outlived the restart");
    assert_eq!(server.url(), url);
    // The same client reconnects; the store and its resourceVersions carried over.
    let got = api.get("before").await.unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("before"));
    api.create(&PostParams::default(), &cm("after"))
        .await
        .unwrap();
    assert!(server.resource_version() > rv_before);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.name == "before" && r.verb == "get"),
        "the request log carried over"
    );
}

/// What a client sees across restarts: the same client reconnects after each one (same address,
/// same CA, same token, same store). A request that races the close of its pooled idle
/// connection can fail at the transport level, as against a restarting kube-apiserver (the
/// request was written to a connection the server was closing; kube-rs, unlike Go's transport,
/// does not resend it): such failures are counted, at most one per restart for one sequential
/// client, and never an API error.
#[tokio::test]
async fn clients_reconnect_across_restarts() {
    const RESTARTS: usize = 10;
    let server = std::sync::Arc::new(server().await);
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    api.create(&PostParams::default(), &cm("c")).await.unwrap();
    let mut transport_errors = 0;
    for restart in 0..RESTARTS {
        // A request in flight while the server restarts is drained, not dropped.
        let (restarted, got) = tokio::join!(server.restart(), api.get("c"));
        restarted.unwrap();
        match got {
            Ok(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("c")),
            Err(kube::Error::Api(e)) => panic!("restart {restart}: an API error {e:?}"),
            Err(_) => transport_errors += 1,
        }
        // After the restart the same client reconnects and is answered.
        let got = tokio::time::timeout(WAIT, api.get("c"))
            .await
            .expect("answered in time")
            .unwrap_or_else(|e| panic!("restart {restart}: the client did not reconnect: {e}"));
        assert_eq!(got.metadata.name.as_deref(), Some("c"));
    }
    assert_eq!(server.restarts(), RESTARTS as u64);
    assert!(
        transport_errors <= RESTARTS,
        "{transport_errors} transport errors over {RESTARTS} restarts"
    );
    let r = send(&server, "GET", &format!("{CMS}/c"), &Value::Null).await;
    assert_eq!(r.code, 200);
}

/// A server whose runtime has ended (under plain `cargo test`, each `#[tokio::test]` has its own)
/// cannot serve again: the restart says so instead of hanging or panicking.
#[test]
fn a_server_whose_runtime_ended_cannot_be_restarted() {
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = first.block_on(server());
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = second
        .block_on(async { tokio::time::timeout(WAIT, server.restart()).await })
        .expect("the restart returns in time")
        .unwrap_err();
    assert!(err.to_string().contains("cannot be restarted"), "{err}");
}
