//! Device selector CEL expressions as kube's `validateCELExpression` checks them
//! (`k8s.io/dynamic-resource-allocation/cel` compiler): at most 10 KiB, and compiling in an
//! environment whose only variable is `device`. kube reports a compile failure as
//! `Invalid value: "<expression>": compilation failed: ERROR: <input>:1:3: ...` followed by
//! cel-go's source snippet and caret (` | device.foo` / ` | ......^`), and a result that cannot
//! be a bool as `must evaluate to bool or the unknown type, not string`.

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr, LiteralValue, SourceInfo};

use crate::status::Cause;
use crate::validation::field;

/// `CELSelectorExpressionMaxLength`.
pub const CEL_EXPRESSION_MAX_LENGTH: usize = 10 * 1024;

/// The fields of the `device` variable (DRAConsumableCapacity is on: `allowMultipleAllocations`).
const DEVICE_FIELDS: [&str; 4] = [
    "driver",
    "attributes",
    "capacity",
    "allowMultipleAllocations",
];

/// The type names cel-go declares as identifiers (`type(x) == string`).
const TYPE_IDENTIFIERS: [&str; 10] = [
    "bool",
    "bytes",
    "double",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

/// Function namespaces: `math.least(..)` calls a function, it does not read a variable.
const NAMESPACES: [&str; 7] = [
    "cel", "math", "strings", "lists", "sets", "optional", "base64",
];

/// `validateCELExpression` of a selector at `path`; `stored` skips the check (an expression
/// unchanged since it was stored is valid).
pub fn cel_expression(path: &str, expression: &str, stored: bool) -> Vec<Cause> {
    if stored {
        return Vec::new();
    }
    if expression.len() > CEL_EXPRESSION_MAX_LENGTH {
        return vec![field::too_long(path, CEL_EXPRESSION_MAX_LENGTH)];
    }
    match compile_error(expression) {
        Some(detail) => vec![field::invalid_str(path, expression, &detail)],
        None => Vec::new(),
    }
}

/// Why `expression` does not compile in the DRA environment, worded as kube does.
fn compile_error(expression: &str) -> Option<String> {
    let program = match crd_schema::expr::compile(expression) {
        Ok(p) => p,
        // cel-rust words parse errors as cel-go does (`ERROR: <input>:l:c: ...`) but indents
        // the snippet lines with "| " where cel-go writes " | ".
        Err(e) => {
            return Some(format!(
                "compilation failed: {}",
                e.replace("\n| ", "\n | ")
            ));
        }
    };
    let mut checker = Checker {
        info: program.source_info(),
        source: expression,
        scope: std::iter::once("device")
            .chain(TYPE_IDENTIFIERS)
            .map(str::to_owned)
            .collect(),
        issues: Vec::new(),
    };
    checker.check(program.expression());
    if !checker.issues.is_empty() {
        return Some(format!("compilation failed: {}", checker.issues.join("\n")));
    }
    let root = program.expression();
    let result_type = match &root.expr {
        Expr::Literal(LiteralValue::Boolean(_)) => None,
        Expr::Literal(LiteralValue::Int(_)) => Some("int"),
        Expr::Literal(LiteralValue::UInt(_)) => Some("uint"),
        Expr::Literal(LiteralValue::Double(_)) => Some("double"),
        Expr::Literal(LiteralValue::String(_)) => Some("string"),
        Expr::Literal(LiteralValue::Bytes(_)) => Some("bytes"),
        Expr::Literal(LiteralValue::Null) => Some("null_type"),
        Expr::Select(sel)
            if !sel.test
                && sel.field == "driver"
                && matches!(&sel.operand.expr, Expr::Ident(i) if i == "device") =>
        {
            Some("string")
        }
        _ => None,
    };
    result_type.map(|t| format!("must evaluate to bool or the unknown type, not {t}"))
}

/// The part of cel-go's type checker that needs no types: references to undeclared variables
/// and to undefined fields of `device`.
struct Checker<'a> {
    info: &'a SourceInfo,
    source: &'a str,
    /// Variables in scope: `device`, and those of enclosing comprehensions and `cel.bind`.
    scope: Vec<String>,
    issues: Vec<String>,
}

