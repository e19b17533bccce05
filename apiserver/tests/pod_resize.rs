//! `pods/resize` over HTTP, as kube-apiserver 1.37 serves it: discovery, GET, PUT and the
//! patches; what the resize strategy keeps and drops; `ValidatePodResize`'s refusals; and the
//! admission plugins that judge a resize (LimitRanger, PodResizeValidator, ResourceQuota), while a
//! plain Pod update still may not change resources.

mod common;

use common::{raw, send};
use serde_json::{Value, json};

const NS: &str = "/api/v1/namespaces/resize";
const PODS: &str = "/api/v1/namespaces/resize/pods";
const SMP: &str = "application/strategic-merge-patch+json";

async fn server() -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "resize"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    s
}

/// A Burstable pod `name` whose container `c` requests `cpu`, bound to `node` if given.
async fn create_pod(s: &apiserver::ApiServer, name: &str, cpu: &str, node: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "busybox",
        "resources": {"requests": {"cpu": cpu}}}]});
    if let Some(node) = node {
        spec["nodeName"] = node.into();
    }
    let r = send(
        s,
        "POST",
        PODS,
        &json!({"metadata": {"name": name, "labels": {"app": "a"}}, "spec": spec}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.body
}

/// A strategic-merge patch of container `c`'s requests through `pods/resize`.
async fn resize(s: &apiserver::ApiServer, name: &str, requests: Value) -> common::Raw {
    let patch =
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]}});
    raw(
        s,
        "PATCH",
        &format!("{PODS}/{name}/resize"),
        Some(SMP),
        patch.to_string(),
    )
    .await
}

