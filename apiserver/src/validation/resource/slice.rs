//! ResourceSlices: kube's `ValidateResourceSlice` and `ValidateResourceSliceUpdate`
//! (`validateResourceSliceSpec`, `validateDevice`, `validateCounterSet`, ...), with the
//! declarative rules of `ResourceSliceSpec` (attribute unions, counter sets and consumptions,
//! taint effects, binding condition counts).
//!
//! kube iterates the attribute and capacity maps in Go's random map order; their errors come
//! here in key order.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{
    binding_parameters, dns_label, driver_name, dv_binding_parameters, dv_taint_effect, dv_unique,
    go_node_selector_terms, go_ordered, key_of, node_selector, obj, opt_str, pool_name,
    qualified_name, semantic_eq, set, string, taint_key_value,
};
use crate::status::Cause;
use crate::validation::field::{self, arr_of, child, index, str_of};
use crate::validation::quantity::Quantity;

/// `ResourceSliceMaxDevices`, and `ResourceSliceMaxDevicesWithAdvancedFeatures` when a device
/// has taints or consumes counters.
const MAX_DEVICES: usize = 128;
const MAX_DEVICES_ADVANCED: usize = 64;
/// `ResourceSliceMaxCounterSets`.
const MAX_COUNTER_SETS: usize = 8;
/// `ResourceSliceMaxCountersPerCounterSet` and `...PerDeviceCounterConsumption`.
const MAX_COUNTERS: usize = 32;
/// `ResourceSliceMaxDeviceCounterConsumptionsPerDevice`.
const MAX_CONSUMPTIONS: usize = 2;
/// `ResourceSliceMaxAttributesAndCapacitiesPerDevice`.
const MAX_ATTRIBUTES_AND_CAPACITIES: usize = 32;
/// `ResourceSliceMaxAttributeValuesPerDevice`.
const MAX_ATTRIBUTE_VALUES: usize = 48;
/// `DeviceAttributeMaxValueLength`.
const ATTRIBUTE_VALUE_MAX: usize = 64;
/// `DeviceTaintsMaxLength`.
const MAX_TAINTS: usize = 16;
/// `CapacityRequestPolicyDiscreteMaxOptions`.
const MAX_VALID_VALUES: usize = 10;
/// `attributeAndCapacityMaxKeyLength` (domain, slash, identifier): longer keys are shortened in
/// paths.
const MAX_KEY_LENGTH: usize = 63 + 1 + 32;
/// A quantity's nanounits per unit and per milli-unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
/// The members of the `DeviceAttribute` union, in struct order.
const ATTRIBUTE_MEMBERS: [&str; 8] = [
    "int", "bool", "string", "version", "ints", "bools", "strings", "versions",
];

const NODE_SELECTION: &str =
    "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required";
const DEVICE_NODE_SELECTION: &str = "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec";
const FIELD_IMMUTABLE: &str = "field is immutable";

/// `ValidateResourceSlice` without ObjectMeta.
pub fn validate_slice(slice: &Value) -> Vec<Cause> {
    let mut causes = hv_spec(obj(slice, "spec"), None);
    causes.extend(dv_spec(obj(&go_ordered(slice), "spec"), None));
    causes
}

/// `ValidateResourceSliceUpdate` without ObjectMeta.
pub fn validate_slice_update(new: &Value, old: &Value) -> Vec<Cause> {
    let old_spec = obj(old, "spec");
    let mut causes = hv_spec(obj(new, "spec"), Some(old_spec));
    causes.extend(dv_spec(obj(&go_ordered(new), "spec"), Some(old_spec)));
    causes
}

fn is_true(v: &Value, f: &str) -> bool {
    v.get(f) == Some(&Value::Bool(true))
}

/// `validateNodeName`: a DNS subdomain.
fn node_name(path: &str, name: &str) -> Vec<Cause> {
    field::each(path, name, field::dns1123_subdomain(name))
}

