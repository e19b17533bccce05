//! Validates the resource.k8s.io (Dynamic Resource Allocation) types as kube-apiserver 1.37 does
//! for `resource.k8s.io/v1`, the version this server serves: `claim` (ResourceClaim, its status
//! and ResourceClaimTemplate), `class` (DeviceClass), `slice` (ResourceSlice) and `taint`
//! (DeviceTaintRule), following kube's `pkg/apis/resource/validation/validation.go`.
//!
//! kube 1.37 runs two validations for these types (`rest.ValidateDeclarativelyWithMigrationChecks`
//! in their strategies): the hand-written one, and the declarative one generated from the
//! `+k8s:` tags of `k8s.io/api/resource/v1` (`zz_generated.validations.go`). The rules tagged
//! `+k8s:beta(since: "1.37")` are enforced (the `DeclarativeValidationBeta` gate is on by
//! default): a hand-written error marked as covered by one of them is dropped, and the
//! declarative errors are appended after the hand-written ones, in the order of the Go struct
//! fields. Each type's rules here are therefore two passes, `hv_*` (the hand-written rules that
//! stay, in the order of the Go code) then `dv_*` (the declarative rules, in struct order, with
//! their own wording: `segment 0: ` before a pool name's errors, `prefix: ` before a qualified
//! name's domain errors, a whole list item as the value of a `Duplicate`). A DeviceTaintRule's
//! only enforced declarative rule words and places its errors as the hand-written one (see
//! `taint`).
//!
//! Fields behind feature gates that are off in 1.37 (`derivedAttributes`, the list-valued device
//! attributes, `compatibilityGroups`, `nodeAllocatableResources`, `skipNodeOperations`,
//! `partitionTypeAttribute`) are dropped by kube's strategies before validation; they are not
//! validated here.
//!
//! Not modelled, with the reason:
//! - `AuthorizedForAdmin`: `adminAccess: true` needs the `resource.kubernetes.io/admin-access`
//!   label on the namespace, which these rules (they see one object) cannot read.
//! - CEL type checking beyond undeclared variables, undefined fields of `device` and a literal
//!   result that is not a bool (cel-go's overload and type errors), and the CEL cost limits
//!   ("too complex, exceeds cost limit"): cel-rust has no type checker nor cost estimator. A
//!   parse error is worded by the cel crate, in cel-go's layout.
//! - The length of a RawExtension (`parameters`, `data`) is that of its compact JSON, not of
//!   the bytes the client sent.
//! - Declarative rules of a changed spec or status beyond what the hand-written rules check
//!   again on update (kube's declarative ratcheting validates changed list items again).

pub mod claim;
pub mod class;
pub mod slice;
pub mod taint;

mod cel;

use std::collections::BTreeSet;

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use crate::status::Cause;

pub use cel::cel_expression;

/// `DeviceMaxIDLength`: the identifier of a qualified name is at most 32 characters.
const DEVICE_MAX_ID_LENGTH: usize = 32;
/// `DeviceMaxDomainLength`: the domain of a qualified name, like a driver name.
const DEVICE_MAX_DOMAIN_LENGTH: usize = 63;
/// `PoolNameMaxLength`.
const POOL_NAME_MAX_LENGTH: usize = 253;
/// `BindingConditionsMaxSize` and `BindingFailureConditionsMaxSize`.
const BINDING_CONDITIONS_MAX: usize = 4;

/// `DeviceTaintEffect` values, sorted as `sets.List` lists them.
pub const TAINT_EFFECTS: [&str; 3] = ["NoExecute", "NoSchedule", "None"];
/// `DeviceTolerationOperator` values, sorted.
pub const TOLERATION_OPERATORS: [&str; 2] = ["Equal", "Exists"];

const C_IDENTIFIER_MSG: &str = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const C_IDENTIFIER_FMT: &str = "[A-Za-z_][A-Za-z0-9_]*";
const NOT_FULLY_QUALIFIED: &str =
    "a fully qualified name must be a domain and a name separated by a slash";

/// A field that is present and not null (a set Go pointer).
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

/// An object field, or null.
fn obj<'a>(v: &'a Value, f: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.get(f).unwrap_or(&NULL)
}

