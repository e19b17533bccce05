//! ResourceQuota and LimitRange validation, as kube's `pkg/apis/core/validation/validation.go`
//! (`ValidateResourceQuota`, `ValidateResourceQuotaUpdate`, `ValidateResourceQuotaStatusUpdate`,
//! `ValidateLimitRange`) with the resource-name helpers of `pkg/apis/core/helper/helpers.go`:
//! resource names (standard or domain-qualified, per context), non-negative and, for counted
//! resources, whole quantities, quota scopes and scope selectors, scopes fixed once created;
//! limit types, per-type rules and min ≤ defaultRequest ≤ default ≤ max.
//!
//! kube ranges over Go maps here, so the order of errors about different resource names of one
//! object varies between its runs; this module follows the object's key order.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, index, obj_of, str_of};
use crate::validation::quantity::Quantity;
use crate::validation::selector::invalid_go;

const HUGE_PAGES_PREFIX: &str = "hugepages-";
const REQUESTS_HUGE_PAGES_PREFIX: &str = "requests.hugepages-";
const DEFAULT_NAMESPACE_PREFIX: &str = "kubernetes.io/";
const REQUESTS_PREFIX: &str = "requests.";

/// `standardResources`.
const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
/// `standardQuotaResources`.
const STANDARD_QUOTA_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];
/// `integerResources`: counted, so whole quantities only.
const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];
/// `standardContainerResources` (and huge pages).
const CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];
/// `podComputeQuotaResources`.
const POD_COMPUTE_RESOURCES: [&str; 6] = [
    "cpu",
    "memory",
    "limits.cpu",
    "limits.memory",
    "requests.cpu",
    "requests.memory",
];
/// `IsStandardResourceQuotaScope`'s scopes (`VolumeAttributesClass` with no gate since 1.34).
const QUOTA_SCOPES: [&str; 7] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];
/// `standardLimitRangeTypes`.
const LIMIT_TYPES: [&str; 3] = ["Pod", "Container", "PersistentVolumeClaim"];
/// Scope pairs a quota may not have both of.
const CONFLICTING_SCOPES: [(&str, &str); 2] = [
    ("BestEffort", "NotBestEffort"),
    ("Terminating", "NotTerminating"),
];

pub(crate) fn is_huge_pages(name: &str) -> bool {
    name.starts_with(HUGE_PAGES_PREFIX)
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains(DEFAULT_NAMESPACE_PREFIX)
}

fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with(REQUESTS_PREFIX)
        && field::qualified_name(&format!("{REQUESTS_PREFIX}{name}")).is_empty()
}

fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name)
        || is_huge_pages(name)
        || name.starts_with(REQUESTS_HUGE_PAGES_PREFIX)
}

/// `IsResourceQuotaScopeValidForResource`.
fn scope_valid_for(scope: &str, resource: &str) -> bool {
    match scope {
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => {
            resource == "pods" || POD_COMPUTE_RESOURCES.contains(&resource)
        }
        "BestEffort" => resource == "pods",
        "VolumeAttributesClass" => {
            matches!(resource, "persistentvolumeclaims" | "requests.storage")
        }
        _ => true,
    }
}

/// `validateResourceName`: a qualified name; without a domain, a standard resource.
fn resource_name(name: &str, path: &str) -> Vec<Cause> {
    let causes = field::each(path, name, field::qualified_name(name));
    if !causes.is_empty() {
        return causes;
    }
    let standard = STANDARD_RESOURCES.contains(&name)
        || is_huge_pages(name)
        || name.starts_with(REQUESTS_HUGE_PAGES_PREFIX);
    if !name.contains('/') && !standard {
        return vec![field::invalid_str(
            path,
            name,
            "must be a standard resource type or fully qualified",
        )];
    }
    causes
}

