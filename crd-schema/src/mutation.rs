//! The typed values of MutatingAdmissionPolicy expressions (kube's `k8s.io/apiserver/pkg/cel/
//! mutation`): struct literals of the `Object` types (`Object{spec: Object.spec{replicas: 3}}`,
//! an apply configuration) and of `JSONPatch` (`JSONPatch{op: "add", path: "/x", value: 1}`),
//! the `jsonpatch.escapeKey` function, and the conversion of what an expression returned to the
//! JSON the API server merges or patches with.
//!
//! kube resolves every `Object` and `Object.<field>...` name dynamically, without a schema (its
//! `DynamicTypeResolver`): any field name is accepted when the expression compiles, and the
//! resource's schema is only consulted when the apply configuration is merged. cel 0.15 needs a
//! struct type registered under each name a literal uses, so [`env`] registers the names a
//! policy's programs use ([`struct_names`]); a literal makes a `CelStruct` of just the fields it
//! was given.
//!
//! Not covered: cel-go's type checker. A literal of an unknown type (`Foo{}`) fails when it is
//! evaluated (kube refuses it when the policy is compiled; both reach the request as the policy's
//! error), and an expression returning the wrong type is found by the caller at evaluation.

use std::collections::BTreeMap;

use base64::Engine as _;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::types::{CelStruct, STRING_TYPE, Type};
use cel::common::value::{CowVal, Val};
use cel::objects::Key;
use cel::{Env, ExecutionError, Program, StructType, Value as CelValue};
use serde_json::{Map, Value};

/// The root of the apply-configuration types (`Object.spec.containers` is the type of the
/// object's `spec.containers` items).
pub const OBJECT: &str = "Object";
/// The type of one JSON patch operation.
pub const JSON_PATCH: &str = "JSONPatch";

/// The struct type names the program's literals construct, in order of first use.
pub fn struct_names(program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    collect(program.expression(), &mut out);
    out
}

fn collect(e: &IdedExpr, out: &mut Vec<String>) {
    match &e.expr {
        Expr::Struct(st) => {
            if !out.contains(&st.type_name) {
                out.push(st.type_name.clone());
            }
            for en in &st.entries {
                match &en.expr {
                    EntryExpr::StructField(f) => collect(&f.value, out),
                    EntryExpr::MapEntry(m) => {
                        collect(&m.key, out);
                        collect(&m.value, out);
                    }
                }
            }
        }
        Expr::Select(sel) => collect(&sel.operand, out),
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                collect(t, out);
            }
            for a in &call.args {
                collect(a, out);
            }
        }
        Expr::Comprehension(c) => {
            for x in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                collect(x, out);
            }
        }
        Expr::List(l) => {
            for x in &l.elements {
                collect(x, out);
            }
        }
        Expr::Map(m) => {
            for en in &m.entries {
                match &en.expr {
                    EntryExpr::MapEntry(me) => {
                        collect(&me.key, out);
                        collect(&me.value, out);
                    }
                    EntryExpr::StructField(f) => collect(&f.value, out),
                }
            }
        }
        _ => {}
    }
}

/// Whether `name` is one of the types a mutation may construct.
fn is_mutation_type(name: &str) -> bool {
    name == JSON_PATCH || name == OBJECT || name.starts_with("Object.")
}

/// The shared environment plus `jsonpatch.escapeKey` and a struct type for each of `names`
/// that kube's resolver knows (`Object`, `Object.<path>`, `JSONPatch`); other names stay unknown.
/// Building one costs about as much as the shared environment (~60 µs): build it once per
/// compiled policy.
pub fn env(names: &[String]) -> Arc<Env> {
    let mut env = crate::cel_rules::base_env();
    // A fresh environment has no function of this name, so the overload cannot conflict.
    let _ = env.add_overload(
        "jsonpatch.escapeKey",
        "jsonpatch_escape_key_string",
        vec![STRING_TYPE],
        escape_key,
    );
    for name in names.iter().filter(|n| is_mutation_type(n)) {
        // A name no identifier can spell is never parsed as a literal: skipping it is harmless.
        let _ = if name == JSON_PATCH {
            env.add_type(JsonPatchType {
                ty: Type::new_struct(JSON_PATCH.to_owned()),
            })
        } else {
            env.add_type(ObjectType {
                ty: Type::new_struct(name.clone()),
            })
        };
    }
    Arc::new(env)
}

