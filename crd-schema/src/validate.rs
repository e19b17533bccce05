//! Validates an object against a compiled schema the way kube-apiserver validates custom resources.
//!
//! Three passes, in the order of the custom resource strategy (apiextensions-apiserver
//! `pkg/registry/customresource/strategy.go`): the OpenAPI schema (k8s.io/kube-openapi
//! `pkg/validation/validate`, converted to field errors by `kubeOpenAPIResultToFieldErrors`),
//! list-type set/map uniqueness (`pkg/apiserver/schema/listtype`), then CEL rules, which are
//! skipped when an earlier error blocks them (`hasBlockingErr`). On update, errors in values
//! that did not change are dropped (validation ratcheting, on by default since 1.30).
//!
//! Paths: kube-openapi names a property `spec.x`, an item `spec.items[0]`, and a map entry or
//! required field under the root `.name`; the field of the error drops the leading dot.

use serde_json::{Map, Value};

use crate::cel_rules::{self, CelEnv};
use crate::error::{ErrorKind, FieldError, go_float, go_json, go_quote};
use crate::formats;
use crate::node::{Additional, Node, Ty};

/// The message kube-apiserver appends when blocking errors stop CEL rules from running.
const CEL_SKIPPED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

pub(crate) fn validate(root: &Node, env: &CelEnv, obj: &Value, old: Option<&Value>) -> Checked {
    let mut errs = Vec::new();
    let mut name = String::new();
    openapi(root, obj, old, &mut name, true, &mut errs);

    embedded_resources(root, obj, true, &mut String::new(), &mut errs);

    let check_lists = old.is_none_or(|o| {
        let mut old_errs = Vec::new();
        list_types(root, o, &mut String::new(), &mut old_errs);
        old_errs.is_empty()
    });
    if check_lists {
        list_types(root, obj, &mut String::new(), &mut errs);
    }

    let ratcheted = cel_stage(root, env, obj, old, &mut errs);
    Checked::new(errs, ratcheted)
}

/// The CEL stage after the schema's: skipped with kube's notice when an earlier error blocks it
/// (`hasBlockingErr`), else every rule run. Returns the failures ratcheting turns into warnings.
fn cel_stage(
    root: &Node,
    env: &CelEnv,
    obj: &Value,
    old: Option<&Value>,
    errs: &mut Vec<FieldError>,
) -> Vec<FieldError> {
    let mut ratcheted = Vec::new();
    if !root.has_rules() {
        return ratcheted;
    }
    if errs.iter().any(|e| e.kind.blocks_cel()) {
        errs.push(FieldError::invalid("", Value::Null, CEL_SKIPPED));
        return ratcheted;
    }
    let mut found = CelFindings {
        errs,
        ratcheted: &mut ratcheted,
    };
    cel_walk(
        root,
        env,
        obj,
        old,
        None,
        true,
        &mut String::new(),
        &mut found,
    );
    ratcheted
}

/// What validating an object found: the errors that refuse it, and the warnings to answer
/// with (kube's `warning.AddWarning`: failures of CEL rules that do not use `oldSelf` on values
/// equal to their old ones, which ratcheting lets through).
#[derive(Debug, Default)]
pub struct Checked {
    /// The errors; none when the object is valid.
    pub errors: Vec<FieldError>,
    /// Warnings as kube writes them: the ratcheted error's text (`field: message`).
    pub warnings: Vec<String>,
}