impl Checker<'_> {
    fn check(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Ident(name) => {
                if !self.scope.iter().any(|s| s == name) {
                    self.issue(
                        e.id,
                        &format!("undeclared reference to '{name}' (in container '')"),
                    );
                }
            }
            Expr::Select(sel) => {
                if let Expr::Ident(name) = &sel.operand.expr
                    && name == "device"
                    && self.scope.iter().filter(|s| *s == "device").count() == 1
                    && !DEVICE_FIELDS.contains(&sel.field.as_str())
                {
                    self.issue(e.id, &format!("undefined field '{}'", sel.field));
                    return;
                }
                self.check(&sel.operand);
            }
            Expr::Call(call) => {
                // `cel.bind(name, init, body)`: `name` is in scope in `body`.
                let bind = call.func_name == "bind"
                    && call
                        .target
                        .as_deref()
                        .is_some_and(|t| matches!(&t.expr, Expr::Ident(i) if i == "cel"));
                if bind && let [name, init, body] = call.args.as_slice() {
                    self.check(init);
                    if let Expr::Ident(var) = &name.expr {
                        self.scope.push(var.clone());
                        self.check(body);
                        self.scope.pop();
                    } else {
                        self.check(body);
                    }
                    return;
                }
                if let Some(t) = &call.target {
                    // A namespace such as `cel.` or `math.` is not a variable.
                    if !matches!(&t.expr, Expr::Ident(i) if NAMESPACES.contains(&i.as_str())) {
                        self.check(t);
                    }
                }
                for a in &call.args {
                    self.check(a);
                }
            }
            Expr::Comprehension(c) => {
                self.check(&c.iter_range);
                self.check(&c.accu_init);
                let mut vars = vec![c.iter_var.clone(), c.accu_var.clone()];
                vars.extend(c.iter_var2.clone());
                let depth = self.scope.len();
                self.scope.extend(vars);
                self.check(&c.loop_cond);
                self.check(&c.loop_step);
                self.check(&c.result);
                self.scope.truncate(depth);
            }
            Expr::List(list) => {
                for x in &list.elements {
                    self.check(x);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(m) = &entry.expr {
                        self.check(&m.key);
                        self.check(&m.value);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.check(&f.value);
                    }
                }
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// One error as cel-go's `Errors.ToDisplayString` prints it, at the node `id`.
    fn issue(&mut self, id: u64, message: &str) {
        let start = self.info.offset_for(id).map_or(0, |(s, _)| s as usize);
        let before = self.source.get(..start).unwrap_or(self.source);
        let line_no = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count();
        let line = self.source[line_start..]
            .split('\n')
            .next()
            .unwrap_or("")
            .replace('\t', " ");
        self.issues.push(format!(
            "ERROR: <input>:{line_no}:{}: {message}\n | {line}\n | {}^",
            column + 1,
            ".".repeat(column)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_references_and_fields_as_cel_go_words_them() {
        assert_eq!(compile_error("device.driver == 'a'"), None);
        assert_eq!(
            compile_error("device.attributes['x'].all(a, a > 0) && device.capacity['y'].z > 1"),
            None
        );
        assert_eq!(
            compile_error("dev.driver == 'a'").as_deref(),
            Some(
                "compilation failed: ERROR: <input>:1:1: undeclared reference to 'dev' (in container '')\n | dev.driver == 'a'\n | ^"
            )
        );
        assert_eq!(
            compile_error("device.foo == 'a'").as_deref(),
            Some(
                "compilation failed: ERROR: <input>:1:7: undefined field 'foo'\n | device.foo == 'a'\n | ......^"
            )
        );
        assert_eq!(
            compile_error("device.attributes['a'].x.all(v, w)").as_deref(),
            Some(
                "compilation failed: ERROR: <input>:1:33: undeclared reference to 'w' (in container '')\n | device.attributes['a'].x.all(v, w)\n | ................................^"
            )
        );
        assert_eq!(compile_error("cel.bind(x, device.driver, x == 'a')"), None);
        assert_eq!(
            compile_error(
                "device.attributes['dra.example.com'].?model.orValue('') == 'a' || optional.none() == optional.of(1)"
            ),
            None
        );
        assert_eq!(
            compile_error("type(device.attributes['d'].m) == string"),
            None
        );
        assert_eq!(
            compile_error("device.driver").as_deref(),
            Some("must evaluate to bool or the unknown type, not string")
        );
        assert_eq!(
            compile_error("1").as_deref(),
            Some("must evaluate to bool or the unknown type, not int")
        );
        assert_eq!(
            compile_error("a b").as_deref(),
            Some(
                "compilation failed: ERROR: <input>:1:3: Syntax error: extraneous input 'b' expecting <EOF>\n | a b\n | ..^"
            )
        );
    }

    #[test]
    fn long_and_stored_expressions() {
        let long = "a".repeat(CEL_EXPRESSION_MAX_LENGTH + 1);
        assert_eq!(
            cel_expression("e", &long, false)[0].message,
            "Too long: may not be more than 10240 bytes"
        );
        assert!(cel_expression("e", "nonsense(", true).is_empty());
    }
}
