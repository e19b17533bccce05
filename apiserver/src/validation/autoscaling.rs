//! Validates HorizontalPodAutoscalers as kube's `pkg/apis/autoscaling/validation` does for the
//! internal (v2-shaped) type: replica bounds, the scale target, every metric source and target,
//! and the scaling behavior. autoscaling/v1 objects have no `metrics` or `behavior`, so the same
//! rules apply to both served versions.

use serde_json::Value;

use super::core::pod::quantity_value;
use super::field::{self, arr_of, child, index, str_of};
use super::selector;
use crate::status::Cause;

/// Metric source types (`MetricSpec.type`), sorted as kube lists them.
pub const METRIC_SOURCE_TYPES: [&str; 5] = [
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];
/// Metric target types (`MetricTarget.type`), in the order kube's message names them.
pub const METRIC_TARGET_TYPES: [&str; 3] = ["Utilization", "Value", "AverageValue"];
/// `HPAScalingRules.selectPolicy` values, sorted as kube lists them.
pub const SELECT_POLICIES: [&str; 3] = ["Disabled", "Max", "Min"];
/// `HPAScalingPolicy.type` values, sorted as kube lists them.
pub const SCALING_POLICY_TYPES: [&str; 2] = ["Percent", "Pods"];
/// `MaxPeriodSeconds`: a scaling policy looks back at most 30 minutes.
const MAX_PERIOD_SECONDS: i64 = 1800;
/// `MaxStabilizationWindowSeconds`: a stabilization window is at most an hour.
const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

/// Whether a Quantity is greater than zero (`Quantity.Sign() == 1`).
fn positive(q: &Value) -> bool {
    q.as_str()
        .and_then(quantity_value)
        .or_else(|| q.as_f64())
        .is_some_and(|v| v > 0.0)
}

/// `ValidateCrossVersionObjectReference`: kind and name required and path segments.
/// kube 1.37 also checks `apiVersion` of new references (ValidateAPIVersion); not modelled.
fn cross_version_reference(r: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for f in ["kind", "name"] {
        let v = str_of(r, f);
        if v.is_empty() {
            causes.push(field::required(&child(at, f), ""));
        } else {
            causes.extend(field::each(&child(at, f), v, field::path_segment_name(v)));
        }
    }
    causes
}

/// `validateMetricIdentifier`.
fn metric_identifier(id: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_of(id, "name");
    if name.is_empty() {
        causes.push(field::required(
            &child(at, "name"),
            "must specify a metric name",
        ));
    } else {
        causes.extend(field::each(
            &child(at, "name"),
            name,
            field::path_segment_name(name),
        ));
    }
    if let Some(s) = set(id, "selector") {
        causes.extend(selector::validate(s, &child(at, "selector")));
    }
    causes
}

