//! Compiles and evaluates free-standing CEL expressions (an admission policy's validations, match
//! conditions, variables and audit annotations) in the same environment as CRD rules, with the
//! same JSON-to-CEL conversion, so the API server needs no CEL layer of its own.
//!
//! Values are converted schemaless (kube's `UseSchemalessTypeRef` path): integers are ints,
//! other numbers doubles, strings stay strings; map keys are not escaped.

use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use serde_json::Value;

pub use cel::objects::Key;
pub use cel::{Context, Env, ExecutionError, Program, Value as CelValue};

/// Compiles `text`. Deeply nested expressions are parsed on a thread with a large stack, as
/// [`crate::Schema::compile`] does for CRD rules (cel's parser recurses deeply in debug builds);
/// an expression nested deeper than evaluation can safely run on a request thread is refused.
/// The error is cel's parse error text.
pub fn compile(text: &str) -> Result<Program, String> {
    let env = crate::cel_rules::new_env();
    let here = |env: &Arc<cel::Env>| env.compile(text).map_err(|e| e.to_string());
    let program = if crate::is_deep(text) {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("cel-compile".into())
                .stack_size(crate::COMPILE_STACK_BYTES)
                .spawn_scoped(scope, || here(&env))
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
        })
        // If no thread can be started, compiling here is still right for ordinary expressions.
        .unwrap_or_else(|_| here(&env))?
    } else {
        here(&env)?
    };
    let depth = crate::cel_rules::expression_depth(program.expression());
    if depth > crate::cel_rules::MAX_EXPRESSION_DEPTH {
        return Err(format!(
            "expression nesting depth {depth} exceeds the limit of {}",
            crate::cel_rules::MAX_EXPRESSION_DEPTH
        ));
    }
    Ok(program)
}

/// A fresh evaluation context in the shared environment (standard library, strings, lists,
/// math and Kubernetes' list and regex functions).
pub fn context() -> Context<'static, 'static> {
    Context::with_env(crate::cel_rules::new_env())
}

/// A fresh evaluation context in `env` (one from [`crate::mutation::env`]).
pub fn context_in(env: Arc<cel::Env>) -> Context<'static, 'static> {
    Context::with_env(env)
}

/// The CEL value of a JSON value, without a schema.
pub fn from_json(v: &Value) -> CelValue {
    crate::cel_rules::to_cel(v, None, false)
}

/// An evaluation error as cel-go words it (lower-case first letter: `no such key: x`).
pub fn error_text(e: &ExecutionError) -> String {
    // A `JSONPatch` literal's own errors are kube's values of the literal, without cel's
    // function prefix.
    if let ExecutionError::FunctionError { function, message } = e
        && function == crate::mutation::JSON_PATCH
    {
        return message.clone();
    }
    crate::cel_rules::go_style_error(&e.to_string())
}

/// The CEL type name of a value (`bool`, `int`, `string`, `map`, ...), as kube prints it.
pub fn type_name(v: &CelValue) -> String {
    v.type_of().to_string()
}

/// The fields the program selects from the identifier `ident`, e.g. `["a", "b"]` for
/// `variables.a + variables.b` with `ident` "variables" (also `variables['a']`), in order of
/// first use, without duplicates. Lets a caller evaluate only what an expression needs.
pub fn selected_fields(program: &Program, ident: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_selected(program.expression(), ident, &mut out);
    out
}

fn collect_selected(e: &IdedExpr, ident: &str, out: &mut Vec<String>) {
    let mut push = |name: &str| {
        if !out.iter().any(|x| x == name) {
            out.push(name.to_owned());
        }
    };
    match &e.expr {
        Expr::Select(sel) => {
            if matches!(&sel.operand.expr, Expr::Ident(i) if i == ident) {
                push(&sel.field);
            } else {
                collect_selected(&sel.operand, ident, out);
            }
        }
        Expr::Call(call) => {
            // `variables['a']` is the index function `_[_]` on the identifier and a literal.
            if call.func_name == "_[_]"
                && call.args.len() == 2
                && matches!(&call.args[0].expr, Expr::Ident(i) if i == ident)
                && let Expr::Literal(cel::common::ast::LiteralValue::String(s)) = &call.args[1].expr
            {
                push(s.as_ref());
            }
            if let Some(t) = &call.target {
                collect_selected(t, ident, out);
            }
            for a in &call.args {
                collect_selected(a, ident, out);
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
                collect_selected(x, ident, out);
            }
        }
        Expr::List(l) => {
            for x in &l.elements {
                collect_selected(x, ident, out);
            }
        }
        Expr::Map(m) => {
            for en in &m.entries {
                entry(&en.expr, ident, out);
            }
        }
        Expr::Struct(st) => {
            for en in &st.entries {
                entry(&en.expr, ident, out);
            }
        }
        _ => {}
    }
}

