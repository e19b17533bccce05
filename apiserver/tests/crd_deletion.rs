//! CRD deletion as kube-apiserver does it: the cleanup finalizer and the Terminating condition,
//! every instance deleted (DELETED events), instances' finalizers holding the CRD, creates
//! refused with 405 while it terminates, and the resource gone afterwards.

mod common;

use common::{send, watch, widget_crd};
use serde_json::{Value, json};

const CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget(name: &str, finalizers: &[&str]) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name, "finalizers": finalizers}, "spec": {"size": 1}})
}

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .crd(serde_json::from_value(widget_crd()).expect("CRD"))
        .start()
        .await
        .expect("start")
}

fn terminating(crd: &Value) -> Value {
    crd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Terminating")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_instances_then_itself() {
    let s = server().await;
    for n in ["a", "b"] {
        assert_eq!(send(&s, "POST", WIDGETS, &widget(n, &[])).await.code, 201);
    }
    let mut w = watch(&s, &format!("{WIDGETS}?watch=1")).await;
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "a".into())));
    assert_eq!(w.next_named().await, Some(("ADDED".into(), "b".into())));
    let mut crds = watch(
        &s,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?watch=1",
    )
    .await;
    assert_eq!(crds.next().await.expect("initial")["type"], "ADDED");

    let deleted = send(&s, "DELETE", CRD, &Value::Null).await;
    assert_eq!(deleted.code, 200, "{}", deleted.body);
    // The answer is the CRD as the first delete marked it.
    assert!(deleted.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        deleted.body["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    assert_eq!(
        terminating(&deleted.body)["reason"],
        "InstanceDeletionPending"
    );

    assert_eq!(w.next_named().await, Some(("DELETED".into(), "a".into())));
    assert_eq!(w.next_named().await, Some(("DELETED".into(), "b".into())));
    // The CRD went through InstanceDeletionInProgress and InstanceDeletionCompleted, then away.
    let mut reasons = Vec::new();
    loop {
        let ev = crds.next().await.expect("CRD event");
        let kind = ev["type"].as_str().unwrap_or("").to_owned();
        reasons.push(
            terminating(&ev["object"])["reason"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
        if kind == "DELETED" {
            break;
        }
    }
    assert_eq!(
        reasons,
        [
            "InstanceDeletionPending",
            "InstanceDeletionInProgress",
            "InstanceDeletionCompleted",
            "InstanceDeletionCompleted"
        ]
    );
    assert_eq!(send(&s, "GET", CRD, &Value::Null).await.code, 404);
    assert_eq!(send(&s, "GET", WIDGETS, &Value::Null).await.code, 404);
}

#[tokio::test]
async fn instance_finalizers_keep_the_crd_terminating_and_creates_get_405() {
    let s = server().await;
    assert_eq!(
        send(&s, "POST", WIDGETS, &widget("held", &["example.com/hold"]))
            .await
            .code,
        201
    );
    assert_eq!(
        send(&s, "POST", WIDGETS, &widget("free", &[])).await.code,
        201
    );
    assert_eq!(send(&s, "DELETE", CRD, &Value::Null).await.code, 200);
    let crd = send(&s, "GET", CRD, &Value::Null).await;
    assert_eq!(crd.code, 200, "the held instance keeps the CRD");
    assert_eq!(
        terminating(&crd.body)["reason"],
        "InstanceDeletionInProgress"
    );
    assert_eq!(terminating(&crd.body)["status"], "True");
    let held = send(&s, "GET", &format!("{WIDGETS}/held"), &Value::Null).await;
    assert!(held.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        send(&s, "GET", &format!("{WIDGETS}/free"), &Value::Null)
            .await
            .code,
        404
    );

    let refused = send(&s, "POST", WIDGETS, &widget("new", &[])).await;
    assert_eq!(refused.code, 405, "{}", refused.body);
    assert_eq!(refused.body["reason"], "MethodNotAllowed");
    assert_eq!(
        refused.body["message"],
        "create not allowed while custom resource definition is terminating"
    );

    // A second DELETE changes nothing.
    let again = send(&s, "DELETE", CRD, &Value::Null).await;
    assert_eq!(again.code, 200);
    assert_eq!(
        again.body["metadata"]["resourceVersion"],
        crd.body["metadata"]["resourceVersion"]
    );

    // Releasing the instance lets the finalizer finish.
    let released = send(
        &s,
        "PATCH",
        &format!("{WIDGETS}/held"),
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(released.code, 200, "{}", released.body);
    assert_eq!(send(&s, "GET", CRD, &Value::Null).await.code, 404);
    assert_eq!(send(&s, "GET", WIDGETS, &Value::Null).await.code, 404);
}

#[tokio::test]
async fn crd_cleanup_runs_with_garbage_collection_off_and_dry_run_changes_nothing() {
    let s = apiserver::ApiServer::builder()
        .garbage_collection(false)
        .crd(serde_json::from_value(widget_crd()).expect("CRD"))
        .start()
        .await
        .expect("start");
    assert_eq!(send(&s, "POST", WIDGETS, &widget("a", &[])).await.code, 201);
    let dry = send(&s, "DELETE", &format!("{CRD}?dryRun=All"), &Value::Null).await;
    assert_eq!(dry.code, 200);
    assert!(dry.body["metadata"]["deletionTimestamp"].is_string());
    let still = send(&s, "GET", CRD, &Value::Null).await;
    assert!(still.body["metadata"].get("deletionTimestamp").is_none());
    assert_eq!(
        send(&s, "GET", &format!("{WIDGETS}/a"), &Value::Null)
            .await
            .code,
        200
    );
    assert_eq!(send(&s, "DELETE", CRD, &Value::Null).await.code, 200);
    assert_eq!(send(&s, "GET", CRD, &Value::Null).await.code, 404);
}