/// A string-valued field when set (a set `*string`), even if empty.
fn opt_str<'a>(v: &'a Value, f: &str) -> Option<&'a str> {
    set(v, f).map(|s| s.as_str().unwrap_or(""))
}

/// A string as `field.Error` prints it.
fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// `corevalidation.ValidateDNS1123Label`.
fn dns_label(path: &str, value: &str) -> Vec<Cause> {
    field::each(path, value, field::dns1123_label(value))
}

/// `corevalidation.ValidateDNS1123Subdomain`.
fn dns_subdomain(path: &str, value: &str) -> Vec<Cause> {
    field::each(path, value, field::dns1123_subdomain(value))
}

/// `metav1validation.ValidateLabelName`.
fn label_name(path: &str, value: &str) -> Vec<Cause> {
    field::each(path, value, field::qualified_name(value))
}

/// `validateLabelValue` (`IsValidLabelValue`).
fn label_value(path: &str, value: &str) -> Vec<Cause> {
    field::each(path, value, field::label_value(value))
}

/// `validateDriverName` (`corevalidation.ValidateCSIDriverName`): required, 63 bytes, a DNS
/// subdomain once lower-cased (the value quoted as written).
fn driver_name(path: &str, name: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push(field::required(path, ""));
    }
    if name.len() > DEVICE_MAX_DOMAIN_LENGTH {
        causes.push(field::too_long(path, DEVICE_MAX_DOMAIN_LENGTH));
    }
    for m in field::dns1123_subdomain(&name.to_lowercase()) {
        causes.push(field::invalid_str(path, name, &m));
    }
    causes
}

/// The declarative form of a driver name (`+k8s:required`, `format=k8s-long-name-caseless`,
/// `maxLength=63`).
fn dv_driver_name(path: &str, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![field::required(path, "")];
    }
    let mut causes = field::each(path, name, field::dns1123_subdomain_caseless(name));
    if name.chars().count() > DEVICE_MAX_DOMAIN_LENGTH {
        causes.push(field::too_long_chars(path, DEVICE_MAX_DOMAIN_LENGTH));
    }
    causes
}

/// `validatePoolName`: required, 253 bytes, DNS subdomains separated by slashes.
fn pool_name(path: &str, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![field::required(path, "")];
    }
    let mut causes = Vec::new();
    if name.len() > POOL_NAME_MAX_LENGTH {
        causes.push(field::too_long(path, POOL_NAME_MAX_LENGTH));
    }
    for part in name.split('/') {
        causes.extend(dns_subdomain(path, part));
    }
    causes
}

/// The declarative form of a pool name (`+k8s:required`, `format=k8s-resource-pool-name`): each
/// segment's errors prefixed with its index.
fn dv_pool_name(path: &str, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![field::required(path, "")];
    }
    let mut causes = Vec::new();
    if name.len() > POOL_NAME_MAX_LENGTH {
        causes.push(field::too_long(path, POOL_NAME_MAX_LENGTH));
    }
    for (i, part) in name.split('/').enumerate() {
        if part.is_empty() {
            causes.push(field::invalid_str(
                path,
                name,
                &format!("segment {i}: must not be empty"),
            ));
            continue;
        }
        for m in field::dns1123_subdomain(part) {
            causes.push(field::invalid_str(path, part, &format!("segment {i}: {m}")));
        }
    }
    causes
}

fn is_c_identifier(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// `validateCIdentifier`: at most 32 bytes, a C identifier.
fn c_identifier(path: &str, id: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if id.len() > DEVICE_MAX_ID_LENGTH {
        causes.push(field::too_long(path, DEVICE_MAX_ID_LENGTH));
    }
    if !is_c_identifier(id) {
        causes.push(field::invalid_str(
            path,
            id,
            &field::regex_error(
                C_IDENTIFIER_MSG,
                C_IDENTIFIER_FMT,
                &["my_name", "MY_NAME", "MyName"],
            ),
        ));
    }
    causes
}

/// `validateQualifiedName`: a C identifier, or a driver-name domain, a slash and one.
fn qualified_name(path: &str, name: &str) -> Vec<Cause> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [id] => c_identifier(path, id),
        [domain, id] => {
            let mut causes = if domain.is_empty() {
                vec![field::invalid_str(path, "", "the domain must not be empty")]
            } else {
                driver_name(path, domain)
            };
            if id.is_empty() {
                causes.push(field::invalid_str(path, "", "the name must not be empty"));
            } else {
                causes.extend(c_identifier(path, id));
            }
            causes
        }
        _ => vec![field::invalid_str(
            path,
            name,
            "must not contain more than one slash",
        )],
    }
}

