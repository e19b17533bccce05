//! The `default` ServiceAccount and `kube-root-ca.crt` ConfigMap kube-controller-manager keeps in
//! every namespace: created with the namespace, recreated when deleted, data restored when
//! changed; off with `namespace_defaults(false)`; `kubectl get sa -n <new namespace>`.

mod common;

use common::kubectl::Kubectl;
use common::send;
use serde_json::{Value, json};

async fn names(s: &apiserver::ApiServer, path: &str) -> Vec<String> {
    let r = send(s, "GET", path, &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_namespace_gets_a_default_service_account_and_the_root_ca_configmap() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert_eq!(
            names(&s, &format!("/api/v1/namespaces/{ns}/serviceaccounts")).await,
            ["default"]
        );
        assert_eq!(
            names(&s, &format!("/api/v1/namespaces/{ns}/configmaps")).await,
            ["kube-root-ca.crt"]
        );
    }
    let created = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "team"}}),
    )
    .await;
    assert_eq!(created.code, 201);
    // There when the create returns.
    assert_eq!(
        names(&s, "/api/v1/namespaces/team/serviceaccounts").await,
        ["default"]
    );
    let cm = send(
        &s,
        "GET",
        "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
        &Value::Null,
    )
    .await;
    assert_eq!(cm.code, 200);
    assert_eq!(cm.body["data"], json!({"ca.crt": ""}));

    // Deleted: recreated (a new object).
    let sa = send(
        &s,
        "GET",
        "/api/v1/namespaces/team/serviceaccounts/default",
        &Value::Null,
    )
    .await;
    assert_eq!(
        send(
            &s,
            "DELETE",
            "/api/v1/namespaces/team/serviceaccounts/default",
            &Value::Null
        )
        .await
        .code,
        200
    );
    let again = send(
        &s,
        "GET",
        "/api/v1/namespaces/team/serviceaccounts/default",
        &Value::Null,
    )
    .await;
    assert_eq!(again.code, 200);
    assert_ne!(again.body["metadata"]["uid"], sa.body["metadata"]["uid"]);
    assert_eq!(
        send(
            &s,
            "DELETE",
            "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
            &Value::Null
        )
        .await
        .code,
        200
    );
    assert_eq!(
        send(
            &s,
            "GET",
            "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
            &Value::Null
        )
        .await
        .code,
        200
    );
    // Changed: the publisher puts its data back.
    let changed = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
        &json!({"data": {"ca.crt": "tampered"}}),
    )
    .await;
    assert_eq!(changed.code, 200);
    let cm = send(
        &s,
        "GET",
        "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
        &Value::Null,
    )
    .await;
    assert_eq!(cm.body["data"], json!({"ca.crt": ""}));
    // A terminating namespace gets nothing back: deleting it removes them for good.
    assert_eq!(
        send(&s, "DELETE", "/api/v1/namespaces/team", &Value::Null)
            .await
            .code,
        200
    );
    assert_eq!(
        send(&s, "GET", "/api/v1/namespaces/team", &Value::Null)
            .await
            .code,
        404
    );
    assert!(
        names(&s, "/api/v1/namespaces/team/serviceaccounts")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn namespace_defaults_can_be_switched_off() {
    let s = apiserver::ApiServer::builder()
        .namespace_defaults(false)
        .start()
        .await
        .expect("start");
    assert!(
        names(&s, "/api/v1/namespaces/default/serviceaccounts")
            .await
            .is_empty()
    );
    assert_eq!(
        send(
            &s,
            "POST",
            "/api/v1/namespaces",
            &json!({"metadata": {"name": "bare"}})
        )
        .await
        .code,
        201
    );
    assert!(
        names(&s, "/api/v1/namespaces/bare/configmaps")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_sa_in_a_new_namespace() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&s, "kubectl_get_sa_in_a_new_namespace") else {
        return;
    };
    // Created over JSON (`kubectl create namespace`, which sends protobuf, is in tests/protobuf.rs).
    let created = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "fresh"}}),
    )
    .await;
    assert_eq!(created.code, 201);
    let out = k.ok(&["get", "sa", "-n", "fresh", "-o", "name"]).await;
    assert_eq!(out.trim(), "serviceaccount/default");
    let out = k
        .ok(&[
            "get",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "fresh",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.trim(), "configmap/kube-root-ca.crt");
}
