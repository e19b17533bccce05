//! Checks the CRD manifests checked in under `crds/` against the Rust API types, and the
//! schema properties every kubernaut CRD must have.

use std::path::PathBuf;

mod drift;

use controllers::api::crds;
use kube::core::crd::merge_crds;

/// Command that regenerates `crds/`.
const REGENERATE: &str = "run `cargo run -p controllers --bin crdgen`";

fn crds_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
}

#[test]
fn checked_in_crds_match_the_rust_types() {
    let expected = crds::rendered().expect("every CRD renders");
    drift::check_generated_dir(
        &crds_dir(),
        &expected,
        |name| name.ends_with(".kubernaut.ai.yaml"),
        "controllers/src/api",
        REGENERATE,
    );
}

#[test]
fn checked_in_yaml_parses_back_into_the_same_crd() {
    for crd in crds::all() {
        let path = crds_dir().join(crds::file_name(&crd));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()));
        let parsed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not a CRD: {e}", path.display()));
        assert_eq!(
            parsed,
            crd,
            "{} does not round-trip; {REGENERATE}",
            path.display()
        );
    }
}

#[test]
fn every_crd_has_the_kubernaut_shape() {
    let crds = crds::all();
    let mut short_names = Vec::new();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(crd.spec.group, "kubernaut.ai", "{name}");
        assert_eq!(crd.spec.scope, "Namespaced", "{name}");
        assert_eq!(crd.spec.versions.len(), 1, "{name}");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1", "{name}");
        assert!(version.served && version.storage, "{name}");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{name}: no status subresource"
        );
        let columns = version
            .additional_printer_columns
            .as_deref()
            .unwrap_or_default();
        assert!(
            columns
                .iter()
                .any(|c| c.name == "Phase" && c.json_path.starts_with(".status.")),
            "{name}: no Phase column"
        );
        short_names.extend(crd.spec.names.short_names.clone().unwrap_or_default());

        let schema = serde_json::to_value(
            version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref()),
        )
        .expect("schema serializes");
        let spec = &schema["properties"]["spec"];
        let rules = spec["x-kubernetes-validations"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: spec has no CEL rules"));
        assert!(
            rules.iter().any(|r| r["rule"] == "self == oldSelf"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("immutable"))),
            "{name}: spec is not immutable: {rules:?}"
        );
        assert!(
            schema["properties"]["status"].is_object(),
            "{name}: no status schema"
        );
    }
    short_names.sort();
    assert_eq!(short_names, ["aia", "notif", "rr", "sp", "wfe"]);
    // Distinct kinds can be merged into nothing; this guards against two types sharing a name.
    for crd in &crds {
        assert!(merge_crds(vec![crd.clone()], "v1alpha1").is_ok());
    }
}

