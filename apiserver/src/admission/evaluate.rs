//! Evaluates one compiled policy for one request and param (kube's `validator.Validate`):
//! match conditions, then every validation with its message, then the audit annotations, with
//! the policy's variables computed on first use. Produces decisions; what they do to the
//! request is the dispatcher's business.

use std::collections::HashMap;
use std::sync::Arc;

use crd_schema::expr::{self, AuthzFn, CelValue, Env, Key};

use super::policy::{CompiledPolicy, Expression, FailurePolicy};

/// kube's `celconfig.MaxEvaluatedMessageExpressionSizeBytes`: a longer evaluated message is
/// dropped in favour of the static one.
const MAX_MESSAGE_EXPRESSION_BYTES: usize = 5 * 1024;

/// The variables every expression sees (besides `variables`), as CEL values.
pub struct Inputs {
    pub object: CelValue,
    pub old_object: CelValue,
    pub params: CelValue,
    pub request: CelValue,
    pub namespace_object: CelValue,
    /// The `authorizer` variable and what answers its checks (None: not offered).
    pub authorizer: Option<(CelValue, AuthzFn)>,
}

/// What one validation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True: the request is refused (subject to the binding's validationActions).
    pub deny: bool,
    /// The failure is an evaluation error (so it followed the failure policy).
    pub error: bool,
    pub message: String,
    /// The Status reason (None: Invalid).
    pub reason: Option<&'static str>,
}

/// What one audit annotation evaluated to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    /// Recorded under the key with this value.
    Publish(String, String),
    /// Not recorded (null, empty, or an error under `failurePolicy: Ignore`).
    Exclude,
    /// An error under `failurePolicy: Fail`: the request is refused with this message.
    Error(String),
}

/// The outcome of evaluating a policy once.
#[derive(Debug, Default)]
pub struct Outcome {
    pub decisions: Vec<Decision>,
    pub annotations: Vec<Annotation>,
}

/// How an expression failed: it did not compile, or it did not evaluate.
enum Failure {
    Compile(String),
    Runtime(String),
}

/// The evaluation of one policy: its inputs and the variables computed so far.
struct Evaluation<'p> {
    /// The policy's variables (none for a webhook's match conditions).
    definitions: &'p [(String, Expression)],
    inputs: &'p Inputs,
    variables: HashMap<String, Result<CelValue, String>>,
    /// The environment expressions run in: a mutating policy's own (with its struct types),
    /// else the shared one.
    env: Option<&'p Arc<Env>>,
}

