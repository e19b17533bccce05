//! What the API server rejects before the controller ever sees it: the CRD schema (422 with
//! one cause per field) and the immutable spec.

use controllers::api::WorkflowExecution;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::env::T;

fn status_of(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn an_invalid_spec_is_rejected_with_one_cause_per_field() {
    let Some(t) = T::new("invalid").await else {
        return;
    };
    let mut wfe = t.wfe("invalid");
    wfe.spec.target_resource = "not a target".into();
    wfe.spec.confidence = Some(1.5);
    wfe.spec.workflow_ref.workflow_id = String::new();
    let status = status_of(
        t.wfes()
            .create(&PostParams::default(), &wfe)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
    let causes = status.details.as_ref().unwrap().causes.clone();
    let fields: Vec<String> = causes.iter().map(|c| c.field.clone()).collect();
    for field in [
        "spec.targetResource",
        "spec.confidence",
        "spec.workflowRef.workflowId",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "no cause for {field}: {causes:?}"
        );
    }
    let confidence = causes
        .iter()
        .find(|c| c.field == "spec.confidence")
        .unwrap();
    assert_eq!(
        confidence.message,
        "Invalid value: 1.5: spec.confidence in body should be less than or equal to 1"
    );
    // Nothing was stored.
    assert!(t.wfes().get_opt("invalid").await.unwrap().is_none());
}

#[tokio::test]
async fn an_unknown_engine_is_not_supported() {
    let Some(t) = T::new("engine").await else {
        return;
    };
    let mut value = serde_json::to_value(t.wfe("engine")).unwrap();
    value["spec"]["workflowRef"]["executionEngine"] = json!("argo");
    let obj: kube::api::DynamicObject = serde_json::from_value(value).unwrap();
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        t.env.client(),
        &t.ns,
        &kube::discovery::ApiResource::erase::<WorkflowExecution>(&()),
    );
    let status = status_of(api.create(&PostParams::default(), &obj).await.unwrap_err());
    assert_eq!(status.code, 422);
    let cause = &status.details.unwrap().causes[0];
    assert_eq!(cause.field, "spec.workflowRef.executionEngine");
    assert_eq!(cause.reason, "FieldValueNotSupported");
    assert!(
        cause
            .message
            .starts_with("Unsupported value: \"argo\": supported values:"),
        "{}",
        cause.message
    );
}

#[tokio::test]
async fn the_spec_is_immutable_but_metadata_is_not() {
    let Some(t) = T::new("immutable").await else {
        return;
    };
    let wfe = t.wfe("immutable");
    t.start(&wfe).await;
    let patch = json!({"spec": {"parameters": {"EXTRA": "1"}}});
    let status = status_of(
        t.wfes()
            .patch("immutable", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("spec is immutable: create a new WorkflowExecution instead"),
        "{}",
        status.message
    );
    // Labels may change: the rule covers the spec only.
    let labels = json!({"metadata": {"labels": {"team": "sre"}}});
    t.wfes()
        .patch("immutable", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .expect("labels are mutable");
}
