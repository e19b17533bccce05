//! Holds ValidatingAdmissionPolicies compiled for evaluation (every CEL expression parsed once)
//! and the cache that keeps them per policy uid until the policy's resourceVersion changes.

use std::sync::Arc;

use crd_schema::expr::{self, Program};
use serde_json::Value;

use super::cache::ByVersion;
use crate::meta::{meta_str, strings};

/// `failurePolicy`: what an evaluation or configuration error does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request is refused (the default).
    Fail,
    /// The error is ignored: the policy admits.
    Ignore,
}

impl FailurePolicy {
    pub(super) fn parse(v: Option<&str>) -> Self {
        match v {
            Some("Ignore") => FailurePolicy::Ignore,
            _ => FailurePolicy::Fail,
        }
    }
}

/// One CEL expression: its text (messages quote it) and the program, or why it did not compile.
pub struct Expression {
    pub text: String,
    pub program: Result<Program, String>,
    /// The policy variables it reads (`variables.<name>`), evaluated before it runs.
    pub variables: Vec<String>,
    /// Whether it uses `authorizer` (only then are the authz functions set up).
    pub uses_authorizer: bool,
}

impl Expression {
    pub fn compile(text: &str) -> Self {
        let program = expr::compile(text);
        let variables = program
            .as_ref()
            .map(|p| expr::selected_fields(p, "variables"))
            .unwrap_or_default();
        let uses_authorizer = program
            .as_ref()
            .is_ok_and(|p| p.references().has_variable("authorizer"));
        Self {
            text: text.to_owned(),
            program,
            variables,
            uses_authorizer,
        }
    }
}

/// One `validations` entry.
pub struct Validation {
    pub expression: Expression,
    pub message: Option<String>,
    pub message_expression: Option<Expression>,
    /// The Status reason of a failure (`Invalid` when unset).
    pub reason: Option<&'static str>,
}

/// One resource rule (`NamedRuleWithOperations`).
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub resource_names: Vec<String>,
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    /// `*` (or unset), `Cluster` or `Namespaced`.
    pub scope: Option<String>,
}

/// `matchConstraints` of a policy or `matchResources` of a binding.
#[derive(Debug, Clone)]
pub struct MatchResources {
    /// None: the field is missing (kube refuses to match with such a selector).
    pub namespace_selector: Option<Value>,
    pub object_selector: Option<Value>,
    pub resource_rules: Vec<Rule>,
    pub exclude_resource_rules: Vec<Rule>,
    /// `matchPolicy: Exact` (default Equivalent).
    pub exact: bool,
}

impl MatchResources {
    pub fn parse(v: &Value) -> Self {
        Self {
            namespace_selector: v.get("namespaceSelector").filter(|s| !s.is_null()).cloned(),
            object_selector: v.get("objectSelector").filter(|s| !s.is_null()).cloned(),
            resource_rules: rules(v.get("resourceRules")),
            exclude_resource_rules: rules(v.get("excludeResourceRules")),
            exact: v.get("matchPolicy").and_then(Value::as_str) == Some("Exact"),
        }
    }
}

pub(super) fn rules(v: Option<&Value>) -> Vec<Rule> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| Rule {
                    resource_names: strings(r.get("resourceNames")),
                    operations: strings(r.get("operations")),
                    api_groups: strings(r.get("apiGroups")),
                    api_versions: strings(r.get("apiVersions")),
                    resources: strings(r.get("resources")),
                    scope: r.get("scope").and_then(Value::as_str).map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `paramKind`: the type of the binding's param objects.
#[derive(Debug, Clone)]
pub struct ParamKind {
    pub api_version: String,
    pub kind: String,
}

impl ParamKind {
    /// The `paramKind` of a policy's spec, if set.
    pub fn of_spec(spec: &Value) -> Option<Self> {
        let p = spec.get("paramKind").filter(|p| p.is_object())?;
        let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Some(Self {
            api_version: text("apiVersion"),
            kind: text("kind"),
        })
    }

    /// The group and version of `apiVersion` (`v1` is the core group).
    pub fn group_version(&self) -> (&str, &str) {
        match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        }
    }

    /// Go's `schema.GroupVersionKind.String()`: `group/version, Kind=Kind`.
    pub fn gvk_string(&self) -> String {
        let (g, v) = self.group_version();
        format!("{g}/{v}, Kind={}", self.kind)
    }
}

