//! Field selectors compare as kube's field-label conversion and `ToSelectableFields` do: a
//! built-in type's selectable fields are read with Go's zero values (`spec.unschedulable=false`
//! matches a Node without the field), labels that are not JSON paths are converted
//! (`status.successful` of Jobs, `source` of Events), and unsupported labels get kube's 400.

mod common;

use common::send;
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("server starts")
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn an_unset_bool_selects_as_false() {
    let s = server().await;
    for (name, spec) in [
        ("plain", json!({})),
        ("cordoned", json!({"unschedulable": true})),
    ] {
        let node =
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec});
        assert_eq!(send(&s, "POST", "/api/v1/nodes", &node).await.code, 201);
    }
    let r = send(
        &s,
        "GET",
        "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse",
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(names(&r.body), ["plain"]);
    let r = send(
        &s,
        "GET",
        "/api/v1/nodes?fieldSelector=spec.unschedulable!%3Dfalse",
        &Value::Null,
    )
    .await;
    assert_eq!(names(&r.body), ["cordoned"]);
}

#[tokio::test]
async fn converted_labels_read_their_fields() {
    let s = server().await;
    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
    assert_eq!(send(&s, "POST", jobs, &job).await.code, 201);
    let r = send(
        &s,
        "GET",
        &format!("{jobs}?fieldSelector=status.successful%3D0"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(names(&r.body), ["j"]);

    let events = "/api/v1/namespaces/default/events";
    let ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Started", "source": {"component": "kubelet"}});
    assert_eq!(send(&s, "POST", events, &ev).await.code, 201);
    let r = send(
        &s,
        "GET",
        &format!("{events}?fieldSelector=source%3Dkubelet"),
        &Value::Null,
    )
    .await;
    assert_eq!(names(&r.body), ["e"], "{}", r.body);
}

#[tokio::test]
async fn unsupported_labels_are_400_with_kubes_message() {
    let s = server().await;
    let r = send(
        &s,
        "GET",
        "/api/v1/nodes?fieldSelector=spec.podCIDR%3Dx",
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 400);
    assert_eq!(r.body["reason"], "BadRequest");
    assert_eq!(r.body["message"], "field label not supported: spec.podCIDR");
}
