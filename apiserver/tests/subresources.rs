//! The subresources besides `/status`: `scale` (Deployments and a CRD with `subresources.scale`),
//! `pods/ephemeralcontainers`, `pods/eviction` with PodDisruptionBudgets and
//! `certificatesigningrequests/approval`, `pods/binding` and the legacy `bindings` resource,
//! through raw HTTP, kube-rs and kubectl, and their discovery entries; the kubelet-backed `pods/log`, `exec`, `attach` and `portforward`, which
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

fn binding(name: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
}

/// Creates the unscheduled pod `name` with `spec` merged into a one-container spec.
async fn unbound_pod(s: &apiserver::ApiServer, name: &str, spec: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}});
    if let Value::Object(extra) = spec {
        for (k, v) in extra {
            p["spec"][k] = v;
        }
    }
    let created = send(s, "POST", PODS, &p).await;
    assert_eq!(created.code, 201, "{}", created.body);
    created.body
}

async fn get_pod(s: &apiserver::ApiServer, name: &str) -> Value {
    let r = send(s, "GET", &format!("{PODS}/{name}"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn binding_assigns_the_node_as_kubes_binding_rest() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{WatchEvent, WatchParams};

    let s = server().await;
    unbound_pod(&s, "p", json!({})).await;
    // The scheduler's nomination and an earlier failed attempt, as a scheduler writes them.
    let st = send(
        &s,
        "PATCH",
        &format!("{PODS}/p/status"),
        &json!({"status": {"nominatedNodeName": "n0", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}]}}),
    )
    .await;
    assert_eq!(st.code, 200, "{}", st.body);
    let before = st.body;
    let rv = before["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();

    let mut b = binding("p", "n1");
    b["metadata"]["annotations"] = json!({"scheduler.example.com/by": "test"});
    b["metadata"]["labels"] = json!({"topology.kubernetes.io/zone": "z1"});
    let r = send(&s, "POST", &format!("{PODS}/p/binding"), &b).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    );

    let pod = get_pod(&s, "p").await;
    assert_eq!(pod["spec"]["nodeName"], "n1");
    assert_eq!(
        pod["metadata"]["annotations"],
        json!({"scheduler.example.com/by": "test"})
    );
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"topology.kubernetes.io/zone": "z1"})
    );
    // ClearingNominatedNodeNameAfterBinding.
    assert!(
        pod["status"].get("nominatedNodeName").is_none(),
        "{}",
        pod["status"]
    );
    let scheduled: Vec<&Value> = pod["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter(|c| c["type"] == "PodScheduled")
        .collect();
    assert_eq!(scheduled.len(), 1, "{}", pod["status"]);
    // The condition is replaced whole: the old reason and message go.
    assert_eq!(scheduled[0]["status"], "True");
    assert!(scheduled[0].get("reason").is_none(), "{}", scheduled[0]);
    assert!(scheduled[0]["lastTransitionTime"].is_string());
    // A storage-level write: no generation bump and no managedFields entry of its own.
    assert_eq!(
        pod["metadata"]["generation"],
        before["metadata"]["generation"]
    );
    assert_eq!(
        pod["metadata"]["managedFields"],
        before["metadata"]["managedFields"]
    );
    assert_ne!(
        pod["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );

    // Watchers see the binding as a MODIFIED pod.
    let pods: Api<Pod> = Api::namespaced(s.client().expect("client"), "default");
    let mut events = pods
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch")
        .boxed();
    match events.try_next().await.expect("event") {
        Some(WatchEvent::Modified(p)) => {
            assert_eq!(p.spec.and_then(|s| s.node_name).as_deref(), Some("n1"));
        }
        other => panic!("expected MODIFIED, got {other:?}"),
    }

    // A YAML body, and a target without kind (ValidatePodBinding's "<empty>").
    unbound_pod(&s, "q", json!({})).await;
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}/q/binding"),
        Some("application/yaml"),
        "apiVersion: v1\nkind: Binding\nmetadata: {name: q}\ntarget: {name: n2}\n",
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(get_pod(&s, "q").await["spec"]["nodeName"], "n2");
}

#[tokio::test]
async fn binding_refusals_are_kubes() {
    let s = server().await;
    unbound_pod(&s, "p", json!({})).await;
    let path = format!("{PODS}/p/binding");
    assert_eq!(send(&s, "POST", &path, &binding("p", "n1")).await.code, 201);

    // Bound already: a Conflict on pods/binding.
    let r = send(&s, "POST", &path, &binding("p", "n2")).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(r.body["reason"], "Conflict");
    assert_eq!(
        r.body["message"],
        r#"Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1""#
    );
    assert_eq!(
        r.body["details"],
        json!({"name": "p", "kind": "pods/binding"})
    );

    // Scheduling gates.
    unbound_pod(
        &s,
        "gated",
        json!({"schedulingGates": [{"name": "example.com/wait"}]}),
    )
    .await;
    let r = send(
        &s,
        "POST",
        &format!("{PODS}/gated/binding"),
        &binding("gated", "n1"),
    )
    .await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"Operation cannot be fulfilled on pods/binding "gated": pod gated has non-empty .spec.schedulingGates"#
    );

    // Being deleted (a finalizer keeps it).
    let held = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}});
    assert_eq!(send(&s, "POST", PODS, &held).await.code, 201);
    assert_eq!(
        send(&s, "DELETE", &format!("{PODS}/held"), &Value::Null)
            .await
            .code,
        200
    );
    let r = send(
        &s,
        "POST",
        &format!("{PODS}/held/binding"),
        &binding("held", "n1"),
    )
    .await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"Operation cannot be fulfilled on pods/binding "held": pod held is being deleted, cannot be assigned to a host"#
    );

    // The name in the URL and in the Binding must agree.
    unbound_pod(&s, "other", json!({})).await;
    let r = send(
        &s,
        "POST",
        &format!("{PODS}/other/binding"),
        &binding("p", "n1"),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "name in URL does not match name in Binding object"
    );

    // ValidatePodBinding's errors are not a Status: kube answers them as a 500 without reason.
    let mut b = binding("other", "");
    b["target"]["kind"] = "Pod".into();
    let r = send(&s, "POST", &format!("{PODS}/other/binding"), &b).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": r#"[target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>", target.name: Required value]"#,
            "code": 500})
    );
    assert!(
        get_pod(&s, "other").await["spec"].get("nodeName").is_none(),
        "a refused binding changes nothing"
    );

    // No such pod.
    let r = send(
        &s,
        "POST",
        &format!("{PODS}/nope/binding"),
        &binding("nope", "n1"),
    )
    .await;
    assert_eq!(r.code, 404, "{}", r.body);
    assert_eq!(r.body["message"], r#"pods "nope" not found"#);

    // Only POST.
    assert_eq!(send(&s, "GET", &path, &Value::Null).await.code, 405);
    // A Binding of another version.
    let mut b = binding("other", "n1");
    b["apiVersion"] = "v2".into();
    let r = send(&s, "POST", &format!("{PODS}/other/binding"), &b).await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "the API version in the data (v2) does not match the expected API version (v1)"
    );
}

