//! JSON patches (`application/json-patch+json`) as kube-apiserver applies them with
//! evanphx/json-patch v4: `test` of a missing path against `null` succeeds, other failed
//! operations are 422 naming the operation and path, and a rejected patch changes nothing.

mod common;

use common::{raw, send};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("server starts");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(send(&s, "POST", CMS, &cm).await.code, 201);
    s
}

async fn patch(s: &apiserver::ApiServer, ops: Value) -> common::Raw {
    raw(
        s,
        "PATCH",
        &format!("{CMS}/c"),
        Some("application/json-patch+json"),
        ops.to_string(),
    )
    .await
}

#[tokio::test]
async fn test_of_a_missing_path_against_null_succeeds() {
    let s = server().await;
    let r = patch(
        &s,
        json!([
            {"op": "test", "path": "/data/absent", "value": null},
            {"op": "add", "path": "/data/absent", "value": "now"}
        ]),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["data"]["absent"], "now");
}

#[tokio::test]
async fn failed_operations_are_422_naming_the_path_and_change_nothing() {
    let s = server().await;
    let rv = s.resource_version();
    for (ops, why) in [
        (
            json!([{"op": "test", "path": "/data/absent", "value": "x"}]),
            "testing value /data/absent failed: test failed",
        ),
        (
            json!([{"op": "remove", "path": "/data/absent"}]),
            "error in remove for path: '/data/absent': Unable to remove nonexistent key: absent: missing value",
        ),
        (
            json!([{"op": "add", "path": "/nowhere/x", "value": 1}]),
            "add operation does not apply: doc is missing path: \"/nowhere/x\": missing value",
        ),
    ] {
        let r = patch(&s, ops).await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(r.body["reason"], "Invalid");
        assert_eq!(
            r.body["message"],
            format!("the server rejected our request due to an error in our request ({why})")
        );
    }
    assert_eq!(s.resource_version(), rv);
}

#[tokio::test]
async fn replace_of_a_missing_member_sets_it_as_kube_does() {
    let s = server().await;
    let r = patch(
        &s,
        json!([{"op": "replace", "path": "/data/new", "value": "set"}]),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["data"]["new"], "set");
}
