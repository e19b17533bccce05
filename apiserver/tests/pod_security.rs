//! kube's `PodSecurity` admission plugin over HTTP: the namespace labels (422 when they do not
//! parse), `enforce` (403 with kube's message), `warn` (Warning headers, for Pods and workloads'
//! templates), which Pod updates are evaluated, and the warnings of a namespace update that
//! tightens `enforce` for the Pods already there.

mod common;

use common::{send, warnings};
use serde_json::{Value, json};

const NAMESPACES: &str = "/api/v1/namespaces";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

async fn namespace(s: &apiserver::ApiServer, name: &str, labels: Value) {
    let r = send(
        s,
        "POST",
        NAMESPACES,
        &json!({"metadata": {"name": name, "labels": labels}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

/// A pod that breaks restricted four ways (kube's own example: a bare nginx).
fn bare(name: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})
}

/// A pod that meets restricted.
fn hardened(name: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "nginx", "image": "nginx", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}})
}

const RESTRICTED_DETAIL: &str = "allowPrivilegeEscalation != false (container \"nginx\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"nginx\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";

#[tokio::test]
async fn enforce_refuses_and_warn_warns() {
    let s = server().await;
    namespace(
        &s,
        "strict",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    )
    .await;
    let pods = "/api/v1/namespaces/strict/pods";
    let r = send(&s, "POST", pods, &bare("web")).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "pods \"web\" is forbidden: violates PodSecurity \"restricted:latest\": {RESTRICTED_DETAIL}"
        )
    );
    let r = send(&s, "POST", pods, &hardened("web")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));

    // warn only: admitted, with kube's warning; enforce at baseline lets it through.
    namespace(
        &s,
        "loose",
        json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
    )
    .await;
    let r = send(&s, "POST", "/api/v1/namespaces/loose/pods", &bare("web")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        warnings(&r),
        [format!(
            "299 - \"would violate PodSecurity \\\"restricted:latest\\\": {}\"",
            RESTRICTED_DETAIL.replace('"', "\\\"")
        )]
    );
    // baseline refuses a privileged container.
    let mut privileged = bare("root");
    privileged["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    let r = send(&s, "POST", "/api/v1/namespaces/loose/pods", &privileged).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "pods \"root\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"nginx\" must not set securityContext.privileged=true)"
    );
    // A namespace without labels is privileged: anything goes, without a warning.
    let r = send(&s, "POST", "/api/v1/namespaces/default/pods", &privileged).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty());
}

#[tokio::test]
async fn workloads_are_warned_about_never_refused() {
    let s = server().await;
    namespace(
        &s,
        "strict",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    )
    .await;
    let d = common::deployment("web", 1);
    let r = send(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/strict/deployments",
        &d,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("299 - \"would violate PodSecurity \\\"restricted:latest\\\": allowPrivilegeEscalation != false"),
        "{w:?}"
    );
}

#[tokio::test]
async fn only_significant_pod_updates_are_evaluated() {
    let s = server().await;
    namespace(&s, "later", json!({})).await;
    let pods = "/api/v1/namespaces/later/pods";
    assert_eq!(send(&s, "POST", pods, &bare("web")).await.code, 201);
    // Tightening enforce warns about the pod already there, and is applied.
    let r = send(
        &s,
        "PATCH",
        &format!("{NAMESPACES}/later"),
        &json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        warnings(&r),
        [
            "299 - \"existing pods in namespace \\\"later\\\" violate the new PodSecurity enforce level \\\"restricted:latest\\\"\"".to_owned(),
            "299 - \"web: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile\"".to_owned(),
        ]
    );
    // A label change of the pod is not evaluated; a new image is.
    let r = send(
        &s,
        "PATCH",
        &format!("{pods}/web"),
        &json!({"metadata": {"labels": {"tier": "front"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = common::raw(
        &s,
        "PATCH",
        &format!("{pods}/web"),
        Some("application/strategic-merge-patch+json"),
        json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
}

#[tokio::test]
async fn namespace_labels_that_do_not_parse_are_invalid() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        NAMESPACES,
        &json!({"metadata": {"name": "typo", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}}),
    )
    .await;
    common::assert_invalid(
        &r,
        "Namespace",
        "typo",
        &[(
            "FieldValueInvalid",
            "metadata.labels[pod-security.kubernetes.io/enforce]",
            "Invalid value: \"strict\": must be one of privileged, baseline, restricted",
        )],
    );
    let r = send(
        &s,
        "POST",
        NAMESPACES,
        &json!({"metadata": {"name": "old", "labels": {"pod-security.kubernetes.io/enforce-version": "1.25"}}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
}
