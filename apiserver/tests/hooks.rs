//! Test hooks on the library handle: fault injection (fail or delay matching requests) and the YAML
//! dump of the store, seen through kube::Api, a kube-runtime Controller and raw HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{WAIT, eventually, raw, send};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};

use apiserver::{ApiServer, Match};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> ApiServer {
    ApiServer::builder().start().await.expect("server starts")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).expect("cm")
}

fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other}"),
    }
}

/// (verb, subresource, name, code) of each logged request for `resource`.
fn log_of(server: &ApiServer, resource: &str) -> Vec<(String, String, String, u16)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.resource == resource)
        .map(|r| (r.verb, r.subresource, r.name, r.code))
        .collect()
}

#[tokio::test]
async fn injected_conflict_is_seen_by_kube_api_and_a_retry_succeeds() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let created = api.create(&PostParams::default(), &cm("c")).await.unwrap();
    server
        .faults()
        .fail(
            Match::verb("update").resource("configmaps").name("c"),
            409,
            1,
        )
        .unwrap();
    let rv_before = server.resource_version();
    let mut next = created.clone();
    next.data = Some([("k".to_owned(), "w".to_owned())].into());
    let err = api_status(
        api.replace("c", &PostParams::default(), &next)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // A failed request writes nothing.
    assert_eq!(server.resource_version(), rv_before);
    assert_eq!(server.faults().pending(), 0);
    let replaced = api
        .replace("c", &PostParams::default(), &next)
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["k"], "w");
    let updates: Vec<u16> = log_of(&server, "configmaps")
        .into_iter()
        .filter(|r| r.0 == "update")
        .map(|r| r.3)
        .collect();
    assert_eq!(updates, [409, 200]);
}

#[tokio::test]
async fn fault_criteria_select_verb_name_namespace_and_subresource() {
    let server = server().await;
    for name in ["a", "b"] {
        let r = send(&server, "POST", CMS, &json!({"metadata": {"name": name}})).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let f = server.faults();
    f.fail(Match::verb("get").resource("configmaps").name("a"), 500, 1)
        .unwrap();
    f.fail(
        Match::any().resource("configmaps").namespace("kube-system"),
        404,
        1,
    )
    .unwrap();
    f.fail(Match::verb("get").subresource("status"), 503, 1)
        .unwrap();
    // Another name, verb or namespace passes untouched.
    assert_eq!(
        send(&server, "GET", &format!("{CMS}/b"), &Value::Null)
            .await
            .code,
        200
    );
    assert_eq!(send(&server, "GET", CMS, &Value::Null).await.code, 200);
    let r = send(&server, "GET", &format!("{CMS}/a"), &Value::Null).await;
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "Internal error occurred: injected fault (ApiServer::faults)",
               "reason": "InternalError",
               "details": {"causes": [{"message": "injected fault (ApiServer::faults)"}]},
               "code": 500})
    );
    assert_eq!(
        send(&server, "GET", &format!("{CMS}/a"), &Value::Null)
            .await
            .code,
        200
    );
    let r = send(
        &server,
        "GET",
        "/api/v1/namespaces/kube-system/configmaps/none",
        &Value::Null,
    )
    .await;
    assert_eq!(
        (r.code, r.body["message"].as_str()),
        (404, Some("configmaps \"none\" not found"))
    );
    // The status rule waits for a status read; the main resource does not match it.
    assert_eq!(
        send(&server, "GET", "/api/v1/namespaces/default", &Value::Null)
            .await
            .code,
        200
    );
    let r = send(
        &server,
        "GET",
        "/api/v1/namespaces/default/status",
        &Value::Null,
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    assert_eq!(f.pending(), 0);
    // Clearing drops rules that have not fired.
    f.fail(Match::any(), 500, 10).unwrap();
    f.clear();
    assert_eq!(send(&server, "GET", CMS, &Value::Null).await.code, 200);
    assert!(matches!(
        f.fail(Match::any(), 302, 1),
        Err(apiserver::Error::FaultCode { code: 302 })
    ));
}

