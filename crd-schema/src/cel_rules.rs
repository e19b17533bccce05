//! Compiles and evaluates `x-kubernetes-validations` CEL rules the way apiextensions-apiserver does.
//!
//! Follows `pkg/apiserver/schema/cel/validation.go` (Kubernetes 1.37): `self` is the value at the
//! rule's node, `oldSelf` the correlated old value on update; a rule that uses `oldSelf` (a
//! transition rule) runs only when an old value exists, unless `optionalOldSelf` is set. A failed
//! rule on an object or a list omits the value from the message (1.34+); a scalar shows it.
//! Values are typed by the schema: `number` fields are doubles, `date-time` strings timestamps
//! and `byte` strings bytes, as in Kubernetes' `UnstructuredToVal`.
//! Not covered: the cost budget (rules run to completion) and type checking at compile time
//! (cel 0.15 parses, it does not type-check), so a misspelt field is found when the rule runs.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::objects::{Key, OptionalValue};
use cel::parser::ExpressionReferences;
use cel::{Context, Env, ParseErrors};
use serde_json::Value;

use crate::error::{ErrorKind, FieldError};
use crate::node::{Node, Ty};

/// The CEL environment: the standard library plus the extensions Kubernetes also offers.
pub(crate) type CelEnv = Arc<Env>;

/// Building the environment costs ~60 µs; it is immutable once built, so one per process serves
/// every schema (like a compiled regular expression in a `LazyLock`).
static SHARED_ENV: std::sync::LazyLock<CelEnv> = std::sync::LazyLock::new(build_env);

pub(crate) fn new_env() -> CelEnv {
    SHARED_ENV.clone()
}

fn build_env() -> CelEnv {
    Arc::new(base_env())
}

/// The shared environment's libraries on a fresh `Env`, for a caller that adds its own types.
pub(crate) fn base_env() -> Env {
    let mut env = Env::stdlib();
    // Each extension registers distinct names, so adding them to a fresh stdlib cannot conflict;
    // if a future cel release made one conflict, the rules using it would fail to evaluate
    // instead of the whole schema failing to compile.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::lists);
    let _ = env.add_extension(cel::extensions::math);
    let _ = env.add_extension(crate::k8s_cel::register);
    env
}

/// A compiled CEL expression: its syntax tree, macros expanded (what a cel `Program` holds; a
/// tree read from the [`crate::cel_cache`] cannot be made into a `Program`).
pub(crate) struct Compiled(IdedExpr);

impl Compiled {
    /// Parses `source` with the environment's parser, or reads its tree from the expression
    /// cache when an earlier process of this build parsed it. Only trees that parsed are kept,
    /// so a rule that does not parse always reports its errors from the parser.
    fn new(env: &Env, source: &str) -> Result<Self, ParseErrors> {
        if let Some(expr) = crate::cel_cache::load(source) {
            return Ok(Self(expr));
        }
        let expr = env.parser().parse(source)?;
        crate::cel_cache::store(source, &expr);
        Ok(Self(expr))
    }

    pub fn execute(&self, ctx: &Context) -> cel::ResolveResult {
        cel::Value::resolve(&self.0, ctx)
    }

    pub fn expression(&self) -> &IdedExpr {
        &self.0
    }

    pub fn references(&self) -> ExpressionReferences<'_> {
        self.0.references()
    }
}

/// One compiled rule of a node.
pub(crate) struct CompiledRule {
    pub rule: String,
    pub program: Compiled,
    pub message: Option<String>,
    pub message_expression: Option<Compiled>,
    /// The rule's `fieldPath`, normalised to a field-path suffix like `spec.x` or `items[0]`.
    pub field_path: Option<String>,
    pub reason: ErrorKind,
    pub uses_old_self: bool,
    pub optional_old_self: bool,
}

impl std::fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRule")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

const REASONS: [(&str, ErrorKind); 4] = [
    ("FieldValueDuplicate", ErrorKind::Duplicate),
    ("FieldValueForbidden", ErrorKind::Forbidden),
    ("FieldValueInvalid", ErrorKind::Invalid),
    ("FieldValueRequired", ErrorKind::Required),
];