/// The declarative `format=k8s-resource-fully-qualified-name`.
fn dv_fully_qualified_name(path: &str, name: &str) -> Vec<Cause> {
    let parts: Vec<&str> = name.split('/').collect();
    let mut causes = match parts.as_slice() {
        [id] => c_identifier(path, id),
        [domain, id] => {
            let mut causes = Vec::new();
            if domain.is_empty() {
                causes.push(field::invalid_str(path, "", "prefix must not be empty"));
            } else {
                if domain.len() > DEVICE_MAX_DOMAIN_LENGTH {
                    causes.push(field::too_long(path, DEVICE_MAX_DOMAIN_LENGTH));
                }
                for m in field::dns1123_subdomain(domain) {
                    causes.push(field::invalid_str(path, domain, &format!("prefix: {m}")));
                }
            }
            if id.is_empty() {
                causes.push(field::invalid_str(path, "", "name must not be empty"));
            } else {
                causes.extend(c_identifier(path, id));
            }
            causes
        }
        _ => vec![field::invalid_str(
            path,
            name,
            "must not contain more than one slash",
        )],
    };
    if !name.contains('/') {
        causes.push(field::invalid_str(path, name, NOT_FULLY_QUALIFIED));
    }
    causes
}

/// The declarative `format=k8s-uuid`.
fn dv_uuid(path: &str, value: &str) -> Vec<Cause> {
    let ok = value.len() == 36
        && value.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        });
    if ok {
        return Vec::new();
    }
    vec![field::invalid_str(
        path,
        value,
        "must be a lowercase UUID in 8-4-4-4-12 format",
    )]
}

/// `validateRawExtension`: set, at most `max` bytes unless stored before, a JSON object.
fn raw_extension(path: &str, raw: Option<&Value>, stored: bool, max: usize) -> Vec<Cause> {
    let Some(v) = raw.filter(|v| !v.is_null()) else {
        return vec![field::required(path, "")];
    };
    if !stored && v.to_string().len() > max {
        return vec![field::too_long(path, max)];
    }
    if !v.is_object() {
        return vec![field::invalid_str(
            path,
            "<value omitted>",
            "must be a valid JSON object",
        )];
    }
    Vec::new()
}

/// `validateDeviceToleration`, the hand-written rules that stay: the value for the operator,
/// and an empty operator (never after defaulting). The key's format and unknown operators and
/// effects are the declarative `dv_toleration`'s.
fn hv_toleration(t: &Value, at: &str) -> Vec<Cause> {
    let value = str_of(t, "value");
    match str_of(t, "operator") {
        "Exists" if !value.is_empty() => vec![field::invalid_str(
            &child(at, "value"),
            value,
            "must be empty for operator `Exists`",
        )],
        "Equal" => label_value(&child(at, "value"), value),
        "" => vec![field::required(&child(at, "operator"), "")],
        _ => Vec::new(),
    }
}

/// The declarative rules of a `DeviceToleration`: key (`format=k8s-label-key`), operator and
/// effect enumerations, each optional.
fn dv_toleration(t: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let key = str_of(t, "key");
    if !key.is_empty() {
        causes.extend(label_name(&child(at, "key"), key));
    }
    let operator = str_of(t, "operator");
    if !operator.is_empty() && !TOLERATION_OPERATORS.contains(&operator) {
        causes.push(field::not_supported(
            &child(at, "operator"),
            &string(operator),
            &TOLERATION_OPERATORS,
        ));
    }
    let effect = str_of(t, "effect");
    if !effect.is_empty() && !TAINT_EFFECTS.contains(&effect) {
        causes.push(field::not_supported(
            &child(at, "effect"),
            &string(effect),
            &TAINT_EFFECTS,
        ));
    }
    causes
}

