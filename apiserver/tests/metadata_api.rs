//! Content negotiation of PartialObjectMetadata: kube-rs's metadata API (`get_metadata`,
//! `list_metadata`, `watch_metadata`, `patch_metadata`, the metadata watcher) and the Accept
//! headers kube-apiserver understands (`v1` and `v1beta1`, alternatives ordered by q-value,
//! 406 NotAcceptable with kube's messages).

mod common;

use common::{WAIT, request, send, watch_with};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const POM: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const POML: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

async fn server_with(names: &[&str]) -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        // No kube-controller-manager objects (`kube-root-ca.crt`): these tests count ConfigMaps.
        .namespace_defaults(false)
        .start()
        .await
        .expect("server starts");
    for n in names {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": n, "labels": {"app": "meta"}}, "data": {"big": "x".repeat(64)}});
        assert_eq!(send(&s, "POST", CMS, &cm).await.code, 201);
    }
    s
}

#[tokio::test]
async fn get_answers_partial_object_metadata() {
    let s = server_with(&["one"]).await;
    let r = request(&s, "GET", &format!("{CMS}/one"), &[("accept", POM)], "").await;
    assert_eq!(r.code, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["kind"], "PartialObjectMetadata");
    assert_eq!(v["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(v["metadata"]["name"], "one");
    assert_eq!(v["metadata"]["labels"]["app"], "meta");
    assert!(v.get("data").is_none(), "only metadata: {v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata"]);

    let beta = request(
        &s,
        "GET",
        &format!("{CMS}/one"),
        &[(
            "accept",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
        )],
        "",
    )
    .await
    .json();
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
}

#[tokio::test]
async fn kube_rs_metadata_api_reads_lists_and_patches() {
    let s = server_with(&["a", "b"]).await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().unwrap(), "default");
    let meta: PartialObjectMeta<ConfigMap> = api.get_metadata("a").await.unwrap();
    assert_eq!(meta.metadata.name.as_deref(), Some("a"));
    assert_eq!(
        meta.types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );

    let list = api.list_metadata(&ListParams::default()).await.unwrap();
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|i| i.metadata.name.clone())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(list.types.kind, "PartialObjectMetadataList");
    assert!(list.metadata.resource_version.is_some());

    let patched = api
        .patch_metadata(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"patched": "yes"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.unwrap()["patched"], "yes");
    // The object itself kept its data: only the answer was reduced to metadata.
    assert_eq!(api.get("b").await.unwrap().data.unwrap()["big"].len(), 64);
}

#[tokio::test]
async fn kube_rs_watch_metadata_and_the_metadata_watcher_see_partial_objects() {
    let s = server_with(&["w1"]).await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().unwrap(), "default");
    let rv = api
        .list_metadata(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = api
        .watch_metadata(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    assert_eq!(send(&s, "POST", CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w2"}, "data": {"k": "v"}})).await.code, 201);
    let ev = tokio::time::timeout(WAIT, events.try_next())
        .await
        .expect("event in time")
        .unwrap()
        .expect("an event");
    match ev {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("w2")),
        other => panic!("expected ADDED, got {other:?}"),
    }

    let names: Vec<String> = tokio::time::timeout(
        WAIT,
        // kube 5: an `Api<PartialObjectMeta<K>>` makes metadata-only requests (the metadata watcher).
        watcher(
            Api::<PartialObjectMeta<ConfigMap>>::namespaced(s.client().unwrap(), "default"),
            watcher::Config::default(),
        )
        .applied_objects()
        .take(2)
        .map_ok(|o| o.metadata.name.unwrap_or_default())
        .try_collect(),
    )
    .await
    .expect("metadata watcher in time")
    .unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn raw_watch_events_carry_partial_object_metadata() {
    let s = server_with(&["x"]).await;
    let mut w = watch_with(&s, &format!("{CMS}?watch=1"), &[("accept", POM)]).await;
    assert_eq!(w.code, 200);
    let ev = w.next().await.expect("initial ADDED");
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["kind"], "PartialObjectMetadata", "{ev}");
    assert!(ev["object"].get("data").is_none());
}

#[tokio::test]
async fn q_values_and_alternatives_choose_the_form() {
    let s = server_with(&["q"]).await;
    let get = |accept: &'static str| {
        let s = &s;
        async move { request(s, "GET", &format!("{CMS}/q"), &[("accept", accept)], "").await }
    };
    // The conversion has the higher q-value although it is listed second.
    let v =
        get("application/json;q=0.5, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
            .await
            .json();
    assert_eq!(v["kind"], "PartialObjectMetadata");
    // A conversion nobody serves falls through to the next clause.
    let v = get("application/json;as=Frob;g=meta.k8s.io;v=v1, application/json")
        .await
        .json();
    assert_eq!(v["kind"], "ConfigMap");
    // A built-in type is served in protobuf when the first clause asks for it.
    let r = get("application/vnd.kubernetes.protobuf, */*").await;
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kubernetes.protobuf"
    );
    let v = apiserver::protobuf::decode_object(&r.bytes).expect("a protobuf ConfigMap");
    assert_eq!(v["kind"], "ConfigMap");
}

#[tokio::test]
async fn what_is_not_served_is_406_with_kubes_message() {
    let s = server_with(&["n"]).await;
    for accept in [
        "application/json;as=Frob;g=meta.k8s.io;v=v1",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
        "text/html",
    ] {
        let r = request(&s, "GET", &format!("{CMS}/n"), &[("accept", accept)], "").await;
        assert_eq!(r.code, 406, "{accept}: {}", r.text());
        let v = r.json();
        assert_eq!(v["reason"], "NotAcceptable");
        assert_eq!(
            v["message"],
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
    }
    // A single-object conversion of a list, and a list conversion of one object.
    let r = request(&s, "GET", CMS, &[("accept", POM)], "").await;
    assert_eq!(r.code, 406);
    assert_eq!(
        r.json()["message"],
        "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
    );
    let r = request(&s, "GET", &format!("{CMS}/n"), &[("accept", POML)], "").await;
    assert_eq!(r.code, 406);
    assert_eq!(
        r.json()["message"],
        "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)"
    );
}

#[tokio::test]
async fn writes_answer_in_the_negotiated_form() {
    let s = server_with(&[]).await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"k": "v"}}).to_string();
    let r = request(&s, "POST", CMS, &[("accept", POM)], body).await;
    assert_eq!(r.code, 201, "{}", r.text());
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");
    let update = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"k": "v2"}});
    let r = request(
        &s,
        "PUT",
        &format!("{CMS}/w"),
        &[("accept", POM)],
        update.to_string(),
    )
    .await;
    assert_eq!(
        (r.code, r.json()["kind"].clone()),
        (200, Value::from("PartialObjectMetadata"))
    );
}