/// `validateResourceSliceSpec` (hand-written part).
fn hv_spec(spec: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = driver_name("spec.driver", str_of(spec, "driver"));
    let pool = obj(spec, "pool");
    causes.extend(pool_name("spec.pool.name", str_of(pool, "name")));
    let count = pool.get("resourceSliceCount").cloned().unwrap_or(json!(0));
    if count.as_i64().is_none_or(|n| n <= 0) {
        causes.push(field::invalid(
            "spec.pool.resourceSliceCount",
            &count,
            "must be greater than zero",
        ));
    }
    let generation = pool.get("generation").cloned().unwrap_or(json!(0));
    if generation.as_i64().is_some_and(|n| n < 0) {
        causes.push(field::invalid(
            "spec.pool.generation",
            &generation,
            "must be greater than or equal to zero",
        ));
    }
    if let Some(old) = old {
        let pool_name = |s: &Value| string(str_of(obj(s, "pool"), "name"));
        let driver = |s: &Value| string(str_of(s, "driver"));
        let node = |s: &Value| s.get("nodeName").cloned().unwrap_or(Value::Null);
        for (path, value, old_value) in [
            ("spec.pool.name", pool_name(spec), pool_name(old)),
            ("spec.driver", driver(spec), driver(old)),
            ("spec.nodeName", node(spec), node(old)),
        ] {
            if value != old_value {
                causes.push(field::invalid(path, &value, FIELD_IMMUTABLE));
            }
        }
    }
    let mut chosen = Vec::new();
    if let Some(name) = opt_str(spec, "nodeName") {
        if name.is_empty() {
            causes.push(field::invalid_str(
                "spec.nodeName",
                "",
                "must be either unset or set to a non-empty string",
            ));
        } else {
            chosen.push("`nodeName`");
            causes.extend(node_name("spec.nodeName", name));
        }
    }
    if let Some(sel) = set(spec, "nodeSelector") {
        chosen.push("`nodeSelector`");
        causes.extend(node_selector(sel, "spec.nodeSelector"));
        if arr_of(sel, "nodeSelectorTerms").len() != 1 {
            causes.push(crate::validation::selector::invalid_go(
                "spec.nodeSelector.nodeSelectorTerms",
                &go_node_selector_terms(set(sel, "nodeSelectorTerms")),
                "must have exactly one node selector term",
            ));
        }
    }
    for (f, name) in [
        ("allNodes", "`allNodes`"),
        ("perDeviceNodeSelection", "`perDeviceNodeSelection`"),
    ] {
        match set(spec, f) {
            Some(Value::Bool(true)) => chosen.push(name),
            Some(v) => causes.push(field::invalid(
                &child("spec", f),
                v,
                "must be either unset or set to true",
            )),
            None => {}
        }
    }
    match chosen.len() {
        0 => causes.push(field::required("spec", NODE_SELECTION)),
        1 => {}
        _ => causes.push(field::invalid_str(
            "spec",
            &format!("{{{}}}", chosen.join(", ")),
            &format!("{NODE_SELECTION}, but multiple fields are set"),
        )),
    }
    if set(spec, "sharedCounters").is_some() && set(spec, "devices").is_some() {
        causes.push(field::invalid_str(
            "spec",
            "",
            "only one of `sharedCounters` or `devices` is allowed",
        ));
    }
    let devices = arr_of(spec, "devices");
    let advanced = devices
        .iter()
        .any(|d| !arr_of(d, "taints").is_empty() || !arr_of(d, "consumesCounters").is_empty());
    let max = if advanced {
        MAX_DEVICES_ADVANCED
    } else {
        MAX_DEVICES
    };
    if devices.len() > max {
        causes.push(field::too_many("spec.devices", devices.len(), max));
    } else {
        let per_device = is_true(spec, "perDeviceNodeSelection");
        let old_devices = old.map_or(&[][..], |o| arr_of(o, "devices"));
        for (i, d) in devices.iter().enumerate() {
            let old_device = old_devices
                .iter()
                .find(|o| str_of(o, "name") == str_of(d, "name"));
            causes.extend(hv_device(
                d,
                old_device,
                &index("spec.devices", i),
                per_device,
            ));
        }
        let mut seen = Vec::new();
        for (i, d) in devices.iter().enumerate() {
            let name = str_of(d, "name");
            if seen.contains(&name) {
                causes.push(field::duplicate(&index("spec.devices", i), &string(name)));
            } else {
                seen.push(name);
            }
        }
    }
    let counter_sets = arr_of(spec, "sharedCounters");
    if counter_sets.len() <= MAX_COUNTER_SETS {
        for (i, s) in counter_sets.iter().enumerate() {
            causes.extend(counters_size(s, &index("spec.sharedCounters", i)));
        }
    }
    causes
}

/// `validateMap` of a counter map: 32 counters at most (the names are declarative).
fn counters_size(v: &Value, at: &str) -> Vec<Cause> {
    let n = v
        .get("counters")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    if n > MAX_COUNTERS {
        return vec![field::too_many(&child(at, "counters"), n, MAX_COUNTERS)];
    }
    Vec::new()
}