/// `validateContainerResourceName`.
pub(crate) fn container_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let mut causes = resource_name(name, path);
    if !name.contains('/') {
        if !(CONTAINER_RESOURCES.contains(&name) || is_huge_pages(name)) {
            causes.push(field::invalid_str(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        causes.push(field::invalid_str(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    causes
}

/// `ValidateResourceQuotaResourceName`.
fn quota_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let mut causes = resource_name(name, path);
    if !name.contains('/') && !is_standard_quota_resource(name) {
        causes.push(field::invalid_str(
            path,
            name,
            "must be a standard resource for quota",
        ));
    }
    causes
}

/// `ValidateResourceQuantityValue`: not negative; whole for counted resources.
pub fn quantity_value(name: &str, value: &Value, path: &str) -> Vec<Cause> {
    let Some(q) = Quantity::parse(value) else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    if q.is_negative() {
        causes.push(field::invalid_str(path, &q.canonical(), field::IS_NEGATIVE));
    }
    let integer = INTEGER_RESOURCES.contains(&name) || is_extended(name);
    if integer && q.milli_value() % 1000 != 0 {
        // The bad value is the Quantity, a json.Marshaler: its quoted canonical string.
        causes.push(field::invalid_str(
            path,
            &q.canonical(),
            "must be an integer",
        ));
    }
    causes
}

/// A quota's `hard` or `used` list at `path`.
fn quota_list(list: Option<&Map<String, Value>>, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (k, v) in list.into_iter().flatten() {
        let at = field::key(path, k);
        causes.extend(quota_resource_name(k, &at));
        causes.extend(quantity_value(k, v, &at));
    }
    causes
}

/// A string list as Go's `json.Marshal` prints it (`null` when unset).
fn go_strings(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "null".into(),
        Some(items) => field::go_json(&Value::Array(
            items
                .iter()
                .map(|i| Value::String(i.as_str().unwrap_or("").to_owned()))
                .collect(),
        )),
    }
}

/// The internal `core.ScopeSelector` as Go's `json.Marshal` prints it (untagged fields).
fn go_scope_selector(sel: &Value) -> String {
    let exprs = sel.get("matchExpressions").and_then(Value::as_array);
    let rendered = match exprs {
        None => "null".into(),
        Some(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|e| {
                    format!(
                        "{{\"ScopeName\":{},\"Operator\":{},\"Values\":{}}}",
                        field::go_json(&Value::String(str_of(e, "scopeName").into())),
                        field::go_json(&Value::String(str_of(e, "operator").into())),
                        go_strings(e.get("values"))
                    )
                })
                .collect();
            format!("[{}]", parts.join(","))
        }
    };
    format!("{{\"MatchExpressions\":{rendered}}}")
}

/// `ValidateResourceQuotaSpec` at `spec`.
fn quota_spec(spec: &Value) -> Vec<Cause> {
    let hard = obj_of(spec, "hard");
    let mut causes = quota_list(hard, "spec.hard");
    let hard_names: BTreeSet<&str> = hard
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    let misapplied = |scope: &str| {
        hard_names
            .iter()
            .filter(|k| is_standard_quota_resource(k) && !scope_valid_for(scope, k))
            .count()
    };
    // validateResourceQuotaScopes
    let scopes = arr_of(spec, "scopes");
    if !scopes.is_empty() {
        let rendered = go_strings(spec.get("scopes"));
        let mut seen = BTreeSet::new();
        for scope in scopes {
            let scope = scope.as_str().unwrap_or("");
            if !QUOTA_SCOPES.contains(&scope) {
                causes.push(invalid_go("spec.scopes", &rendered, "unsupported scope"));
            }
            for _ in 0..misapplied(scope) {
                causes.push(invalid_go(
                    "spec.scopes",
                    &rendered,
                    "unsupported scope applied to resource",
                ));
            }
            seen.insert(scope);
        }
        for (a, b) in CONFLICTING_SCOPES {
            if seen.contains(a) && seen.contains(b) {
                causes.push(invalid_go("spec.scopes", &rendered, "conflicting scopes"));
            }
        }
    }
    // validateScopeSelector
    if let Some(sel) = spec.get("scopeSelector").filter(|s| !s.is_null()) {
        let path = "spec.scopeSelector.matchExpressions";
        let mut seen = BTreeSet::new();
        for req in arr_of(sel, "matchExpressions") {
            let scope = str_of(req, "scopeName");
            let operator = str_of(req, "operator");
            let values = arr_of(req, "values");
            if !QUOTA_SCOPES.contains(&scope) {
                causes.push(field::invalid_str(
                    &child(path, "scopeName"),
                    scope,
                    "unsupported scope",
                ));
            }
            for _ in 0..misapplied(scope) {
                causes.push(invalid_go(
                    path,
                    &go_scope_selector(sel),
                    "unsupported scope applied to resource",
                ));
            }
            if matches!(
                scope,
                "BestEffort"
                    | "NotBestEffort"
                    | "Terminating"
                    | "NotTerminating"
                    | "CrossNamespacePodAffinity"
            ) && operator != "Exists"
            {
                causes.push(field::invalid_str(
                    &child(path, "operator"),
                    operator,
                    "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
                ));
            }
            match operator {
                "In" | "NotIn" if values.is_empty() => causes.push(field::required(
                    &child(path, "values"),
                    "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
                )),
                "Exists" | "DoesNotExist" if !values.is_empty() => causes.push(invalid_go(
                    &child(path, "values"),
                    &go_strings(req.get("values")),
                    "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                _ => causes.push(field::invalid_str(
                    &child(path, "operator"),
                    operator,
                    "not a valid selector operator",
                )),
            }
            seen.insert(scope);
        }
        for (a, b) in CONFLICTING_SCOPES {
            if seen.contains(a) && seen.contains(b) {
                // kube prints `spec.scopes` here, not the selector.
                causes.push(invalid_go(
                    path,
                    &go_strings(spec.get("scopes")),
                    "conflicting scopes",
                ));
            }
        }
    }
    causes
}

/// `ResourceQuotaStatus` hard and used lists.
fn quota_status(obj: &Value) -> Vec<Cause> {
    let status = obj.get("status").unwrap_or(&Value::Null);
    let mut causes = quota_list(obj_of(status, "hard"), "status.hard");
    causes.extend(quota_list(obj_of(status, "used"), "status.used"));
    causes
}

/// `ValidateResourceQuota` (without ObjectMeta).
pub fn validate_resource_quota(obj: &Value) -> Vec<Cause> {
    let mut causes = quota_spec(obj.get("spec").unwrap_or(&Value::Null));
    causes.extend(quota_status(obj));
    causes
}

/// `ValidateResourceQuotaUpdate` (without ObjectMeta): the spec, and the same set of scopes.
pub fn validate_resource_quota_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = quota_spec(new.get("spec").unwrap_or(&Value::Null));
    let scopes = |v: &Value| -> BTreeSet<String> {
        v.pointer("/spec/scopes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap_or("").to_owned())
            .collect()
    };
    if scopes(new) != scopes(old) {
        causes.push(invalid_go(
            "spec.scopes",
            &go_strings(new.pointer("/spec/scopes")),
            "field is immutable",
        ));
    }
    causes
}

/// `ValidateResourceQuotaStatusUpdate` (without ObjectMeta; the resourceVersion it requires is
/// always there by then).
pub fn validate_resource_quota_status_update(new: &Value) -> Vec<Cause> {
    quota_status(new)
}

/// `validateLimitRangeTypeName`.
fn limit_type(ty: &str, path: &str) -> Vec<Cause> {
    let causes = field::each(path, ty, field::qualified_name(ty));
    if causes.is_empty() && !ty.contains('/') && !LIMIT_TYPES.contains(&ty) {
        return vec![field::invalid_str(
            path,
            ty,
            "must be a standard limit type or fully qualified",
        )];
    }
    causes
}

/// `ValidateLimitRange` (without ObjectMeta); updates are checked the same way.
pub fn validate_limit_range(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut types = BTreeSet::new();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    for (i, limit) in arr_of(spec, "limits").iter().enumerate() {
        let at = index("spec.limits", i);
        let ty = str_of(limit, "type");
        causes.extend(limit_type(ty, &child(&at, "type")));
        if !types.insert(ty) {
            causes.push(field::duplicate(
                &child(&at, "type"),
                &Value::String(ty.to_owned()),
            ));
        }
        let name_check = |k: &str, path: &str| {
            if matches!(ty, "Pod" | "Container") {
                container_resource_name(k, path)
            } else {
                resource_name(k, path)
            }
        };
        // The keys in kube's order of collection, each with its parsed quantities.
        let mut keys: Vec<String> = Vec::new();
        let mut collect = |list: &str, causes: &mut Vec<Cause>| -> Map<String, Value> {
            let m = obj_of(limit, list).cloned().unwrap_or_default();
            for k in m.keys() {
                causes.extend(name_check(k, &field::key(&child(&at, list), k)));
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            m
        };
        let max = collect("max", &mut causes);
        let min = collect("min", &mut causes);
        let (mut defaults, mut default_requests) = (Map::new(), Map::new());
        if ty == "Pod" {
            for f in ["default", "defaultRequest"] {
                if obj_of(limit, f).is_some_and(|m| !m.is_empty()) {
                    causes.push(field::forbidden(
                        &child(&at, f),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
            }
        } else {
            defaults = collect("default", &mut causes);
            default_requests = collect("defaultRequest", &mut causes);
        }
        if ty == "PersistentVolumeClaim"
            && !min.contains_key("storage")
            && !max.contains_key("storage")
        {
            causes.push(field::required(
                &child(&at, "limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
        let ratios = collect("maxLimitRequestRatio", &mut causes);
        let q = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Quantity::parse);
        for k in &keys {
            let (min_q, max_q, def_q, req_q, ratio_q) = (
                q(&min, k),
                q(&max, k),
                q(&defaults, k),
                q(&default_requests, k),
                q(&ratios, k),
            );
            let path = |list: &str| field::key(&child(&at, list), k);
            // The bad value is a Quantity, a json.Marshaler: its quoted canonical string.
            let bad = |list: &str, value: &Quantity, detail: String| {
                field::invalid_str(&path(list), &value.canonical(), &detail)
            };
            // `ValidateLimitRange`'s six ordered pairs, in its order: (lower, upper, the list
            // reported, whether kube reports the lower value, its words for the two).
            let pairs = [
                (&min_q, &max_q, "min", true, "min value", "max value"),
                (
                    &min_q,
                    &req_q,
                    "defaultRequest",
                    false,
                    "min value",
                    "default request value",
                ),
                (
                    &req_q,
                    &max_q,
                    "defaultRequest",
                    true,
                    "default request value",
                    "max value",
                ),
                (
                    &req_q,
                    &def_q,
                    "defaultRequest",
                    true,
                    "default request value",
                    "default limit value",
                ),
                // kube prints min (and below, max) as the bad value of these two.
                (
                    &min_q,
                    &def_q,
                    "default",
                    true,
                    "min value",
                    "default value",
                ),
                (
                    &def_q,
                    &max_q,
                    "default",
                    false,
                    "default value",
                    "max value",
                ),
            ];
            for (lo, hi, list, report_lo, lo_words, hi_words) in pairs {
                if let (Some(lo), Some(hi)) = (lo, hi)
                    && lo.cmp(hi) == Ordering::Greater
                {
                    causes.push(bad(
                        list,
                        if report_lo { lo } else { hi },
                        format!(
                            "{lo_words} {} is greater than {hi_words} {}",
                            lo.canonical(),
                            hi.canonical()
                        ),
                    ));
                }
            }
            if let Some(ratio) = &ratio_q {
                let one = Quantity::parse(&Value::String("1".into()));
                if one.is_some_and(|one| ratio.cmp(&one) == Ordering::Less) {
                    causes.push(bad(
                        "maxLimitRequestRatio",
                        ratio,
                        format!("ratio {} is less than 1", ratio.canonical()),
                    ));
                }
                if let (Some(mn), Some(mx)) = (&min_q, &max_q) {
                    // resource.MaxMilliValue: milli-units while every value fits them.
                    const MAX_MILLI: i128 = (i64::MAX / 1000) as i128;
                    let (r, lo, hi) = if ratio.value() < MAX_MILLI
                        && mn.value() < MAX_MILLI
                        && mx.value() < MAX_MILLI
                    {
                        (
                            ratio.milli_value() as f64 / 1000.0,
                            mn.milli_value() as f64,
                            mx.milli_value() as f64,
                        )
                    } else {
                        (ratio.value() as f64, mn.value() as f64, mx.value() as f64)
                    };
                    let limit = hi / lo;
                    if r > limit {
                        causes.push(bad(
                            "maxLimitRequestRatio",
                            ratio,
                            format!(
                                "ratio {} is greater than max/min = {limit:.6}",
                                ratio.canonical()
                            ),
                        ));
                    }
                }
            }
            let overcommit = is_native(k) && !is_huge_pages(k);
            if let (Some(df), Some(rq)) = (&def_q, &req_q)
                && !overcommit
                && df.cmp(rq) != Ordering::Equal
            {
                causes.push(bad(
                    "defaultRequest",
                    rq,
                    format!(
                        "default value {} must equal to defaultRequest value {} in {k}",
                        df.canonical(),
                        rq.canonical()
                    ),
                ));
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn arbitrary_json_is_tolerated() {
        for v in [
            json!(null),
            json!([1]),
            json!({"spec": {"limits": [null, 3], "hard": 2, "scopes": {}, "scopeSelector": 1}}),
        ] {
            let _ = validate_limit_range(&v);
            let _ = validate_resource_quota(&v);
            let _ = validate_resource_quota_update(&v, &json!(null));
        }
    }

    #[test]
    fn quota_names_quantities_and_scopes() {
        let rq = json!({"spec": {"hard": {"pods": "1500m", "cpu": "-1", "foo": "1"},
            "scopes": ["BestEffort", "NotBestEffort"]}});
        assert_eq!(
            messages(&validate_resource_quota(&rq)),
            vec![
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
                "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
                "spec.hard[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified",
                "spec.hard[foo]: Invalid value: \"foo\": must be a standard resource for quota",
                "spec.scopes: Invalid value: [\"BestEffort\",\"NotBestEffort\"]: unsupported scope applied to resource",
                "spec.scopes: Invalid value: [\"BestEffort\",\"NotBestEffort\"]: conflicting scopes",
            ]
        );
    }

    #[test]
    fn the_volume_attributes_class_scope_bounds_claims_only_and_takes_every_operator() {
        let rq = json!({"spec": {"hard": {"persistentvolumeclaims": "1", "requests.storage": "1Gi",
            "count/persistentvolumeclaims": "1"}, "scopes": ["VolumeAttributesClass"]}});
        assert_eq!(
            messages(&validate_resource_quota(&rq)),
            Vec::<String>::new()
        );
        let rq = json!({"spec": {"hard": {"pods": "1"}, "scopes": ["VolumeAttributesClass"]}});
        assert_eq!(
            messages(&validate_resource_quota(&rq)),
            [
                "spec.scopes: Invalid value: [\"VolumeAttributesClass\"]: unsupported scope applied to resource"
            ]
        );
        for (op, values) in [
            ("In", json!(["gold"])),
            ("NotIn", json!(["gold"])),
            ("DoesNotExist", json!([])),
        ] {
            let rq = json!({"spec": {"hard": {"requests.storage": "1Gi"}, "scopeSelector": {
                "matchExpressions": [{"scopeName": "VolumeAttributesClass", "operator": op, "values": values}]}}});
            assert_eq!(
                messages(&validate_resource_quota(&rq)),
                Vec::<String>::new(),
                "{op}"
            );
        }
    }

    #[test]
    fn limit_ranges_order_their_bounds() {
        let lr = json!({"spec": {"limits": [{"type": "Container",
            "min": {"cpu": "2"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"cpu": "500m"}}]}});
        assert_eq!(
            messages(&validate_limit_range(&lr)),
            vec![
                "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
                "spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: \"500m\": ratio 500m is less than 1",
            ]
        );
        let lr = json!({"spec": {"limits": [{"type": "Container",
            "min": {"cpu": "100m"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"cpu": "20"}}]}});
        assert_eq!(
            messages(&validate_limit_range(&lr)),
            vec![
                "spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: \"20\": ratio 20 is greater than max/min = 10.000000"
            ]
        );
    }
}