/// A body of another kind: kube's create handler decodes it as that kind when its scheme has
/// the kind in that version, and the REST storage's type check refuses it (BindingREST: `not a
/// Binding object: %#v`, whose Go dump of the object is not reproduced; EvictionREST: `not a
/// Eviction object: %T`); a kind it does not have fails to decode. Both are 400s, and the pod
/// is left alone.
#[tokio::test]
async fn action_bodies_of_another_kind_are_refused_as_kube_does() {
    let s = server().await;
    unbound_pod(&s, "p", json!({})).await;
    let bad = |r: &common::Raw| {
        assert_eq!(r.code, 400, "{}", r.body);
        assert_eq!(r.body["reason"], "BadRequest", "{}", r.body);
        r.body["message"].as_str().unwrap_or_default().to_owned()
    };
    let mut other = binding("p", "n1");
    other["kind"] = "ConfigMap".into();
    let m = bad(&send(&s, "POST", &format!("{PODS}/p/binding"), &other).await);
    assert!(
        m.starts_with("not a Binding object: &core.ConfigMap{"),
        "{m}"
    );
    other["kind"] = "PodList".into();
    let m = bad(&send(&s, "POST", &format!("{PODS}/p/binding"), &other).await);
    assert!(m.starts_with("not a Binding object: &core.PodList{"), "{m}");
    other["kind"] = "Widget".into();
    let m = bad(&send(&s, "POST", "/api/v1/namespaces/default/bindings", &other).await);
    assert_eq!(
        m,
        r#"Widget in version "v1" cannot be handled as a Binding: no kind "Widget" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
    );
    // The kind comes before the version: a Binding in the wrong version is the version's error.
    let mut moved = binding("p", "n1");
    moved["apiVersion"] = "apps/v1".into();
    let m = bad(&send(&s, "POST", &format!("{PODS}/p/binding"), &moved).await);
    assert_eq!(
        m,
        "the API version in the data (apps/v1) does not match the expected API version (v1)"
    );
    assert!(get_pod(&s, "p").await["spec"].get("nodeName").is_none());

    let mut budget = eviction("p");
    budget["kind"] = "PodDisruptionBudget".into();
    let m = bad(&send(&s, "POST", &format!("{PODS}/p/eviction"), &budget).await);
    assert_eq!(m, "not a Eviction object: *policy.PodDisruptionBudget");
    budget["kind"] = "Pod".into();
    let m = bad(&send(&s, "POST", &format!("{PODS}/p/eviction"), &budget).await);
    assert_eq!(
        m,
        r#"Pod in version "v1" cannot be handled as a Eviction: no kind "Pod" is registered for version "policy/v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
    );
    assert_eq!(get_pod(&s, "p").await["metadata"]["name"], "p");
}