impl Checked {
    fn new(errs: Vec<FieldError>, ratcheted: Vec<FieldError>) -> Self {
        Self {
            errors: name_nil_paths(errs),
            warnings: name_nil_paths(ratcheted)
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

/// Go prints a nil `field.Path` as `<nil>`: errors about the object itself (root rules, the
/// CEL-skipped notice, go-openapi's plain errors) carry that as their field.
fn name_nil_paths(mut errs: Vec<FieldError>) -> Vec<FieldError> {
    /// What `(*field.Path)(nil).String()` returns.
    const NIL_PATH: &str = "<nil>";
    for e in &mut errs {
        if e.field.is_empty() {
            e.field = NIL_PATH.to_string();
        }
    }
    errs
}

/// Validates an update of the status subresource (the CR status strategy): the OpenAPI schema
/// only for `.status` (its messages name fields relative to status, e.g. `phase in body ...`,
/// while the error's field is `status.phase`), list types and CEL rules on the whole object.
pub(crate) fn validate_status_update(
    root: &Node,
    env: &CelEnv,
    obj: &Value,
    old: &Value,
) -> Checked {
    let mut errs = Vec::new();
    if let (Some(status), Some(status_node)) = (obj.get("status"), root.properties.get("status")) {
        let mut own = Vec::new();
        openapi(
            status_node,
            status,
            old.get("status"),
            &mut String::new(),
            true,
            &mut own,
        );
        errs.extend(own.into_iter().map(|e| FieldError {
            field: if e.field.is_empty() {
                "status".to_string()
            } else {
                format!("status.{}", e.field)
            },
            ..e
        }));
    }
    let mut new_list_errs = Vec::new();
    list_types(root, obj, &mut String::new(), &mut new_list_errs);
    if !new_list_errs.is_empty() {
        let mut old_list_errs = Vec::new();
        list_types(root, old, &mut String::new(), &mut old_list_errs);
        if old_list_errs.is_empty() {
            errs.extend(new_list_errs);
        }
    }
    let ratcheted = cel_stage(root, env, obj, Some(old), &mut errs);
    Checked::new(errs, ratcheted)
}

/// Checks the `default` of every node the way the CRD validation does
/// (apiextensions-apiserver `schema/defaulting/validation.go`): a default must be pruned, pass
/// the node's OpenAPI validation and then its CEL rules (with and without itself as `oldSelf`).
pub(crate) fn check_defaults(node: &Node, env: &CelEnv, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(d) = &node.default {
        let dpath = format!("{path}.default");
        let mut pruned = d.clone();
        crate::mutate::prune_value(&mut pruned, node);
        if pruned != *d {
            errs.push(FieldError::invalid(
                dpath.clone(),
                d.clone(),
                "must not have unknown fields",
            ));
        }
        let prefix = |e: FieldError| FieldError {
            field: if e.field.is_empty() {
                dpath.clone()
            } else {
                format!("{dpath}.{}", e.field)
            },
            ..e
        };
        let mut own = Vec::new();
        if node.embedded
            && let Value::Object(m) = d
        {
            check_embedded(m, "", &mut own);
        }
        embedded_resources(node, d, true, &mut String::new(), &mut own);
        if own.is_empty() {
            openapi(node, d, None, &mut String::new(), false, &mut own);
        }
        if own.is_empty() && node.has_rules() {
            // With itself as oldSelf the rules that do not use it ratchet (checked by the
            // second walk, without oldSelf): nothing of theirs is a warning here.
            let mut ignored = Vec::new();
            for old in [Some(d), None] {
                if !own.is_empty() {
                    break;
                }
                let mut found = CelFindings {
                    errs: &mut own,
                    ratcheted: &mut ignored,
                };
                cel_walk(
                    node,
                    env,
                    d,
                    old,
                    None,
                    false,
                    &mut String::new(),
                    &mut found,
                );
            }
        }
        errs.extend(own.into_iter().map(prefix));
    }
    for (k, p) in &node.properties {
        check_defaults(p, env, &format!("{path}.properties[{k}]"), errs);
    }
    if let Some(items) = &node.items {
        check_defaults(items, env, &format!("{path}.items"), errs);
    }
    if let Some(ap) = node.additional_schema() {
        check_defaults(ap, env, &format!("{path}.additionalProperties"), errs);
    }
}

fn field_of(name: &str) -> &str {
    name.strip_prefix('.').unwrap_or(name)
}

/// A plain (non-`Validation`) go-openapi error: kube-apiserver reports it at the root with value "".
fn plain(errs: &mut Vec<FieldError>, message: String) {
    errs.push(FieldError::invalid(
        "",
        Value::String(String::new()),
        message,
    ));
}

/// `SchemaValidator.Validate` for one node. `ratchet` enables dropping errors of unchanged values.
fn openapi(
    node: &Node,
    v: &Value,
    old: Option<&Value>,
    name: &mut String,
    ratchet: bool,
    errs: &mut Vec<FieldError>,
) {
    let start = errs.len();
    let types = node.type_list();
    if v.is_null() {
        if !types.is_empty() && !node.nullable {
            type_error(errs, name, types, "null");
        }
        if let Some(values) = &node.enum_values {
            enum_error(errs, name, v, values);
        }
    } else {
        check_type(node, v, name, errs);
        schema_props(node, v, name, errs);
        if let Value::String(s) = v {
            check_string(node, s, name, errs);
            if let Some(f) = &node.format
                && !formats::check(f, s)
            {
                errs.push(FieldError::new(
                    ErrorKind::TypeInvalid,
                    field_of(name),
                    Some(v.clone()),
                    format!("{name} in body must be of type {f}: {}", go_quote(s)),
                ));
            }
        }
        if let Value::Number(n) = v {
            check_number(node, n, name, errs);
        }
        if let Value::Array(items) = v {
            check_array(node, items, old, name, ratchet, errs);
        }
        if let Some(values) = &node.enum_values
            && !values.iter().any(|e| json_eq(v, e))
        {
            enum_error(errs, name, v, values);
        }
        if let Value::Object(m) = v {
            check_object(node, m, old, name, ratchet, errs);
        }
    }
    if ratchet && errs.len() > start && old.is_some_and(|o| o == v) {
        errs.truncate(start);
    }
}

fn type_error(errs: &mut Vec<FieldError>, name: &str, types: &str, actual: &str) {
    errs.push(FieldError::new(
        ErrorKind::TypeInvalid,
        field_of(name),
        Some(Value::from(actual)),
        format!(
            "{name} in body must be of type {types}: {}",
            go_quote(actual)
        ),
    ));
}

fn enum_error(errs: &mut Vec<FieldError>, name: &str, v: &Value, values: &[Value]) {
    let supported: Vec<String> = values
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => go_json(other),
        })
        .collect();
    errs.push(FieldError::not_supported(
        field_of(name),
        v.clone(),
        &supported,
    ));
}

/// Enum membership: go-openapi converts the value to the enum entry's type, so 1 matches 1.0.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| json_eq(p, q)))
        }
        _ => a == b,
    }
}