/// A ValidatingAdmissionPolicy ready to evaluate.
pub struct CompiledPolicy {
    pub name: String,
    pub failure_policy: FailurePolicy,
    pub param_kind: Option<ParamKind>,
    /// None: the policy has no `matchConstraints` (kube refuses it at match time).
    pub match_constraints: Option<MatchResources>,
    pub match_conditions: Vec<(String, Expression)>,
    pub variables: Vec<(String, Expression)>,
    pub validations: Vec<Validation>,
    pub audit_annotations: Vec<(String, Expression)>,
}

/// The Status reasons a validation may name, as the static strings `ApiError` carries.
fn reason(v: Option<&str>) -> Option<&'static str> {
    match v? {
        "Unauthorized" => Some("Unauthorized"),
        "Forbidden" => Some("Forbidden"),
        "Invalid" => Some("Invalid"),
        "RequestEntityTooLarge" => Some("RequestEntityTooLarge"),
        // Validation refuses other reasons; anything else stored maps as kube's default does.
        _ => Some("Invalid"),
    }
}

impl CompiledPolicy {
    /// Compiles a stored policy (every expression once; a bad one is kept with its error).
    pub fn compile(policy: &Value) -> Self {
        let spec = policy.get("spec").unwrap_or(&Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let items = |k: &str| {
            spec.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let named = |k: &str, field: &str| -> Vec<(String, Expression)> {
            items(k)
                .iter()
                .map(|e| {
                    (
                        text(e, field).unwrap_or_default(),
                        Expression::compile(&text(e, "expression").unwrap_or_default()),
                    )
                })
                .collect()
        };
        let audit_annotations = items("auditAnnotations")
            .iter()
            .map(|a| {
                (
                    text(a, "key").unwrap_or_default(),
                    Expression::compile(&text(a, "valueExpression").unwrap_or_default()),
                )
            })
            .collect();
        Self {
            name: meta_str(policy, "name").to_owned(),
            failure_policy: FailurePolicy::parse(spec.get("failurePolicy").and_then(Value::as_str)),
            param_kind: ParamKind::of_spec(spec),
            match_constraints: spec
                .get("matchConstraints")
                .filter(|m| m.is_object())
                .map(MatchResources::parse),
            match_conditions: named("matchConditions", "name"),
            variables: named("variables", "name"),
            validations: items("validations")
                .iter()
                .map(|v| Validation {
                    expression: Expression::compile(&text(v, "expression").unwrap_or_default()),
                    message: text(v, "message"),
                    message_expression: text(v, "messageExpression")
                        .filter(|m| !m.trim().is_empty())
                        .map(|m| Expression::compile(&m)),
                    reason: reason(v.get("reason").and_then(Value::as_str)),
                })
                .collect(),
            audit_annotations,
        }
    }
}

/// Compiled policies by uid (see `ByVersion`).
pub type Cache = ByVersion<Arc<CompiledPolicy>>;

impl Cache {
    /// The compiled form of the stored `policy`, compiling it when it is new or changed.
    pub fn get(&mut self, policy: &Value) -> Arc<CompiledPolicy> {
        self.get_or_compile(policy, |p| Arc::new(CompiledPolicy::compile(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(rv: &str, expression: &str) -> Value {
        json!({"metadata": {"name": "p", "uid": "u1", "resourceVersion": rv},
               "spec": {"validations": [{"expression": expression}]}})
    }

    #[test]
    fn a_policy_is_compiled_once_per_resource_version() {
        let mut cache = Cache::default();
        let a = cache.get(&policy("1", "true"));
        let b = cache.get(&policy("1", "true"));
        assert!(
            Arc::ptr_eq(&a, &b),
            "same resourceVersion: the cached program"
        );
        let c = cache.get(&policy("2", "false"));
        assert!(!Arc::ptr_eq(&a, &c), "a new resourceVersion compiles again");
        assert_eq!(c.validations[0].expression.text, "false");
        assert_eq!(cache.len(), 1);
        cache.retain(&|_| false);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn bad_expressions_keep_their_error_and_variables_are_found() {
        let p = CompiledPolicy::compile(&json!({"metadata": {"name": "p"}, "spec": {
            "failurePolicy": "Ignore",
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "validations": [{"expression": "1 +"}, {"expression": "variables.a > variables.b", "reason": "Forbidden"}]
        }}));
        assert_eq!(p.failure_policy, FailurePolicy::Ignore);
        assert!(p.validations[0].expression.program.is_err());
        assert_eq!(p.validations[1].expression.variables, ["a", "b"]);
        assert_eq!(p.validations[1].reason, Some("Forbidden"));
        assert_eq!(
            p.param_kind.as_ref().map(ParamKind::gvk_string).as_deref(),
            Some("/v1, Kind=ConfigMap")
        );
        assert!(p.match_constraints.is_none());
    }
}