/// Compiles the rules of one node; errors are pathed `<path>[i].rule` and so on.
pub(crate) fn compile_rules(
    rules: &Value,
    node: &Node,
    is_root: bool,
    path: &str,
    env: &CelEnv,
    uncorrelatable: Option<&str>,
    errs: &mut Vec<FieldError>,
) -> Vec<CompiledRule> {
    let Some(list) = rules.as_array() else {
        errs.push(FieldError::invalid(
            path,
            rules.clone(),
            "must be a list of validation rules",
        ));
        return Vec::new();
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let rpath = format!("{path}[{i}]");
        let Some(obj) = raw.as_object() else {
            errs.push(FieldError::invalid(
                rpath,
                raw.clone(),
                "must be a validation rule object",
            ));
            continue;
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(rule) = text("rule").filter(|r| !r.trim().is_empty()) else {
            errs.push(FieldError::required(
                format!("{rpath}.rule"),
                "rule is not specified",
            ));
            continue;
        };
        let program = match Compiled::new(env, &rule) {
            Ok(p) => p,
            Err(e) => {
                errs.push(FieldError::invalid(
                    format!("{rpath}.rule"),
                    raw.clone(),
                    format!("compilation failed: {e}"),
                ));
                continue;
            }
        };
        let message_expression = match text("messageExpression").filter(|m| !m.trim().is_empty()) {
            None => None,
            Some(m) => match Compiled::new(env, &m) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs.push(FieldError::invalid(
                        format!("{rpath}.messageExpression"),
                        raw.clone(),
                        format!("messageExpression compilation failed: {e}"),
                    ));
                    continue;
                }
            },
        };
        if let Some(depth) = message_expression
            .as_ref()
            .map(|p| expression_depth(p.expression()))
            .filter(|d| *d > MAX_EXPRESSION_DEPTH)
        {
            errs.push(FieldError::invalid(
                format!("{rpath}.messageExpression"),
                raw.clone(),
                format!("messageExpression compilation failed: expression nesting depth {depth} exceeds the limit of {MAX_EXPRESSION_DEPTH}"),
            ));
            continue;
        }
        if let Some(field) = message_expression
            .as_ref()
            .and_then(|p| undefined_field(p.expression(), node, is_root))
        {
            errs.push(FieldError::invalid(
                format!("{rpath}.messageExpression"),
                raw.clone(),
                format!("messageExpression compilation failed: undefined field '{field}'"),
            ));
            continue;
        }
        let message = text("message")
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        if let Some(m) = &message
            && m.contains('\n')
        {
            errs.push(FieldError::invalid(
                format!("{rpath}.message"),
                Value::String(m.clone()),
                "message must not contain line breaks",
            ));
        }
        let reason = match text("reason") {
            None => ErrorKind::Invalid,
            Some(r) => match REASONS.iter().find(|(name, _)| *name == r) {
                Some((_, k)) => *k,
                None => {
                    let supported: Vec<String> =
                        REASONS.iter().map(|(n, _)| n.to_string()).collect();
                    errs.push(FieldError::not_supported(
                        format!("{rpath}.reason"),
                        Value::String(r),
                        &supported,
                    ));
                    continue;
                }
            },
        };
        let field_path = match text("fieldPath") {
            None => None,
            Some(fp) => match normalize_field_path(&fp, node) {
                Some(p) => Some(p),
                None => {
                    errs.push(FieldError::invalid(
                        format!("{rpath}.fieldPath"),
                        Value::String(fp),
                        "fieldPath must be a valid path to a field of the schema, like .spec.field or .list[0]",
                    ));
                    continue;
                }
            },
        };
        let depth = expression_depth(program.expression());
        if depth > MAX_EXPRESSION_DEPTH {
            errs.push(FieldError::invalid(
                format!("{rpath}.rule"),
                raw.clone(),
                format!("compilation failed: expression nesting depth {depth} exceeds the limit of {MAX_EXPRESSION_DEPTH}"),
            ));
            continue;
        }
        if let Some(field) = undefined_field(program.expression(), node, is_root) {
            errs.push(FieldError::invalid(
                format!("{rpath}.rule"),
                raw.clone(),
                format!("compilation failed: undefined field '{field}'"),
            ));
            continue;
        }
        let uses_old_self = program.references().has_variable("oldSelf")
            || message_expression
                .as_ref()
                .is_some_and(|p| p.references().has_variable("oldSelf"));
        let optional_old_self = obj
            .get("optionalOldSelf")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if uses_old_self && let Some(list) = uncorrelatable {
            errs.push(FieldError::invalid(
                format!("{rpath}.rule"),
                Value::String(rule.clone()),
                format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {list}"),
            ));
            continue;
        }
        if !uses_old_self && let Some(v) = obj.get("optionalOldSelf").filter(|v| !v.is_null()) {
            errs.push(FieldError::invalid(
                format!("{rpath}.optionalOldSelf"),
                v.clone(),
                "may not be set if oldSelf is not used in rule",
            ));
            continue;
        }
        out.push(CompiledRule {
            rule,
            program,
            message,
            message_expression,
            field_path,
            reason,
            uses_old_self,
            optional_old_self,
        });
    }
    out
}

