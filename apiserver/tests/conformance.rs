//! Conformance: kube::Api (typed and DynamicObject), discovery, a kube-runtime watcher and a Controller
//! against the embedded API server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{WAIT, eventually, raw_with, widget_crd};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher::{self, Event};
use kube::{CustomResource, Discovery, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The typed view of `widgets.example.com` (the CRD itself comes from `widget_crd()`).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
struct WidgetSpec {
    size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "observedGeneration"
    )]
    observed_generation: Option<i64>,
}

async fn server() -> apiserver::ApiServer {
    let crd: CustomResourceDefinition = serde_json::from_value(widget_crd()).expect("CRD value");
    apiserver::ApiServer::builder()
        .crd(crd)
        .start()
        .await
        .expect("server starts")
}

fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn fresh_server_has_default_namespaces_and_kubernetes_service() {
    let s = server().await;
    let client = s.client().expect("client");
    let names: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list")
        .iter()
        .map(|n| n.name_any())
        .collect();
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            names.contains(&ns.to_owned()),
            "{ns} missing from {names:?}"
        );
    }
    let svc = Api::<Service>::namespaced(client.clone(), "default")
        .get("kubernetes")
        .await
        .expect("kubernetes service");
    assert_eq!(svc.spec.and_then(|s| s.ports).map(|p| p[0].port), Some(443));
    let ns = Api::<Namespace>::all(client)
        .get("default")
        .await
        .expect("default ns");
    assert_eq!(
        ns.labels()
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("default")
    );
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    s.shutdown().await;
}

#[tokio::test]
async fn typed_crud_on_configmaps() {
    let s = server().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().expect("client"), "default");
    let mut cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "cm1", "labels": {"app": "a"}}, "data": {"k": "v"}
    }))
    .expect("cm");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    assert!(created.uid().is_some());
    // kube's ConfigMap strategy keeps no generation (tests/strategies.rs covers the types that do).
    assert_eq!(created.metadata.generation, None);
    let rv1: u64 = created
        .resource_version()
        .expect("rv")
        .parse()
        .expect("numeric rv");

    cm.metadata.resource_version = created.resource_version();
    cm.data = Some([("k".to_owned(), "v2".to_owned())].into());
    let replaced = api
        .replace("cm1", &PostParams::default(), &cm)
        .await
        .expect("replace");
    let rv2: u64 = replaced
        .resource_version()
        .expect("rv")
        .parse()
        .expect("numeric rv");
    assert!(rv2 > rv1, "resourceVersion grows: {rv1} -> {rv2}");
    assert_eq!(replaced.metadata.generation, None);
    assert_eq!(replaced.uid(), created.uid());

    // A stale resourceVersion is a 409 Conflict.
    let stale = api
        .replace("cm1", &PostParams::default(), &cm)
        .await
        .expect_err("stale");
    assert_eq!(api_status(stale).code, 409);

    let patched = api
        .patch(
            "cm1",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"x": "y"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("x"))
            .map(String::as_str),
        Some("y")
    );
    let jp: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/k", "value": "v3"}]))
            .expect("json patch");
    let patched = api
        .patch("cm1", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .expect("json patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v3")
    );

    let listed = api
        .list(&ListParams::default().labels("app=a"))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert!(
        api.list(&ListParams::default().labels("app=b"))
            .await
            .expect("list")
            .items
            .is_empty()
    );

    api.delete("cm1", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(
        api_status(api.get("cm1").await.expect_err("gone")).code,
        404
    );
    s.shutdown().await;
}

#[tokio::test]
async fn secrets_fold_string_data_into_data() {
    let s = server().await;
    let api: Api<Secret> = Api::namespaced(s.client().expect("client"), "default");
    let secret: Secret = serde_json::from_value(
        json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}),
    )
    .expect("secret");
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .expect("create");
    assert!(created.string_data.is_none());
    assert_eq!(created.data.expect("data")["password"].0, b"hunter2");
}

#[tokio::test]
async fn a_wrong_token_is_401_and_no_token_is_anonymous_as_kube_apiserver_defaults() {
    let s = server().await;
    let r = raw_with(&s, Some("wrong"), "GET", "/api/v1/namespaces", None, "").await;
    assert_eq!(r.code, 401);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    // kube-apiserver's --anonymous-auth is on by default: no token is `system:anonymous`, whom
    // the bootstrap RBAC lets read nothing but the public health and version paths.
    let r = raw_with(&s, None, "GET", "/api/v1/namespaces", None, "").await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.body["message"],
        r#"namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope"#
    );
    let r = raw_with(&s, None, "GET", "/api", None, "").await;
    assert_eq!(
        (r.code, r.body["message"].as_str()),
        (
            403,
            Some(r#"forbidden: User "system:anonymous" cannot get path "/api""#)
        )
    );
    assert_eq!(
        raw_with(&s, None, "GET", "/healthz", None, "").await.code,
        200
    );
    assert_eq!(
        raw_with(&s, None, "GET", "/version", None, "").await.body["gitVersion"],
        "v1.37.0"
    );
}

