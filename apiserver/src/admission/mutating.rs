//! Holds MutatingAdmissionPolicies compiled for evaluation (kube's `compilePolicy` in
//! `policy/mutating/compilation.go`: every expression parsed once, with an environment that
//! knows the struct types the policy's literals construct), and applies one mutation's result
//! to the object: an apply configuration merged as structured-merge-diff merges it
//! (`patch/smd.go`), or a JSON patch (`patch/json_patch.go`).

use std::sync::Arc;

use crd_schema::expr::{CelValue, Env};
use crd_schema::mutation;
use serde_json::{Map, Value};

use super::cache::ByVersion;
use super::policy::{Expression, FailurePolicy, MatchResources, ParamKind};
use crate::catalog::ResourceInfo;
use crate::managed::{self, Shape};
use crate::meta::meta_str;
use crate::status::ApiError;

/// How a mutation's expression changes the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// The expression returns an `Object{...}` literal merged into the object.
    ApplyConfiguration,
    /// The expression returns a list of `JSONPatch{...}` operations.
    JsonPatch,
}

/// One `mutations` entry kube compiles into a patcher.
pub struct Mutation {
    pub patch_type: PatchType,
    pub expression: Expression,
}

/// A MutatingAdmissionPolicy ready to evaluate.
pub struct MutatingPolicy {
    pub name: String,
    pub failure_policy: FailurePolicy,
    pub param_kind: Option<ParamKind>,
    /// None: the policy has no `matchConstraints` (kube refuses it at match time).
    pub match_constraints: Option<MatchResources>,
    pub match_conditions: Vec<(String, Expression)>,
    pub variables: Vec<(String, Expression)>,
    /// The patchers, in order. A mutation kube compiles to no patcher (a patch type without its
    /// expression, or an unknown type) is left out, which the dispatcher reports as kube does.
    pub mutations: Vec<Mutation>,
    /// How many `mutations` entries the policy has.
    pub declared_mutations: usize,
    /// `reinvocationPolicy: IfNeeded`.
    pub reinvoke: bool,
    /// The environment with the struct types of the policy's literals.
    pub env: Arc<Env>,
}