/// kube's `jsonpatch.escapeKey`: a map key as a JSON pointer segment (`~` → `~0`, `/` → `~1`).
fn escape_key<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let arg = args.first().map(|a| CelValue::try_from(a.as_ref()));
    let Some(Ok(CelValue::String(s))) = arg else {
        return Err(ExecutionError::function_error(
            "jsonpatch.escapeKey",
            "expected a string",
        ));
    };
    let escaped = CelValue::String(Arc::new(s.replace('~', "~0").replace('/', "~1")));
    let boxed: Box<dyn Val> = Box::<dyn Val>::try_from(escaped)?;
    Ok(CowVal::Owned(boxed))
}

/// An `Object...` type: any field may be given (kube's dynamic `ObjectType`).
struct ObjectType {
    ty: Type,
}

impl StructType for ObjectType {
    fn get_type(&self) -> &Type {
        &self.ty
    }

    fn new_value<'b, 'v>(
        &self,
        fields: BTreeMap<String, CowVal<'b, 'v>>,
    ) -> Result<Box<dyn Val + 'v>, ExecutionError> {
        let mut s = CelStruct::new(self.ty.name().to_owned());
        for (k, v) in fields {
            s.add_field_value(k, v);
        }
        Ok(Box::new(s))
    }
}

/// `JSONPatch`: the fields `op`, `path`, `from` (strings) and `value` (anything), kube's
/// `JSONPatchType.Val` with its errors.
struct JsonPatchType {
    ty: Type,
}

/// The Go type cel-go's `Value()` gives a CEL value, as kube's `%T` prints it.
fn go_type(v: &CelValue) -> String {
    match v {
        CelValue::Int(_) => "int64".into(),
        CelValue::UInt(_) => "uint64".into(),
        CelValue::Float(_) => "float64".into(),
        CelValue::Bool(_) => "bool".into(),
        CelValue::Null => "structpb.NullValue".into(),
        CelValue::Bytes(_) => "[]uint8".into(),
        CelValue::List(_) => "[]ref.Val".into(),
        CelValue::Map(_) => "map[ref.Val]ref.Val".into(),
        other => other.type_of().to_string(),
    }
}

impl StructType for JsonPatchType {
    fn get_type(&self) -> &Type {
        &self.ty
    }

    fn new_value<'b, 'v>(
        &self,
        fields: BTreeMap<String, CowVal<'b, 'v>>,
    ) -> Result<Box<dyn Val + 'v>, ExecutionError> {
        let mut s = CelStruct::new(JSON_PATCH.to_owned());
        for (k, v) in fields {
            match k.as_str() {
                "op" | "path" | "from" => {
                    let value = CelValue::try_from(v.as_ref())?;
                    if !matches!(value, CelValue::String(_)) {
                        return Err(ExecutionError::function_error(
                            JSON_PATCH,
                            format!(
                                "unexpected type {} for JSONPatchType '{k}' field",
                                go_type(&value)
                            ),
                        ));
                    }
                }
                "value" => {}
                _ => {
                    return Err(ExecutionError::function_error(
                        JSON_PATCH,
                        format!("unexpected JSONPatchType field: {k}"),
                    ));
                }
            }
            s.add_field_value(k, v);
        }
        Ok(Box::new(s))
    }
}

/// The fields of a struct value, as values.
fn fields(s: &CelStruct<'static>) -> Result<Vec<(String, CelValue)>, String> {
    s.field_values()
        .into_iter()
        .map(|(k, v)| {
            CelValue::try_from(v.as_ref())
                .map(|v| (k, v))
                .map_err(|e| crate::expr::error_text(&e))
        })
        .collect()
}