/// `validateMetricTarget`.
fn metric_target(t: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ty = t
        .get("type")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    if ty.as_str().is_none_or(str::is_empty) {
        causes.push(field::required(
            &child(at, "type"),
            "must specify a metric target type",
        ));
    }
    if !ty
        .as_str()
        .is_some_and(|s| METRIC_TARGET_TYPES.contains(&s))
    {
        causes.push(field::invalid(
            &child(at, "type"),
            &ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for f in ["value", "averageValue"] {
        if let Some(q) = set(t, f)
            && !positive(q)
        {
            causes.push(field::invalid_quantity(
                &child(at, f),
                q,
                "must be positive",
            ));
        }
    }
    if let Some(u) = set(t, "averageUtilization")
        && u.as_i64().is_some_and(|n| n < 1)
    {
        causes.push(field::invalid(
            &child(at, "averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    causes
}

/// The checks of a source's target that depend on the source (`validate*Source`).
fn source(kind: &str, src: &Value, at: &str) -> Vec<Cause> {
    let null = Value::Null;
    let target = src.get("target").unwrap_or(&null);
    let tat = child(at, "target");
    let has = |f: &str| set(target, f).is_some();
    let mut causes = Vec::new();
    match kind {
        "object" => {
            causes.extend(cross_version_reference(
                src.get("describedObject").unwrap_or(&null),
                &child(at, "describedObject"),
            ));
            causes.extend(metric_identifier(
                src.get("metric").unwrap_or(&null),
                &child(at, "metric"),
            ));
            causes.extend(metric_target(target, &tat));
            if !has("value") && !has("averageValue") {
                causes.push(field::required(
                    &child(&tat, "averageValue"),
                    "must set either a target value or averageValue",
                ));
            }
        }
        "external" => {
            causes.extend(metric_identifier(
                src.get("metric").unwrap_or(&null),
                &child(at, "metric"),
            ));
            causes.extend(metric_target(target, &tat));
            if !has("value") && !has("averageValue") {
                causes.push(field::required(
                    &child(&tat, "averageValue"),
                    "must set either a target value for metric or a per-pod target",
                ));
            }
            if has("value") && has("averageValue") {
                causes.push(field::forbidden(
                    &child(&tat, "value"),
                    "may not set both a target value for metric and a per-pod target",
                ));
            }
        }
        "pods" => {
            causes.extend(metric_identifier(
                src.get("metric").unwrap_or(&null),
                &child(at, "metric"),
            ));
            causes.extend(metric_target(target, &tat));
            if !has("averageValue") {
                causes.push(field::required(
                    &child(&tat, "averageValue"),
                    "must specify a positive target averageValue",
                ));
            }
        }
        _ => {
            // resource and containerResource
            if str_of(src, "name").is_empty() {
                causes.push(field::required(
                    &child(at, "name"),
                    "must specify a resource name",
                ));
            }
            if kind == "containerResource" {
                let container = str_of(src, "container");
                if container.is_empty() {
                    causes.push(field::required(
                        &child(at, "container"),
                        "must specify a container",
                    ));
                } else {
                    causes.extend(field::each(
                        &child(at, "container"),
                        container,
                        field::dns1123_label(container),
                    ));
                }
            }
            causes.extend(metric_target(target, &tat));
            if !has("averageUtilization") && !has("averageValue") {
                causes.push(field::required(
                    &child(&tat, "averageUtilization"),
                    "must set either a target raw value or a target utilization",
                ));
            }
            if has("averageUtilization") && has("averageValue") {
                causes.push(field::forbidden(
                    &child(&tat, "averageValue"),
                    "may not set both a target raw value and a target utilization",
                ));
            }
        }
    }
    causes
}

/// The source fields of a MetricSpec, in the order kube checks them, with their `type`.
const SOURCES: [(&str, &str); 5] = [
    ("object", "Object"),
    ("external", "External"),
    ("pods", "Pods"),
    ("resource", "Resource"),
    ("containerResource", "ContainerResource"),
];

/// `validateMetricSpec`: a known type, its own source populated and no other.
fn metric_spec(m: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ty = m
        .get("type")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let ty_str = ty.as_str().unwrap_or_default();
    if ty_str.is_empty() {
        causes.push(field::required(
            &child(at, "type"),
            "must specify a metric source type",
        ));
    }
    if !METRIC_SOURCE_TYPES.contains(&ty_str) {
        causes.push(field::not_supported(
            &child(at, "type"),
            &ty,
            &METRIC_SOURCE_TYPES,
        ));
    }
    let present: Vec<&str> = SOURCES
        .iter()
        .filter(|(f, _)| set(m, f).is_some())
        .map(|(f, _)| *f)
        .collect();
    // kube validates the first source present only.
    if let Some(first) = present.first() {
        causes.extend(source(first, &m[*first], &child(at, first)));
    }
    let expected = SOURCES.iter().find(|(_, t)| *t == ty_str).map(|(f, _)| *f);
    if let Some(expected) = expected
        && !present.contains(&expected)
    {
        causes.push(field::required(
            &child(at, expected),
            "must populate information for the given metric source",
        ));
    }
    if present.len() != 1 {
        for other in present.iter().filter(|f| Some(**f) != expected) {
            causes.push(field::forbidden(
                &child(at, other),
                "must populate the given metric source only",
            ));
        }
    }
    causes
}

/// `validateScalingRules` of `behavior.scaleUp` or `behavior.scaleDown`.
fn scaling_rules(rules: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(w) = set(rules, "stabilizationWindowSeconds")
        && let Some(n) = w.as_i64()
    {
        let window_at = child(at, "stabilizationWindowSeconds");
        if n < 0 {
            causes.push(field::invalid(
                &window_at,
                w,
                "must be greater than or equal to zero",
            ));
        }
        if n > MAX_STABILIZATION_WINDOW_SECONDS {
            causes.push(field::invalid(
                &window_at,
                w,
                &format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(p) = set(rules, "selectPolicy")
        && !p.as_str().is_some_and(|s| SELECT_POLICIES.contains(&s))
    {
        causes.push(field::not_supported(
            &child(at, "selectPolicy"),
            p,
            &SELECT_POLICIES,
        ));
    }
    let policies = arr_of(rules, "policies");
    let policies_at = child(at, "policies");
    if policies.is_empty() {
        causes.push(field::required(
            &policies_at,
            "must specify at least one Policy",
        ));
    }
    for (i, p) in policies.iter().enumerate() {
        let pat = index(&policies_at, i);
        let ty = p
            .get("type")
            .cloned()
            .unwrap_or(Value::String(String::new()));
        if !ty
            .as_str()
            .is_some_and(|s| SCALING_POLICY_TYPES.contains(&s))
        {
            causes.push(field::not_supported(
                &child(&pat, "type"),
                &ty,
                &SCALING_POLICY_TYPES,
            ));
        }
        let int = |f: &str| p.get(f).and_then(Value::as_i64).unwrap_or(0);
        if int("value") <= 0 {
            causes.push(field::invalid(
                &child(&pat, "value"),
                &int("value").into(),
                "must be greater than zero",
            ));
        }
        let period = int("periodSeconds");
        if period <= 0 {
            causes.push(field::invalid(
                &child(&pat, "periodSeconds"),
                &period.into(),
                "must be greater than zero",
            ));
        }
        if period > MAX_PERIOD_SECONDS {
            causes.push(field::invalid(
                &child(&pat, "periodSeconds"),
                &period.into(),
                &format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    causes
}

/// `validateHorizontalPodAutoscalerSpec` with the lowest `minReplicas` allowed.
fn hpa_spec(obj: &Value, min_replicas_lower_bound: i64) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    let min = set(spec, "minReplicas").and_then(Value::as_i64);
    let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if let Some(min) = min
        && min < min_replicas_lower_bound
    {
        causes.push(field::invalid(
            "spec.minReplicas",
            &min.into(),
            &format!("must be greater than or equal to {min_replicas_lower_bound}"),
        ));
    }
    if max < 1 {
        causes.push(field::invalid(
            "spec.maxReplicas",
            &max.into(),
            "must be greater than 0",
        ));
    }
    if let Some(min) = min
        && max < min
    {
        causes.push(field::invalid(
            "spec.maxReplicas",
            &max.into(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    causes.extend(cross_version_reference(
        spec.get("scaleTargetRef").unwrap_or(&null),
        "spec.scaleTargetRef",
    ));
    let metrics = arr_of(spec, "metrics");
    for (i, m) in metrics.iter().enumerate() {
        causes.extend(metric_spec(m, &index("spec.metrics", i)));
    }
    if min == Some(0)
        && !metrics
            .iter()
            .any(|m| matches!(str_of(m, "type"), "Object" | "External"))
    {
        causes.push(field::forbidden(
            "spec.metrics",
            "must specify at least one Object or External metric to support scaling to zero replicas",
        ));
    }
    if let Some(b) = set(spec, "behavior") {
        for dir in ["scaleUp", "scaleDown"] {
            if let Some(rules) = set(b, dir) {
                causes.extend(scaling_rules(rules, &child("spec.behavior", dir)));
            }
        }
    }
    causes
}

/// `ValidateHorizontalPodAutoscaler` (without ObjectMeta). `minReplicas: 0` needs the
/// HPAScaleToZero feature gate, off in kube 1.37.
pub fn validate_hpa(obj: &Value) -> Vec<Cause> {
    hpa_spec(obj, 1)
}

/// `ValidateHorizontalPodAutoscalerUpdate`: the spec rules, where a stored `minReplicas: 0`
/// (from a cluster with the gate on) stays allowed.
pub fn validate_hpa_update(new: &Value, old: &Value) -> Vec<Cause> {
    let old_zero = old.pointer("/spec/minReplicas").and_then(Value::as_i64) == Some(0);
    hpa_spec(new, if old_zero { 0 } else { 1 })
}

/// `ValidateHorizontalPodAutoscalerStatusUpdate` after ObjectMeta: the current and desired
/// replica counts non-negative (Go's zero when unset).
pub fn validate_hpa_status_update(new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    field::non_negative_counts(
        new.get("status").unwrap_or(&Value::Null),
        &["currentReplicas", "desiredReplicas"],
        &mut causes,
    );
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn metric_sources_must_match_their_type() {
        let hpa = json!({"spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "metrics": [{"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
        assert_eq!(
            messages(&validate_hpa(&hpa)),
            vec![
                "spec.metrics[0].pods: Required value: must populate information for the given metric source"
            ]
        );
        let hpa = json!({"spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "metrics": [{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "0"}}}]}});
        // The bad value is the *Quantity: Go's json.Marshal of it, its quoted canonical form.
        let causes = validate_hpa(&hpa);
        assert_eq!(
            messages(&causes),
            ["spec.metrics[0].external.target.value: Invalid value: \"0\": must be positive"]
        );
    }

    #[test]
    fn behavior_bounds() {
        let rules = json!({"stabilizationWindowSeconds": 3601, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 1801}]});
        assert_eq!(
            messages(&scaling_rules(&rules, "b")),
            vec![
                "b.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600",
                "b.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
            ]
        );
    }
}