impl Evaluation<'_> {
    /// Computes the variable `name` unless known (kube's lazy composition: a variable is
    /// evaluated when an expression first reads it, and at most once per evaluation).
    fn ensure_variable(&mut self, name: &str) {
        if self.variables.contains_key(name) {
            return;
        }
        let definitions = self.definitions;
        let Some((_, e)) = definitions.iter().find(|(n, _)| n == name) else {
            // An unknown variable: CEL reports the missing key when the expression reads it.
            return;
        };
        // Marked first, so a variable that (indirectly) reads itself fails instead of looping.
        self.variables.insert(
            name.to_owned(),
            Err(format!(
                "composited variable {name:?} fails to evaluate: it refers to itself"
            )),
        );
        let value = self.raw(e).map_err(|f| match f {
            Failure::Compile(why) => {
                format!("composited variable {name:?} fails to compile: {why}")
            }
            Failure::Runtime(why) => {
                format!("composited variable {name:?} fails to evaluate: {why}")
            }
        });
        self.variables.insert(name.to_owned(), value);
    }

    /// Runs `e` with the inputs and the variables it reads.
    fn raw(&mut self, e: &Expression) -> Result<CelValue, Failure> {
        let program = e
            .program
            .as_ref()
            .map_err(|why| Failure::Compile(why.clone()))?;
        let mut vars: HashMap<Key, CelValue> = HashMap::with_capacity(e.variables.len());
        for name in &e.variables {
            self.ensure_variable(name);
            match self.variables.get(name) {
                Some(Ok(v)) => {
                    vars.insert(Key::String(Arc::new(name.clone())), v.clone());
                }
                Some(Err(why)) => return Err(Failure::Runtime(why.clone())),
                None => {}
            }
        }
        let mut ctx = match self.env {
            Some(env) => expr::context_in(env.clone()),
            None => expr::context(),
        };
        ctx.add_variable_from_value("object", self.inputs.object.clone());
        ctx.add_variable_from_value("oldObject", self.inputs.old_object.clone());
        ctx.add_variable_from_value("params", self.inputs.params.clone());
        ctx.add_variable_from_value("request", self.inputs.request.clone());
        ctx.add_variable_from_value("namespaceObject", self.inputs.namespace_object.clone());
        ctx.add_variable_from_value("variables", CelValue::from(vars));
        // The authz library's functions are added only for the expressions that use them.
        if e.uses_authorizer
            && let Some((value, check)) = &self.inputs.authorizer
        {
            expr::add_authz_library(&mut ctx, check.clone());
            ctx.add_variable_from_value("authorizer", value.clone());
        }
        program
            .execute(&ctx)
            .map_err(|err| Failure::Runtime(expr::error_text(&err)))
    }

    /// Runs `e` and words a failure as kube's evaluation results do.
    fn eval(&mut self, e: &Expression) -> Result<CelValue, String> {
        self.raw(e).map_err(|f| match f {
            Failure::Compile(why) => format!("compilation error: compilation failed: {why}"),
            Failure::Runtime(why) => format!("expression '{}' resulted in error: {why}", e.text),
        })
    }

    /// Runs a boolean expression (a validation or a match condition).
    fn eval_bool(&mut self, e: &Expression) -> Result<bool, String> {
        match self.eval(e)? {
            CelValue::Bool(b) => Ok(b),
            // kube's type check refuses this when the policy is compiled.
            other => Err(format!(
                "compilation error: must evaluate to bool but got {}",
                expr::type_name(&other)
            )),
        }
    }
}

