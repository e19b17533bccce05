//! What a write to `/status` stores outside `.status`, over HTTP: each type's status strategy
//! (`*StatusStrategy.PrepareForUpdate` in kube's `pkg/registry/<group>/<type>/strategy.go`)
//! decides which metadata the request may change, the spec never changes, and field ownership
//! records the metadata a status write changed under the `status` subresource. Also the
//! `Warning` headers of `podStatusStrategy.WarningsOnUpdate`.

mod common;

use common::{apply, create, replace, send, warnings};
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .crd(serde_json::from_value(common::widget_crd()).expect("CRD"))
        .start()
        .await
        .expect("start")
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app": "a"}, "annotations": {"note": "one"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

async fn get(s: &apiserver::ApiServer, path: &str) -> Value {
    let r = send(s, "GET", path, &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
}

/// The managedFields entry of `manager`.
fn entry(obj: &Value, manager: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn pod_status_put_stores_labels_and_annotations_not_owner_references_or_spec() {
    let s = server().await;
    let stored = create(&s, PODS, &pod()).await;
    let mut body = stored.clone();
    body["metadata"]["labels"] = json!({"app": "b", "tier": "web"});
    body["metadata"]["annotations"] = json!({"note": "two"});
    body["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
        "name": "owner", "uid": "0b5f8a52-5e0e-4c3c-9a4b-2f5f2f9b7b11"}]);
    body["spec"]["containers"][0]["image"] = json!("nginx");
    body["status"]["phase"] = json!("Running");
    let r = replace(&s, &format!("{PODS}/p/status"), &stored, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{PODS}/p")).await;
    assert_eq!(got["status"]["phase"], "Running");
    assert_eq!(
        got["metadata"]["labels"],
        json!({"app": "b", "tier": "web"})
    );
    assert_eq!(got["metadata"]["annotations"], json!({"note": "two"}));
    assert_eq!(got["metadata"].get("ownerReferences"), None);
    assert_eq!(got["spec"]["containers"][0]["image"], "busybox");
    assert_eq!(got["metadata"]["generation"], 1);
    assert_eq!(r.body, got, "the answer is what was stored");
}

#[tokio::test]
async fn pod_status_merge_patch_stores_labels_and_annotations() {
    let s = server().await;
    create(&s, PODS, &pod()).await;
    let patch = json!({"metadata": {"labels": {"app": null, "tier": "web"},
            "annotations": {"added": "yes"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                "uid": "0b5f8a52-5e0e-4c3c-9a4b-2f5f2f9b7b11"}]},
        "spec": {"activeDeadlineSeconds": 5},
        "status": {"phase": "Running"}});
    let r = send(&s, "PATCH", &format!("{PODS}/p/status"), &patch).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{PODS}/p")).await;
    assert_eq!(got["status"]["phase"], "Running");
    assert_eq!(got["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(
        got["metadata"]["annotations"],
        json!({"note": "one", "added": "yes"})
    );
    assert_eq!(got["metadata"].get("ownerReferences"), None);
    assert_eq!(got["spec"].get("activeDeadlineSeconds"), None);
    // The update's field manager records the metadata it changed under `status`.
    let mine = got["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["subresource"] == "status")
        .cloned()
        .expect("a status entry");
    assert_eq!(mine["operation"], "Update");
    assert_eq!(
        mine["fieldsV1"]["f:metadata"],
        json!({"f:annotations": {"f:added": {}}, "f:labels": {"f:tier": {}}}),
        "{mine}"
    );
}

#[tokio::test]
async fn deployment_status_keeps_the_stored_labels_but_stores_annotations() {
    let s = server().await;
    let mut d = common::deployment("d", 1);
    d["metadata"]["labels"] = json!({"app": "d"});
    let stored = create(&s, DEPLOYMENTS, &d).await;
    let mut body = stored.clone();
    body["metadata"]["labels"] = json!({"app": "changed"});
    body["metadata"]["annotations"] = json!({"note": "kept"});
    body["spec"]["replicas"] = json!(3);
    body["status"] = json!({"replicas": 1, "observedGeneration": 1});
    let r = replace(&s, &format!("{DEPLOYMENTS}/d/status"), &stored, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{DEPLOYMENTS}/d")).await;
    assert_eq!(got["metadata"]["labels"], json!({"app": "d"}));
    assert_eq!(got["metadata"]["annotations"], json!({"note": "kept"}));
    assert_eq!(got["spec"]["replicas"], 1);
    assert_eq!(got["status"]["replicas"], 1);
    assert_eq!(got["metadata"]["generation"], 1);
}

#[tokio::test]
async fn reset_object_meta_for_status_types_keep_all_stored_metadata() {
    // VolumeAttachment's status strategy calls metav1.ResetObjectMetaForStatus.
    let s = server().await;
    let path = "/apis/storage.k8s.io/v1/volumeattachments";
    let va = json!({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment",
        "metadata": {"name": "va", "labels": {"a": "1"}, "annotations": {"x": "1"}},
        "spec": {"attacher": "csi.example.com", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv1"}}});
    let stored = create(&s, path, &va).await;
    let mut body = stored.clone();
    body["metadata"]["labels"] = json!({"a": "2"});
    body["metadata"]["annotations"] = json!({"x": "2"});
    body["metadata"]["finalizers"] = json!(["example.com/f"]);
    body["status"] = json!({"attached": true});
    let r = replace(&s, &format!("{path}/va/status"), &stored, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{path}/va")).await;
    assert_eq!(got["status"]["attached"], true);
    assert_eq!(got["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(got["metadata"]["annotations"], json!({"x": "1"}));
    assert_eq!(got["metadata"].get("finalizers"), None);
    // Where the strategy resets only the spec (namespaceStatusStrategy), the same write stores
    // the metadata.
    let ns = get(&s, "/api/v1/namespaces/default").await;
    let mut body = ns.clone();
    body["metadata"]["labels"]["team"] = json!("x");
    body["metadata"]["annotations"] = json!({"x": "2"});
    let r = replace(&s, "/api/v1/namespaces/default/status", &ns, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, "/api/v1/namespaces/default").await;
    assert_eq!(got["metadata"]["labels"]["team"], "x");
    assert_eq!(got["metadata"]["annotations"], json!({"x": "2"}));
}

#[tokio::test]
async fn custom_resource_status_keeps_all_stored_metadata() {
    let s = server().await;
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "1"}}, "spec": {"size": 1}});
    let stored = create(&s, widgets, &w).await;
    let mut body = stored.clone();
    body["metadata"]["labels"] = json!({"a": "2"});
    body["metadata"]["annotations"] = json!({"x": "2"});
    body["status"] = json!({"phase": "Ready"});
    let r = replace(&s, &format!("{widgets}/w/status"), &stored, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{widgets}/w")).await;
    assert_eq!(got["status"]["phase"], "Ready");
    assert_eq!(got["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(got["metadata"].get("annotations"), None);
    // The CRD's own status strategy resets its new metadata to itself
    // (`ResetObjectMetaForStatus(&newObj.ObjectMeta, &newObj.ObjectMeta)`): a label sent to
    // customresourcedefinitions/status is stored.
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";
    let crd = get(&s, path).await;
    let mut body = crd.clone();
    body["metadata"]["labels"] = json!({"sent": "to-status"});
    let r = replace(&s, &format!("{path}/status"), &crd, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, path).await;
    assert_eq!(got["metadata"]["labels"], json!({"sent": "to-status"}));
}

#[tokio::test]
async fn pod_status_apply_stores_a_label_owned_under_status() {
    let s = server().await;
    create(&s, PODS, &pod()).await;
    let config = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"applied": "yes"}},
        "status": {"phase": "Running"}});
    let r = apply(&s, &format!("{PODS}/p/status"), "kubelet", "", &config).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let got = get(&s, &format!("{PODS}/p")).await;
    assert_eq!(
        got["metadata"]["labels"],
        json!({"app": "a", "applied": "yes"})
    );
    assert_eq!(got["status"]["phase"], "Running");
    assert_eq!(
        entry(&got, "kubelet"),
        json!({"manager": "kubelet", "operation": "Apply", "apiVersion": "v1",
            "time": entry(&got, "kubelet")["time"], "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:applied": {}}},
                "f:status": {"f:phase": {}}},
            "subresource": "status"})
    );
}

#[tokio::test]
async fn pod_status_warns_of_non_standard_ips() {
    let s = server().await;
    let stored = create(&s, PODS, &pod()).await;
    let mut body = stored.clone();
    body["status"]["hostIP"] = json!("010.000.000.009");
    body["status"]["hostIPs"] = json!([{"ip": "010.000.000.009"}]);
    body["status"]["podIP"] = json!("10.1.0.4");
    body["status"]["podIPs"] = json!([{"ip": "10.1.0.4"}, {"ip": "fd00:0:0::4"}]);
    let r = replace(&s, &format!("{PODS}/p/status"), &stored, body).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        warnings(&r),
        [
            r#"299 - "status.podIPs[1].ip: IPv6 address \"fd00:0:0::4\" should be in RFC 5952 canonical format (\"fd00::4\")""#,
            r#"299 - "status.hostIPs[0].ip: non-standard IP address \"010.000.000.009\" will be considered invalid in a future Kubernetes release: use \"10.0.0.9\"""#,
        ]
    );
    // A write of the pod itself does not run the status strategy's warnings.
    let got = get(&s, &format!("{PODS}/p")).await;
    let r = replace(&s, &format!("{PODS}/p"), &got, got.clone()).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(warnings(&r), Vec::<String>::new());
}