/// `truncateIfTooLong`: a long map key shortened in the middle for its path.
fn truncate_key(key: &str) -> String {
    if key.len() <= MAX_KEY_LENGTH || !key.is_ascii() {
        return key.to_owned();
    }
    let remaining = MAX_KEY_LENGTH - 3;
    format!(
        "{}...{}",
        &key[..remaining.div_ceil(2)],
        &key[key.len() - remaining / 2..]
    )
}

fn entries(v: &Value, f: &str) -> BTreeMap<String, Value> {
    v.get(f)
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Whether `s` is a version as semver.org 2.0.0 defines it (kube's `semverRe`).
pub(super) fn is_semver(s: &str) -> bool {
    let numeric = |p: &str| {
        !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    };
    let pre = |p: &str| {
        numeric(p)
            || (!p.is_empty()
                && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && p.bytes().any(|c| !c.is_ascii_digit()))
    };
    let build =
        |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
    let (rest, build_part) = match s.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (s, None),
    };
    if build_part.is_some_and(|b| !b.split('.').all(build)) {
        return false;
    }
    let (core, pre_part) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    if pre_part.is_some_and(|p| !p.split('.').all(pre)) {
        return false;
    }
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| numeric(p))
}

/// `validateDevice` (hand-written part).
fn hv_device(d: &Value, old: Option<&Value>, at: &str, per_device: bool) -> Vec<Cause> {
    let mut causes = dns_label(&child(at, "name"), str_of(d, "name"));
    let attributes = entries(d, "attributes");
    let capacity = entries(d, "capacity");
    let total = attributes.len() + capacity.len();
    if total > MAX_ATTRIBUTES_AND_CAPACITIES {
        causes.push(field::invalid(
            at,
            &json!(total),
            &format!(
                "the total number of attributes and capacities must not exceed {MAX_ATTRIBUTES_AND_CAPACITIES}"
            ),
        ));
    }
    if attributes.len() > MAX_ATTRIBUTE_VALUES {
        causes.push(field::invalid(
            at,
            &json!(attributes.len()),
            &format!("the total number of attribute values must not exceed {MAX_ATTRIBUTE_VALUES}"),
        ));
    }
    let attributes_path = child(at, "attributes");
    for (key, attr) in &attributes {
        causes.extend(qualified_name(&attributes_path, key));
        let attr_path = field::key(&attributes_path, &truncate_key(key));
        if let Some(s) = opt_str(attr, "string")
            && s.len() > ATTRIBUTE_VALUE_MAX
        {
            causes.push(field::too_long(
                &child(&attr_path, "string"),
                ATTRIBUTE_VALUE_MAX,
            ));
        }
        if let Some(v) = opt_str(attr, "version") {
            let path = child(&attr_path, "version");
            if !is_semver(v) {
                causes.push(field::invalid_str(
                    &path,
                    v,
                    "must be a string compatible with semver.org spec 2.0.0",
                ));
            }
            if v.len() > ATTRIBUTE_VALUE_MAX {
                causes.push(field::too_long(&path, ATTRIBUTE_VALUE_MAX));
            }
        }
    }
    let capacity_path = child(at, "capacity");
    if old.is_none_or(|o| !semantic_eq(o.get("capacity"), d.get("capacity"))) {
        let multiple = is_true(d, "allowMultipleAllocations");
        for (key, cap) in &capacity {
            causes.extend(qualified_name(&capacity_path, key));
            let cap_path = field::key(&capacity_path, &truncate_key(key));
            if let Some(policy) = set(cap, "requestPolicy") {
                let path = child(&cap_path, "requestPolicy");
                if multiple {
                    causes.extend(request_policy(cap.get("value"), policy, &path));
                } else {
                    causes.push(field::forbidden(
                        &path,
                        "allowMultipleAllocations must be true",
                    ));
                }
            }
        }
    }
    if old.is_none_or(|o| !semantic_eq(o.get("taints"), d.get("taints"))) {
        let taints = arr_of(d, "taints");
        let path = child(at, "taints");
        if taints.len() > MAX_TAINTS {
            causes.push(field::too_many(&path, taints.len(), MAX_TAINTS));
        } else {
            for (i, t) in taints.iter().enumerate() {
                causes.extend(taint_key_value(t, &index(&path, i)));
            }
        }
    }
    let consumptions = arr_of(d, "consumesCounters");
    if consumptions.len() <= MAX_CONSUMPTIONS {
        for (i, c) in consumptions.iter().enumerate() {
            causes.extend(counters_size(c, &index(&child(at, "consumesCounters"), i)));
        }
    }
    causes.extend(device_node_selection(d, at, per_device));
    causes.extend(binding_parameters(d, at));
    causes
}