impl MutatingPolicy {
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
        let named = |k: &str| -> Vec<(String, Expression)> {
            items(k)
                .iter()
                .map(|e| {
                    (
                        text(e, "name").unwrap_or_default(),
                        Expression::compile(&text(e, "expression").unwrap_or_default()),
                    )
                })
                .collect()
        };
        let declared = items("mutations");
        let mutations: Vec<Mutation> = declared
            .iter()
            .filter_map(|m| {
                let (patch_type, field) = match m.get("patchType").and_then(Value::as_str) {
                    Some("ApplyConfiguration") => {
                        (PatchType::ApplyConfiguration, "applyConfiguration")
                    }
                    Some("JSONPatch") => (PatchType::JsonPatch, "jsonPatch"),
                    _ => return None,
                };
                let body = m.get(field).filter(|b| b.is_object())?;
                Some(Mutation {
                    patch_type,
                    expression: Expression::compile(&text(body, "expression").unwrap_or_default()),
                })
            })
            .collect();
        let match_conditions = named("matchConditions");
        let variables = named("variables");
        let mut names = Vec::new();
        let expressions = mutations
            .iter()
            .map(|m| &m.expression)
            .chain(variables.iter().map(|(_, e)| e))
            .chain(match_conditions.iter().map(|(_, e)| e));
        for e in expressions {
            if let Ok(p) = &e.program {
                for n in mutation::struct_names(p) {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        Self {
            name: meta_str(policy, "name").to_owned(),
            failure_policy: FailurePolicy::parse(spec.get("failurePolicy").and_then(Value::as_str)),
            param_kind: ParamKind::of_spec(spec),
            match_constraints: spec
                .get("matchConstraints")
                .filter(|m| m.is_object())
                .map(MatchResources::parse),
            match_conditions,
            variables,
            declared_mutations: declared.len(),
            mutations,
            reinvoke: spec.get("reinvocationPolicy").and_then(Value::as_str) == Some("IfNeeded"),
            env: mutation::env(&names),
        }
    }
}

/// Compiled mutating policies by uid (see `ByVersion`).
pub type MutatingCache = ByVersion<Arc<MutatingPolicy>>;

impl MutatingCache {
    /// The compiled form of the stored `policy`, compiling it when it is new or changed.
    pub fn get(&mut self, policy: &Value) -> Arc<MutatingPolicy> {
        self.get_or_compile(policy, |p| Arc::new(MutatingPolicy::compile(p)))
    }
}

/// How applying a mutation failed.
#[derive(Debug)]
pub enum PatchError {
    /// kube's patcher error: the policy's error, subject to its failure policy.
    Policy(String),
    /// A Status error kube returns as it is, whatever the failure policy.
    Status(ApiError),
}

/// The object after an `ApplyConfiguration` mutation (kube's `ApplyStructuredMergeDiff`): the
/// configuration must convert to the resource's type (no undeclared field) and set no atomic
/// list, map or struct; it is then merged into `obj`.
pub fn apply_configuration(
    obj: &Value,
    result: &CelValue,
    info: &ResourceInfo,
) -> Result<Value, PatchError> {
    let mut config = mutation::apply_configuration(result).map_err(PatchError::Policy)?;
    let failed = |why: String| PatchError::Policy(format!("error applying patch: {why}"));
    // kube gives the patch the object's apiVersion and kind, whatever the literal said.
    if let Value::Object(m) = &mut config {
        for k in ["apiVersion", "kind"] {
            match obj.get(k) {
                Some(v) => m.insert(k.into(), v.clone()),
                None => m.remove(k),
            };
        }
    }
    let undeclared = undeclared_fields(&config, info);
    if !undeclared.is_empty() {
        let listed = match undeclared.as_slice() {
            [one] => one.clone(),
            many => format!("errors:\n  {}", many.join("\n  ")),
        };
        return Err(failed(format!(
            "failed to convert patch object to typed object: {listed}"
        )));
    }
    let shape = Shape::root(info);
    let atomics = managed::atomics(&config, shape);
    if !atomics.is_empty() {
        return Err(failed(format!(
            "invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: {}",
            atomics.join(", ")
        )));
    }
    managed::merge(obj, &config, shape).map_err(|e| failed(format!("failed to merge patch: {e}")))
}

/// The fields of an apply configuration its type does not declare, as structured-merge-diff
/// reports them (`.spec.foo: field not declared in schema`).
fn undeclared_fields(config: &Value, info: &ResourceInfo) -> Vec<String> {
    match &info.schema {
        Some(schema) => {
            let mut copy = config.clone();
            schema
                .prune(&mut copy)
                .into_iter()
                .map(|f| format!(".{f}: field not declared in schema"))
                .collect()
        }
        None if info.custom => Vec::new(),
        None => crate::validation::decode::check_apply(&info.api_version(), &info.kind, config)
            .into_iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect(),
    }
}

/// The object after a `JSONPatch` mutation (kube's `jsonPatcher.Patch`): a failed `test`
/// operation leaves the object as it was; any other failure is the policy's error. A built-in
/// object is decoded strictly afterwards, as kube's serializer does (an unknown field is kube's
/// internal error).
pub fn json_patch(
    obj: &Value,
    result: &CelValue,
    info: &ResourceInfo,
) -> Result<Value, PatchError> {
    let ops: Vec<Map<String, Value>> = mutation::json_patch(result).map_err(PatchError::Policy)?;
    let mut patched = obj.clone();
    if let Err(e) = crate::jsonpatch::apply(&mut patched, &ops) {
        if crate::jsonpatch::is_test_failure(&e) {
            return Ok(obj.clone());
        }
        return Err(PatchError::Policy(format!("JSON Patch: {e}")));
    }
    if !info.custom {
        let mut decoded = patched.clone();
        let d = crate::validation::decode::decode(&info.api_version(), &info.kind, &mut decoded);
        if let Some(e) = d.error {
            return Err(PatchError::Status(ApiError::internal(e)));
        }
        if !d.unknown.is_empty() {
            let listed: Vec<String> = d
                .unknown
                .iter()
                .map(|f| format!("unknown field {f:?}"))
                .collect();
            return Err(PatchError::Status(ApiError::internal(format!(
                "strict decoding error: {}",
                listed.join(", ")
            ))));
        }
    }
    Ok(patched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    /// Evaluates `text` in the environment of its own literals.
    fn value(text: &str) -> CelValue {
        let program = crd_schema::expr::compile(text).expect("compiles");
        let env = mutation::env(&mutation::struct_names(&program));
        program
            .execute(&crd_schema::expr::context_in(env))
            .expect("evaluates")
    }

    /// Evaluates `text` in the policy's environment.
    fn literal(p: &MutatingPolicy, text: &str) -> CelValue {
        let program = crd_schema::expr::compile(text).expect("compiles");
        program
            .execute(&crd_schema::expr::context_in(p.env.clone()))
            .expect("evaluates")
    }

    fn deployments() -> Arc<ResourceInfo> {
        Catalog::builtin()
            .by_kind("apps", "v1", "Deployment")
            .cloned()
            .expect("served")
    }

    fn policy(mutations: Value) -> MutatingPolicy {
        MutatingPolicy::compile(&json!({"metadata": {"name": "p"}, "spec": {
            "reinvocationPolicy": "IfNeeded",
            "variables": [{"name": "v", "expression": "Object.spec{replicas: 1}"}],
            "mutations": mutations
        }}))
    }

    #[test]
    fn a_policy_compiles_its_mutations_and_an_env_for_its_literals() {
        let p = policy(json!([
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{spec: Object.spec{paused: true}}"}},
            {"patchType": "JSONPatch", "jsonPatch": {"expression": "[JSONPatch{op: 'remove', path: '/x'}]"}},
            {"patchType": "JSONPatch"}
        ]));
        assert!(p.reinvoke);
        assert_eq!(p.declared_mutations, 3);
        assert_eq!(
            p.mutations.len(),
            2,
            "a mutation without its expression has no patcher"
        );
        assert_eq!(p.mutations[1].patch_type, PatchType::JsonPatch);
        assert_eq!(p.failure_policy, FailurePolicy::Fail);
        // The literals of the variables and the mutations are known to the policy's env.
        assert!(matches!(
            literal(&p, "Object.spec{replicas: 1}"),
            CelValue::Struct(_)
        ));
        assert!(matches!(
            literal(&p, "[JSONPatch{op: 'add'}]"),
            CelValue::List(_)
        ));
    }

    #[test]
    fn an_apply_configuration_merges_by_key_and_refuses_atomics_and_unknown_fields() {
        let info = deployments();
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]},
                {"name": "b", "image": "y"}]}}}});
        let config = value(
            "Object{metadata: Object.metadata{labels: {'b': '2'}}, spec: Object.spec{template: Object.spec.template{spec: \
             Object.spec.template.spec{containers: [Object.spec.template.spec.containers{name: 'a', \
             env: [Object.spec.template.spec.containers.env{name: 'B', value: '2'}]}]}}}}",
        );
        let merged = apply_configuration(&obj, &config, &info).expect("merges");
        assert_eq!(merged["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "b", "image": "y"}
            ])
        );
        assert_eq!(merged["spec"]["replicas"], 2);

        let atomic = value(
            "Object{spec: Object.spec{selector: Object.spec.selector{matchLabels: {'a': 'b'}}}}",
        );
        match apply_configuration(&obj, &atomic, &info) {
            Err(PatchError::Policy(m)) => assert_eq!(
                m,
                "error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: .spec.selector"
            ),
            other => panic!("{other:?}"),
        }
        let unknown = value("Object{spec: Object.spec{nope: 1}}");
        match apply_configuration(&obj, &unknown, &info) {
            Err(PatchError::Policy(m)) => assert_eq!(
                m,
                "error applying patch: failed to convert patch object to typed object: .spec.nope: field not declared in schema"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_json_patch_applies_skips_on_a_failed_test_and_decodes_strictly() {
        let info = deployments();
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}});
        let ops = value(
            "[JSONPatch{op: 'replace', path: '/spec/replicas', value: 5}, \
              JSONPatch{op: 'add', path: '/metadata/labels', value: {'example.com/a': 'x'}}]",
        );
        let patched = json_patch(&obj, &ops, &info).expect("applies");
        assert_eq!(patched["spec"]["replicas"], 5);
        assert_eq!(patched["metadata"]["labels"]["example.com/a"], "x");

        let failed_test = value(
            "[JSONPatch{op: 'replace', path: '/spec/replicas', value: 5}, JSONPatch{op: 'test', path: '/spec/replicas', value: 9}]",
        );
        assert_eq!(
            json_patch(&obj, &failed_test, &info).expect("unchanged"),
            obj
        );

        let missing = value("[JSONPatch{op: 'remove', path: '/spec/nope'}]");
        match json_patch(&obj, &missing, &info) {
            Err(PatchError::Policy(m)) => assert!(m.starts_with("JSON Patch: "), "{m}"),
            other => panic!("{other:?}"),
        }
        let unknown = value("[JSONPatch{op: 'add', path: '/spec/nope', value: 1}]");
        match json_patch(&obj, &unknown, &info) {
            Err(PatchError::Status(e)) => {
                assert_eq!(e.code, 500);
                assert_eq!(
                    e.message,
                    "Internal error occurred: strict decoding error: unknown field \"spec.nope\""
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