#[tokio::test]
async fn injected_create_failure_leaves_the_store_untouched() {
    let server = server().await;
    server
        .faults()
        .fail(Match::verb("create").resource("configmaps"), 422, 1)
        .unwrap();
    let rv = server.resource_version();
    let r = send(&server, "POST", CMS, &json!({"metadata": {"name": "x"}})).await;
    assert_eq!((r.code, r.body["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(server.resource_version(), rv);
    assert_eq!(
        send(&server, "GET", &format!("{CMS}/x"), &Value::Null)
            .await
            .code,
        404
    );
    // The connection that carried the rejected body still serves the retry.
    assert_eq!(
        send(&server, "POST", CMS, &json!({"metadata": {"name": "x"}}))
            .await
            .code,
        201
    );
}

#[tokio::test]
async fn too_many_requests_carries_retry_after_and_kube_retries_it() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    api.create(&PostParams::default(), &cm("c")).await.unwrap();
    server
        .faults()
        .fail(Match::verb("get").resource("configmaps"), 429, 1)
        .unwrap();
    let r = raw(&server, "GET", &format!("{CMS}/c"), None, "").await;
    assert_eq!(r.code, 429);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.body["details"], json!({"retryAfterSeconds": 1}));
    // kube's client retries 429 by itself (honouring Retry-After): the caller sees success.
    server
        .faults()
        .fail(Match::verb("get").resource("configmaps"), 429, 1)
        .unwrap();
    server.clear_requests();
    let got = tokio::time::timeout(WAIT, api.get("c"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name_any(), "c");
    let codes: Vec<u16> = log_of(&server, "configmaps")
        .into_iter()
        .map(|r| r.3)
        .collect();
    assert_eq!(codes, [429, 200]);
}

#[tokio::test]
async fn delayed_requests_wait_then_succeed() {
    const DELAY: Duration = Duration::from_millis(300);
    let server = server().await;
    server
        .faults()
        .delay(Match::verb("list").resource("configmaps"), DELAY, 1);
    let started = tokio::time::Instant::now();
    assert_eq!(send(&server, "GET", CMS, &Value::Null).await.code, 200);
    assert!(started.elapsed() >= DELAY, "the list was not delayed");
    assert_eq!(server.faults().pending(), 0);
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(#[from] kube::Error);

#[tokio::test]
async fn controller_retries_after_an_injected_failure() {
    let server = server().await;
    let client = server.client().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    // The first write the controller makes fails; its error policy requeues and the retry succeeds.
    server
        .faults()
        .fail(
            Match::verb("patch").resource("configmaps").name("target"),
            500,
            1,
        )
        .unwrap();
    api.create(&PostParams::default(), &cm("target"))
        .await
        .unwrap();
    let ctx = Arc::new(api.clone());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .graceful_shutdown_on(async move { stop.cancelled().await })
            .run(
                |cm: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>| async move {
                    if cm.annotations().contains_key("reconciled") {
                        return Ok(Action::await_change());
                    }
                    let patch = json!({"metadata": {"annotations": {"reconciled": "yes"}}});
                    api.patch(
                        &cm.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                    Ok::<_, ReconcileError>(Action::await_change())
                },
                |_, _: &ReconcileError, _| Action::requeue(Duration::from_millis(20)),
                ctx,
            )
            .for_each(|_| async {}),
    );
    eventually("the annotation written on retry", || {
        let api = api.clone();
        async move {
            let cm = api.get("target").await.ok()?;
            cm.annotations().contains_key("reconciled").then_some(())
        }
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(WAIT, controller)
        .await
        .unwrap()
        .unwrap();
    let patches: Vec<u16> = log_of(&server, "configmaps")
        .into_iter()
        // The controller also reconciles the root CA ConfigMap every namespace holds.
        .filter(|r| r.0 == "patch" && r.2 == "target")
        .map(|r| r.3)
        .collect();
    assert_eq!(patches, [500, 200]);
}

#[tokio::test]
async fn dump_yaml_holds_every_object_once() {
    let server = server().await;
    let r = send(
        &server,
        "POST",
        CMS,
        &json!({"metadata": {"name": "dumped", "labels": {"a": "b"}}, "data": {"multi": "line1\nline2"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    let yaml = server.dump_yaml();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("the dump is YAML");
    let names: Vec<(String, String, String)> = docs
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_owned(),
                d["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
                d["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect = |k: &str, ns: &str, n: &str| (k.to_owned(), ns.to_owned(), n.to_owned());
    // Every object once; the bootstrap RBAC policy is checked in tests/bootstrap.rs.
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "an object appears twice");
    let rbac = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
    let names: Vec<(String, String, String)> = names
        .into_iter()
        .filter(|(k, _, _)| !rbac.contains(&k.as_str()))
        .collect();
    // Each namespace also holds the root CA ConfigMap and the default ServiceAccount.
    let mut want = vec![expect("ConfigMap", "default", "dumped")];
    let namespaces = ["default", "kube-node-lease", "kube-public", "kube-system"];
    want.extend(namespaces.map(|ns| expect("ConfigMap", ns, "kube-root-ca.crt")));
    want.extend(namespaces.map(|ns| expect("Namespace", "", ns)));
    want.extend(namespaces.map(|ns| expect("ServiceAccount", ns, "default")));
    want.push(expect("Service", "default", "kubernetes"));
    // The IPAddress of its cluster IP (kube's ServiceCIDR allocator).
    want.push(expect("IPAddress", "", "10.96.0.1"));
    // kube's default ServiceCIDR, with the configured service ranges.
    want.push(expect("ServiceCIDR", "", "kubernetes"));
    // kube's system priority classes.
    want.push(expect("PriorityClass", "", "system-cluster-critical"));
    want.push(expect("PriorityClass", "", "system-node-critical"));
    assert_eq!(names, want);
    // Values survive the round trip exactly.
    assert_eq!(docs[0], r.body);
}

#[tokio::test]
async fn dump_yaml_is_a_consistent_snapshot_under_concurrent_writes() {
    const WRITES: usize = 60;
    let server = Arc::new(server().await);
    let writer = {
        let server = server.clone();
        tokio::spawn(async move {
            for i in 0..WRITES {
                let r = send(
                    &server,
                    "POST",
                    CMS,
                    &json!({"metadata": {"name": format!("cm-{i:04}")}}),
                )
                .await;
                assert_eq!(r.code, 201);
            }
        })
    };
    while !writer.is_finished() {
        let yaml = server.dump_yaml();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("YAML");
        let cms: Vec<&str> = docs
            .iter()
            .filter(|d| d["kind"] == "ConfigMap")
            .filter_map(|d| d["metadata"]["name"].as_str())
            // Each namespace's root CA ConfigMap is there from the start.
            .filter(|n| *n != "kube-root-ca.crt")
            .collect();
        // Sequential creates: a consistent snapshot holds exactly the first k of them.
        let want: Vec<String> = (0..cms.len()).map(|i| format!("cm-{i:04}")).collect();
        assert_eq!(cms, want);
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    let yaml = server.dump_yaml();
    // Plus the root CA ConfigMap of each of the four namespaces.
    assert_eq!(yaml.matches("kind: ConfigMap").count(), WRITES + 4);
}