#[tokio::test]
async fn binding_preconditions_and_dry_run() {
    let s = server().await;
    let created = unbound_pod(&s, "p", json!({})).await;
    let uid = created["metadata"]["uid"].as_str().expect("uid").to_owned();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();
    let path = format!("{PODS}/p/binding");

    let mut b = binding("p", "n1");
    b["metadata"]["uid"] = "not-the-uid".into();
    let r = send(&s, "POST", &path, &b).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "Operation cannot be fulfilled on pods \"p\": StorageError: invalid object, Code: 4, Key: /registry/pods/default/p, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: not-the-uid, UID in object meta: {uid}"
        )
    );
    assert_eq!(r.body["details"], json!({"name": "p", "kind": "pods"}));

    let mut b = binding("p", "n1");
    b["metadata"]["resourceVersion"] = "1".into();
    let r = send(&s, "POST", &path, &b).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "Operation cannot be fulfilled on pods \"p\": StorageError: invalid object, Code: 4, Key: /registry/pods/default/p, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: {rv}"
        )
    );

    // A dry run checks everything and writes nothing.
    let before = s.resource_version();
    let r = send(
        &s,
        "POST",
        &format!("{path}?dryRun=All"),
        &binding("p", "n1"),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(s.resource_version(), before);
    assert!(get_pod(&s, "p").await["spec"].get("nodeName").is_none());

    // Matching preconditions bind.
    let mut b = binding("p", "n1");
    b["metadata"]["uid"] = uid.clone().into();
    b["metadata"]["resourceVersion"] = rv.into();
    let r = send(&s, "POST", &path, &b).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(get_pod(&s, "p").await["spec"]["nodeName"], "n1");
}

#[tokio::test]
async fn the_legacy_bindings_resource_binds_by_the_bindings_name() {
    let s = server().await;
    unbound_pod(&s, "p", json!({})).await;
    let bindings = "/api/v1/namespaces/default/bindings";
    // The create handler wipes a collection create's uid: no precondition through `bindings`.
    let mut b = binding("p", "n1");
    b["metadata"]["uid"] = "not-the-uid".into();
    let r = send(&s, "POST", bindings, &b).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["status"], "Success");
    assert_eq!(get_pod(&s, "p").await["spec"]["nodeName"], "n1");

    let r = send(&s, "POST", bindings, &binding("p", "n2")).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1""#
    );
    let r = send(
        &s,
        "POST",
        bindings,
        &json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {}, "target": {"name": "n1"}}),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["message"], "Name parameter required.");
    // Create-only.
    assert_eq!(send(&s, "GET", bindings, &Value::Null).await.code, 405);
    assert_eq!(
        send(&s, "GET", &format!("{bindings}/p"), &Value::Null)
            .await
            .code,
        405
    );

    // A protobuf Binding, as kube-scheduler sends it.
    unbound_pod(&s, "q", json!({})).await;
    let body = apiserver::protobuf::encode_object(&binding("q", "n3")).expect("encode");
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}/q/binding"),
        Some("application/vnd.kubernetes.protobuf"),
        body,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(get_pod(&s, "q").await["spec"]["nodeName"], "n3");
}

