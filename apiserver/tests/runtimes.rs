//! The server keeps serving clients on other tokio runtimes, including after those runtimes end —
//! the shape of a per-process fixture under plain `cargo test` (one runtime per test).

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

#[test]
fn handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<apiserver::ApiServer>();
}

#[test]
fn clients_on_short_lived_runtimes_share_one_server() {
    // The "fixture" runtime that owns the server lives as long as the test.
    let host = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("host runtime");
    let server = host
        .block_on(apiserver::ApiServer::builder().start())
        .expect("start");
    for i in 0..3 {
        // Each "test" gets its own runtime, dropped at the end, as #[tokio::test] does.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime");
        rt.block_on(async {
            let client = server.client().expect("client on this runtime");
            let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
            let cm: ConfigMap =
                serde_json::from_value(json!({"metadata": {"name": format!("cm{i}")}}))
                    .expect("cm");
            cms.create(&PostParams::default(), &cm)
                .await
                .expect("create");
            assert_eq!(
                cms.list(&ListParams::default())
                    .await
                    .expect("list")
                    .items
                    .len(),
                // Plus the root CA ConfigMap every namespace holds.
                i + 2
            );
            Api::<Namespace>::all(client)
                .get("default")
                .await
                .expect("get");
        });
        drop(rt);
    }
    host.block_on(server.shutdown());
}

#[tokio::test]
async fn served_versions_of_a_multi_version_crd_share_objects() {
    let mut crd = common::widget_crd();
    let mut v2 = crd["spec"]["versions"][0].clone();
    v2["name"] = "v2".into();
    v2["storage"] = false.into();
    crd["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .push(v2);
    let s = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(crd).expect("crd"))
        .start()
        .await
        .expect("start");
    let r = common::send(
        &s,
        "POST",
        "/apis/example.com/v2/namespaces/default/widgets",
        &json!({"metadata": {"name": "w"}, "spec": {"size": 1}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["apiVersion"].as_str()),
        (201, Some("example.com/v2")),
        "{}",
        r.body
    );
    let r = common::send(
        &s,
        "GET",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        &serde_json::Value::Null,
    )
    .await;
    assert_eq!(
        (r.code, r.body["apiVersion"].as_str()),
        (200, Some("example.com/v1")),
        "{}",
        r.body
    );
    let r = common::send(
        &s,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        &json!({"spec": {"size": 2}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["apiVersion"].as_str()),
        (200, Some("example.com/v1")),
        "{}",
        r.body
    );
    assert_eq!(r.body["metadata"]["generation"], 2);
    // The same content through the other version is a no-op: no generation bump, no new resourceVersion.
    let rv = r.body["metadata"]["resourceVersion"].clone();
    let r = common::send(
        &s,
        "PATCH",
        "/apis/example.com/v2/namespaces/default/widgets/w",
        &json!({"spec": {"size": 2}}),
    )
    .await;
    assert_eq!(
        (
            &r.body["metadata"]["generation"],
            &r.body["metadata"]["resourceVersion"]
        ),
        (&json!(2), &rv),
        "{}",
        r.body
    );
    let r = common::send(&s, "GET", "/apis/example.com", &serde_json::Value::Null).await;
    assert_eq!(r.body["preferredVersion"]["version"], "v2");
    // A version that is not served is not routed.
    let r = common::send(
        &s,
        "GET",
        "/apis/example.com/v3/namespaces/default/widgets",
        &serde_json::Value::Null,
    )
    .await;
    assert_eq!(r.code, 404);
}

#[tokio::test]
async fn shutdown_and_drop_stop_listening() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let addr = s.addr();
    s.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening after shutdown"
    );

    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let addr = s.addr();
    drop(s);
    common::eventually("the listener to close after drop", || async move {
        tokio::net::TcpStream::connect(addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;
}