/// `validateDeviceTaint`'s key and value (the effect is checked by the caller: declaratively in
/// a ResourceSlice, by hand in a DeviceTaintRule).
fn taint_key_value(t: &Value, at: &str) -> Vec<Cause> {
    let mut causes = label_name(&child(at, "key"), str_of(t, "key"));
    let value = str_of(t, "value");
    if !value.is_empty() {
        causes.extend(label_value(&child(at, "value"), value));
    }
    causes
}

/// The declarative effect of a taint: required, and one of the effects.
fn dv_taint_effect(t: &Value, at: &str) -> Vec<Cause> {
    let path = child(at, "effect");
    match str_of(t, "effect") {
        "" => vec![field::required(&path, "")],
        e if TAINT_EFFECTS.contains(&e) => Vec::new(),
        e => vec![field::not_supported(&path, &string(e), &TAINT_EFFECTS)],
    }
}

/// `validateDeviceBindingParameters` without the list sizes (declarative): condition types,
/// duplicates, overlap, and both lists or neither.
fn binding_parameters(v: &Value, at: &str) -> Vec<Cause> {
    let conditions = arr_of(v, "bindingConditions");
    let failures = arr_of(v, "bindingFailureConditions");
    let (c_path, f_path) = (
        child(at, "bindingConditions"),
        child(at, "bindingFailureConditions"),
    );
    let mut causes = Vec::new();
    for (list, path) in [(conditions, &c_path), (failures, &f_path)] {
        if list.len() <= BINDING_CONDITIONS_MAX {
            for (i, c) in list.iter().enumerate() {
                causes.extend(label_name(&index(path, i), c.as_str().unwrap_or("")));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (i, c) in conditions.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        if !seen.insert(c) {
            causes.push(field::duplicate(&index(&c_path, i), &string(c)));
        }
    }
    let all: BTreeSet<&str> = conditions
        .iter()
        .map(|c| c.as_str().unwrap_or(""))
        .collect();
    let mut seen = BTreeSet::new();
    for (i, c) in failures.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        if !seen.insert(c) {
            causes.push(field::duplicate(&index(&f_path, i), &string(c)));
        }
        if all.contains(c) {
            causes.push(field::invalid_str(
                &index(&f_path, i),
                c,
                "bindingFailureConditions must not overlap with bindingConditions",
            ));
        }
    }
    if conditions.is_empty() && !failures.is_empty() {
        causes.push(field::invalid(
            &c_path,
            obj(v, "bindingConditions"),
            "bindingConditions are required to use bindingFailureConditions",
        ));
    }
    if failures.is_empty() && !conditions.is_empty() {
        causes.push(field::invalid(
            &f_path,
            obj(v, "bindingFailureConditions"),
            "bindingFailureConditions are required to use bindingConditions",
        ));
    }
    causes
}

/// The declarative `maxItems=4` of both binding condition lists.
fn dv_binding_parameters(v: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    for f in ["bindingConditions", "bindingFailureConditions"] {
        let n = arr_of(v, f).len();
        if n > BINDING_CONDITIONS_MAX {
            causes.push(field::too_many(&child(at, f), n, BINDING_CONDITIONS_MAX));
        }
    }
    causes
}

/// The declarative `+k8s:unique` of a list: a `Duplicate` for every later item equal by `key`
/// to an earlier one, the whole item as the value (`validate.Unique`).
fn dv_unique(items: &[Value], path: &str, key: impl Fn(&Value) -> Value) -> Vec<Cause> {
    let keys: Vec<Value> = items.iter().map(&key).collect();
    (0..items.len())
        .filter(|&j| keys[..j].contains(&keys[j]))
        .map(|j| field::duplicate(&index(path, j), &items[j]))
        .collect()
}

/// The key of a list item made of string fields.
fn key_of(fields: &'static [&'static str]) -> impl Fn(&Value) -> Value {
    move |item| Value::Array(fields.iter().map(|f| string(str_of(item, f))).collect())
}

