//! The subresources besides `/status`: `scale` (Deployments and a CRD with `subresources.scale`),
//! `pods/ephemeralcontainers`, `pods/eviction` with PodDisruptionBudgets and
//! `certificatesigningrequests/approval`, through raw HTTP, kube-rs and kubectl, and their
//! discovery entries; the kubelet-backed `pods/log`, `exec`, `attach` and `portforward`, which
//! answer kube's refusals for a pod no kubelet serves.

mod common;

use common::kubectl::Kubectl;
use common::{deployment, raw, send};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const PODS: &str = "/api/v1/namespaces/default/pods";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .crd(serde_json::from_value(common::gizmo_crd()).expect("CRD"))
        .start()
        .await
        .expect("start")
}

#[tokio::test]
async fn deployment_scale_gets_updates_and_patches_only_replicas() {
    let s = server().await;
    let created = send(&s, "POST", DEPLOYS, &deployment("web", 2)).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let scale = send(&s, "GET", &format!("{DEPLOYS}/web/scale"), &Value::Null).await;
    assert_eq!(scale.code, 200, "{}", scale.body);
    assert_eq!(scale.body["kind"], "Scale");
    assert_eq!(scale.body["apiVersion"], "autoscaling/v1");
    assert_eq!(scale.body["spec"]["replicas"], 2);
    assert_eq!(
        scale.body["status"],
        json!({"replicas": 0, "selector": "app=web"})
    );
    assert_eq!(
        scale.body["metadata"]["uid"],
        created.body["metadata"]["uid"]
    );

    // PUT changes spec.replicas and nothing else.
    let mut body = scale.body.clone();
    body["spec"]["replicas"] = 5.into();
    let put = send(&s, "PUT", &format!("{DEPLOYS}/web/scale"), &body).await;
    assert_eq!(put.code, 200, "{}", put.body);
    assert_eq!(put.body["spec"]["replicas"], 5);
    let d = send(&s, "GET", &format!("{DEPLOYS}/web"), &Value::Null).await;
    assert_eq!(d.body["spec"]["replicas"], 5);
    assert_eq!(d.body["spec"]["template"], created.body["spec"]["template"]);
    assert_eq!(
        put.body["metadata"]["resourceVersion"],
        d.body["metadata"]["resourceVersion"]
    );

    // The Scale's stale resourceVersion is the Deployment's precondition: 409 naming the Deployment.
    let stale = send(&s, "PUT", &format!("{DEPLOYS}/web/scale"), &body).await;
    assert_eq!(stale.code, 409, "{}", stale.body);
    assert_eq!(
        stale.body["message"],
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // Negative replicas: kube's 422 on the Scale.
    let neg = send(
        &s,
        "PATCH",
        &format!("{DEPLOYS}/web/scale"),
        &json!({"spec": {"replicas": -1}}),
    )
    .await;
    assert_eq!(neg.code, 422, "{}", neg.body);
    assert_eq!(
        neg.body["message"],
        "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(neg.body["details"]["kind"], "Scale");

    let patched = send(
        &s,
        "PATCH",
        &format!("{DEPLOYS}/web/scale"),
        &json!({"spec": {"replicas": 0}}),
    )
    .await;
    assert_eq!(patched.code, 200, "{}", patched.body);
    // Go's omitempty: zero replicas leave spec empty.
    assert_eq!(patched.body["spec"], json!({}));
    let d = send(&s, "GET", &format!("{DEPLOYS}/web"), &Value::Null).await;
    assert_eq!(d.body["spec"]["replicas"], 0);

    let missing = send(&s, "GET", &format!("{DEPLOYS}/nope/scale"), &Value::Null).await;
    assert_eq!(missing.code, 404);
    assert_eq!(
        missing.body["message"],
        "deployments.apps \"nope\" not found"
    );
    // ConfigMaps have no scale subresource.
    let none = send(
        &s,
        "GET",
        "/api/v1/namespaces/default/configmaps/x/scale",
        &Value::Null,
    )
    .await;
    assert_eq!(none.code, 404);
}

#[tokio::test]
async fn kube_rs_scale_api_works_on_deployments() {
    let s = server().await;
    assert_eq!(
        send(&s, "POST", DEPLOYS, &deployment("api", 1)).await.code,
        201
    );
    let client = s.client().expect("client");
    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let scale: Scale = deploys.get_scale("api").await.expect("get_scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    let pp = PatchParams::default();
    let scaled = deploys
        .patch_scale("api", &pp, &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .expect("patch_scale");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let d = deploys.get("api").await.expect("get");
    assert_eq!(d.spec.replicas, Some(4));
}

#[tokio::test]
async fn custom_resource_scale_follows_the_crd_paths() {
    let s = server().await;
    let gizmos = "/apis/example.com/v1/namespaces/default/gizmos";
    let created = send(
        &s,
        "POST",
        gizmos,
        &json!({"apiVersion": "example.com/v1", "kind": "Gizmo",
        "metadata": {"name": "g"}, "spec": {"count": 1}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    let status = send(
        &s,
        "PATCH",
        &format!("{gizmos}/g/status"),
        &json!({"status": {"count": 1, "selector": "app=g"}}),
    )
    .await;
    assert_eq!(status.code, 200, "{}", status.body);
    let scale = send(&s, "GET", &format!("{gizmos}/g/scale"), &Value::Null).await;
    assert_eq!(scale.code, 200, "{}", scale.body);
    assert_eq!(scale.body["spec"]["replicas"], 1);
    assert_eq!(
        scale.body["status"],
        json!({"replicas": 1, "selector": "app=g"})
    );
    let patched = send(
        &s,
        "PATCH",
        &format!("{gizmos}/g/scale"),
        &json!({"spec": {"replicas": 7}}),
    )
    .await;
    assert_eq!(patched.code, 200, "{}", patched.body);
    let g = send(&s, "GET", &format!("{gizmos}/g"), &Value::Null).await;
    assert_eq!(g.body["spec"]["count"], 7);
    assert_eq!(g.body["metadata"]["generation"], 2);
    // A CRD without subresources.scale has none.
    let widgets = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(common::widget_crd()).expect("CRD"))
        .start()
        .await
        .expect("start");
    let r = send(
        &widgets,
        "GET",
        "/apis/example.com/v1/namespaces/default/widgets/w/scale",
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 404);
}

#[tokio::test]
async fn discovery_lists_the_subresources_with_their_kinds_and_verbs() {
    let s = server().await;
    let apps = send(&s, "GET", "/apis/apps/v1", &Value::Null).await;
    let scale = apps.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .cloned()
        .expect("deployments/scale listed");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["group"], "autoscaling");
    assert_eq!(scale["version"], "v1");
    assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    let core = send(&s, "GET", "/api/v1", &Value::Null).await;
    let names: Vec<&str> = core.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for want in [
        "pods/ephemeralcontainers",
        "pods/eviction",
        "replicationcontrollers/scale",
        "serviceaccounts/token",
    ] {
        assert!(
            names.contains(&want),
            "{want} missing from /api/v1: {names:?}"
        );
    }
    let agg = raw(&s, "GET", "/apis", None, bytes::Bytes::new()).await;
    assert_eq!(agg.code, 200);
    // Aggregated discovery: the CRD's scale and apps' scale with responseKind autoscaling/v1 Scale.
    let (mut sender, addr) = common::connect::<http_body_util::Full<bytes::Bytes>>(&s).await;
    let req = http::Request::builder()
        .uri("/apis")
        .header("host", &addr)
        .header("authorization", format!("Bearer {}", s.token()))
        .header(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        )
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    let v: Value = serde_json::from_slice(&body).expect("json");
    let find = |group: &str, resource: &str| -> Value {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["metadata"]["name"] == group)
            .flat_map(|g| {
                g["versions"][0]["resources"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|r| r["resource"] == resource)
            .unwrap_or(Value::Null)
    };
    for (group, resource) in [("apps", "deployments"), ("example.com", "gizmos")] {
        let subs = find(group, resource)["subresources"].clone();
        let scale = subs
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["subresource"] == "scale")
            .cloned()
            .unwrap_or_else(|| panic!("{group}/{resource} lists no scale: {subs}"));
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_works_on_deployments_and_custom_resources() {
    let s = server().await;
    let Some(k) = Kubectl::for_server(
        &s,
        "kubectl_scale_works_on_deployments_and_custom_resources",
    ) else {
        return;
    };
    assert_eq!(
        send(&s, "POST", DEPLOYS, &deployment("x", 1)).await.code,
        201
    );
    let out = k.ok(&["scale", "deployment/x", "--replicas=3"]).await;
    assert!(out.contains("deployment.apps/x scaled"), "{out}");
    let d = send(&s, "GET", &format!("{DEPLOYS}/x"), &Value::Null).await;
    assert_eq!(d.body["spec"]["replicas"], 3);
    let gizmos = "/apis/example.com/v1/namespaces/default/gizmos";
    assert_eq!(
        send(
            &s,
            "POST",
            gizmos,
            &json!({"apiVersion": "example.com/v1", "kind": "Gizmo",
        "metadata": {"name": "g"}, "spec": {"count": 1}})
        )
        .await
        .code,
        201
    );
    let out = k.ok(&["scale", "gizmo/g", "--replicas=2"]).await;
    assert!(out.contains("scaled"), "{out}");
    let g = send(&s, "GET", &format!("{gizmos}/g"), &Value::Null).await;
    assert_eq!(g.body["spec"]["count"], 2);
    // --current-replicas is a precondition kubectl checks against the Scale.
    let refused = k
        .run(&[
            "scale",
            "deployment/x",
            "--current-replicas=7",
            "--replicas=1",
        ])
        .await;
    assert!(!refused.ok, "a wrong --current-replicas must fail");
}

fn pod(name: &str, labels: Value, phase: &str, ready: bool) -> Value {
    let ready = if ready { "True" } else { "False" };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]},
    })
}

/// Creates a pod and writes its status (the main resource ignores status).
async fn running_pod(s: &apiserver::ApiServer, name: &str, labels: Value) {
    let p = pod(name, labels, "Running", true);
    assert_eq!(send(s, "POST", PODS, &p).await.code, 201);
    let st = send(
        s,
        "PATCH",
        &format!("{PODS}/{name}/status"),
        &json!({"status": p["status"]}),
    )
    .await;
    assert_eq!(st.code, 200, "{}", st.body);
}

async fn pdb(s: &apiserver::ApiServer, name: &str, app: &str, allowed: i64) {
    let pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let created = send(s, "POST", pdbs, &json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}}})).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let st = send(
        s,
        "PATCH",
        &format!("{pdbs}/{name}/status"),
        &json!({"status": {
        "observedGeneration": 1, "disruptionsAllowed": allowed, "currentHealthy": 2,
        "desiredHealthy": 1, "expectedPods": 2}}),
    )
    .await;
    assert_eq!(st.code, 200, "{}", st.body);
}

