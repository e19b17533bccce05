//! PodTemplate and ReplicationController validation, as kube's
//! `pkg/apis/core/validation/validation.go`: `ValidatePodTemplate` / `ValidatePodTemplateUpdate`
//! (the template validated as a pod template, on create and update alike) and
//! `ValidateReplicationController` / `ValidateReplicationControllerUpdate` (non-negative
//! `minReadySeconds` and `replicas`, a required non-empty selector, and the template checked by
//! `ValidatePodTemplateSpecForRC`: labels matched by the selector, a pod template with
//! `restartPolicy: Always` and no `activeDeadlineSeconds`). Neither type has update-only rules:
//! a ReplicationController's selector may change, unlike a ReplicaSet's.

use serde_json::{Value, json};

use crate::status::Cause;
use crate::validation::apps::template_for_selector;
use crate::validation::core::pod;
use crate::validation::{Policy, field};

/// `ValidatePodTemplate` (without ObjectMeta); `ValidatePodTemplateUpdate` checks the same.
pub fn validate_pod_template(obj: &Value, policy: Policy) -> Vec<Cause> {
    pod::validate_template(
        obj.get("template").unwrap_or(&Value::Null),
        "template",
        policy,
    )
}

/// `ValidateReplicationController` (without ObjectMeta); `ValidateReplicationControllerUpdate`
/// checks the same.
pub fn validate_replication_controller(obj: &Value, policy: Policy) -> Vec<Cause> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut causes = Vec::new();
    if let Some(v) = spec.get("minReadySeconds") {
        causes.extend(field::non_negative("spec.minReadySeconds", v));
    }
    let selector = spec.get("selector").and_then(Value::as_object);
    if selector.is_none_or(|m| m.is_empty()) {
        causes.push(field::required("spec.selector", ""));
    }
    if let Some(v) = spec.get("replicas") {
        causes.extend(field::non_negative("spec.replicas", v));
    }
    // The selector map is a LabelSelector's matchLabels (`labels.Set(selector).AsSelector()`).
    let as_selector = selector.map(|m| json!({ "matchLabels": m }));
    template_for_selector(
        spec,
        "spec",
        as_selector.as_ref(),
        "ReplicationController",
        policy,
        &mut causes,
    );
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn replication_controllers_follow_kubes_order() {
        let rc = json!({"spec": {"replicas": -1, "selector": {"app": "a"},
            "template": {"metadata": {"labels": {"app": "b"}},
                "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": 5,
                         "containers": [{"name": "c", "image": "i"}]}}}});
        assert_eq!(
            messages(&validate_replication_controller(&rc, Policy::default())),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"b\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported",
            ]
        );
        assert_eq!(
            messages(&validate_replication_controller(
                &json!(null),
                Policy::default()
            )),
            vec![
                "spec.selector: Required value",
                "spec.template: Required value"
            ]
        );
        assert!(!validate_pod_template(&json!(7), Policy::default()).is_empty());
    }
}
