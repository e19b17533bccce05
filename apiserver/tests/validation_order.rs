//! Where ObjectMeta's causes come in a 422, type by type, as kube-apiserver orders them: most
//! strategies' `Validate` check ObjectMeta first (`ValidateConfigMap`, `validatePodMetadataAndSpec`,
//! `ValidateDeployment`, `ValidateIPAddress`, ...), so its causes precede the spec's; a
//! PodDisruptionBudget's (`ValidatePodDisruptionBudget`) checks only the spec, and the generic
//! store (`rest.BeforeCreate`) checks ObjectMeta, with path-segment names, only once that passed.

mod common;

use common::{INVALID, REQUIRED, assert_invalid, send};
use serde_json::{Value, json};

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

/// An owner reference without a uid: an ObjectMeta error with a short message.
fn bad_owner() -> Value {
    json!([{"apiVersion": "v1", "kind": "Thing", "name": "owner", "uid": ""}])
}

const OWNER_UID: (&str, &str, &str) = (
    REQUIRED,
    "metadata.ownerReferences[0].uid",
    "Required value: must not be empty",
);

#[tokio::test]
async fn config_map_object_meta_first() {
    let s = server().await;
    // `ValidateConfigMap`: ValidateObjectMeta, then the keys.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "ownerReferences": bad_owner()}, "data": {"a b": "x"}});
    assert_invalid(
        &send(&s, "POST", "/api/v1/namespaces/default/configmaps", &cm).await,
        "ConfigMap",
        "cm",
        &[
            OWNER_UID,
            (
                INVALID,
                "data[a b]",
                "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ),
        ],
    );
}

#[tokio::test]
async fn pod_object_meta_first() {
    let s = server().await;
    // `ValidatePodCreate` → `validatePodMetadataAndSpec`: ValidateObjectMeta, then the spec.
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "ownerReferences": bad_owner()}, "spec": {"containers": []}});
    assert_invalid(
        &send(&s, "POST", "/api/v1/namespaces/default/pods", &pod).await,
        "Pod",
        "web",
        &[OWNER_UID, (REQUIRED, "spec.containers", "Required value")],
    );
}

#[tokio::test]
async fn deployment_object_meta_first() {
    let s = server().await;
    // `ValidateDeployment`: ValidateObjectMeta, then the spec.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "ownerReferences": bad_owner()},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    assert_invalid(
        &send(
            &s,
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            &deployment,
        )
        .await,
        "Deployment.apps",
        "web",
        &[
            OWNER_UID,
            (
                INVALID,
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
        ],
    );
}

#[tokio::test]
async fn ip_address_object_meta_first() {
    let s = server().await;
    // `ValidateIPAddress`: ValidateObjectMeta (with `ValidateIPAddressName`), then the parent
    // reference.
    let ip = json!({"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
        "metadata": {"name": "10.0.0.010", "ownerReferences": bad_owner()},
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default"}}});
    assert_invalid(
        &send(&s, "POST", "/apis/networking.k8s.io/v1/ipaddresses", &ip).await,
        "IPAddress.networking.k8s.io",
        "10.0.0.010",
        &[
            (
                INVALID,
                "metadata.name",
                "Invalid value: \"10.0.0.010\": must not have leading 0s",
            ),
            OWNER_UID,
            (REQUIRED, "spec.parentRef.name", "Required value"),
        ],
    );
}

#[tokio::test]
async fn pod_disruption_budget_object_meta_only_after_the_spec_passed() {
    let s = server().await;
    const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    // `ValidatePodDisruptionBudget` checks the spec only: its error alone, not ObjectMeta's.
    let bad = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "Bad_Name", "ownerReferences": bad_owner()},
        "spec": {"minAvailable": 1, "maxUnavailable": 1}});
    assert_invalid(
        &send(&s, "POST", PDBS, &bad).await,
        "PodDisruptionBudget.policy",
        "Bad_Name",
        &[(
            INVALID,
            "spec.minAvailable",
            "Invalid value: 1: minAvailable and maxUnavailable cannot be both set",
        )],
    );
    // With a valid spec, `rest.BeforeCreate`'s ObjectMeta check runs, with path-segment names:
    // `Bad_Name` passes (it is no DNS subdomain), the owner reference does not.
    let mut spec_ok = bad.clone();
    spec_ok["spec"] = json!({"minAvailable": 1});
    assert_invalid(
        &send(&s, "POST", PDBS, &spec_ok).await,
        "PodDisruptionBudget.policy",
        "Bad_Name",
        &[OWNER_UID],
    );
    let mut named = spec_ok.clone();
    named["metadata"] = json!({"name": "a%b"});
    assert_invalid(
        &send(&s, "POST", PDBS, &named).await,
        "PodDisruptionBudget.policy",
        "a%b",
        &[(
            INVALID,
            "metadata.name",
            "Invalid value: \"a%b\": may not contain '%'",
        )],
    );
    let mut fine = spec_ok;
    fine["metadata"] = json!({"name": "Bad_Name"});
    let r = send(&s, "POST", PDBS, &fine).await;
    assert_eq!(r.code, 201, "{}", r.body);
}