fn eviction(name: &str) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})
}

#[tokio::test]
async fn eviction_respects_the_disruption_budget() {
    let s = server().await;
    running_pod(&s, "a", json!({"app": "db"})).await;
    running_pod(&s, "b", json!({"app": "db"})).await;
    pdb(&s, "db", "db", 1).await;

    // Dry run: 201, nothing changes.
    let dry = send(
        &s,
        "POST",
        &format!("{PODS}/a/eviction?dryRun=All"),
        &eviction("a"),
    )
    .await;
    assert_eq!(dry.code, 201, "{}", dry.body);
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/a"), &Value::Null)
            .await
            .code,
        200
    );

    let ok = send(&s, "POST", &format!("{PODS}/a/eviction"), &eviction("a")).await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    assert_eq!(ok.body["status"], "Success");
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/a"), &Value::Null)
            .await
            .code,
        404
    );
    let budget = send(
        &s,
        "GET",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/db",
        &Value::Null,
    )
    .await;
    assert_eq!(budget.body["status"]["disruptionsAllowed"], 0);
    assert!(
        budget.body["status"]["disruptedPods"]["a"].is_string(),
        "{}",
        budget.body
    );

    // The budget is spent: 429 with kube's message and cause.
    let refused = send(&s, "POST", &format!("{PODS}/b/eviction"), &eviction("b")).await;
    assert_eq!(refused.code, 429, "{}", refused.body);
    assert_eq!(refused.body["reason"], "TooManyRequests");
    assert_eq!(
        refused.body["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        refused.body["details"]["causes"][0],
        json!({"reason": "DisruptionBudget", "message": "The disruption budget db needs 1 healthy pods and has 2 currently"})
    );
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/b"), &Value::Null)
            .await
            .code,
        200
    );

    // The name must match; the pod must exist.
    let mismatch = send(&s, "POST", &format!("{PODS}/b/eviction"), &eviction("a")).await;
    assert_eq!(mismatch.code, 400);
    assert_eq!(
        mismatch.body["message"],
        "name in URL does not match name in Eviction object"
    );
    let gone = send(&s, "POST", &format!("{PODS}/a/eviction"), &eviction("a")).await;
    assert_eq!(gone.code, 404);
    // GET is not a verb of eviction.
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/b/eviction"), &Value::Null)
            .await
            .code,
        405
    );
}