/// The go-openapi type of a JSON value and the format it implies.
fn value_type(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        // Go decodes integers beyond int64 as float64.
        Value::Number(n) if n.is_i64() => ("integer", "int64"),
        Value::Number(_) => ("number", "float64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Null => ("null", ""),
    }
}

/// `swag.IsFloat64AJSONInteger`: a float with no fraction within the exactly representable range.
fn is_json_integer(f: f64) -> bool {
    /// Largest integer a float64 represents exactly (2^53).
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    f.is_finite() && f.fract() == 0.0 && f.abs() <= MAX_EXACT
}

/// `typeValidator.Validate` for a non-null value.
fn check_type(node: &Node, v: &Value, name: &str, errs: &mut Vec<FieldError>) {
    let types = node.type_list();
    let format = node.format.as_deref().unwrap_or("");
    if types.is_empty() && format.is_empty() {
        return;
    }
    let contains = |t: &str| types.split(',').any(|x| x == t && !x.is_empty());
    let (sch_type, val_format) = value_type(v);
    let is_float_int =
        sch_type == "number" && v.as_f64().is_some_and(is_json_integer) && contains("integer");
    let is_int_float = sch_type == "integer" && contains("number");
    let is_lower = (format == "int64" && val_format == "int32")
        || (format == "float64" && val_format == "float32");
    let scalar_kind = !matches!(v, Value::String(_) | Value::Array(_));
    if scalar_kind
        && !format.is_empty()
        && !(contains(sch_type) || val_format == format || is_float_int || is_int_float || is_lower)
    {
        type_error(errs, name, format, val_format);
        return;
    }
    // A formatted string (or list) needs no type check unless the type is numeric.
    if !(contains("number") || contains("integer") || format.is_empty() || scalar_kind) {
        return;
    }
    if !(contains(sch_type) || is_float_int || is_int_float) {
        type_error(errs, name, types, sch_type);
    }
}

