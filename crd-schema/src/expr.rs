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
pub use cel::{Context, ExecutionError, Program, Value as CelValue};

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

/// The CEL value of a JSON value, without a schema.
pub fn from_json(v: &Value) -> CelValue {
    crate::cel_rules::to_cel(v, None, false)
}

/// An evaluation error as cel-go words it (lower-case first letter: `no such key: x`).
pub fn error_text(e: &ExecutionError) -> String {
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
}