#[tokio::test]
async fn eviction_skips_budgets_for_pending_pods_and_refuses_two_budgets() {
    let s = server().await;
    // A pending pod is deleted at once, whatever its budget says.
    let p = pod("p", json!({"app": "w"}), "Pending", false);
    assert_eq!(send(&s, "POST", PODS, &p).await.code, 201);
    let st = send(
        &s,
        "PATCH",
        &format!("{PODS}/p/status"),
        &json!({"status": p["status"]}),
    )
    .await;
    assert_eq!(st.code, 200, "{}", st.body);
    pdb(&s, "none-left", "w", 0).await;
    let ok = send(&s, "POST", &format!("{PODS}/p/eviction"), &eviction("p")).await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    running_pod(&s, "q", json!({"app": "w"})).await;
    pdb(&s, "second", "w", 5).await;
    let two = send(&s, "POST", &format!("{PODS}/q/eviction"), &eviction("q")).await;
    assert_eq!(two.code, 500, "{}", two.body);
    assert_eq!(
        two.body["message"],
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    );
    // No budget matching: evicted.
    running_pod(&s, "free", json!({"app": "other"})).await;
    assert_eq!(
        send(
            &s,
            "POST",
            &format!("{PODS}/free/eviction"),
            &eviction("free")
        )
        .await
        .code,
        201
    );
}