/// allOf / anyOf / oneOf / not (`schemaPropsValidator`).
fn schema_props(node: &Node, v: &Value, name: &str, errs: &mut Vec<FieldError>) {
    let run = |sub: &Node| {
        let mut e = Vec::new();
        openapi(sub, v, None, &mut name.to_string(), false, &mut e);
        e
    };
    if !node.any_of.is_empty() {
        let mut best: Option<Vec<FieldError>> = None;
        let mut ok = false;
        for sub in &node.any_of {
            let e = run(sub);
            if e.is_empty() {
                ok = true;
                break;
            }
            if best.as_ref().is_none_or(|b| e.len() < b.len()) {
                best = Some(e);
            }
        }
        if !ok {
            plain(
                errs,
                format!(
                    "{} must validate at least one schema (anyOf)",
                    go_quote(name)
                ),
            );
            errs.extend(best.unwrap_or_default());
        }
    }
    if !node.one_of.is_empty() {
        let mut best: Option<Vec<FieldError>> = None;
        let mut valid = 0usize;
        for sub in &node.one_of {
            let e = run(sub);
            if e.is_empty() {
                valid += 1;
            } else if valid == 0 && best.as_ref().is_none_or(|b| e.len() < b.len()) {
                best = Some(e);
            }
        }
        if valid != 1 {
            let more = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            plain(
                errs,
                format!(
                    "{} must validate one and only one schema (oneOf). {more}",
                    go_quote(name)
                ),
            );
            if valid == 0 {
                errs.extend(best.unwrap_or_default());
            }
        }
    }
    if !node.all_of.is_empty() {
        let mut valid = 0usize;
        for sub in &node.all_of {
            let e = run(sub);
            if e.is_empty() {
                valid += 1;
            }
            errs.extend(e);
        }
        if valid != node.all_of.len() {
            let more = if valid == 0 { ". None validated" } else { "" };
            plain(
                errs,
                format!(
                    "{} must validate all the schemas (allOf){more}",
                    go_quote(name)
                ),
            );
        }
    }
    if let Some(not) = &node.not
        && run(not).is_empty()
    {
        plain(
            errs,
            format!("{} must not validate the schema (not)", go_quote(name)),
        );
    }
}

/// `stringValidator`: stops at the first failure.
fn check_string(node: &Node, s: &str, name: &str, errs: &mut Vec<FieldError>) {
    let len = s.chars().count() as i64;
    if let Some(max) = node.max_length
        && len > max
    {
        errs.push(FieldError::too_long(field_of(name), max));
        return;
    }
    if let Some(min) = node.min_length
        && len < min
    {
        errs.push(FieldError::invalid(
            field_of(name),
            Value::from(s),
            format!("{name} in body should be at least {min} chars long"),
        ));
        return;
    }
    if let Some((src, re)) = &node.pattern
        && !re.is_match(s)
    {
        errs.push(FieldError::invalid(
            field_of(name),
            Value::from(s),
            format!("{name} in body should match '{src}'"),
        ));
    }
}

/// A number as go-openapi sees it: an int64 or a float64.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(n: &serde_json::Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    fn value(self) -> Value {
        match self {
            Num::Int(i) => Value::from(i),
            Num::Float(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        }
    }
    /// swag's string form: decimal for ints, `strconv.FormatFloat(f, 'f', -1, 64)` for floats.
    fn repr(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => format!("{f}"),
        }
    }
}

/// `IsValueValidAgainstRange`: whether the number fits the declared type and format.
fn range_error(n: Num, ty: &str, format: &str, prefix: &str, name: &str) -> Option<String> {
    let rep = n.repr();
    let ok = match ty {
        "integer" => match format {
            "int32" => rep.parse::<i32>().is_ok(),
            _ => rep.parse::<i64>().is_ok(),
        },
        _ => match format {
            "float" => rep.parse::<f32>().is_ok_and(f32::is_finite),
            _ => true,
        },
    };
    if ok {
        None
    } else if format.is_empty() {
        Some(format!(
            "{prefix} value must be of type {ty} (default format) in {name}"
        ))
    } else {
        Some(format!(
            "{prefix} value must be of type {ty} with format {format} in {name}"
        ))
    }
}