#[tokio::test]
async fn custom_resources_typed_and_dynamic_with_status_subresource() {
    let s = server().await;
    let client = s.client().expect("client");
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let w = Widget::new(
        "w1",
        WidgetSpec {
            size: 3,
            color: None,
        },
    );
    let created = widgets
        .create(&PostParams::default(), &w)
        .await
        .expect("create widget");
    assert_eq!(
        created.spec.color.as_deref(),
        Some("red"),
        "schema default applied"
    );
    assert_eq!(created.metadata.generation, Some(1));

    // Status writes change only status and do not bump generation.
    let st = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}, "spec": {"size": 9}})),
        )
        .await
        .expect("status patch");
    assert_eq!(
        st.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Ready")
    );
    assert_eq!(st.spec.size, 3);
    assert_eq!(st.metadata.generation, Some(1));

    // Main writes ignore status and bump generation on a spec change.
    let main = widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Hacked"}, "spec": {"size": 4}})),
        )
        .await
        .expect("main patch");
    assert_eq!(
        main.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Ready")
    );
    assert_eq!(main.spec.size, 4);
    assert_eq!(main.metadata.generation, Some(2));

    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let dynamic: Api<DynamicObject> =
        Api::namespaced_with(client, "default", &ApiResource::from_gvk(&gvk));
    let obj = dynamic.get("w1").await.expect("dynamic get");
    assert_eq!(obj.data["spec"]["size"], 4);
    let listed = dynamic
        .list(&ListParams::default())
        .await
        .expect("dynamic list");
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn discovery_legacy_and_aggregated_find_builtin_and_custom_resources() {
    let s = server().await;
    let client = s.client().expect("client");
    for aggregated in [false, true] {
        let d = Discovery::new(client.clone());
        let d = if aggregated {
            d.run_aggregated().await
        } else {
            d.run().await
        }
        .expect("discovery");
        let (ar, caps) = d
            .resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
            .expect("widget discovered");
        assert_eq!(ar.plural, "widgets");
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
        assert!(
            caps.subresources
                .iter()
                .any(|(r, _)| r.plural == "widgets/status" || r.plural == "status"),
            "{:?}",
            caps.subresources
        );
        assert!(
            d.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
                .is_some()
        );
        assert!(
            d.resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod"))
                .is_some()
        );
    }
}