/// kube's `utilerrors.NewAggregate(...).Error()`: one message as is, several in brackets.
fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Evaluates match conditions (kube's `matchconditions.Matcher`): false as soon as one is
/// false; otherwise the errors of those that failed to evaluate, if any (the caller applies its
/// failure policy), else true.
pub fn match_conditions(
    conditions: &[(String, Expression)],
    variables: &[(String, Expression)],
    inputs: &Inputs,
) -> Result<bool, String> {
    let mut ev = Evaluation {
        definitions: variables,
        inputs,
        variables: HashMap::new(),
        env: None,
    };
    matches(&mut ev, conditions)
}

/// Evaluates a mutating policy's match conditions in its environment (see `match_conditions`).
pub fn mutating_match_conditions(
    conditions: &[(String, Expression)],
    variables: &[(String, Expression)],
    inputs: &Inputs,
    env: &Arc<Env>,
) -> Result<bool, String> {
    let mut ev = Evaluation {
        definitions: variables,
        inputs,
        variables: HashMap::new(),
        env: Some(env),
    };
    matches(&mut ev, conditions)
}

/// Evaluates one mutation's expression (kube's `MutatingEvaluator.ForInput`), with the policy's
/// variables computed as it reads them. Errors are worded as kube's patchers return them: the
/// compile error (`compilation failed: ...`) or `expression '...' resulted in error: ...`.
pub fn mutation(
    e: &Expression,
    variables: &[(String, Expression)],
    inputs: &Inputs,
    env: &Arc<Env>,
) -> Result<CelValue, String> {
    let mut ev = Evaluation {
        definitions: variables,
        inputs,
        variables: HashMap::new(),
        env: Some(env),
    };
    ev.raw(e).map_err(|f| match f {
        Failure::Compile(why) => format!("compilation failed: {why}"),
        Failure::Runtime(why) => format!("expression '{}' resulted in error: {why}", e.text),
    })
}

fn matches(ev: &mut Evaluation<'_>, conditions: &[(String, Expression)]) -> Result<bool, String> {
    let mut errors = Vec::new();
    for (_, condition) in conditions {
        match ev.eval_bool(condition) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(true)
    } else {
        Err(aggregate(&errors))
    }
}

/// Evaluates `policy` for one request (and one param).
pub fn validate(policy: &CompiledPolicy, inputs: &Inputs) -> Outcome {
    let fail = policy.failure_policy == FailurePolicy::Fail;
    let error_decision = |message: String| Decision {
        deny: fail,
        error: true,
        message,
        reason: None,
    };
    let mut ev = Evaluation {
        definitions: &policy.variables,
        inputs,
        variables: HashMap::new(),
        env: None,
    };
    // Match conditions: any false skips the policy; errors follow the failure policy.
    match matches(&mut ev, &policy.match_conditions) {
        Ok(true) => {}
        Ok(false) => return Outcome::default(),
        Err(_) if !fail => return Outcome::default(),
        Err(errors) => {
            return Outcome {
                decisions: vec![error_decision(errors)],
                annotations: Vec::new(),
            };
        }
    }
    let mut decisions = Vec::with_capacity(policy.validations.len());
    for v in &policy.validations {
        match ev.eval_bool(&v.expression) {
            Err(e) => decisions.push(error_decision(e)),
            Ok(true) => decisions.push(Decision {
                deny: false,
                error: false,
                message: String::new(),
                reason: None,
            }),
            Ok(false) => {
                // An evaluated message that fails, is too long or has a line break is dropped.
                let evaluated = v
                    .message_expression
                    .as_ref()
                    .and_then(|m| match ev.eval(m) {
                        Ok(CelValue::String(s)) => Some(s.trim().to_owned()),
                        _ => None,
                    })
                    .filter(|m| m.len() <= MAX_MESSAGE_EXPRESSION_BYTES && !m.contains('\n'))
                    .filter(|m| !m.is_empty());
                let message = evaluated
                    .or_else(|| {
                        v.message
                            .as_deref()
                            .map(str::trim)
                            .filter(|m| !m.is_empty())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| format!("failed expression: {}", v.expression.text.trim()));
                decisions.push(Decision {
                    deny: true,
                    error: false,
                    message,
                    reason: Some(v.reason.unwrap_or("Invalid")),
                });
            }
        }
    }
    let mut annotations = Vec::with_capacity(policy.audit_annotations.len());
    for (key, value) in &policy.audit_annotations {
        annotations.push(match ev.eval(value) {
            Err(e) if fail => Annotation::Error(e),
            Err(_) => Annotation::Exclude,
            Ok(CelValue::String(s)) if s.trim().is_empty() => Annotation::Exclude,
            Ok(CelValue::String(s)) => Annotation::Publish(key.clone(), s.trim().to_owned()),
            Ok(CelValue::Null) => Annotation::Exclude,
            Ok(other) => Annotation::Error(format!(
                "valueExpression '{}' resulted in unsupported return type: {}. Return type must be either string or null.",
                value.text,
                expr::type_name(&other)
            )),
        });
    }
    Outcome {
        decisions,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs(object: serde_json::Value) -> Inputs {
        Inputs {
            object: expr::from_json(&object),
            old_object: CelValue::Null,
            params: CelValue::Null,
            request: expr::from_json(&json!({"operation": "CREATE"})),
            namespace_object: CelValue::Null,
            authorizer: None,
        }
    }

    fn policy(spec: serde_json::Value) -> CompiledPolicy {
        CompiledPolicy::compile(&json!({"metadata": {"name": "p"}, "spec": spec}))
    }

    #[test]
    fn variables_are_computed_only_when_read() {
        // `broken` fails, but no validation reads it: nothing fails.
        let p = policy(json!({
            "variables": [{"name": "broken", "expression": "object.nope"},
                          {"name": "n", "expression": "object.n * 2"}],
            "validations": [{"expression": "variables.n == 4"}]
        }));
        let out = validate(&p, &inputs(json!({"n": 2})));
        assert!(!out.decisions[0].deny, "{:?}", out.decisions);
        let p = policy(json!({
            "variables": [{"name": "broken", "expression": "object.nope"}],
            "validations": [{"expression": "variables.broken == 1"}]
        }));
        let out = validate(&p, &inputs(json!({})));
        assert_eq!(
            out.decisions[0].message,
            "expression 'variables.broken == 1' resulted in error: composited variable \"broken\" fails to evaluate: no such key: nope"
        );
        assert!(out.decisions[0].deny && out.decisions[0].error);
    }

    #[test]
    fn messages_come_from_the_message_expression_then_the_message_then_the_expression() {
        let p = policy(json!({"validations": [
            {"expression": "object.n < 1", "message": "static", "messageExpression": "'n is ' + string(object.n)"},
            {"expression": "object.n < 1", "message": "static", "messageExpression": "'two\\nlines'"},
            {"expression": " object.n < 1 ", "reason": "Forbidden"}
        ]}));
        let out = validate(&p, &inputs(json!({"n": 3})));
        let messages: Vec<&str> = out.decisions.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["n is 3", "static", "failed expression: object.n < 1"]
        );
        assert_eq!(out.decisions[2].reason, Some("Forbidden"));
        assert_eq!(out.decisions[0].reason, Some("Invalid"));
    }

    #[test]
    fn failure_policy_decides_what_an_error_does() {
        let spec = |fp: &str| json!({"failurePolicy": fp, "validations": [{"expression": "object.missing > 1"}]});
        let out = validate(&policy(spec("Fail")), &inputs(json!({})));
        assert!(out.decisions[0].deny);
        assert_eq!(
            out.decisions[0].message,
            "expression 'object.missing > 1' resulted in error: no such key: missing"
        );
        let out = validate(&policy(spec("Ignore")), &inputs(json!({})));
        assert!(!out.decisions[0].deny && out.decisions[0].error);
    }

    #[test]
    fn match_conditions_skip_the_policy_or_fail_it() {
        let p = policy(json!({
            "matchConditions": [{"name": "a", "expression": "object.n > 5"}],
            "validations": [{"expression": "false"}]
        }));
        assert!(validate(&p, &inputs(json!({"n": 1}))).decisions.is_empty());
        assert!(validate(&p, &inputs(json!({"n": 9}))).decisions[0].deny);
        let out = validate(&p, &inputs(json!({})));
        assert_eq!(
            out.decisions[0].message,
            "expression 'object.n > 5' resulted in error: no such key: n"
        );
    }

    #[test]
    fn a_mutation_is_worded_as_kubes_patchers_word_its_errors() {
        let variables = [(
            "n".to_owned(),
            Expression::compile("object.spec.replicas * 2"),
        )];
        let env = crd_schema::mutation::env(&["Object".into(), "Object.spec".into()]);
        let good = Expression::compile("Object{spec: Object.spec{replicas: variables.n}}");
        let out = mutation(
            &good,
            &variables,
            &inputs(json!({"spec": {"replicas": 2}})),
            &env,
        )
        .expect("evaluates");
        assert_eq!(
            crd_schema::mutation::apply_configuration(&out),
            Ok(json!({"spec": {"replicas": 4}}))
        );
        let bad = Expression::compile("Object{");
        let err = mutation(&bad, &variables, &inputs(json!({})), &env).expect_err("no program");
        assert!(err.starts_with("compilation failed: "), "{err}");
        let err = mutation(&good, &variables, &inputs(json!({})), &env).expect_err("no spec");
        assert_eq!(
            err,
            "expression 'Object{spec: Object.spec{replicas: variables.n}}' resulted in error: composited variable \"n\" fails to evaluate: no such key: spec"
        );
    }

    #[test]
    fn audit_annotations_publish_strings_and_refuse_other_types() {
        let p = policy(json!({"auditAnnotations": [
            {"key": "a", "valueExpression": "' v '"},
            {"key": "b", "valueExpression": "null"},
            {"key": "c", "valueExpression": "1"}
        ]}));
        let out = validate(&p, &inputs(json!({})));
        assert_eq!(
            out.annotations[0],
            Annotation::Publish("a".into(), "v".into())
        );
        assert_eq!(out.annotations[1], Annotation::Exclude);
        assert_eq!(
            out.annotations[2],
            Annotation::Error("valueExpression '1' resulted in unsupported return type: int. Return type must be either string or null.".into())
        );
    }
}
