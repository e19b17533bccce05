//! ResourceQuota over HTTP: the resourcequota controller's `status.hard` and `status.used`,
//! kept current by every write, and the `ResourceQuota` admission plugin's refusals (exceeded,
//! must specify), scopes, and no enforcement without kube-controller-manager (envtest).

mod common;

use common::send;
use serde_json::{Value, json};

const NS: &str = "/api/v1/namespaces/quota";
const QUOTAS: &str = "/api/v1/namespaces/quota/resourcequotas";
const PODS: &str = "/api/v1/namespaces/quota/pods";

async fn server(gc: bool) -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .garbage_collection(gc)
        .start()
        .await
        .expect("start");
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "quota"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    s
}

fn pod(name: &str, cpu: Option<&str>) -> Value {
    let mut c = json!({"name": "c", "image": "busybox"});
    if let Some(cpu) = cpu {
        c["resources"] = json!({"requests": {"cpu": cpu}});
    }
    json!({"metadata": {"name": name}, "spec": {"containers": [c]}})
}

async fn used(s: &apiserver::ApiServer, name: &str) -> Value {
    send(s, "GET", &format!("{QUOTAS}/{name}"), &Value::Null)
        .await
        .body["status"]["used"]
        .clone()
}

fn assert_refused(r: &common::Raw, message: &str) {
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["message"], message, "{}", r.body);
}