#[test]
fn schemas_carry_the_domain_validation_rules() {
    let by_kind = |kind: &str| {
        let crd = crds::all()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .expect("kind exists");
        serde_json::to_value(
            &crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema,
        )
        .unwrap()
    };
    let rr = by_kind("RemediationRequest");
    assert_eq!(
        rr["properties"]["spec"]["properties"]["signalFingerprint"]["pattern"],
        "^[a-f0-9]{64}$"
    );
    assert_eq!(
        rr["properties"]["spec"]["properties"]["targetType"]["enum"],
        serde_json::json!(["kubernetes", "aws", "azure", "gcp", "datadog"])
    );
    let sp = by_kind("SignalProcessing");
    assert_eq!(
        sp["properties"]["spec"]["properties"]["signal"]["properties"]["fingerprint"]["pattern"],
        "^[a-f0-9]{64}$"
    );
    let nr = by_kind("NotificationRequest");
    let retry = &nr["properties"]["spec"]["properties"]["retryPolicy"]["properties"];
    // schemars writes range bounds as JSON numbers (1.0); compare numerically.
    assert_eq!(retry["maxAttempts"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(retry["maxAttempts"]["maximum"].as_f64(), Some(10.0));
    assert_eq!(retry["maxAttempts"]["default"], 5);
    assert_eq!(
        nr["properties"]["spec"]["properties"]["priority"]["enum"],
        serde_json::json!(["Critical", "High", "Medium", "Low"])
    );
    let wfe = by_kind("WorkflowExecution");
    assert_eq!(
        wfe["properties"]["status"]["properties"]["phase"]["enum"],
        serde_json::json!(["Pending", "Running", "Completed", "Failed"])
    );
    assert_eq!(
        wfe["properties"]["spec"]["properties"]["workflowRef"]["properties"]["executionEngine"]["enum"],
        serde_json::json!(["job", "tekton"])
    );
    let aia = by_kind("AIAnalysis");
    let ctx = &aia["properties"]["spec"]["properties"]["analysisRequest"]["properties"]["signalContext"]
        ["properties"];
    assert_eq!(
        ctx["businessPriority"]["enum"],
        serde_json::json!(["P0", "P1", "P2", "P3"])
    );
}

#[test]
fn test_constructors_serialize_to_objects_the_schema_accepts_shape_wise() {
    // Every test constructor must yield camelCase JSON with apiVersion/kind set, since suites
    // create these objects directly against the API server.
    use controllers::api::*;
    let objects = [
        serde_json::to_value(RemediationRequest::test("a")).unwrap(),
        serde_json::to_value(SignalProcessing::test("a")).unwrap(),
        serde_json::to_value(AIAnalysis::test("a")).unwrap(),
        serde_json::to_value(WorkflowExecution::test("a")).unwrap(),
        serde_json::to_value(NotificationRequest::test("a")).unwrap(),
    ];
    for obj in objects {
        assert_eq!(obj["apiVersion"], "kubernaut.ai/v1alpha1", "{obj}");
        assert_eq!(obj["metadata"]["namespace"], "default", "{obj}");
        assert!(obj["spec"].is_object(), "{obj}");
    }
}

mod served {
    //! The generated CRDs installed in the embedded API server: the schema rules are enforced
    //! there, not only present in the YAML.

    use controllers::api::*;
    use kube::Client;
    use kube::api::{Api, PostParams};

    /// HTTP status for a request the schema rejects.
    const UNPROCESSABLE: u16 = 422;

    async fn server() -> (apiserver::ApiServer, Client) {
        let server = apiserver::ApiServer::builder()
            .crd_dir(super::crds_dir())
            .start()
            .await
            .expect("the API server accepts every generated CRD");
        let client = server.client().expect("client");
        (server, client)
    }

    fn rejection(err: kube::Error) -> (u16, String) {
        match err {
            kube::Error::Api(status) => (status.code, status.message),
            other => panic!("expected an API error, got {other}"),
        }
    }

    #[tokio::test]
    async fn every_test_constructor_creates_a_valid_object() {
        let (_server, client) = server().await;
        let pp = PostParams::default();
        Api::<RemediationRequest>::default_namespaced(client.clone())
            .create(&pp, &RemediationRequest::test("a"))
            .await
            .unwrap();
        Api::<SignalProcessing>::default_namespaced(client.clone())
            .create(&pp, &SignalProcessing::test("a"))
            .await
            .unwrap();
        Api::<AIAnalysis>::default_namespaced(client.clone())
            .create(&pp, &AIAnalysis::test("a"))
            .await
            .unwrap();
        Api::<WorkflowExecution>::default_namespaced(client.clone())
            .create(&pp, &WorkflowExecution::test("a"))
            .await
            .unwrap();
        let nr = Api::<NotificationRequest>::default_namespaced(client.clone())
            .create(&pp, &NotificationRequest::test("a"))
            .await
            .unwrap();
        assert_eq!(nr.spec.retry_policy.max_attempts, 5);
    }

    #[tokio::test]
    async fn spec_changes_are_rejected_as_immutable() {
        let (_server, client) = server().await;
        let api = Api::<WorkflowExecution>::default_namespaced(client);
        let mut wfe = api
            .create(&PostParams::default(), &WorkflowExecution::test("imm"))
            .await
            .unwrap();
        wfe.spec.target_resource = "default/Deployment/other".to_owned();
        let (code, message) = rejection(
            api.replace("imm", &PostParams::default(), &wfe)
                .await
                .expect_err("spec is immutable"),
        );
        assert_eq!(code, UNPROCESSABLE, "{message}");
        assert!(message.contains("spec is immutable"), "{message}");
        // Metadata changes stay allowed.
        let mut wfe = api.get("imm").await.unwrap();
        wfe.metadata.labels = Some([("k".to_owned(), "v".to_owned())].into());
        api.replace("imm", &PostParams::default(), &wfe)
            .await
            .expect("labels may change");
    }

    #[tokio::test]
    async fn invalid_specs_are_rejected() {
        let (_server, client) = server().await;
        let pp = PostParams::default();
        let rrs = Api::<RemediationRequest>::default_namespaced(client.clone());
        let bad = RemediationRequest::test("bad").with_fingerprint("NOT-HEX");
        let (code, message) = rejection(
            rrs.create(&pp, &bad)
                .await
                .expect_err("fingerprint pattern"),
        );
        assert_eq!(code, UNPROCESSABLE, "{message}");
        assert!(message.contains("signalFingerprint"), "{message}");

        let wfes = Api::<WorkflowExecution>::default_namespaced(client.clone());
        let bad = WorkflowExecution::test("bad").with_target("no-slashes");
        let (code, message) = rejection(wfes.create(&pp, &bad).await.expect_err("target pattern"));
        assert_eq!(code, UNPROCESSABLE, "{message}");
        assert!(message.contains("targetResource"), "{message}");

        let nrs = Api::<NotificationRequest>::default_namespaced(client);
        let policy = notificationrequest::RetryPolicy {
            max_attempts: 11,
            ..Default::default()
        };
        let bad = NotificationRequest::test("bad").with_retry_policy(policy);
        let (code, message) = rejection(nrs.create(&pp, &bad).await.expect_err("maxAttempts ≤ 10"));
        assert_eq!(code, UNPROCESSABLE, "{message}");
        assert!(message.contains("maxAttempts"), "{message}");
    }
}