/// `numberValidator`: range of the value, then multipleOf, minimum, maximum.
fn check_number(node: &Node, n: &serde_json::Number, name: &str, errs: &mut Vec<FieldError>) {
    let val = Num::of(n);
    let (ty, format) = match (node.ty, node.int_or_string) {
        (Some(Ty::Integer), false) => (
            "integer",
            node.format
                .as_deref()
                .filter(|f| *f == "int32" || *f == "int64")
                .unwrap_or(""),
        ),
        (Some(Ty::Number), false) => (
            "number",
            node.format
                .as_deref()
                .filter(|f| *f == "float" || *f == "double")
                .unwrap_or(""),
        ),
        _ => ("", ""),
    };
    if let Some(e) = range_error(val, ty, format, "Checked", name) {
        plain(errs, e);
    }
    let field = field_of(name);
    let bound_ok = |b: f64, prefix: &str, errs: &mut Vec<FieldError>| match range_error(
        Num::Float(b),
        ty,
        format,
        prefix,
        name,
    ) {
        Some(e) => {
            plain(errs, e);
            false
        }
        None => true,
    };
    if let Some(m) = node.multiple_of {
        let native = bound_ok(m, "MultipleOf", errs);
        match (native, val) {
            (true, Num::Int(i)) => {
                let factor = m as i64;
                if factor <= 0 {
                    errs.push(FieldError::invalid(
                        field,
                        Value::from(factor),
                        format!("factor MultipleOf declared for {name} must be positive: {factor}"),
                    ));
                } else if i % factor != 0 {
                    errs.push(FieldError::invalid(
                        field,
                        val.value(),
                        format!("{name} in body should be a multiple of {factor}"),
                    ));
                }
            }
            _ => {
                let data = val.as_f64();
                if m <= 0.0 {
                    errs.push(FieldError::invalid(
                        field,
                        Value::from(m),
                        format!(
                            "factor MultipleOf declared for {name} must be positive: {}",
                            go_float(m)
                        ),
                    ));
                } else {
                    let mult = if m < 1.0 { 1.0 / m * data } else { data / m };
                    if !is_json_integer(mult) {
                        errs.push(FieldError::invalid(
                            field,
                            val.value(),
                            format!("{name} in body should be a multiple of {}", go_float(m)),
                        ));
                    }
                }
            }
        }
    }
    if let Some(min) = node.minimum {
        let native = bound_ok(min, "Minimum boundary", errs);
        let excl = node.exclusive_minimum;
        let words = if excl {
            "greater than"
        } else {
            "greater than or equal to"
        };
        match (native, val) {
            (true, Num::Int(i)) => {
                let b = min as i64;
                if (!excl && i < b) || (excl && i <= b) {
                    errs.push(FieldError::invalid(
                        field,
                        val.value(),
                        format!("{name} in body should be {words} {b}"),
                    ));
                }
            }
            _ => {
                let d = val.as_f64();
                if (!excl && d < min) || (excl && d <= min) {
                    errs.push(FieldError::invalid(
                        field,
                        val.value(),
                        format!("{name} in body should be {words} {}", go_float(min)),
                    ));
                }
            }
        }
    }
    if let Some(max) = node.maximum {
        let native = bound_ok(max, "Maximum boundary", errs);
        let excl = node.exclusive_maximum;
        let words = if excl {
            "less than"
        } else {
            "less than or equal to"
        };
        match (native, val) {
            (true, Num::Int(i)) => {
                let b = max as i64;
                if (!excl && i > b) || (excl && i >= b) {
                    errs.push(FieldError::invalid(
                        field,
                        val.value(),
                        format!("{name} in body should be {words} {b}"),
                    ));
                }
            }
            _ => {
                let d = val.as_f64();
                if (!excl && d > max) || (excl && d >= max) {
                    errs.push(FieldError::invalid(
                        field,
                        val.value(),
                        format!("{name} in body should be {words} {}", go_float(max)),
                    ));
                }
            }
        }
    }
}

/// Finds the old item correlated with `item` in a list-type map (same key values).
fn correlate_map_item<'a>(node: &Node, item: &Value, old: Option<&'a Value>) -> Option<&'a Value> {
    if node.list_type.as_deref() != Some("map") || node.list_map_keys.is_empty() {
        return None;
    }
    let old_items = old?.as_array()?;
    let item = item.as_object()?;
    old_items.iter().find(|o| {
        o.as_object()
            .is_some_and(|o| node.list_map_keys.iter().all(|k| o.get(k) == item.get(k)))
    })
}

