//! A real schema: kubernaut's RemediationRequest `openAPIV3Schema` as the controllers crate
//! generates it (snapshot in `tests/fixtures`, taken from `crds/remediationrequests.kubernaut.ai.yaml`).
//! Covers the path an API server takes: prune, default, validate on create, then on update.

use crd_schema::Schema;
use serde_json::{Value, json};

fn schema() -> Schema {
    let text = include_str!("fixtures/remediationrequest.schema.json");
    let v: Value = serde_json::from_str(text).expect("fixture is JSON");
    Schema::compile(&v).expect("kubernaut schema compiles")
}

fn rr(name: &str) -> Value {
    json!({
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "RemediationRequest",
        "metadata": {"name": "rr-1", "namespace": "default"},
        "spec": {
            "signalFingerprint": "a".repeat(64),
            "signalName": name,
            "severity": "critical",
            "signalType": "prometheus-alert",
            "signalSource": "alertmanager",
            "targetResource": {"kind": "Deployment", "name": "web", "namespace": "default"},
            "firingTime": "2026-11-25T10:00:00Z",
            "receivedTime": "2026-11-25T10:00:01Z",
            "unknownField": 1
        }
    })
}

fn messages(errs: &[crd_schema::FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

#[test]
fn create_then_update() {
    let s = schema();
    let mut obj = rr("HighMemory");
    assert_eq!(s.prune(&mut obj), ["spec.unknownField"]);
    s.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["targetType"], "kubernetes");
    assert!(
        s.validate(&obj, None).is_empty(),
        "{:?}",
        messages(&s.validate(&obj, None))
    );

    // Status changes leave the spec alone: valid.
    let mut with_status = obj.clone();
    with_status["status"] = json!({"overallPhase": "Processing"});
    let errs = s.validate(&with_status, Some(&obj));
    assert!(
        errs.iter().all(|e| !e.field.starts_with("spec")),
        "{:?}",
        messages(&errs)
    );

    // Changing the spec breaks the immutability rule.
    let mut changed = obj.clone();
    changed["spec"]["severity"] = json!("warning");
    assert_eq!(
        messages(&s.validate(&changed, Some(&obj))),
        ["spec: Invalid value: spec is immutable: create a new RemediationRequest instead"]
    );
}

#[test]
fn bad_create_reports_every_field() {
    let s = schema();
    let mut obj = rr("");
    obj["spec"]["signalFingerprint"] = json!("XYZ");
    obj["spec"]["targetType"] = json!("openstack");
    obj["spec"]["firingTime"] = json!("yesterday");
    obj["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("severity");
    s.prune(&mut obj);
    s.apply_defaults(&mut obj);
    let got = messages(&s.validate(&obj, None));
    let want = [
        "spec.firingTime: Invalid value: \"yesterday\": spec.firingTime in body must be of type date-time: \"yesterday\"",
        "spec.signalFingerprint: Invalid value: \"XYZ\": spec.signalFingerprint in body should match '^[a-f0-9]{64}$'",
        "spec.signalName: Invalid value: \"\": spec.signalName in body should be at least 1 chars long",
        "spec.targetType: Unsupported value: \"openstack\": supported values: \"kubernetes\", \"aws\", \"azure\", \"gcp\", \"datadog\"",
        "spec.severity: Required value",
        // The schema has CEL rules, and a Required/NotSupported error blocks them.
        "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
    ];
    let mut sorted_got = got.clone();
    sorted_got.sort();
    let mut sorted_want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    sorted_want.sort();
    assert_eq!(sorted_got, sorted_want, "{got:#?}");
}