/// The per-device node selection of a slice with `perDeviceNodeSelection`, or its absence.
fn device_node_selection(d: &Value, at: &str, per_device: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    if !per_device {
        if ["nodeName", "nodeSelector", "allNodes"]
            .iter()
            .any(|f| set(d, f).is_some())
        {
            causes.push(field::invalid(
                at,
                &Value::Null,
                "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec",
            ));
        }
        return causes;
    }
    let mut chosen = Vec::new();
    if let Some(name) = opt_str(d, "nodeName") {
        if name.is_empty() {
            causes.push(field::invalid_str(
                &child(at, "nodeName"),
                "",
                "must not be empty",
            ));
        } else {
            chosen.push("`nodeName`");
            causes.extend(node_name(&child(at, "nodeName"), name));
        }
    }
    if let Some(sel) = set(d, "nodeSelector") {
        chosen.push("`nodeSelector`");
        causes.extend(node_selector(sel, &child(at, "nodeSelector")));
    }
    match set(d, "allNodes") {
        Some(Value::Bool(true)) => chosen.push("`allNodes`"),
        Some(v) => causes.push(field::invalid(
            &child(at, "allNodes"),
            v,
            "must be either unset or set to true",
        )),
        None => {}
    }
    match chosen.len() {
        0 => causes.push(field::required(at, DEVICE_NODE_SELECTION)),
        1 => {}
        _ => causes.push(field::invalid_str(
            at,
            &format!("{{{}}}", chosen.join(", ")),
            DEVICE_NODE_SELECTION,
        )),
    }
    causes
}

/// A quantity field, parsed.
fn quantity(v: Option<&Value>) -> Option<Quantity> {
    v.and_then(Quantity::parse)
}

/// `validateRequestPolicy` of a consumable capacity `value`.
fn request_policy(value: Option<&Value>, policy: &Value, path: &str) -> Vec<Cause> {
    let valid_values = arr_of(policy, "validValues");
    let range = set(policy, "validRange");
    if !valid_values.is_empty() && range.is_some() {
        return vec![field::forbidden(
            path,
            "exactly one policy can be specified, cannot specify \"validValues\" and \"validRange\" at the same time",
        )];
    }
    let Some(capacity) = quantity(value).or_else(|| Quantity::parse(&json!("0"))) else {
        return Vec::new();
    };
    let default = quantity(policy.get("default"));
    if !valid_values.is_empty() {
        let Some(default) = default else {
            return vec![field::required(
                &child(path, "default"),
                "required when validValues is defined",
            )];
        };
        return valid_values_rules(
            &default,
            &capacity,
            valid_values,
            &child(path, "validValues"),
        );
    }
    if let Some(range) = range {
        let Some(default) = default else {
            return vec![field::required(
                &child(path, "default"),
                "required when validRange is defined",
            )];
        };
        return range_rules(&default, &capacity, range, &child(path, "validRange"));
    }
    Vec::new()
}

/// `validateRequestPolicyValidValues`: ascending, within the capacity, unique, the default one
/// of them.
fn valid_values_rules(
    default: &Quantity,
    capacity: &Quantity,
    values: &[Value],
    path: &str,
) -> Vec<Cause> {
    let parsed: Vec<Option<Quantity>> = values.iter().map(|v| quantity(Some(v))).collect();
    let mut causes = Vec::new();
    for i in 1..parsed.len() {
        if let (Some(a), Some(b)) = (parsed[i - 1], parsed[i])
            && a.cmp(&b).is_gt()
        {
            causes.push(field::invalid_str(
                &index(path, i),
                &b.canonical(),
                "values must be sorted in ascending order",
            ));
        }
    }
    // The default is looked for while the options are checked, which a list over the limit
    // skips: it then also reports the default as not valid.
    let mut found = false;
    if values.len() > MAX_VALID_VALUES {
        causes.push(field::too_many(path, values.len(), MAX_VALID_VALUES));
    } else {
        let mut seen: Vec<i128> = Vec::new();
        for (i, q) in parsed.iter().enumerate() {
            let Some(q) = q else { continue };
            if q.cmp(capacity).is_gt() {
                causes.push(field::invalid_str(
                    &index(path, i),
                    &q.canonical(),
                    &format!(
                        "option is larger than capacity value: {}",
                        capacity.canonical()
                    ),
                ));
            }
            found |= q.cmp(default).is_eq();
        }
        for (i, q) in parsed.iter().enumerate() {
            let Some(q) = q else { continue };
            if seen.contains(&q.nanos()) {
                causes.push(field::duplicate(&index(path, i), &string(&decimal(q))));
            } else {
                seen.push(q.nanos());
            }
        }
    }
    if !found {
        causes.push(field::invalid_str(
            path,
            &default.canonical(),
            "default value is not valid according to the requestPolicy",
        ));
    }
    causes
}