/// `ValidateNodeName`/`ValidateNodeSelector` of core, as the resource types call them
/// (`ValidateNodeSelector(sel, false, path)`).
fn node_selector(sel: &Value, path: &str) -> Vec<Cause> {
    let terms_path = child(path, "nodeSelectorTerms");
    let terms = arr_of(sel, "nodeSelectorTerms");
    if terms.is_empty() {
        return vec![field::required(
            &terms_path,
            "must have at least one node selector term",
        )];
    }
    let mut causes = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let at = index(&terms_path, i);
        for (j, req) in arr_of(term, "matchExpressions").iter().enumerate() {
            causes.extend(node_selector_requirement(
                req,
                &index(&child(&at, "matchExpressions"), j),
            ));
        }
        for (j, req) in arr_of(term, "matchFields").iter().enumerate() {
            causes.extend(node_field_selector_requirement(
                req,
                &index(&child(&at, "matchFields"), j),
            ));
        }
    }
    causes
}

/// `ValidateNodeSelectorRequirement` (values of `In`/`NotIn` must be label values).
fn node_selector_requirement(req: &Value, at: &str) -> Vec<Cause> {
    let values = arr_of(req, "values");
    let values_path = child(at, "values");
    let mut causes = Vec::new();
    match str_of(req, "operator") {
        "In" | "NotIn" => {
            if values.is_empty() {
                causes.push(field::required(
                    &values_path,
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                causes.extend(label_value(
                    &index(&values_path, i),
                    v.as_str().unwrap_or(""),
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                causes.push(field::forbidden(
                    &values_path,
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        "Gt" | "Lt" => {
            if values.len() != 1 {
                causes.push(field::required(
                    &values_path,
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        op => causes.push(field::invalid_str(
            &child(at, "operator"),
            op,
            "not a valid selector operator",
        )),
    }
    causes.extend(label_name(&child(at, "key"), str_of(req, "key")));
    causes
}

/// `ValidateNodeFieldSelectorRequirement`: one value for `In`/`NotIn`, the key `metadata.name`
/// with node names as values.
fn node_field_selector_requirement(req: &Value, at: &str) -> Vec<Cause> {
    let values = arr_of(req, "values");
    let mut causes = Vec::new();
    match str_of(req, "operator") {
        "In" | "NotIn" => {
            if values.len() != 1 {
                causes.push(field::required(
                    &child(at, "values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                ));
            }
        }
        op => causes.push(field::invalid_str(
            &child(at, "operator"),
            op,
            "not a valid selector operator",
        )),
    }
    let key = str_of(req, "key");
    if key == "metadata.name" {
        for (i, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            causes.extend(dns_subdomain(&index(&child(at, "values"), i), v));
        }
    } else {
        causes.push(field::invalid_str(
            &child(at, "key"),
            key,
            "not a valid field selector key",
        ));
    }
    causes
}

/// Go's `json.Marshal` of core's internal `[]NodeSelectorTerm` (no JSON tags: Go field names,
/// nil slices as null).
fn go_node_selector_terms(terms: Option<&Value>) -> String {
    let Some(Value::Array(terms)) = terms else {
        return "null".into();
    };
    let requirements = |v: &Value, f: &str| -> Value {
        match v.get(f) {
            Some(Value::Array(list)) => Value::Array(
                list.iter()
                    .map(|r| {
                        serde_json::json!({
                            "Key": str_of(r, "key"),
                            "Operator": str_of(r, "operator"),
                            "Values": r.get("values").cloned().unwrap_or(Value::Null),
                        })
                    })
                    .collect(),
            ),
            _ => Value::Null,
        }
    };
    let rendered: Vec<Value> = terms
        .iter()
        .map(|t| {
            serde_json::json!({
                "MatchExpressions": requirements(t, "matchExpressions"),
                "MatchFields": requirements(t, "matchFields"),
            })
        })
        .collect();
    field::go_json(&Value::Array(rendered))
}

/// A copy of `obj` with its keys in the order kube marshals them (Go struct order), so that a
/// list item printed as a bad value reads as kube prints it.
fn go_ordered(obj: &Value) -> Value {
    let mut ordered = obj.clone();
    crate::order::canonical(&mut ordered, false);
    ordered
}

/// apimachinery's semantic equality as `ValidateImmutableField` and ratcheting use it: null,
/// missing and empty lists or maps are the same.
fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn empty(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.values().all(|v| empty(Some(v))),
            _ => false,
        }
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => x
            .keys()
            .chain(y.keys())
            .all(|k| semantic_eq(x.get(k), y.get(k))),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| semantic_eq(Some(p), Some(q)))
        }
        (x, y) if empty(x) && empty(y) => true,
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests;