fn entry(e: &EntryExpr, ident: &str, out: &mut Vec<String>) {
    match e {
        EntryExpr::MapEntry(me) => {
            collect_selected(&me.key, ident, out);
            collect_selected(&me.value, ident, out);
        }
        EntryExpr::StructField(sf) => collect_selected(&sf.value, ident, out),
    }
}

/// One check an admission expression's `authorizer` asks for (kube's CEL authz library): a verb
/// on a resource (group, resource, subresource, namespace, name) or on a non-resource path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzCheck {
    pub verb: String,
    /// Set for a non-resource check (`authorizer.path('/healthz').check('get')`).
    pub path: Option<String>,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

/// Answers an [`AuthzCheck`]: allowed, and the authorizer's reason.
pub type AuthzFn = Arc<dyn Fn(&AuthzCheck) -> (bool, String) + Send + Sync>;

/// The marker key of the maps that stand for the authz library's objects.
const AUTHZ: &str = "__authz__";

fn authz_map(kind: &str, fields: &[(&str, CelValue)]) -> CelValue {
    let mut m: std::collections::HashMap<Key, CelValue> = std::collections::HashMap::new();
    m.insert(
        Key::String(Arc::new(AUTHZ.to_owned())),
        CelValue::String(Arc::new(kind.to_owned())),
    );
    for (k, v) in fields {
        m.insert(Key::String(Arc::new((*k).to_owned())), v.clone());
    }
    CelValue::from(m)
}

fn text(s: &str) -> CelValue {
    CelValue::String(Arc::new(s.to_owned()))
}

/// The `authorizer` variable: the library's root object, with `requestResource` (a resource
/// check builder for the request's own resource) as a field, as kube offers
/// `authorizer.requestResource`.
pub fn authorizer_value(request: &AuthzCheck) -> CelValue {
    let resource = authz_map(
        "resource",
        &[
            ("group", text(&request.group)),
            ("resource", text(&request.resource)),
            ("subresource", text(&request.subresource)),
            ("namespace", text(&request.namespace)),
            ("name", text(&request.name)),
        ],
    );
    authz_map("authorizer", &[("requestResource", resource)])
}

/// The library object `v` stands for: its kind and fields.
fn authz_parts(v: &CelValue) -> Option<(String, std::collections::HashMap<String, CelValue>)> {
    let CelValue::Map(m) = v else { return None };
    let mut kind = None;
    let mut fields = std::collections::HashMap::new();
    for (k, x) in m.map.iter() {
        let Key::String(k) = k else { continue };
        if k.as_str() == AUTHZ {
            if let CelValue::String(s) = x {
                kind = Some(s.to_string());
            }
        } else {
            fields.insert(k.to_string(), x.clone());
        }
    }
    Some((kind?, fields))
}

fn wrong_target(function: &str, want: &str) -> ExecutionError {
    ExecutionError::function_error(function, format!("{function}() applies to {want}"))
}