/// `schemaSliceValidator`: items, then minItems, maxItems, uniqueItems.
fn check_array(
    node: &Node,
    items: &[Value],
    old: Option<&Value>,
    name: &mut String,
    ratchet: bool,
    errs: &mut Vec<FieldError>,
) {
    if let Some(item_node) = &node.items {
        let base = name.len();
        for (i, item) in items.iter().enumerate() {
            name.push_str(&format!("[{i}]"));
            let old_item = correlate_map_item(node, item, old);
            openapi(item_node, item, old_item, name, ratchet, errs);
            name.truncate(base);
        }
    }
    let size = items.len() as i64;
    if let Some(min) = node.min_items
        && size < min
    {
        errs.push(FieldError::invalid(
            field_of(name),
            Value::from(size),
            format!("{name} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = node.max_items
        && size > max
    {
        errs.push(FieldError::too_many(field_of(name), size, max));
    }
    if node.unique_items {
        let mut seen: Vec<&Value> = Vec::new();
        for item in items {
            if seen.contains(&item) {
                errs.push(FieldError::invalid(
                    field_of(name),
                    Value::from(""),
                    format!("{name} in body shouldn't contain duplicates"),
                ));
                break;
            }
            seen.push(item);
        }
    }
}

/// `objectValidator`: property counts, additional properties, properties, required.
fn check_object(
    node: &Node,
    m: &Map<String, Value>,
    old: Option<&Value>,
    name: &mut String,
    ratchet: bool,
    errs: &mut Vec<FieldError>,
) {
    let size = m.len() as i64;
    if let Some(min) = node.min_properties
        && size < min
    {
        errs.push(FieldError::invalid(
            field_of(name),
            Value::from(size),
            format!("{name} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = node.max_properties
        && size > max
    {
        errs.push(FieldError::too_many(field_of(name), size, max));
    }
    let base = name.len();
    let old_map = old.and_then(Value::as_object);
    match &node.additional {
        Some(Additional::Allows(false)) => {
            for k in m.keys() {
                if !node.properties.contains_key(k) {
                    errs.push(FieldError::invalid(
                        field_of(name),
                        Value::from(k.as_str()),
                        format!("{name}.{k} in body is a forbidden property"),
                    ));
                }
            }
        }
        Some(Additional::Schema(ap)) => {
            for (k, v) in m {
                if !node.properties.contains_key(k) {
                    name.push('.');
                    name.push_str(k);
                    openapi(ap, v, old_map.and_then(|o| o.get(k)), name, ratchet, errs);
                    name.truncate(base);
                }
            }
        }
        _ => {}
    }
    for (k, prop) in &node.properties {
        if let Some(v) = m.get(k) {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(k);
            openapi(prop, v, old_map.and_then(|o| o.get(k)), name, ratchet, errs);
            name.truncate(base);
        }
    }
    for k in &node.required {
        if !m.contains_key(k) {
            errs.push(FieldError::required(
                format!("{}.{k}", name).trim_start_matches('.'),
                "",
            ));
        }
    }
}

/// Appends `.key` (or `key` at the root) to a field path.
fn push_key(path: &mut String, k: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(k);
}

/// A key that tells values apart the way Go map keys do (type and value; objects by JSON).
fn identity(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => format!("c{}", go_json(v)),
        other => format!("s{other}"),
    }
}

/// Indices of the second occurrence of each repeated value (`validateListSet`).
fn second_occurrences(keys: &[String]) -> Vec<usize> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let c = counts.entry(k.as_str()).or_insert(0);
        *c += 1;
        if *c == 2 {
            out.push(i);
        }
    }
    out
}

/// `ValidateListSetsAndMaps`: duplicates in list-type set and map lists.
fn list_types(node: &Node, v: &Value, path: &mut String, errs: &mut Vec<FieldError>) {
    let base = path.len();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let child = node.properties.get(k).or_else(|| node.additional_schema());
                if let Some(child) = child {
                    push_key(path, k);
                    list_types(child, x, path, errs);
                    path.truncate(base);
                }
            }
        }
        Value::Array(items) => {
            match node.list_type.as_deref() {
                Some("set") => {
                    let keys: Vec<String> = items.iter().map(identity).collect();
                    for i in second_occurrences(&keys) {
                        errs.push(FieldError::new(
                            ErrorKind::Duplicate,
                            format!("{path}[{i}]"),
                            Some(items[i].clone()),
                            "",
                        ));
                    }
                }
                Some("map") => list_map(node, items, path, errs),
                _ => {}
            }
            if let Some(item_node) = &node.items {
                for (i, x) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    list_types(item_node, x, path, errs);
                    path.truncate(base);
                }
            }
        }
        _ => {}
    }
}

fn list_map(node: &Node, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                x.clone(),
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    if items.len() <= 1 {
        return;
    }
    let key_maps: Vec<Map<String, Value>> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            if let Some(o) = x.as_object() {
                for k in &node.list_map_keys {
                    if let Some(v) = o.get(k) {
                        key.insert(k.clone(), v.clone());
                    }
                }
            }
            key
        })
        .collect();
    let ids: Vec<String> = if node.list_map_keys.len() == 1 {
        let k = &node.list_map_keys[0];
        key_maps
            .iter()
            .map(|m| {
                m.get(k)
                    .map(identity)
                    .unwrap_or_else(|| "unspecified".to_string())
            })
            .collect()
    } else {
        key_maps
            .iter()
            .map(|m| identity(&Value::Object(m.clone())))
            .collect()
    };
    for i in second_occurrences(&ids) {
        errs.push(FieldError::new(
            ErrorKind::Duplicate,
            format!("{path}[{i}]"),
            Some(Value::Object(key_maps[i].clone())),
            "",
        ));
    }
}

