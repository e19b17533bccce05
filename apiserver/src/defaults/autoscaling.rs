//! Defaults of the autoscaling group (`pkg/apis/autoscaling/v1/defaults.go`, `.../v2/defaults.go`).

use serde_json::{Value, json};

use super::rules::{Lit, Obj, Rule, TypeRules, is_nil};

/// `autoscaling.DefaultCPUUtilization`: the target of an HPA that names no metric.
const DEFAULT_CPU_UTILIZATION: i64 = 80;
/// Seconds over which scale-up and scale-down policies are evaluated.
const SCALING_PERIOD_SECONDS: i64 = 15;

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::autoscaling::v1::HorizontalPodAutoscalerSpec",
        rules: &[Rule::Set("minReplicas", Lit::Int(1))],
    },
    TypeRules {
        ty: "api::autoscaling::v2::HorizontalPodAutoscalerSpec",
        rules: &[
            Rule::Set("minReplicas", Lit::Int(1)),
            Rule::Fn {
                sets: &[
                    (
                        "api::autoscaling::v2::HorizontalPodAutoscalerSpec",
                        "metrics",
                    ),
                    (
                        "api::autoscaling::v2::HorizontalPodAutoscalerBehavior",
                        "scaleUp",
                    ),
                    (
                        "api::autoscaling::v2::HorizontalPodAutoscalerBehavior",
                        "scaleDown",
                    ),
                    ("api::autoscaling::v2::HPAScalingRules", "selectPolicy"),
                    (
                        "api::autoscaling::v2::HPAScalingRules",
                        "stabilizationWindowSeconds",
                    ),
                    ("api::autoscaling::v2::HPAScalingRules", "policies"),
                ],
                apply: hpa_v2,
            },
        ],
    },
];

fn hpa_v2(spec: &mut Obj) {
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(|m| m.is_empty())
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]),
        );
    }
    // Behavior is completed only when given (GenerateHPAScale{Up,Down}Rules).
    let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) else {
        return;
    };
    let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": SCALING_PERIOD_SECONDS},
        {"type": "Percent", "value": 100, "periodSeconds": SCALING_PERIOD_SECONDS}]});
    // No stabilization window: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies.
    let down = json!({"selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": SCALING_PERIOD_SECONDS}]});
    for (field, defaults) in [("scaleUp", up), ("scaleDown", down)] {
        let mut rules = defaults;
        if let Some(Value::Object(given)) = behavior.get(field) {
            for (k, v) in given {
                if !is_nil(Some(v)) {
                    rules[k.as_str()] = v.clone();
                }
            }
        }
        behavior.insert(field.into(), rules);
    }
}