/// Deepest expression nesting a rule may have. Evaluation recurses once per level on the thread
/// that validates (an API server's request thread: 2 MiB under tokio), and a debug build needs
/// tens of KiB per level, so this keeps every accepted rule safe to run there. Real rules nest a
/// handful of levels; cel's parser stops at 96 anyway.
pub(crate) const MAX_EXPRESSION_DEPTH: usize = 32;

/// The depth of the expression tree (a literal is 1).
pub(crate) fn expression_depth(e: &IdedExpr) -> usize {
    let children: Vec<&IdedExpr> = match &e.expr {
        Expr::Select(sel) => vec![&sel.operand],
        Expr::Call(call) => call
            .target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m
            .entries
            .iter()
            .flat_map(|en| match &en.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(sf) => vec![&sf.value],
            })
            .collect(),
        Expr::Struct(st) => st
            .entries
            .iter()
            .flat_map(|en| match &en.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(sf) => vec![&sf.value],
            })
            .collect(),
        _ => Vec::new(),
    };
    1 + children
        .into_iter()
        .map(expression_depth)
        .max()
        .unwrap_or(0)
}

/// The schema node an expression denotes, when it is `self`/`oldSelf` followed by field
/// selections and indexing; `Ok(None)` when it is something else (not checked).
fn resolve<'n>(e: &IdedExpr, node: &'n Node, is_root: bool) -> Result<Option<&'n Node>, String> {
    match &e.expr {
        Expr::Ident(name) if name == "self" || name == "oldSelf" => Ok(Some(node)),
        Expr::Select(sel) => {
            // At the resource root, apiVersion, kind and metadata exist whatever the schema says.
            let is_self =
                matches!(&sel.operand.expr, Expr::Ident(n) if n == "self" || n == "oldSelf");
            if is_root
                && is_self
                && matches!(sel.field.as_str(), "apiVersion" | "kind" | "metadata")
            {
                return Ok(None);
            }
            let Some(parent) = resolve(&sel.operand, node, is_root)? else {
                return Ok(None);
            };
            select_field(parent, &sel.field).map(Some)
        }
        Expr::Call(call) if call.func_name == "_[_]" && call.args.len() == 2 => {
            let Some(parent) = resolve(&call.args[0], node, is_root)? else {
                return Ok(None);
            };
            Ok(parent
                .items
                .as_deref()
                .or_else(|| parent.additional_schema()))
        }
        _ => Ok(None),
    }
}

/// The node a field selection reaches, or the field name when the schema has no such field.
/// Only objects with declared properties and nothing else are closed; maps, free-form and
/// untyped objects accept any key, as in Kubernetes' CEL type declarations.
fn select_field<'n>(parent: &'n Node, field: &str) -> Result<&'n Node, String> {
    if let Some((_, child)) = parent
        .properties
        .iter()
        .find(|(k, _)| escape_property(k).as_deref() == Some(field))
    {
        return Ok(child);
    }
    if let Some(ap) = parent.additional_schema() {
        return Ok(ap);
    }
    let closed = parent.ty == Some(Ty::Object)
        && !parent.preserve_unknown
        && parent.additional.is_none()
        && !parent.embedded;
    if closed {
        Err(field.to_string())
    } else {
        // Unknown territory: stop checking below this point.
        Err(String::new())
    }
}

/// The first `self.<field>` chain naming a field the schema does not declare.
fn undefined_field(e: &IdedExpr, node: &Node, is_root: bool) -> Option<String> {
    if let Err(f) = resolve(e, node, is_root)
        && !f.is_empty()
    {
        return Some(f);
    }
    let children: Vec<&IdedExpr> = match &e.expr {
        Expr::Select(sel) => vec![&sel.operand],
        Expr::Call(call) => call
            .target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m
            .entries
            .iter()
            .flat_map(|en| match &en.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(sf) => vec![&sf.value],
            })
            .collect(),
        Expr::Struct(st) => st
            .entries
            .iter()
            .flat_map(|en| match &en.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(sf) => vec![&sf.value],
            })
            .collect(),
        _ => Vec::new(),
    };
    children
        .into_iter()
        .find_map(|c| undefined_field(c, node, is_root))
}