#[tokio::test]
async fn ephemeral_containers_may_only_be_added() {
    let s = server().await;
    running_pod(&s, "dbg", json!({"app": "x"})).await;
    let sub = format!("{PODS}/dbg/ephemeralcontainers");
    let got = send(&s, "GET", &sub, &Value::Null).await;
    assert_eq!(got.code, 200);
    assert_eq!(got.body["kind"], "Pod");
    // Only spec.ephemeralContainers changes: the label change in the same patch is ignored.
    let added = send(
        &s,
        "PATCH",
        &sub,
        &json!({"metadata": {"labels": {"app": "changed"}},
        "spec": {"ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(added.code, 200, "{}", added.body);
    assert_eq!(
        added.body["spec"]["ephemeralContainers"][0]["name"],
        "debugger"
    );
    assert_eq!(added.body["metadata"]["labels"]["app"], "x");
    let removed = send(
        &s,
        "PATCH",
        &sub,
        &json!({"spec": {"ephemeralContainers": []}}),
    )
    .await;
    assert_eq!(removed.code, 422, "{}", removed.body);
    assert_eq!(
        removed.body["message"],
        "Pod \"dbg\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be removed"
    );
    let mut pod = send(&s, "GET", &format!("{PODS}/dbg"), &Value::Null)
        .await
        .body;
    pod["spec"]["ephemeralContainers"][0]["image"] = "alpine".into();
    let changed = send(&s, "PUT", &sub, &pod).await;
    assert_eq!(changed.code, 422, "{}", changed.body);
    let clash = send(
        &s,
        "PATCH",
        &sub,
        &json!({"spec": {"ephemeralContainers": [
        {"name": "debugger", "image": "busybox"}, {"name": "app", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(clash.code, 422);
    assert_eq!(
        clash.body["details"]["causes"][0]["field"],
        "spec.ephemeralContainers[1].name"
    );
    // The stored container carries `resources: {}` (Go's zero struct): a second one added by a
    // strategic merge patch, as kube-rs's `patch_ephemeral_containers` sends it, is accepted;
    // one that sets resources is not.
    let strategic = |body: Value| {
        common::raw(
            &s,
            "PATCH",
            &sub,
            Some("application/strategic-merge-patch+json"),
            body.to_string(),
        )
    };
    let second = strategic(
        json!({"spec": {"ephemeralContainers": [{"name": "second", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(second.code, 200, "{}", second.body);
    assert_eq!(
        second.body["spec"]["ephemeralContainers"][0]["resources"],
        json!({})
    );
    let limited = strategic(
        json!({"spec": {"ephemeralContainers": [{"name": "third", "image": "busybox",
        "resources": {"limits": {"cpu": "1"}}}]}}),
    )
    .await;
    assert_eq!(limited.code, 422, "{}", limited.body);
    assert_eq!(
        limited.body["details"]["causes"][0]["field"],
        "spec.ephemeralContainers[2].resources"
    );
}

/// A plain PUT or PATCH of a Pod may not change `spec.ephemeralContainers` (only the
/// `ephemeralcontainers` subresource does): as kube's `ValidatePodUpdate`, one that adds or drops
/// them is refused with 422 and stores nothing; one that sends them back unchanged applies.
#[tokio::test]
async fn a_plain_pod_update_may_not_change_ephemeral_containers() {
    let s = server().await;
    running_pod(&s, "keep", json!({"app": "x"})).await;
    let pod = format!("{PODS}/keep");
    let added = send(
        &s,
        "PATCH",
        &format!("{pod}/ephemeralcontainers"),
        &json!({"spec": {"ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(added.code, 200, "{}", added.body);
    let stored = |body: &Value| body["spec"]["ephemeralContainers"].clone();
    // As stored: defaulted (imagePullPolicy, terminationMessagePath, ...).
    let debugger = stored(&added.body);
    assert_eq!(debugger[0]["name"], "debugger");
    let forbidden = |r: &common::Raw| {
        assert_eq!(r.code, 422, "{}", r.body);
        let message = r.body["message"].as_str().unwrap_or("");
        assert!(
            message.contains("spec: Forbidden: pod updates may not change fields other than")
                && message.contains("ephemeralContainers"),
            "{message}"
        );
    };
    // A merge patch that adds one, with a label change: refused whole.
    let patched = send(
        &s,
        "PATCH",
        &pod,
        &json!({"metadata": {"labels": {"app": "patched"}},
                "spec": {"ephemeralContainers": [
                    {"name": "debugger", "image": "busybox"}, {"name": "sneaky", "image": "busybox"}]}}),
    )
    .await;
    forbidden(&patched);
    // A PUT that drops the list: refused.
    let mut body = added.body.clone();
    body["spec"]
        .as_object_mut()
        .unwrap()
        .remove("ephemeralContainers");
    body["metadata"]["labels"]["app"] = "put".into();
    forbidden(&send(&s, "PUT", &pod, &body).await);
    let got = send(&s, "GET", &pod, &Value::Null).await;
    assert_eq!(got.body["metadata"]["labels"]["app"], "x");
    assert_eq!(stored(&got.body), debugger);
    // A PUT that sends them back unchanged applies.
    let mut body = got.body.clone();
    body["metadata"]["labels"]["app"] = "put".into();
    let put = send(&s, "PUT", &pod, &body).await;
    assert_eq!(put.code, 200, "{}", put.body);
    assert_eq!(put.body["metadata"]["labels"]["app"], "put");
    assert_eq!(stored(&put.body), debugger);
}

#[tokio::test]
async fn csr_approval_changes_only_the_decision_conditions() {
    let s = server().await;
    let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let created = send(&s, "POST", csrs, &json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "c"}, "spec": {"request": common::csr_request("c"), "signerName": "example.com/signer", "usages": ["client auth"]}})).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mut csr = created.body.clone();
    csr["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "reason": "Test", "message": "ok"}],
        "certificate": "Zm9v"});
    csr["spec"]["signerName"] = "example.com/other".into();
    let approved = send(&s, "PUT", &format!("{csrs}/c/approval"), &csr).await;
    assert_eq!(approved.code, 200, "{}", approved.body);
    assert_eq!(approved.body["status"]["conditions"][0]["type"], "Approved");
    assert!(approved.body["status"]["conditions"][0]["lastUpdateTime"].is_string());
    // Neither the spec nor the certificate changed through approval.
    assert_eq!(approved.body["spec"]["signerName"], "example.com/signer");
    assert!(approved.body["status"].get("certificate").is_none());
    let both = send(
        &s,
        "PATCH",
        &format!("{csrs}/c/approval"),
        &json!({"status": {"conditions": [
        {"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]}}),
    )
    .await;
    assert_eq!(both.code, 422, "{}", both.body);
    assert!(
        both.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("Approved and Denied conditions are mutually exclusive")
    );
    // The certificate is written through /status.
    let issued = common::csr_certificate("c");
    let cert = send(
        &s,
        "PATCH",
        &format!("{csrs}/c/status"),
        &json!({"status": {"certificate": issued}}),
    )
    .await;
    assert_eq!(cert.code, 200, "{}", cert.body);
    assert_eq!(cert.body["status"]["certificate"], issued.as_str());
}

/// `kubectl certificate approve|deny` (kubectl's `UpdateApproval`: a PUT of the whole CSR to
/// `/approval`) against the validated approval path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_approves_and_denies_certificate_signing_requests() {
    let s = server().await;
    let Some(k) = Kubectl::for_server(
        &s,
        "kubectl_approves_and_denies_certificate_signing_requests",
    ) else {
        return;
    };
    let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    for name in ["yes", "no"] {
        let created = send(
            &s,
            "POST",
            csrs,
            &json!({"apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": common::csr_request(name), "signerName": "example.com/signer",
                     "usages": ["client auth"]}}),
        )
        .await;
        assert_eq!(created.code, 201, "{}", created.body);
    }
    let out = k.ok(&["certificate", "approve", "yes"]).await;
    assert!(
        out.contains("certificatesigningrequest.certificates.k8s.io/yes approved"),
        "{out}"
    );
    let out = k.ok(&["certificate", "deny", "no"]).await;
    assert!(
        out.contains("certificatesigningrequest.certificates.k8s.io/no denied"),
        "{out}"
    );
    for (name, decision) in [("yes", "Approved"), ("no", "Denied")] {
        let got = send(&s, "GET", &format!("{csrs}/{name}"), &Value::Null).await;
        let conditions = got.body["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(conditions.len(), 1, "{}", got.body);
        assert_eq!(conditions[0]["type"], decision);
        assert_eq!(conditions[0]["status"], "True");
    }
}

/// A pod with the given containers, on `node` when it is not empty.
fn pod_with(name: &str, containers: &[&str], node: &str) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "busybox"}))
        .collect();
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": containers},
    });
    if !node.is_empty() {
        p["spec"]["nodeName"] = node.into();
    }
    p
}

#[tokio::test]
async fn kubelet_subresources_answer_as_kube_for_a_pod_no_kubelet_runs() {
    let s = server().await;
    let made = send(&s, "POST", PODS, &pod_with("solo", &["app"], "")).await;
    assert_eq!(made.code, 201, "{}", made.body);

    // LogLocation gives no location for an unscheduled pod: 204 and no body (kube's StreamObject).
    let log = raw(&s, "GET", &format!("{PODS}/solo/log"), None, "").await;
    assert_eq!(log.code, 204, "{}", log.body);
    let logs: Api<k8s_openapi::api::core::v1::Pod> = Api::default_namespaced(s.client().unwrap());
    assert_eq!(logs.logs("solo", &Default::default()).await.unwrap(), "");

    // exec, attach and port-forward refuse it (streamLocation / PortForwardLocation).
    for (method, sub) in [
        ("POST", "exec?command=ls&stdout=true"),
        ("GET", "exec?command=ls&stdout=true"),
        ("POST", "attach?stdout=true"),
        ("GET", "portforward?ports=80"),
    ] {
        let r = raw(&s, method, &format!("{PODS}/solo/{sub}"), None, "").await;
        assert_eq!(r.code, 400, "{method} {sub}: {}", r.body);
        assert_eq!(r.body["reason"], "BadRequest", "{method} {sub}");
        assert_eq!(
            r.body["message"], "pod solo does not have a host assigned",
            "{method} {sub}"
        );
    }

    // Only GET reads logs; PUT is no verb of any of them.
    for (method, sub) in [("POST", "log"), ("PUT", "exec"), ("DELETE", "portforward")] {
        let r = raw(&s, method, &format!("{PODS}/solo/{sub}"), None, "").await;
        assert_eq!(r.code, 405, "{method} {sub}: {}", r.body);
    }

    // A missing pod is its NotFound, not a missing API.
    let r = raw(&s, "GET", &format!("{PODS}/ghost/log"), None, "").await;
    assert_eq!(r.code, 404, "{}", r.body);
    assert_eq!(r.body["message"], "pods \"ghost\" not found");
}

#[tokio::test]
async fn kubelet_subresources_check_the_container_then_the_node() {
    let s = server().await;
    let made = send(&s, "POST", PODS, &pod_with("duo", &["a", "b"], "")).await;
    assert_eq!(made.code, 201, "{}", made.body);
    let r = raw(&s, "GET", &format!("{PODS}/duo/log"), None, "").await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "a container name must be specified for pod duo, choose one of: [a b]"
    );
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}/duo/exec?container=c"),
        None,
        "",
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["message"], "container c is not valid for pod duo");
    let r = raw(&s, "GET", &format!("{PODS}/duo/log?container=b"), None, "").await;
    assert_eq!(r.code, 204, "{}", r.body);

    // A scheduled pod: kube looks the node up (NotFound when it is gone), then dials its
    // kubelet, which never answers here.
    let made = send(&s, "POST", PODS, &pod_with("placed", &["app"], "node-1")).await;
    assert_eq!(made.code, 201, "{}", made.body);
    let r = raw(&s, "GET", &format!("{PODS}/placed/log"), None, "").await;
    assert_eq!(r.code, 404, "{}", r.body);
    assert_eq!(r.body["message"], "nodes \"node-1\" not found");
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}});
    let made = send(&s, "POST", "/api/v1/nodes", &node).await;
    assert_eq!(made.code, 201, "{}", made.body);
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}/placed/exec?command=ls"),
        None,
        "",
    )
    .await;
    assert_eq!(r.code, 500, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or("");
    assert!(
        message.contains("error dialing backend") && message.contains("node-1"),
        "{message}"
    );
}

#[tokio::test]
async fn discovery_lists_the_kubelet_subresources_of_pods() {
    let s = server().await;
    let core = send(&s, "GET", "/api/v1", &Value::Null).await;
    let resources = core.body["resources"].as_array().expect("resources");
    let entry = |name: &str| {
        resources
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    for (name, kind, verbs) in [
        ("pods/log", "Pod", json!(["get"])),
        ("pods/exec", "PodExecOptions", json!(["create", "get"])),
        ("pods/attach", "PodAttachOptions", json!(["create", "get"])),
        (
            "pods/portforward",
            "PodPortForwardOptions",
            json!(["create", "get"]),
        ),
    ] {
        let e = entry(name);
        assert_eq!(e["kind"], kind, "{name}");
        assert_eq!(e["verbs"], verbs, "{name}");
        assert!(e.get("group").is_none(), "{name}: same group as pods");
    }
}
