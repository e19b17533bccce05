//! The answers of DELETE and deletecollection, as kube-apiserver gives them: a `Status` naming
//! the deleted object (details.kind is the plural resource) when it is removed, the object
//! itself for types whose REST storage returns deleted objects (pods, services, namespaces, ...)
//! and for an object left in place by its finalizers (200, or 202 with `orphanDependents:
//! false`), and for deletecollection the list of the objects as they were before.

mod common;

use common::{request, send, widget_crd};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("server starts")
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

#[tokio::test]
async fn deleting_a_config_map_answers_a_status_naming_it() {
    let s = server().await;
    let created = send(&s, "POST", CMS, &cm("gone")).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let uid = created.body["metadata"]["uid"].as_str().unwrap().to_owned();
    let r = request(&s, "DELETE", &format!("{CMS}/gone"), &[], "").await;
    assert_eq!(r.code, 200, "{}", r.text());
    // Exactly kube's bytes: field order of metav1.Status, no code, a trailing newline.
    assert_eq!(
        r.text(),
        format!(
            "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Success\",\"details\":{{\"name\":\"gone\",\"kind\":\"configmaps\",\"uid\":\"{uid}\"}}}}\n"
        )
    );
}

#[tokio::test]
async fn a_status_names_the_group_of_grouped_and_custom_resources() {
    let s = server().await;
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    assert_eq!(send(&s, "POST", deps, &d).await.code, 201);
    let r = request(&s, "DELETE", &format!("{deps}/web"), &[], "")
        .await
        .json();
    assert_eq!(r["kind"], "Status");
    assert_eq!(r["details"]["group"], "apps");
    assert_eq!(r["details"]["kind"], "deployments");
    assert_eq!(r["details"]["name"], "web");

    let crd = send(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &widget_crd(),
    )
    .await;
    assert_eq!(crd.code, 201, "{}", crd.body);
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    assert_eq!(send(&s, "POST", widgets, &w).await.code, 201);
    let r = request(&s, "DELETE", &format!("{widgets}/w"), &[], "")
        .await
        .json();
    assert_eq!(
        (&r["status"], &r["details"]["group"], &r["details"]["kind"]),
        (&json!("Success"), &json!("example.com"), &json!("widgets")),
        "{r}"
    );
}

#[tokio::test]
async fn types_that_return_the_deleted_object_answer_with_it() {
    let s = server().await;
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    assert_eq!(send(&s, "POST", pods, &pod).await.code, 201);
    let r = request(&s, "DELETE", &format!("{pods}/p"), &[], "").await;
    assert_eq!(r.code, 200);
    let body = r.json();
    assert_eq!(
        (&body["kind"], &body["metadata"]["name"]),
        (&json!("Pod"), &json!("p"))
    );

    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bye"}});
    assert_eq!(send(&s, "POST", "/api/v1/namespaces", &ns).await.code, 201);
    let r = request(&s, "DELETE", "/api/v1/namespaces/bye", &[], "")
        .await
        .json();
    assert_eq!(r["kind"], "Namespace", "{r}");
}

#[tokio::test]
async fn an_object_kept_by_finalizers_is_answered_200_or_202() {
    let s = server().await;
    let mut held = cm("held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(send(&s, "POST", CMS, &held).await.code, 201);
    let r = request(&s, "DELETE", &format!("{CMS}/held"), &[], "").await;
    assert_eq!(r.code, 200);
    let body = r.json();
    assert_eq!(body["kind"], "ConfigMap");
    assert!(body["metadata"]["deletionTimestamp"].is_string(), "{body}");

    let mut held2 = cm("held2");
    held2["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(send(&s, "POST", CMS, &held2).await.code, 201);
    let r = request(
        &s,
        "DELETE",
        &format!("{CMS}/held2"),
        &[],
        json!({"orphanDependents": false}).to_string(),
    )
    .await;
    assert_eq!(r.code, 202, "{}", r.text());
    assert_eq!(r.json()["kind"], "ConfigMap");
}

#[tokio::test]
async fn a_dry_run_delete_answers_the_status_and_keeps_the_object() {
    let s = server().await;
    assert_eq!(send(&s, "POST", CMS, &cm("kept")).await.code, 201);
    let r = request(&s, "DELETE", &format!("{CMS}/kept?dryRun=All"), &[], "")
        .await
        .json();
    assert_eq!(
        (&r["kind"], &r["details"]["name"]),
        (&json!("Status"), &json!("kept"))
    );
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/kept"), &Value::Null)
            .await
            .code,
        200
    );
}

#[tokio::test]
async fn deletecollection_answers_the_objects_as_they_were() {
    let s = server().await;
    let mut held = cm("a-held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(send(&s, "POST", CMS, &held).await.code, 201);
    assert_eq!(send(&s, "POST", CMS, &cm("b-free")).await.code, 201);
    let rv_before = s.resource_version().to_string();
    let r = request(&s, "DELETE", CMS, &[], "").await;
    assert_eq!(r.code, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["metadata"]["resourceVersion"], rv_before.as_str());
    let items = list["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"a-held") && names.contains(&"b-free"),
        "{names:?}"
    );
    // Listed before the deletion: no deletionTimestamp even on the object left in place.
    assert!(
        items
            .iter()
            .all(|i| i["metadata"].get("deletionTimestamp").is_none()),
        "{list}"
    );
}

/// kube-rs decides between the object and a Status by the answer: `Either::Right` for a
/// ConfigMap, `Either::Left` (the pod) for a pod.
#[tokio::test]
async fn kube_rs_sees_a_status_or_the_object() {
    let s = server().await;
    let client = s.client().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let c: ConfigMap = serde_json::from_value(cm("kr")).unwrap();
    cms.create(&PostParams::default(), &c).await.unwrap();
    let answer = cms.delete("kr", &DeleteParams::default()).await.unwrap();
    let status = answer.right().expect("a Status for a ConfigMap");
    assert_eq!(status.details.unwrap().name, "kr");

    let pods: Api<Pod> = Api::namespaced(client, "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "kp"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    let answer = pods.delete("kp", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        answer
            .left()
            .expect("the pod itself")
            .metadata
            .name
            .as_deref(),
        Some("kp")
    );
}