/// The JSON of a CEL value (kube's `convertField`, and cel-go's conversion to `structpb.Value`
/// for JSON patch values): structs are objects of their fields, map keys must be strings.
pub fn to_json(v: &CelValue) -> Result<Value, String> {
    Ok(match v {
        CelValue::Struct(s) => {
            let mut m = Map::new();
            for (k, f) in fields(s)? {
                m.insert(k, to_json(&f)?);
            }
            Value::Object(m)
        }
        CelValue::List(l) => Value::Array(l.iter().map(to_json).collect::<Result<_, _>>()?),
        CelValue::Map(map) => {
            let mut m = Map::new();
            for (k, x) in map.map.iter() {
                let Key::String(key) = k else {
                    return Err(format!("map key {k} is not a string"));
                };
                m.insert(key.to_string(), to_json(x)?);
            }
            Value::Object(m)
        }
        CelValue::Int(i) => (*i).into(),
        CelValue::UInt(u) => (*u).into(),
        CelValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} has no JSON representation"))?,
        CelValue::String(s) => s.to_string().into(),
        CelValue::Bool(b) => (*b).into(),
        CelValue::Null => Value::Null,
        // cel-go writes bytes as base64 and a timestamp as RFC 3339 in JSON.
        CelValue::Bytes(b) => base64::engine::general_purpose::STANDARD
            .encode(b.as_slice())
            .into(),
        CelValue::Timestamp(t) => t
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into(),
        other => return Err(format!("a {} has no JSON representation", other.type_of())),
    })
}