#[tokio::test]
async fn crd_created_at_runtime_is_served_at_once_and_deleting_it_removes_objects() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let client = s.client().expect("client");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(widget_crd()).expect("CRD");
    let created = crds
        .create(&PostParams::default(), &crd)
        .await
        .expect("create CRD");
    let conditions = created
        .status
        .and_then(|s| s.conditions)
        .expect("conditions");
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "NamesAccepted" && c.status == "True")
    );

    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    widgets
        .create(
            &PostParams::default(),
            &Widget::new(
                "w",
                WidgetSpec {
                    size: 1,
                    color: None,
                },
            ),
        )
        .await
        .expect("served at once");
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .expect("delete CRD");
    let r = common::send(
        &s,
        "GET",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        &serde_json::Value::Null,
    )
    .await;
    assert_eq!(r.code, 404);
    // Re-creating the CRD starts empty: the objects went with it.
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("re-create CRD");
    assert!(
        widgets
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn crd_dir_installs_multi_document_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let s = apiserver::ApiServer::builder()
        .crd_dir(dir)
        .start()
        .await
        .expect("start");
    let r = common::send(
        &s,
        "POST",
        "/apis/example.com/v1/namespaces/default/gizmos",
        &json!({"metadata": {"name": "g"}, "spec": {}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 1);
    let r = common::send(
        &s,
        "POST",
        "/apis/example.com/v1/gadgets",
        &json!({"metadata": {"name": "g"}, "anything": {"goes": true}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    let missing = apiserver::ApiServer::builder()
        .crd_dir("/nonexistent/crds")
        .start()
        .await
        .expect_err("missing dir");
    assert!(
        missing.to_string().contains("/nonexistent/crds"),
        "{missing}"
    );
}

#[tokio::test]
async fn watcher_sees_every_change_in_order() {
    let s = server().await;
    let client = s.client().expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let stream = watcher::watcher(api.clone(), watcher::Config::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    // Wait for the initial list to finish before writing.
    loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("event in time")
            .expect("stream open")
        {
            Ok(Event::InitDone) => break,
            Ok(_) => {}
            Err(e) => panic!("watcher error {e}"),
        }
    }
    let mk = |name: &str, v: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": v}})).expect("cm")
    };
    api.create(&PostParams::default(), &mk("a", "1"))
        .await
        .expect("create a");
    api.create(&PostParams::default(), &mk("b", "1"))
        .await
        .expect("create b");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .expect("patch a");
    api.delete("b", &DeleteParams::default())
        .await
        .expect("delete b");
    let mut seen = Vec::new();
    while seen.len() < 4 {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("event in time")
            .expect("stream open")
        {
            Ok(Event::Apply(cm)) => seen.push(format!(
                "apply {} {}",
                cm.name_any(),
                cm.data.expect("data")["v"]
            )),
            Ok(Event::Delete(cm)) => seen.push(format!("delete {}", cm.name_any())),
            Ok(_) => {}
            Err(e) => panic!("watcher error {e}"),
        }
    }
    assert_eq!(seen, ["apply a 1", "apply b 1", "apply a 2", "delete b"]);
    task.abort();
}

#[tokio::test]
async fn streaming_list_watcher_works() {
    let s = server().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().expect("client"), "default");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "pre"}})).expect("cm");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let mut stream = std::pin::pin!(watcher::watcher(
        api,
        watcher::Config::default().streaming_lists()
    ));
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("event in time")
            .expect("open")
        {
            Ok(Event::InitApply(cm)) => names.push(cm.name_any()),
            Ok(Event::InitDone) => break,
            Ok(_) => {}
            Err(e) => panic!("watcher error {e}"),
        }
    }
    // A fresh namespace holds the root CA ConfigMap kube-controller-manager publishes.
    assert_eq!(names, ["kube-root-ca.crt", "pre"]);
}

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed: {0}")]
struct ReconcileError(#[from] kube::Error);

async fn reconcile(w: Arc<Widget>, api: Arc<Api<Widget>>) -> Result<Action, ReconcileError> {
    let generation = w.metadata.generation;
    if w.status.as_ref().and_then(|s| s.observed_generation) == generation {
        return Ok(Action::await_change());
    }
    let status = json!({"status": {"phase": "Ready", "observedGeneration": generation}});
    api.patch_status(
        &w.name_any(),
        &PatchParams::default(),
        &Patch::Merge(status),
    )
    .await?;
    Ok(Action::await_change())
}

#[tokio::test]
async fn controller_reconciles_a_custom_resource_and_writes_status() {
    let s = server().await;
    let client = s.client().expect("client");
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    let shared = Arc::new(api.clone());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .graceful_shutdown_on(async move { stop.cancelled().await })
            .run(
                reconcile,
                |_, _: &ReconcileError, _| Action::requeue(Duration::from_millis(50)),
                shared,
            )
            .for_each(|_| async {}),
    );
    s.clear_requests();
    api.create(
        &PostParams::default(),
        &Widget::new(
            "w",
            WidgetSpec {
                size: 2,
                color: None,
            },
        ),
    )
    .await
    .expect("create");
    eventually("status Ready", || {
        let api = api.clone();
        async move {
            let w = api.get("w").await.ok()?;
            (w.status?.observed_generation == Some(1)).then_some(())
        }
    })
    .await;
    // Exactly one status write for one generation.
    let status_writes = s
        .requests()
        .iter()
        .filter(|r| r.subresource == "status" && r.verb == "patch")
        .count();
    assert_eq!(status_writes, 1);
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 5}})),
    )
    .await
    .expect("spec change");
    eventually("observedGeneration 2", || {
        let api = api.clone();
        async move { (api.get("w").await.ok()?.status?.observed_generation == Some(2)).then_some(()) }
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(WAIT, controller)
        .await
        .expect("controller stops")
        .expect("no panic");
    api.list(&ListParams::default())
        .await
        .expect("still serving");
}

#[tokio::test]
async fn kubeconfig_file_is_private_and_usable() {
    use std::os::unix::fs::PermissionsExt;
    let s = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    s.write_kubeconfig(&path).expect("write");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    let kc = kube::config::Kubeconfig::read_from(&path).expect("parse");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(cfg).expect("client");
    Api::<Namespace>::all(client)
        .get("default")
        .await
        .expect("works with the kubeconfig");
}

#[tokio::test]
async fn event_recorder_creates_then_patches_a_series() {
    use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
    let s = server().await;
    let client = s.client().expect("client");
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let w = widgets
        .create(
            &PostParams::default(),
            &Widget::new(
                "w",
                WidgetSpec {
                    size: 1,
                    color: None,
                },
            ),
        )
        .await
        .expect("create");
    let recorder = Recorder::new(client.clone(), "widget-controller".into());
    let ev = KubeEvent {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("all good".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = kube::Resource::object_ref(&w, &());
    recorder
        .publish(&ev, &reference)
        .await
        .expect("first publish creates");
    recorder
        .publish(&ev, &reference)
        .await
        .expect("second publish patches the series");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    let listed = events
        .list(&ListParams::default())
        .await
        .expect("list events");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].reason.as_deref(), Some("Reconciled"));
    assert!(
        listed.items[0].series.is_some(),
        "the repeat became a series"
    );
}