/// `Quantity.AsDec().String()`: the exact decimal value.
fn decimal(q: &Quantity) -> String {
    let nanos = q.nanos();
    let (whole, frac) = (nanos / 1_000_000_000, (nanos % 1_000_000_000).abs());
    if frac == 0 {
        return whole.to_string();
    }
    let sign = if nanos < 0 && whole == 0 { "-" } else { "" };
    let digits = format!("{frac:09}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// `validateRequestPolicyRange`: a minimum within the capacity and the maximum, the default
/// between them, and a positive step from the minimum that the default and the maximum are
/// multiples of (in milli-units when a bound is fractional: `DRAFractionalCapacityRange` is on).
fn range_rules(default: &Quantity, capacity: &Quantity, range: &Value, path: &str) -> Vec<Cause> {
    let Some(min) = quantity(range.get("min")) else {
        return vec![field::required(
            &child(path, "min"),
            "required when validRange is defined",
        )];
    };
    let max = quantity(range.get("max"));
    let step = quantity(range.get("step"));
    let mut causes = Vec::new();
    if min.cmp(capacity).is_gt() {
        causes.push(field::invalid_str(
            &child(path, "min"),
            &min.canonical(),
            &format!(
                "min is larger than capacity value: {}",
                capacity.canonical()
            ),
        ));
    }
    if default.cmp(&min).is_lt() {
        causes.push(field::invalid_str(
            &child(path, "default"),
            &default.canonical(),
            &format!("default is less than min: {}", min.canonical()),
        ));
    }
    if let Some(max) = max {
        if min.cmp(&max).is_gt() {
            causes.push(field::invalid_str(
                &child(path, "max"),
                &min.canonical(),
                &format!("min is larger than max: {}", max.canonical()),
            ));
        }
        if max.cmp(capacity).is_gt() {
            causes.push(field::invalid_str(
                &child(path, "max"),
                &max.canonical(),
                &format!(
                    "max is larger than capacity value: {}",
                    capacity.canonical()
                ),
            ));
        }
        if default.cmp(&max).is_gt() {
            causes.push(field::invalid_str(
                &child(path, "default"),
                &default.canonical(),
                &format!("default is more than max: {}", max.canonical()),
            ));
        }
    }
    let fractional = |q: &Quantity| q.nanos() % NANOS_PER_UNIT != 0;
    let use_milli = [Some(min), max, step].iter().flatten().any(fractional) || fractional(default);
    let bounds = [
        (Some(*default), "default"),
        (Some(min), "min"),
        (max, "max"),
        (step, "step"),
    ];
    if use_milli {
        let mut unsafe_value = false;
        for (q, name) in bounds {
            if let Some(q) = q
                && q.nanos() % NANOS_PER_MILLI != 0
            {
                causes.push(field::invalid_str(
                    &child(path, name),
                    &q.canonical(),
                    "value cannot be represented as a milli value",
                ));
                unsafe_value = true;
            }
        }
        if unsafe_value {
            return causes;
        }
    }
    let Some(step) = step else {
        return causes;
    };
    let step_path = child(path, "step");
    if step.nanos() <= 0 {
        causes.push(field::invalid_str(
            &step_path,
            &step.canonical(),
            "must be greater than zero",
        ));
        return causes;
    }
    let added = min.add(&step);
    if added.cmp(capacity).is_gt() {
        causes.push(field::invalid_str(
            &step_path,
            &step.canonical(),
            &format!(
                "one step {} is larger than capacity value: {}",
                added.canonical(),
                capacity.canonical()
            ),
        ));
    }
    if !use_milli {
        // `validateInt64Range`: the integer arithmetic holds in [0, MaxInt64] only.
        let mut unsafe_value = false;
        for (q, name) in bounds {
            let Some(q) = q else { continue };
            let detail = if q.is_negative() {
                crate::validation::field::IS_NEGATIVE
            } else if q.nanos() > i128::from(i64::MAX) * NANOS_PER_UNIT {
                "must not be larger than 9223372036854775807"
            } else {
                continue;
            };
            causes.push(field::invalid_str(
                &child(path, name),
                &q.canonical(),
                detail,
            ));
            unsafe_value = true;
        }
        if unsafe_value {
            return causes;
        }
    }
    let units = |q: &Quantity| {
        if use_milli {
            q.milli_value()
        } else {
            q.value()
        }
    };
    for value in std::iter::once(*default).chain(max) {
        if (units(&value) - units(&min)) % units(&step) != 0 {
            causes.push(field::invalid_str(
                &step_path,
                &value.canonical(),
                &format!(
                    "value is not a multiple of a given step ({}) from ({})",
                    step.canonical(),
                    min.canonical()
                ),
            ));
        }
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// Declarative rules of a ResourceSliceSpec.

/// `Validate_ResourceSliceSpec` on the Go-ordered spec; on update a field unchanged since the
/// old spec is not validated again.
fn dv_spec(spec: &Value, old: Option<&Value>) -> Vec<Cause> {
    let changed = |f: &str| old.is_none_or(|o| !semantic_eq(spec.get(f), o.get(f)));
    let mut causes = Vec::new();
    if changed("devices") {
        for (i, d) in arr_of(spec, "devices").iter().enumerate() {
            causes.extend(dv_device(d, &index("spec.devices", i)));
        }
    }
    if changed("sharedCounters") {
        let sets = arr_of(spec, "sharedCounters");
        if sets.len() > MAX_COUNTER_SETS {
            causes.push(field::too_many(
                "spec.sharedCounters",
                sets.len(),
                MAX_COUNTER_SETS,
            ));
        } else {
            causes.extend(dv_unique(sets, "spec.sharedCounters", key_of(&["name"])));
            for (i, s) in sets.iter().enumerate() {
                let at = index("spec.sharedCounters", i);
                causes.extend(dv_short_name(&child(&at, "name"), str_of(s, "name")));
                causes.extend(dv_counters(s, &at));
            }
        }
    }
    causes
}

/// A required short name (`+k8s:required`, `format=k8s-short-name`).
fn dv_short_name(path: &str, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![field::required(path, "")];
    }
    dns_label(path, name)
}

/// Required counters whose names are short names (`+k8s:eachKey`, reported at the map).
fn dv_counters(v: &Value, at: &str) -> Vec<Cause> {
    let path = child(at, "counters");
    let counters = entries(v, "counters");
    if counters.is_empty() {
        return vec![field::required(&path, "")];
    }
    counters.keys().flat_map(|k| dns_label(&path, k)).collect()
}

/// `Validate_Device`.
fn dv_device(d: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (key, attr) in entries(d, "attributes") {
        let path = field::key(&child(at, "attributes"), &key);
        let chosen: Vec<&str> = ATTRIBUTE_MEMBERS
            .iter()
            .copied()
            .filter(|m| set(&attr, m).is_some())
            .collect();
        let all: Vec<String> = ATTRIBUTE_MEMBERS.iter().map(|m| format!("`{m}`")).collect();
        match chosen.len() {
            0 => causes.push(field::invalid_str(
                &path,
                "",
                &format!("must specify one of: {}", all.join(", ")),
            )),
            1 => {}
            _ => causes.push(field::invalid_str(
                &path,
                &format!("{{{}}}", chosen.join(", ")),
                &format!("must specify exactly one of: {}", all.join(", ")),
            )),
        }
    }
    let consumptions = arr_of(d, "consumesCounters");
    let path = child(at, "consumesCounters");
    if consumptions.len() > MAX_CONSUMPTIONS {
        causes.push(field::too_many(&path, consumptions.len(), MAX_CONSUMPTIONS));
    } else {
        causes.extend(dv_unique(consumptions, &path, key_of(&["counterSet"])));
        for (i, c) in consumptions.iter().enumerate() {
            let at = index(&path, i);
            causes.extend(dv_short_name(
                &child(&at, "counterSet"),
                str_of(c, "counterSet"),
            ));
            causes.extend(dv_counters(c, &at));
        }
    }
    for (i, t) in arr_of(d, "taints").iter().enumerate() {
        causes.extend(dv_taint_effect(t, &index(&child(at, "taints"), i)));
    }
    causes.extend(dv_binding_parameters(d, at));
    causes
}