/// kube's `CheckTypeNamesMatchFieldPathNames`: every `Object...` literal nested in an object
/// literal must be named by its field path from the root (`Object.spec.selector` under the
/// root's `spec.selector`); lists and maps between them are transparent.
pub fn check_type_names(v: &CelValue) -> Result<(), String> {
    let mut errors = Vec::new();
    if let CelValue::Struct(s) = v {
        let mut path = vec![s.name().to_owned()];
        type_names(v, &mut path, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        // Go's errors.Join: one error per line.
        Err(errors.join("\n"))
    }
}

fn type_names(v: &CelValue, path: &mut Vec<String>, errors: &mut Vec<String>) {
    match v {
        CelValue::Struct(s) => {
            let expected = path.join(".");
            if s.name() != expected {
                errors.push(format!(
                    "unexpected type name {:?}, expected {expected:?}, which matches field name path from root Object type",
                    s.name()
                ));
            }
            let Ok(fields) = fields(s) else { return };
            for (k, f) in fields {
                path.push(k);
                type_names(&f, path, errors);
                path.pop();
            }
        }
        CelValue::List(l) => {
            for x in l.iter() {
                type_names(x, path, errors);
            }
        }
        CelValue::Map(m) => {
            for x in m.map.values() {
                type_names(x, path, errors);
            }
        }
        _ => {}
    }
}

/// The apply configuration an `ApplyConfiguration` expression returned: an `Object` literal,
/// as JSON. The errors are kube's (`type mismatch: ...`), or the return type check kube's
/// compiler makes (`must evaluate to Object but got ...`).
pub fn apply_configuration(v: &CelValue) -> Result<Value, String> {
    match v {
        CelValue::Struct(s) if s.name() == OBJECT => {}
        other => {
            return Err(format!(
                "must evaluate to Object but got {}",
                value_type(other)
            ));
        }
    }
    check_type_names(v).map_err(|e| format!("type mismatch: {e}"))?;
    to_json(v)
}

/// A value's CEL type as kube's compiler prints it (struct types by their name).
fn value_type(v: &CelValue) -> String {
    match v {
        CelValue::Struct(s) => s.name().to_owned(),
        other => other.type_of().to_string(),
    }
}

/// The operations a `JSONPatch` expression returned (a list of `JSONPatch` literals), as
/// JSON patch operation objects, with kube's errors.
pub fn json_patch(v: &CelValue) -> Result<Vec<Map<String, Value>>, String> {
    let CelValue::List(items) = v else {
        return Err(format!(
            "must evaluate to list(JSONPatch) but got {}",
            value_type(v)
        ));
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items.iter() {
        let CelValue::Struct(s) = item else {
            return Err(format!(
                "type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch: cannot convert {} to JSONPatch",
                value_type(item)
            ));
        };
        if s.name() != JSON_PATCH {
            return Err(format!(
                "type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch: cannot convert {} to JSONPatch",
                s.name()
            ));
        }
        let mut op = Map::new();
        let mut from = None;
        let mut value = None;
        for (k, f) in fields(s)? {
            match (k.as_str(), f) {
                ("op" | "path", CelValue::String(x)) => {
                    op.insert(k, Value::String(x.to_string()));
                }
                ("from", CelValue::String(x)) => from = Some(x.to_string()),
                ("value", f) => value = Some(f),
                _ => {}
            }
        }
        // An unset op or path is the empty string (Go's zero value), as kube sends it.
        for k in ["op", "path"] {
            op.entry(k).or_insert_with(|| Value::String(String::new()));
        }
        if let Some(from) = from.filter(|f| !f.is_empty()) {
            op.insert("from".into(), from.into());
        }
        if let Some(value) = value {
            if matches!(&value, CelValue::Struct(_)) {
                check_type_names(&value).map_err(|e| format!("type mismatch: {e}"))?;
            }
            let json = to_json(&value).map_err(|e| {
                format!(
                    "JSONPath valueExpression evaluated to a type that could not marshal to JSON: {e}"
                )
            })?;
            op.insert("value".into(), json);
        }
        ops.push(op);
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str) -> Result<CelValue, String> {
        let program = crate::expr::compile(text)?;
        let ctx = cel::Context::with_env(env(&struct_names(&program)));
        program
            .execute(&ctx)
            .map_err(|e| crate::expr::error_text(&e))
    }

    #[test]
    fn an_object_literal_becomes_its_apply_configuration() {
        let v = eval(
            "Object{metadata: Object.metadata{labels: {'a': 'b'}}, spec: Object.spec{replicas: 3, \
             template: Object.spec.template{spec: Object.spec.template.spec{containers: \
             [Object.spec.template.spec.containers{name: 'c', env: [Object.spec.template.spec.containers.env{name: 'X', value: 'y'}]}]}}}}",
        )
        .expect("evaluates");
        assert_eq!(
            apply_configuration(&v),
            Ok(json!({
                "metadata": {"labels": {"a": "b"}},
                "spec": {"replicas": 3, "template": {"spec": {"containers": [
                    {"name": "c", "env": [{"name": "X", "value": "y"}]}
                ]}}}
            }))
        );
    }

    #[test]
    fn nested_literals_must_be_named_by_their_field_path() {
        let v =
            eval("Object{spec: Object.spec{selector: Object.spec.wrong{}}}").expect("evaluates");
        assert_eq!(
            apply_configuration(&v),
            Err("type mismatch: unexpected type name \"Object.spec.wrong\", expected \"Object.spec.selector\", which matches field name path from root Object type".into())
        );
        let v = eval("Object.spec{replicas: 1}").expect("evaluates");
        assert_eq!(
            apply_configuration(&v),
            Err("must evaluate to Object but got Object.spec".into())
        );
        assert_eq!(
            apply_configuration(&CelValue::Int(1)),
            Err("must evaluate to Object but got int".into())
        );
    }

    #[test]
    fn json_patch_literals_become_operations() {
        let v = eval(
            "[JSONPatch{op: 'add', path: '/metadata/labels/' + jsonpatch.escapeKey('example.com/a~b'), value: 'x'}, \
             JSONPatch{op: 'remove', path: '/spec/x'}, \
             JSONPatch{op: 'add', path: '/spec/y', value: Object.spec.y{z: [1, 2]}}, \
             JSONPatch{op: 'copy', from: '/a', path: '/b'}]",
        )
        .expect("evaluates");
        let ops = json_patch(&v).expect("operations");
        let ops: Vec<Value> = ops.into_iter().map(Value::Object).collect();
        assert_eq!(
            ops,
            vec![
                json!({"op": "add", "path": "/metadata/labels/example.com~1a~0b", "value": "x"}),
                json!({"op": "remove", "path": "/spec/x"}),
                json!({"op": "add", "path": "/spec/y", "value": {"z": [1, 2]}}),
                json!({"op": "copy", "path": "/b", "from": "/a"}),
            ]
        );
    }

    #[test]
    fn json_patch_fields_are_checked_as_kube_does() {
        assert_eq!(
            eval("JSONPatch{op: 1}").err().as_deref(),
            Some("unexpected type int64 for JSONPatchType 'op' field")
        );
        assert_eq!(
            eval("JSONPatch{nope: 'x'}").err().as_deref(),
            Some("unexpected JSONPatchType field: nope")
        );
        let v = eval("[1]").expect("evaluates");
        assert!(json_patch(&v).is_err());
        assert_eq!(
            json_patch(&CelValue::Int(1)),
            Err("must evaluate to list(JSONPatch) but got int".into())
        );
    }

    #[test]
    fn unknown_struct_types_fail_when_evaluated() {
        let err = eval("Foo{a: 1}").expect_err("not a mutation type");
        assert!(err.contains("Foo"), "{err}");
    }
}