/// Where [`cel_walk`] puts what the rules find: errors, and the failures that ratcheting turns
/// into warnings.
pub(crate) struct CelFindings<'a> {
    pub errs: &'a mut Vec<FieldError>,
    pub ratcheted: &'a mut Vec<FieldError>,
}

/// Walks the object and runs the CEL rules of every node that has a value
/// (`cel.Validator.validate`): properties and map entries correlate with the old object by key,
/// list items only in list-type maps. `parent_unchanged` is whether the nearest correlated
/// ancestor equals its old value: a node that cannot be correlated (an item of a list that is
/// not a map) ratchets with it, as kube's `ratchetingOptions.shouldRatchetError` does.
#[allow(clippy::too_many_arguments)]
fn cel_walk(
    node: &Node,
    env: &CelEnv,
    v: &Value,
    old: Option<&Value>,
    parent_unchanged: Option<bool>,
    is_root: bool,
    path: &mut String,
    found: &mut CelFindings<'_>,
) {
    if v.is_null() {
        return;
    }
    // `parent_unchanged` is Some only for nodes that cannot be correlated.
    let unchanged = match parent_unchanged {
        Some(p) => p,
        None => old.is_some_and(|o| o == v),
    };
    cel_rules::eval_node_rules(env, node, v, old, is_root, path, unchanged, found);
    let base = path.len();
    match v {
        Value::Object(m) => {
            let old_map = old.and_then(Value::as_object);
            let correlatable = node
                .map_type
                .as_deref()
                .is_none_or(|t| t == "granular" || t == "atomic");
            for (k, x) in m {
                let (child, is_property) = match node.properties.get(k) {
                    Some(p) => (Some(p), true),
                    None => (node.additional_schema(), false),
                };
                if let Some(child) = child.filter(|c| c.has_rules()) {
                    // Go names a property `.k` (Child) and a map entry `[k]` (Key).
                    if is_property {
                        push_key(path, k);
                    } else {
                        path.push_str(&format!("[{k}]"));
                    }
                    let (old_child, inherited) = if correlatable {
                        (old_map.and_then(|o| o.get(k)), None)
                    } else {
                        (None, Some(unchanged))
                    };
                    cel_walk(child, env, x, old_child, inherited, false, path, found);
                    path.truncate(base);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = node.items.as_deref().filter(|n| n.has_rules()) {
                for (i, x) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    let is_map =
                        node.list_type.as_deref() == Some("map") && !node.list_map_keys.is_empty();
                    cel_walk(
                        item_node,
                        env,
                        x,
                        correlate_map_item(node, x, old),
                        (!is_map).then_some(unchanged),
                        false,
                        path,
                        found,
                    );
                    path.truncate(base);
                }
            }
        }
        _ => {}
    }
}

/// The DNS-1035 label rule kube-apiserver applies to an embedded resource's lower-cased kind.
const DNS1035_LABEL_ERROR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
/// DNS-1035 labels are at most this long.
const DNS1035_LABEL_MAX: usize = 63;

fn is_dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1035_LABEL_MAX {
        errs.push(format!(
            "must be no more than {DNS1035_LABEL_MAX} characters"
        ));
    }
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.last()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        errs.push(DNS1035_LABEL_ERROR.to_string());
    }
    errs
}