#[tokio::test]
async fn binding_needs_create_on_pods_binding_and_is_in_discovery() {
    use apiserver::UserInfo;
    const SCHEDULER: &str = "scheduler-token";
    let s = apiserver::ApiServer::builder()
        .user_token(SCHEDULER, UserInfo::new("sched", &["system:authenticated"]))
        .start()
        .await
        .expect("start");
    unbound_pod(&s, "p", json!({})).await;
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pods"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]});
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "sched"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods"},
        "subjects": [{"kind": "User", "name": "sched"}]});
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    assert_eq!(
        send(&s, "POST", &format!("{rbac}/roles"), &role).await.code,
        201
    );
    assert_eq!(
        send(&s, "POST", &format!("{rbac}/rolebindings"), &rb)
            .await
            .code,
        201
    );
    let as_scheduler = |path: String| {
        let s = &s;
        async move {
            common::raw_with(
                s,
                Some(SCHEDULER),
                "POST",
                &path,
                Some("application/json"),
                binding("p", "n1").to_string(),
            )
            .await
        }
    };
    // `pods` does not cover the subresource.
    let r = as_scheduler(format!("{PODS}/p/binding")).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"pods "p" is forbidden: User "sched" cannot create resource "pods/binding" in API group "" in the namespace "default""#
    );
    let r = as_scheduler("/api/v1/namespaces/default/bindings".into()).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"bindings is forbidden: User "sched" cannot create resource "bindings" in API group "" in the namespace "default""#
    );
    let grant = json!({"rules": [{"apiGroups": [""], "resources": ["pods", "pods/binding"], "verbs": ["*"]}]});
    let r = send(&s, "PATCH", &format!("{rbac}/roles/pods"), &grant).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = as_scheduler(format!("{PODS}/p/binding")).await;
    assert_eq!(r.code, 201, "{}", r.body);

    // Discovery: the subresource and the legacy resource, create only, kind Binding.
    let core = send(&s, "GET", "/api/v1", &Value::Null).await;
    let entry = |name: &str| {
        core.body["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from /api/v1"))
    };
    let sub = entry("pods/binding");
    assert_eq!(
        (&sub["kind"], &sub["verbs"], &sub["namespaced"]),
        (&json!("Binding"), &json!(["create"]), &json!(true))
    );
    let legacy = entry("bindings");
    assert_eq!(
        (&legacy["kind"], &legacy["verbs"], &legacy["namespaced"]),
        (&json!("Binding"), &json!(["create"]), &json!(true))
    );
}

