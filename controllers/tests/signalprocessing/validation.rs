//! What the API server rejects before the controller sees it (the CRD schema and the immutable
//! spec), and input the controller must classify rather than fail on.

use controllers::api::SignalProcessingPhase::Completed;
use controllers::api::{Environment, Priority};
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
async fn an_invalid_signal_is_rejected_with_one_cause_per_field() {
    let Some(t) = T::new("invalid").await else {
        return;
    };
    let mut sp = t.sp("invalid");
    sp.spec.signal.severity = String::new();
    sp.spec.signal.fingerprint = "NOT-HEX".into();
    let status = status_of(
        t.sps()
            .create(&PostParams::default(), &sp)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    let causes = status.details.as_ref().unwrap().causes.clone();
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    for field in ["spec.signal.severity", "spec.signal.fingerprint"] {
        assert!(fields.contains(&field), "no cause for {field}: {causes:?}");
    }
    assert!(t.sps().get_opt("invalid").await.unwrap().is_none());
}

#[tokio::test]
async fn the_spec_is_immutable() {
    let Some(t) = T::new("immutable").await else {
        return;
    };
    t.create(&t.sp("immutable")).await;
    let err = t
        .sps()
        .patch(
            "immutable",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"signal": {"severity": "info"}}})),
        )
        .await
        .unwrap_err();
    let status = status_of(err);
    assert_eq!(status.code, 422);
    assert!(
        status.message.contains("spec is immutable"),
        "{}",
        status.message
    );
    // The controller goes on with the original spec.
    let done = t.wait_phase("immutable", Completed).await;
    assert_eq!(done.spec.signal.severity, "critical");
}

#[tokio::test]
async fn an_unknown_severity_is_classified_with_the_lowest_priority() {
    let Some(t) = T::new("severity").await else {
        return;
    };
    t.label_namespace(&t.ns, &[("kubernaut.ai/environment", "production")])
        .await;
    let done = t.process(&t.sp("odd").with_severity("apocalyptic")).await;
    let status = done.status.unwrap();
    assert_eq!(
        status.environment_classification.unwrap().environment,
        Environment::Production
    );
    let priority = status.priority_assignment.unwrap();
    assert_eq!(priority.priority, Priority::P3);
    assert_eq!(priority.source, "default");
    assert_eq!(priority.policy_name.as_deref(), Some("unmatched-severity"));
}
