//! Checks the RBAC manifests checked in under `controllers/rbac/` against the controllers'
//! declarations (`src/<controller>/rbac.rs`), and that the embedded API server accepts them.

use std::path::PathBuf;

mod drift;

use controllers::rbac;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};

/// Command that regenerates `controllers/rbac/`.
const REGENERATE: &str = "run `cargo run -p controllers --bin rbacgen`";

fn rbac_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rbac"))
}

#[test]
fn checked_in_rbac_matches_the_declarations() {
    let expected = rbac::rendered().expect("every declaration renders");
    drift::check_generated_dir(
        &rbac_dir(),
        &expected,
        |name| name.ends_with(".yaml"),
        "controllers/src/*/rbac.rs",
        REGENERATE,
    );
}

#[test]
fn checked_in_yaml_parses_back_into_the_same_objects() {
    for d in rbac::all() {
        let path = rbac_dir().join(d.file_name());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()));
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        assert_eq!(docs.len(), 3, "{}: three documents", path.display());
        let sa: ServiceAccount = serde_json::from_value(docs[0].clone()).unwrap();
        let role: ClusterRole = serde_json::from_value(docs[1].clone()).unwrap();
        let binding: ClusterRoleBinding = serde_json::from_value(docs[2].clone()).unwrap();
        assert_eq!(sa, d.service_account_object(), "{}", path.display());
        assert_eq!(role, d.cluster_role_object(), "{}", path.display());
        assert_eq!(
            binding,
            d.cluster_role_binding_object(),
            "{}",
            path.display()
        );
        assert_eq!(docs[1]["kind"], "ClusterRole");
        assert_eq!(docs[1]["apiVersion"], "rbac.authorization.k8s.io/v1");
    }
}

#[tokio::test]
async fn the_embedded_api_server_accepts_every_manifest() {
    use kube::api::{Api, PostParams};
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("API server");
    let client = server.client().expect("client");
    let pp = PostParams::default();
    let namespace = k8s_openapi::api::core::v1::Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(rbac::NAMESPACE_PLACEHOLDER.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::all(client.clone())
        .create(&pp, &namespace)
        .await
        .expect("namespace");
    for d in rbac::all() {
        Api::<ServiceAccount>::namespaced(client.clone(), rbac::NAMESPACE_PLACEHOLDER)
            .create(&pp, &d.service_account_object())
            .await
            .unwrap_or_else(|e| panic!("{}: ServiceAccount: {e}", d.controller));
        Api::<ClusterRole>::all(client.clone())
            .create(&pp, &d.cluster_role_object())
            .await
            .unwrap_or_else(|e| panic!("{}: ClusterRole: {e}", d.controller));
        Api::<ClusterRoleBinding>::all(client.clone())
            .create(&pp, &d.cluster_role_binding_object())
            .await
            .unwrap_or_else(|e| panic!("{}: ClusterRoleBinding: {e}", d.controller));
    }
}