/// `namespaces/finalize`, kube's FinalizeREST: the one write through which `spec.finalizers`
/// change; the stored status stays; each finalizer is validated at its index; it is an update
/// only; and a terminating namespace it leaves with no finalizer is gone.
#[tokio::test]
async fn namespace_finalize_changes_spec_finalizers_and_ends_a_terminating_namespace() {
    let s = server().await;
    const NS: &str = "/api/v1/namespaces";
    let created = send(
        &s,
        "POST",
        NS,
        &json!({"metadata": {"name": "held"}, "spec": {"finalizers": ["example.com/hold"]}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(
        created.body["spec"]["finalizers"],
        json!(["example.com/hold", "kubernetes"])
    );

    // A main-resource update keeps the stored finalizers; the finalize subresource changes them
    // and keeps the stored status whatever the body says.
    let mut body = created.body.clone();
    body["spec"]["finalizers"] = json!(["example.com/hold"]);
    let put = send(&s, "PUT", &format!("{NS}/held"), &body).await;
    assert_eq!(put.code, 200, "{}", put.body);
    assert_eq!(
        put.body["spec"]["finalizers"],
        json!(["example.com/hold", "kubernetes"])
    );
    let mut body = put.body.clone();
    body["spec"]["finalizers"] = json!(["example.com/hold", "kubernetes", "example.com/more"]);
    body["status"]["phase"] = "Terminating".into();
    body["metadata"]["labels"]["team"] = "a".into();
    let fin = send(&s, "PUT", &format!("{NS}/held/finalize"), &body).await;
    assert_eq!(fin.code, 200, "{}", fin.body);
    assert_eq!(
        fin.body["spec"]["finalizers"],
        json!(["example.com/hold", "kubernetes", "example.com/more"])
    );
    assert_eq!(fin.body["status"]["phase"], "Active");
    assert_eq!(fin.body["metadata"]["labels"]["team"], "a");
    let entry = fin.body["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["subresource"] == "finalize")
        .cloned()
        .expect("the finalize write is recorded under its subresource");
    assert_eq!(entry["operation"], "Update");

    // ValidateNamespaceFinalizeUpdate: each finalizer at its index, kube's messages.
    let mut bad = fin.body.clone();
    bad["spec"]["finalizers"] = json!(["kubernetes", "mine"]);
    let refused = send(&s, "PUT", &format!("{NS}/held/finalize"), &bad).await;
    assert_eq!(refused.code, 422, "{}", refused.body);
    assert_eq!(
        refused.body["details"]["causes"][0]["field"],
        "spec.finalizers[1]"
    );
    assert_eq!(
        refused.body["message"],
        "Namespace \"held\" is invalid: spec.finalizers[1]: Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified"
    );
    // A stale resourceVersion is the usual conflict; another name in the body a 400.
    let mut stale = fin.body.clone();
    stale["metadata"]["resourceVersion"] = created.body["metadata"]["resourceVersion"].clone();
    let conflict = send(&s, "PUT", &format!("{NS}/held/finalize"), &stale).await;
    assert_eq!(conflict.code, 409, "{}", conflict.body);
    let mut other = fin.body.clone();
    other["metadata"]["name"] = "other".into();
    assert_eq!(
        send(&s, "PUT", &format!("{NS}/held/finalize"), &other)
            .await
            .code,
        400
    );
    // Metadata that is not an object is refused as any update's would be, not a crash.
    let broken = send(
        &s,
        "PUT",
        &format!("{NS}/held/finalize"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": "held"}),
    )
    .await;
    assert_eq!(broken.code, 400, "{}", broken.body);
    assert_eq!(
        send(&s, "GET", &format!("{NS}/held"), &Value::Null)
            .await
            .body["spec"]["finalizers"],
        json!(["example.com/hold", "kubernetes", "example.com/more"])
    );
    // An update only: no GET, no PATCH (kube's FinalizeREST is not a Getter).
    for method in ["GET", "PATCH"] {
        let r = send(&s, method, &format!("{NS}/held/finalize"), &json!({})).await;
        assert_eq!(r.code, 405, "{method}: {}", r.body);
    }
    assert_eq!(
        send(
            &s,
            "PUT",
            &format!("{NS}/missing/finalize"),
            &json!({"metadata": {"name": "missing"}})
        )
        .await
        .code,
        404
    );

    // Deleted, the namespace controller empties it and takes `kubernetes` off; the finalizers
    // no controller handles hold it Terminating until a finalize write removes them.
    let deleted = send(&s, "DELETE", &format!("{NS}/held"), &Value::Null).await;
    assert_eq!(deleted.code, 200, "{}", deleted.body);
    let ns = send(&s, "GET", &format!("{NS}/held"), &Value::Null).await;
    assert_eq!(ns.body["status"]["phase"], "Terminating");
    assert_eq!(
        ns.body["spec"]["finalizers"],
        json!(["example.com/hold", "example.com/more"])
    );
    let mut last = ns.body.clone();
    last["spec"]["finalizers"] = json!([]);
    let fin = send(&s, "PUT", &format!("{NS}/held/finalize"), &last).await;
    assert_eq!(fin.code, 200, "{}", fin.body);
    assert_eq!(
        send(&s, "GET", &format!("{NS}/held"), &Value::Null)
            .await
            .code,
        404
    );

    // Discovery lists it as kube does: an update-only subresource of kind Namespace.
    let core = send(&s, "GET", "/api/v1", &Value::Null).await;
    let listed = core.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "namespaces/finalize")
        .cloned()
        .expect("namespaces/finalize listed");
    assert_eq!(listed["kind"], "Namespace");
    assert_eq!(listed["namespaced"], false);
    assert_eq!(listed["verbs"], json!(["update"]));
}

/// The command operators use on a namespace stuck Terminating on a finalizer nothing removes:
/// `kubectl replace --raw /api/v1/namespaces/<ns>/finalize -f <namespace without finalizers>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_replace_raw_finalize_ends_a_stuck_namespace() {
    let s = server().await;
    let Some(k) = Kubectl::for_server(&s, "kubectl_replace_raw_finalize_ends_a_stuck_namespace")
    else {
        return;
    };
    let created = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "stuck"}, "spec": {"finalizers": ["example.com/gone"]}}),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    k.ok(&["delete", "namespace", "stuck", "--wait=false"])
        .await;
    let out = k.ok(&["get", "namespace", "stuck", "-o", "json"]).await;
    let mut ns: Value = serde_json::from_str(&out).expect("namespace JSON");
    assert_eq!(ns["status"]["phase"], "Terminating");
    ns["spec"]["finalizers"] = json!([]);
    let file = k.dir.path().join("stuck.json");
    std::fs::write(&file, ns.to_string()).expect("write the namespace");
    let file = file.to_str().expect("UTF-8 path");
    k.ok(&[
        "replace",
        "--raw",
        "/api/v1/namespaces/stuck/finalize",
        "-f",
        file,
    ])
    .await;
    let gone = k.run(&["get", "namespace", "stuck"]).await;
    assert!(!gone.ok, "the namespace is deleted: {}", gone.stdout);
    assert!(gone.stderr.contains("NotFound"), "{}", gone.stderr);
}