async fn node(s: &apiserver::ApiServer, name: &str, labels: Value, allocatable: Value) {
    let r = send(
        s,
        "POST",
        "/api/v1/nodes",
        &json!({"metadata": {"name": name, "labels": labels}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        s,
        "PATCH",
        &format!("/api/v1/nodes/{name}/status"),
        &json!({"status": {"allocatable": allocatable, "capacity": allocatable}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
}

fn assert_forbidden(r: &common::Raw, name: &str, why: &str) {
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("pods \"{name}\" is forbidden: {why}"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn resize_is_discovered_and_changes_only_resources_bumping_the_generation() {
    let s = server().await;
    let discovery = send(&s, "GET", "/api/v1", &Value::Null).await;
    let listed: Vec<&Value> = discovery.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["name"] == "pods/resize")
        .collect();
    assert_eq!(
        listed,
        [
            &json!({"name": "pods/resize", "singularName": "", "namespaced": true, "kind": "Pod",
                 "verbs": ["get", "patch", "update"]})
        ]
    );

    let created = create_pod(&s, "p", "100m", None).await;
    assert_eq!(created["metadata"]["generation"], 1);
    let got = send(&s, "GET", &format!("{PODS}/p/resize"), &Value::Null).await;
    assert_eq!((got.code, &got.body["kind"]), (200, &json!("Pod")));
    assert_eq!(got.body["metadata"]["uid"], created["metadata"]["uid"]);

    // A label and an image sent through resize are dropped, not refused; the status stays.
    let patch = json!({"metadata": {"labels": {"app": "b"}},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "resources": {"requests": {"cpu": "200m"}}}]}});
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/p/resize"),
        Some(SMP),
        patch.to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let c = &r.body["spec"]["containers"][0];
    assert_eq!(c["resources"]["requests"]["cpu"], "200m");
    assert_eq!(c["image"], "busybox");
    assert_eq!(r.body["metadata"]["labels"], json!({"app": "a"}));
    assert_eq!(r.body["metadata"]["generation"], 2);
    assert_eq!(r.body["status"], created["status"]);
    let managers: Vec<(&Value, &Value)> = r.body["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| (&m["operation"], &m["subresource"]))
        .collect();
    assert!(
        managers.contains(&(&json!("Update"), &json!("resize"))),
        "{managers:?}"
    );

    // A PUT of the whole pod through resize, with the read resourceVersion.
    let mut put = r.body.clone();
    put["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "300m".into();
    let r = send(&s, "PUT", &format!("{PODS}/p/resize"), &put).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "300m"
    );
    assert_eq!(r.body["metadata"]["generation"], 3);
    // A stale resourceVersion is a conflict.
    let r = send(&s, "PUT", &format!("{PODS}/p/resize"), &put).await;
    assert_eq!((r.code, &r.body["reason"]), (409, &json!("Conflict")));

    // The plain pod update still may not change resources.
    let r = resize_via_main(&s, "p").await;
    assert_eq!(r.code, 422, "{}", r.body);
    let message = r.body["message"].as_str().expect("message");
    assert!(
        message.starts_with("Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
        "{message}"
    );
    // A missing pod is a 404.
    let r = resize(&s, "ghost", json!({"cpu": "1"})).await;
    assert_eq!(r.code, 404, "{}", r.body);
}

async fn resize_via_main(s: &apiserver::ApiServer, name: &str) -> common::Raw {
    let patch =
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}});
    raw(
        s,
        "PATCH",
        &format!("{PODS}/{name}"),
        Some(SMP),
        patch.to_string(),
    )
    .await
}

#[tokio::test]
async fn validate_pod_resize_refuses_what_a_resize_may_not_do() {
    let s = server().await;
    create_pod(&s, "p", "100m", None).await;
    // Burstable to Guaranteed.
    let patch = json!({"spec": {"containers": [{"name": "c", "resources": {
        "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]}});
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/p/resize"),
        Some(SMP),
        patch.to_string(),
    )
    .await;
    common::assert_invalid(
        &r,
        "Pod",
        "p",
        &[(
            "FieldValueInvalid",
            "spec",
            "Invalid value: \"Burstable\": Pod QOS Class may not change as a result of resizing",
        )],
    );
    // Another resource than cpu and memory.
    let r = resize(&s, "p", json!({"cpu": "100m", "ephemeral-storage": "1Gi"})).await;
    common::assert_invalid(
        &r,
        "Pod",
        "p",
        &[(
            "FieldValueForbidden",
            "spec",
            "Forbidden: only cpu and memory resources are mutable",
        )],
    );
    // A request removed (a JSON patch can remove it).
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/p/resize"),
        Some("application/json-patch+json"),
        json!([{"op": "replace", "path": "/spec/containers/0/resources/requests",
                "value": {"memory": "64Mi"}}])
        .to_string(),
    )
    .await;
    common::assert_invalid(
        &r,
        "Pod",
        "p",
        &[(
            "FieldValueForbidden",
            "spec.containers[0].resources.requests",
            "Forbidden: resource requests cannot be removed",
        )],
    );
    // A container added.
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/p/resize"),
        Some("application/json-patch+json"),
        json!([{"op": "add", "path": "/spec/containers/-",
                "value": {"name": "d", "image": "busybox"}}])
        .to_string(),
    )
    .await;
    common::assert_invalid(
        &r,
        "Pod",
        "p",
        &[(
            "FieldValueForbidden",
            "spec.containers",
            "Forbidden: containers may not be added or removed on resize",
        )],
    );
    // None of these changed the pod.
    let got = send(&s, "GET", &format!("{PODS}/p"), &Value::Null).await;
    assert_eq!(got.body["metadata"]["generation"], 1);
}

#[tokio::test]
async fn pod_resize_validator_checks_the_node_of_a_bound_pod() {
    let s = server().await;
    create_pod(&s, "p", "100m", Some("n1")).await;
    let r = resize(&s, "p", json!({"cpu": "200m"})).await;
    assert_forbidden(&r, "p", "node \"n1\" not found");

    node(
        &s,
        "n1",
        json!({"kubernetes.io/os": "windows"}),
        json!({"cpu": "4", "memory": "8Gi"}),
    )
    .await;
    let r = resize(&s, "p", json!({"cpu": "200m"})).await;
    assert_forbidden(
        &r,
        "p",
        "pod resize is only supported on linux nodes, node \"n1\" is \"windows\"",
    );
    assert_eq!(
        r.body["details"]["causes"],
        json!([{"reason": "UnsupportedPlatform"}])
    );

    let r = send(
        &s,
        "PATCH",
        "/api/v1/nodes/n1",
        &json!({"metadata": {"labels": {"kubernetes.io/os": "linux"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = resize(&s, "p", json!({"cpu": "5"})).await;
    assert_forbidden(
        &r,
        "p",
        "node didn't have enough allocatable resources: cpu, requested: 5000, allocatable: 4000",
    );
    assert_eq!(
        r.body["details"]["causes"],
        json!([{"reason": "NodeCapacity"}])
    );
    let r = resize(&s, "p", json!({"cpu": "3"})).await;
    assert_eq!(r.code, 200, "{}", r.body);
    // An unchanged spec (no new generation) is not checked against the node.
    let r = resize(&s, "p", json!({"cpu": "3"})).await;
    assert_eq!(r.code, 200, "{}", r.body);
}

#[tokio::test]
async fn limit_ranges_and_quotas_judge_a_resize() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        &format!("{NS}/limitranges"),
        &json!({"metadata": {"name": "lr"}, "spec": {"limits": [
            {"type": "Container", "max": {"cpu": "2"}}]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Created before the quota, which would otherwise want limits too.
    let created = create_pod(&s, "p", "500m", None).await;
    // LimitRanger defaulted the limit to the max (the pod is Burstable: request < limit).
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "2"
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/p/resize"),
        Some(SMP),
        json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "3"}}}]}})
            .to_string(),
    )
    .await;
    assert_forbidden(
        &r,
        "p",
        "maximum cpu usage per Container is 2, but limit is 3",
    );

    let r = send(
        &s,
        "POST",
        &format!("{NS}/resourcequotas"),
        &json!({"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "1"}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    common::eventually("the quota's status.hard", || async {
        let q = send(&s, "GET", &format!("{NS}/resourcequotas/q"), &Value::Null).await;
        (q.body["status"]["used"]["requests.cpu"] == "500m").then_some(())
    })
    .await;
    let r = resize(&s, "p", json!({"cpu": "1500m"})).await;
    assert_forbidden(
        &r,
        "p",
        "exceeded quota: q, requested: requests.cpu=1, used: requests.cpu=500m, limited: requests.cpu=1",
    );
    // A smaller request is charged nothing, and the quota follows it.
    let r = resize(&s, "p", json!({"cpu": "300m"})).await;
    assert_eq!(r.code, 200, "{}", r.body);
    common::eventually("the quota's new usage", || async {
        let q = send(&s, "GET", &format!("{NS}/resourcequotas/q"), &Value::Null).await;
        (q.body["status"]["used"]["requests.cpu"] == "300m").then_some(())
    })
    .await;
}