/// Turns a rule's JSONPath-like `fieldPath` (`.a.b`, `.a['b-c']`, `.list[1]`) into the field-path
/// suffix kube-apiserver appends, checking each named property exists in the schema.
fn normalize_field_path(fp: &str, node: &Node) -> Option<String> {
    let mut out = String::new();
    let mut rest = fp;
    let mut cur = Some(node);
    while !rest.is_empty() {
        let name: String;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            name = r[..end].to_string();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            name = r[..end].to_string();
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let idx: usize = r[..end].parse().ok()?;
            out.push_str(&format!("[{idx}]"));
            rest = &r[end + 1..];
            cur = cur.and_then(|n| n.items.as_deref());
            continue;
        } else {
            return None;
        }
        if name.is_empty() {
            return None;
        }
        let n = cur?;
        cur = match n.properties.get(&name) {
            Some(p) => Some(p),
            None => Some(n.additional_schema()?),
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&name);
    }
    (!out.is_empty()).then_some(out)
}

/// Converts a JSON value into a CEL value typed by its schema node.
pub(crate) fn to_cel(v: &Value, node: Option<&Node>, is_root: bool) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => {
            let number_typed = node.is_some_and(|n| n.ty == Some(Ty::Number));
            // Go decodes integers beyond int64 as float64, so they are doubles here too.
            match (n.as_i64(), number_typed) {
                (Some(i), false) => cel::Value::Int(i),
                _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            }
        }
        Value::String(s) => {
            match node.and_then(|n| n.format.as_deref()) {
                Some("date-time" | "datetime") => {
                    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                        return cel::Value::Timestamp(t);
                    }
                }
                Some("duration") => {
                    if let Some(d) = parse_go_duration(s) {
                        return cel::Value::Duration(d);
                    }
                }
                Some("byte") => {
                    if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(s) {
                        return cel::Value::Bytes(Arc::new(b));
                    }
                }
                _ => {}
            }
            cel::Value::String(Arc::new(s.clone()))
        }
        Value::Array(items) => {
            let item_node = node.and_then(|n| n.items.as_deref());
            cel::Value::List(Arc::new(
                items.iter().map(|x| to_cel(x, item_node, false)).collect(),
            ))
        }
        Value::Object(m) => {
            let mut map: HashMap<Key, cel::Value> = HashMap::with_capacity(m.len());
            for (k, x) in m {
                let child =
                    node.and_then(|n| n.properties.get(k).or_else(|| n.additional_schema()));
                let val = if is_root && k == "metadata" {
                    // At the resource root CEL sees only metadata.name and metadata.generateName.
                    let mut meta: HashMap<Key, cel::Value> = HashMap::new();
                    for f in ["name", "generateName"] {
                        if let Some(s) = x.get(f).and_then(Value::as_str) {
                            meta.insert(
                                Key::String(Arc::new(f.to_string())),
                                cel::Value::String(Arc::new(s.to_string())),
                            );
                        }
                    }
                    cel::Value::from(meta)
                } else {
                    to_cel(x, child, false)
                };
                // Declared properties are fields, seen under their escaped names; map entries
                // (additionalProperties) keep their keys.
                let declared = node.is_some_and(|n| n.properties.contains_key(k));
                let key = if declared {
                    match escape_property(k) {
                        Some(e) => e,
                        None => continue,
                    }
                } else {
                    k.clone()
                };
                map.insert(Key::String(Arc::new(key)), val);
            }
            cel::Value::from(map)
        }
    }
}

/// CEL reserved words: a property with such a name is seen as `__name__`, and an admission
/// policy's variable may not take one.
pub const CEL_RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Kubernetes' property name escaping (k8s.io/apiserver/pkg/cel/escaping.go): `__` → `__underscores__`,
/// `.` → `__dot__`, `-` → `__dash__`, `/` → `__slash__`; names with other characters are not
/// accessible from CEL.
fn escape_property(name: &str) -> Option<String> {
    if CEL_RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '-' | '/'));
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
    {
        return None;
    }
    if !name.contains(['.', '-', '/']) && !name.contains("__") {
        return Some(name.to_string());
    }
    Some(
        name.replace("__", "__underscores__")
            .replace('.', "__dot__")
            .replace('-', "__dash__")
            .replace('/', "__slash__"),
    )
}