/// Adds kube's CEL authz library (`k8s.io/apiserver/pkg/cel/library/authz.go`) to `ctx`:
/// `authorizer.path(p)`, `.group(g)`, `.resource(r)`, `.subresource(s)`, `.namespace(ns)`,
/// `.name(n)`, `.check(verb)`, and on the decision `.allowed()`, `.reason()`, `.errored()`,
/// `.error()`; `check` is answered by `check_fn`. Not offered: `serviceAccount`,
/// `fieldSelector`, `labelSelector`.
pub fn add_authz_library(ctx: &mut Context<'static, 'static>, check_fn: AuthzFn) {
    use cel::extractors::This;
    type R = Result<CelValue, ExecutionError>;
    let builders: [(&'static str, &'static str, &'static str, &'static str); 6] = [
        // (function, kind it applies to, kind it returns, field it sets)
        ("path", "authorizer", "path", "path"),
        ("group", "authorizer", "group", "group"),
        ("resource", "group", "resource", "resource"),
        ("subresource", "resource", "resource", "subresource"),
        ("namespace", "resource", "resource", "namespace"),
        ("name", "resource", "resource", "name"),
    ];
    for (function, from, to, field) in builders {
        // The names are not used by the environment's functions, so adding them cannot fail.
        let _ = ctx.add_function(
            function,
            move |This(this): This<CelValue>, arg: Arc<String>| -> R {
                let (kind, mut fields) = authz_parts(&this)
                    .filter(|(k, _)| k == from)
                    .ok_or_else(|| wrong_target(function, &format!("an authorizer {from}")))?;
                let _ = kind;
                fields.insert(field.to_owned(), CelValue::String(arg));
                let pairs: Vec<(&str, CelValue)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                Ok(authz_map(to, &pairs))
            },
        );
    }
    let _ = ctx.add_function(
        "check",
        move |This(this): This<CelValue>, verb: Arc<String>| -> R {
            let (kind, fields) = authz_parts(&this)
                .filter(|(k, _)| k == "path" || k == "resource")
                .ok_or_else(|| wrong_target("check", "a path or a resource"))?;
            let field = |k: &str| match fields.get(k) {
                Some(CelValue::String(s)) => s.to_string(),
                _ => String::new(),
            };
            let request = AuthzCheck {
                verb: verb.to_string(),
                path: (kind == "path").then(|| field("path")),
                group: field("group"),
                resource: field("resource"),
                subresource: field("subresource"),
                namespace: field("namespace"),
                name: field("name"),
            };
            let (allowed, reason) = check_fn(&request);
            Ok(authz_map(
                "decision",
                &[
                    ("allowed", CelValue::Bool(allowed)),
                    ("reason", text(&reason)),
                ],
            ))
        },
    );
    for (function, field, default) in [
        ("allowed", "allowed", CelValue::Bool(false)),
        ("reason", "reason", text("")),
        ("errored", "", CelValue::Bool(false)),
        ("error", "", text("")),
    ] {
        let _ = ctx.add_function(function, move |This(this): This<CelValue>| -> R {
            let (_, fields) = authz_parts(&this)
                .filter(|(k, _)| k == "decision")
                .ok_or_else(|| wrong_target(function, "an authorizer decision"))?;
            // This authorizer never errs: errored() is false and error() empty.
            Ok(fields
                .get(field)
                .cloned()
                .unwrap_or_else(|| default.clone()))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selected_fields_finds_selections_and_index_of_the_identifier_only() {
        let p = compile(
            "variables.a + variables['b'] > other.c && [variables.a].all(x, x > variables.d)",
        )
        .expect("compiles");
        assert_eq!(selected_fields(&p, "variables"), ["a", "b", "d"]);
    }

    #[test]
    fn expressions_evaluate_over_json_without_a_schema() {
        let p = compile("object.spec.replicas > 2 && object.metadata.labels['app-name'] == 'x'")
            .expect("compiles");
        let mut ctx = context();
        ctx.add_variable_from_value(
            "object",
            from_json(&serde_json::json!({"spec": {"replicas": 3}, "metadata": {"labels": {"app-name": "x"}}})),
        );
        assert_eq!(p.execute(&ctx), Ok(CelValue::Bool(true)));
        let missing = compile("object.spec.nope == 1").expect("compiles");
        let err = missing.execute(&ctx).expect_err("no such key");
        assert_eq!(error_text(&err), "no such key: nope");
    }

    #[test]
    fn too_deep_and_malformed_expressions_are_refused() {
        assert!(compile("1 +").is_err());
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        let err = compile(&format!("{deep} == 1")).expect_err("too deep");
        assert!(err.contains("nesting depth"), "{err}");
    }
    #[test]
    fn the_authz_library_asks_the_check_function() {
        let check: AuthzFn = Arc::new(|c: &AuthzCheck| {
            let allowed = c.verb == "get" && c.group == "apps" && c.resource == "deployments"
                || c.path.as_deref() == Some("/healthz")
                || c.resource == "configmaps" && c.name == "mine";
            (allowed, format!("asked {} {}", c.verb, c.resource))
        });
        let mut ctx = context();
        add_authz_library(&mut ctx, check);
        ctx.add_variable_from_value(
            "authorizer",
            authorizer_value(&AuthzCheck {
                resource: "configmaps".into(),
                name: "mine".into(),
                ..AuthzCheck::default()
            }),
        );
        for (expression, want) in [
            (
                "authorizer.group('apps').resource('deployments').namespace('x').check('get').allowed()",
                true,
            ),
            (
                "authorizer.group('apps').resource('deployments').check('delete').allowed()",
                false,
            ),
            ("authorizer.path('/healthz').check('get').allowed()", true),
            ("authorizer.requestResource.check('update').allowed()", true),
            (
                "authorizer.requestResource.check('update').reason() == 'asked update configmaps'",
                true,
            ),
            (
                "authorizer.group('').resource('pods').check('get').errored()",
                false,
            ),
        ] {
            let p = compile(expression).expect("compiles");
            assert_eq!(p.execute(&ctx), Ok(CelValue::Bool(want)), "{expression}");
        }
        let p = compile("authorizer.resource('pods')").expect("compiles");
        assert!(p.execute(&ctx).is_err(), "resource() needs a group first");
    }
}