/// `objectmeta.Validate`: embedded resources (`x-kubernetes-embedded-resource`) need a valid
/// apiVersion and kind, and a metadata.name that is a valid path segment. The resource root is
/// the API server's job.
fn embedded_resources(
    node: &Node,
    v: &Value,
    is_root: bool,
    path: &mut String,
    errs: &mut Vec<FieldError>,
) {
    let base = path.len();
    match v {
        Value::Object(m) => {
            if node.embedded && !is_root {
                check_embedded(m, path, errs);
            }
            for (k, x) in m {
                if let Some(p) = node.properties.get(k) {
                    push_key(path, k);
                    embedded_resources(p, x, false, path, errs);
                } else if let Some(ap) = node.additional_schema() {
                    path.push_str(&format!("[{k}]"));
                    embedded_resources(ap, x, false, path, errs);
                }
                path.truncate(base);
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = &node.items {
                for (i, x) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    embedded_resources(item_node, x, false, path, errs);
                    path.truncate(base);
                }
            }
        }
        _ => {}
    }
}

fn check_embedded(m: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if !m.contains_key("apiVersion") {
        errs.push(FieldError::required(child("apiVersion"), ""));
    }
    if !m.contains_key("kind") {
        errs.push(FieldError::required(child("kind"), ""));
    }
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => errs.push(FieldError::invalid(
                    child("apiVersion"),
                    v.clone(),
                    "must be a string",
                )),
                Some("") => errs.push(FieldError::invalid(
                    child("apiVersion"),
                    v.clone(),
                    "must not be empty",
                )),
                // schema.ParseGroupVersion: "group/version" or "version", nothing more.
                Some(s) if s.matches('/').count() > 1 || s.starts_with('/') || s.ends_with('/') => {
                    errs.push(FieldError::invalid(
                        child("apiVersion"),
                        v.clone(),
                        format!("unexpected GroupVersion string: {s}"),
                    ))
                }
                Some(_) => {}
            },
            "kind" => match v.as_str() {
                None => errs.push(FieldError::invalid(
                    child("kind"),
                    v.clone(),
                    "must be a string",
                )),
                Some("") => errs.push(FieldError::invalid(
                    child("kind"),
                    v.clone(),
                    "must not be empty",
                )),
                Some(s) => {
                    let e = is_dns1035_label(&s.to_lowercase());
                    if !e.is_empty() {
                        errs.push(FieldError::invalid(
                            child("kind"),
                            v.clone(),
                            format!(
                                "may have mixed case, but should otherwise match: {}",
                                e.join(",")
                            ),
                        ));
                    }
                }
            },
            "metadata" => match v {
                Value::Object(meta) => {
                    if let Some(name) = meta.get("name").and_then(Value::as_str) {
                        // path.IsValidPathSegmentName
                        let msg = match name {
                            "." | ".." => Some(format!("may not be '{name}'")),
                            n if n.contains('/') => Some("may not contain '/'".to_string()),
                            n if n.contains('%') => Some("may not contain '%'".to_string()),
                            _ => None,
                        };
                        if let Some(msg) = msg {
                            errs.push(FieldError::invalid(
                                format!("{}.name", child("metadata")),
                                Value::from(name),
                                msg,
                            ));
                        }
                    }
                }
                Value::Null => {}
                other => errs.push(FieldError::invalid(
                    child("metadata"),
                    other.clone(),
                    "must be an object",
                )),
            },
            _ => {}
        }
    }
}