#[tokio::test]
async fn a_quota_counts_what_its_namespace_holds_and_refuses_more() {
    let s = server(true).await;
    let r = send(
        &s,
        "POST",
        QUOTAS,
        &json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1", "configmaps": "2"}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let got = send(&s, "GET", &format!("{QUOTAS}/q"), &Value::Null)
        .await
        .body;
    assert_eq!(
        got["status"]["hard"],
        json!({"pods": "2", "requests.cpu": "1", "configmaps": "2"})
    );
    // The namespace's kube-root-ca.crt is a ConfigMap already.
    assert_eq!(
        got["status"]["used"],
        json!({"pods": "0", "requests.cpu": "0", "configmaps": "1"})
    );

    assert_refused(
        &send(&s, "POST", PODS, &pod("bare", None)).await,
        "pods \"bare\" is forbidden: failed quota: q: must specify requests.cpu for: c",
    );
    assert_eq!(
        send(&s, "POST", PODS, &pod("a", Some("600m"))).await.code,
        201
    );
    assert_eq!(used(&s, "q").await["requests.cpu"], "600m");
    assert_refused(
        &send(&s, "POST", PODS, &pod("b", Some("600m"))).await,
        "pods \"b\" is forbidden: exceeded quota: q, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1",
    );
    assert_eq!(
        send(&s, "POST", PODS, &pod("b", Some("400m"))).await.code,
        201
    );
    assert_refused(
        &send(&s, "POST", PODS, &pod("c", Some("1m"))).await,
        "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=1m, used: pods=2,requests.cpu=1, limited: pods=2,requests.cpu=1",
    );
    // A pod's removal frees its share, in the same write.
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/a?gracePeriodSeconds=0"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        used(&s, "q").await,
        json!({"pods": "1", "requests.cpu": "400m", "configmaps": "1"})
    );
    // A pod that has ended no longer counts.
    let r = send(
        &s,
        "PATCH",
        &format!("{PODS}/b/status"),
        &json!({"status": {"phase": "Succeeded"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(used(&s, "q").await["pods"], "0");

    let cm = |name: &str| json!({"metadata": {"name": name}});
    assert_eq!(
        send(&s, "POST", &format!("{NS}/configmaps"), &cm("one"))
            .await
            .code,
        201
    );
    assert_refused(
        &send(&s, "POST", &format!("{NS}/configmaps"), &cm("two")).await,
        "configmaps \"two\" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=2, limited: configmaps=2",
    );
    // Raising the quota takes effect at once.
    let r = send(
        &s,
        "PATCH",
        &format!("{QUOTAS}/q"),
        &json!({"spec": {"hard": {"configmaps": "3"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        send(&s, "POST", &format!("{NS}/configmaps"), &cm("two"))
            .await
            .code,
        201
    );
}

#[tokio::test]
async fn object_counts_and_scopes() {
    let s = server(true).await;
    for (name, spec) in [
        (
            "counts",
            json!({"hard": {"count/deployments.apps": "1", "services.nodeports": "1"}}),
        ),
        (
            "best-effort",
            json!({"hard": {"pods": "1"}, "scopes": ["BestEffort"]}),
        ),
    ] {
        let r = send(
            &s,
            "POST",
            QUOTAS,
            &json!({"metadata": {"name": name}, "spec": spec}),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let deployments = "/apis/apps/v1/namespaces/quota/deployments";
    assert_eq!(
        send(&s, "POST", deployments, &common::deployment("one", 1))
            .await
            .code,
        201
    );
    assert_refused(
        &send(&s, "POST", deployments, &common::deployment("two", 1)).await,
        "deployments.apps \"two\" is forbidden: exceeded quota: counts, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1",
    );
    let svc = |name: &str, ports: Value| json!({"metadata": {"name": name}, "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": ports}});
    let r = send(
        &s,
        "POST",
        &format!("{NS}/services"),
        &svc(
            "two-ports",
            json!([{"name": "a", "port": 80}, {"name": "b", "port": 81}]),
        ),
    )
    .await;
    assert_refused(
        &r,
        "services \"two-ports\" is forbidden: exceeded quota: counts, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1",
    );
    // The BestEffort quota counts best-effort pods only.
    assert_eq!(send(&s, "POST", PODS, &pod("be", None)).await.code, 201);
    assert_refused(
        &send(&s, "POST", PODS, &pod("be2", None)).await,
        "pods \"be2\" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1",
    );
    assert_eq!(
        send(&s, "POST", PODS, &pod("burstable", Some("10m")))
            .await
            .code,
        201
    );
    assert_eq!(used(&s, "best-effort").await, json!({"pods": "1"}));
}

#[tokio::test]
async fn without_the_resourcequota_controller_nothing_is_enforced() {
    let s = server(false).await;
    let r = send(
        &s,
        "POST",
        QUOTAS,
        &json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "0"}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(send(&s, "POST", PODS, &pod("p", None)).await.code, 201);
    let got = send(&s, "GET", &format!("{QUOTAS}/q"), &Value::Null)
        .await
        .body;
    assert!(got["status"].get("hard").is_none(), "{}", got);
}

#[tokio::test]
async fn a_volume_attributes_class_scope_counts_the_claims_of_its_classes() {
    let s = server(true).await;
    let r = send(
        &s,
        "POST",
        QUOTAS,
        &json!({"metadata": {"name": "gold"}, "spec": {
            "hard": {"persistentvolumeclaims": "1", "requests.storage": "2Gi"},
            "scopeSelector": {"matchExpressions": [
                {"scopeName": "VolumeAttributesClass", "operator": "In", "values": ["gold"]}]}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // The scope bounds claims only: a pod count under it is refused, as kube validates it.
    let r = send(
        &s,
        "POST",
        QUOTAS,
        &json!({"metadata": {"name": "bad"}, "spec": {"hard": {"pods": "1"},
            "scopes": ["VolumeAttributesClass"]}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let claim = |name: &str, class: Option<&str>, size: &str| {
        let mut spec = json!({"accessModes": ["ReadWriteOnce"], "storageClassName": "",
            "resources": {"requests": {"storage": size}}});
        if let Some(class) = class {
            spec["volumeAttributesClassName"] = class.into();
        }
        json!({"metadata": {"name": name}, "spec": spec})
    };
    let claims = format!("{NS}/persistentvolumeclaims");
    let r = send(&s, "POST", &claims, &claim("a", Some("gold"), "1Gi")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        used(&s, "gold").await,
        // Summed from a DecimalSI zero, as kube's `quota.Add` sums: bytes, not `1Gi`.
        json!({"persistentvolumeclaims": "1", "requests.storage": "1073741824"})
    );
    assert_refused(
        &send(&s, "POST", &claims, &claim("b", Some("gold"), "1Gi")).await,
        "persistentvolumeclaims \"b\" is forbidden: exceeded quota: gold, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=1, limited: persistentvolumeclaims=1",
    );
    // Claims of another class, or of none, are outside the scope.
    for (name, class) in [("c", Some("silver")), ("d", None)] {
        let r = send(&s, "POST", &claims, &claim(name, class, "5Gi")).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    assert_eq!(used(&s, "gold").await["persistentvolumeclaims"], "1");
    // A claim being modified to gold (its status names the target class) falls under the scope
    // and is counted, but not refused: kube charges an update only what its usage grows by, and a
    // claim's usage does not depend on its classes, so the quota goes over, as it would on kube.
    let r = send(
        &s,
        "PATCH",
        &format!("{claims}/c/status"),
        &json!({"status": {"currentVolumeAttributesClassName": "silver",
            "modifyVolumeStatus": {"targetVolumeAttributesClassName": "gold", "status": "InProgress"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        used(&s, "gold").await,
        json!({"persistentvolumeclaims": "2", "requests.storage": "6442450944"})
    );
}