/// Go's `time.ParseDuration` ("1h30m", "-1.5s", "300ms"), the form Kubernetes hands CEL for
/// `format: duration` fields; `None` for anything else (the value then stays a string).
fn parse_go_duration(s: &str) -> Option<chrono::Duration> {
    /// Nanoseconds per unit, longest unit names first so "ms" is not read as "m".
    const UNITS: [(&str, f64); 8] = [
        ("ns", 1.0),
        ("us", 1e3),
        ("µs", 1e3),
        ("μs", 1e3),
        ("ms", 1e6),
        ("h", 3.6e12),
        ("m", 6e10),
        ("s", 1e9),
    ];
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(chrono::Duration::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_ns = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let (unit, ns) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        total_ns += number * ns;
        rest = &rest[unit.len()..];
    }
    /// Go durations are int64 nanoseconds: about 292 years.
    const MAX_NS: f64 = 9.223_372_036_854_775e18;
    if total_ns > MAX_NS {
        return None;
    }
    let d = chrono::Duration::nanoseconds(total_ns as i64);
    Some(if neg { -d } else { d })
}

/// Evaluates the rules of one node and appends kube-apiserver-shaped errors.
/// `ratchet` is true when the value equals its correlated old value: then only transition rules
/// may fail, and the other rules' failures are warnings (1.30+ ratcheting, `addErr` in
/// apiextensions' `schema/cel/validation.go`). Failures to evaluate are errors either way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_node_rules(
    env: &CelEnv,
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    is_root: bool,
    field: &str,
    ratchet: bool,
    found: &mut crate::validate::CelFindings<'_>,
) {
    let errs = &mut *found.errs;
    if node.rules.is_empty() || value.is_null() {
        return;
    }
    let self_val = to_cel(value, Some(node), is_root);
    let old_val = old
        .filter(|o| !o.is_null())
        .map(|o| to_cel(o, Some(node), is_root));
    let type_value = || Value::from(node.structural_type());
    for rule in &node.rules {
        if rule.uses_old_self && old_val.is_none() && !rule.optional_old_self {
            continue;
        }
        let mut ctx = Context::with_env(env.clone());
        ctx.add_variable_from_value("self", self_val.clone());
        if rule.optional_old_self {
            let opt = match &old_val {
                Some(o) => OptionalValue::of(o.clone()),
                None => OptionalValue::none(),
            };
            ctx.add_variable_from_value("oldSelf", cel::Value::Opaque(Arc::new(opt)));
        } else if let Some(o) = &old_val {
            ctx.add_variable_from_value("oldSelf", o.clone());
        }
        let rule_text = rule.message.as_deref().unwrap_or(rule.rule.trim());
        match rule.program.execute(&ctx) {
            Ok(cel::Value::Bool(true)) => continue,
            Ok(cel::Value::Bool(false)) => {}
            Ok(other) => {
                errs.push(FieldError::invalid(
                    field,
                    type_value(),
                    format!(
                        "rule did not evaluate to a bool but to {} evaluating rule: {rule_text}",
                        other.type_of()
                    ),
                ));
                continue;
            }
            Err(e) => {
                let msg = go_style_error(&e.to_string());
                let detail = if msg.starts_with("no such overload") {
                    format!(
                        "'{msg}': call arguments did not match a supported operator, function or macro signature for rule: {rule_text}"
                    )
                } else {
                    format!("{msg} evaluating rule: {rule_text}")
                };
                errs.push(FieldError::invalid(field, type_value(), detail));
                continue;
            }
        }
        let ratcheted = ratchet && !rule.uses_old_self;
        let mut path = field.to_string();
        if let Some(fp) = &rule.field_path {
            if !path.is_empty() && !fp.starts_with('[') {
                path.push('.');
            }
            path.push_str(fp);
        }
        let detail = rule
            .message_expression
            .as_ref()
            .and_then(|p| match p.execute(&ctx) {
                Ok(cel::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| match &rule.message {
                Some(m) => m.clone(),
                None => format!("failed rule: {}", rule.rule.trim()),
            });
        let shown = match node.ty {
            Some(Ty::Object | Ty::Array) => None,
            _ => Some(value.clone()),
        };
        let err = match rule.reason {
            ErrorKind::Forbidden => FieldError::forbidden(path, detail),
            ErrorKind::Required => FieldError::required(path, detail),
            ErrorKind::Duplicate => FieldError::new(ErrorKind::Duplicate, path, shown, ""),
            _ => FieldError::new(ErrorKind::Invalid, path, shown, detail),
        };
        if ratcheted {
            found.ratcheted.push(err);
        } else {
            errs.push(err);
        }
    }
}

/// cel-go writes its errors in lower case ("no such key: x"); cel-rust capitalises them.
pub(crate) fn go_style_error(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
