//! Validates, defaults and prunes objects against CustomResourceDefinition structural schemas, including CEL rules.
//!
//! [`Schema::compile`] takes one CRD version's `openAPIV3Schema`, rejects it the way
//! kube-apiserver rejects a CRD (non-structural, bad pattern, bad CEL rule, ...) and keeps a
//! compiled tree. The API server then, for each create or update of a custom resource:
//!
//! 1. [`Schema::prune`] the decoded object (the paths it returns are the unknown fields that
//!    `fieldValidation=Strict` rejects and `Warn` reports);
//! 2. [`Schema::apply_defaults`];
//! 3. [`Schema::validate`] with the previous object on update, answering 422 Invalid with one
//!    cause per [`FieldError`] (reason [`ErrorKind::reason`], message [`FieldError::message`]).
//!
//! For `/openapi/v3`, [`openapi_v3_component`] and [`openapi_v3_list_component`] build the
//! component schemas kube-apiserver publishes for a CRD version, named by [`openapi_model_name`].
//!
//! The root's `apiVersion`, `kind` and `metadata` are left to the API server, except that schema
//! constraints on `metadata.name`/`metadata.generateName` are checked. Wording and paths follow
//! Kubernetes 1.37 (apiextensions-apiserver, kube-openapi and apimachinery sources).

mod cel_cache;
mod cel_rules;
mod error;
pub mod expr;
mod formats;
mod k8s_cel;
mod mutate;
pub mod mutation;
mod node;
mod openapi;
mod validate;

use serde_json::Value;

pub use cel_cache::{ExpressionCache, keep_expressions_in};
pub use cel_rules::CEL_RESERVED;
pub use error::{ErrorKind, FieldError, SchemaError, go_is_print, go_quote};
pub use openapi::{openapi_model_name, openapi_v3_component, openapi_v3_list_component};
pub use validate::Checked;

/// Stack for the thread that compiles CEL rules: room for cel's deepest accepted expression in a
/// debug build, with margin; only the pages used are committed.
pub(crate) const COMPILE_STACK_BYTES: usize = 64 << 20;

/// Bracket nesting up to which cel's parser fits in a 2 MiB stack even in a debug build (measured:
/// 10 nested parentheses fit, 20 do not), so ordinary rules compile without a thread.
const SHALLOW_NESTING: usize = 8;
/// Longer rule texts take the thread too: long operator chains also recurse.
const SHALLOW_LENGTH: usize = 1000;

/// Whether some CEL text in the schema (a rule or message expression) is deep enough to need
/// the large-stack compile thread.
fn has_deep_rules(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| match (k.as_str(), x) {
            ("x-kubernetes-validations", Value::Array(rules)) => rules.iter().any(|r| {
                ["rule", "messageExpression"]
                    .iter()
                    .any(|f| r.get(f).and_then(Value::as_str).is_some_and(is_deep))
            }),
            _ => has_deep_rules(x),
        }),
        Value::Array(a) => a.iter().any(has_deep_rules),
        _ => false,
    }
}

pub(crate) fn is_deep(text: &str) -> bool {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max > SHALLOW_NESTING || text.len() > SHALLOW_LENGTH
}

/// A compiled structural schema of one CRD version. Cheap to share: wrap it in an `Arc`.
pub struct Schema {
    root: node::Node,
    env: cel_rules::CelEnv,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").finish_non_exhaustive()
    }
}

impl Schema {
    /// Compiles an `openAPIV3Schema`. Fails with one cause per problem, pathed from
    /// `openAPIV3Schema` (e.g. `openAPIV3Schema.properties[spec].type: Required value: must not
    /// be empty for specified object fields`), sorted like kube-apiserver sorts them.
    pub fn compile(open_api_v3_schema: &Value) -> Result<Schema, SchemaError> {
        if !has_deep_rules(open_api_v3_schema) {
            return Self::compile_here(open_api_v3_schema);
        }
        // cel's parser recurses deeply (over 100 KiB of stack per nested parenthesis in a debug
        // build): on a tokio worker's 2 MiB stack a rule nested 20 deep would abort the process.
        // A dedicated thread with a large stack (reserved, not committed) parses any rule the
        // parser's own depth limit (96) accepts.
        let spawned = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("crd-schema-compile".into())
                .stack_size(COMPILE_STACK_BYTES)
                .spawn_scoped(scope, || Self::compile_here(open_api_v3_schema))
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
        });
        // If no thread can be started, compiling here is still right for ordinary rules.
        spawned.unwrap_or_else(|_| Self::compile_here(open_api_v3_schema))
    }

    fn compile_here(open_api_v3_schema: &Value) -> Result<Schema, SchemaError> {
        let env = cel_rules::new_env();
        let mut compiler = node::Compiler {
            errs: Vec::new(),
            env: &env,
            uncorrelatable: None,
        };
        let root = compiler.compile_root(open_api_v3_schema);
        let mut causes = compiler.errs;
        if causes.is_empty() {
            // Defaults are only checked against a schema that compiled.
            validate::check_defaults(&root, &env, "openAPIV3Schema", &mut causes);
        }
        if !causes.is_empty() {
            causes.sort_by_key(ToString::to_string);
            causes.dedup();
            return Err(SchemaError::Invalid { causes });
        }
        Ok(Schema { root, env })
    }

    /// Removes fields the schema does not know (honouring `x-kubernetes-preserve-unknown-fields`,
    /// `additionalProperties` and embedded resources) and `null`s that are neither nullable nor
    /// defaulted. Returns the removed unknown fields' paths, sorted, like `spec.foo` or
    /// `spec.items[0].bar`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        mutate::prune_root(&self.root, obj)
    }

    /// Fills in `default` values, including inside objects that defaults created.
    pub fn apply_defaults(&self, obj: &mut Value) {
        mutate::apply_defaults(obj, &self.root);
    }

    /// Validates `obj`; `old` is the stored object on update (enables transition rules using
    /// `oldSelf` and validation ratcheting). Returns no errors when the object is valid.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.check(obj, old).errors
    }

    /// [`Schema::validate`] with the warnings kube-apiserver answers besides the errors: the
    /// failures that validation ratcheting lets through on update.
    pub fn check(&self, obj: &Value, old: Option<&Value>) -> Checked {
        validate::validate(&self.root, &self.env, obj, old)
    }

    /// Validates a write to the `status` subresource the way kube-apiserver's status strategy
    /// does: the schema is checked for `.status` only (so an invalid stored spec does not block
    /// status writes), list types and CEL rules for the whole object (spec rules still see the
    /// unchanged spec). Messages name status fields relative to `status` (`phase in body ...`).
    pub fn validate_status_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        self.check_status_update(obj, old).errors
    }

    /// [`Schema::validate_status_update`] with the warnings of ratcheted rules.
    pub fn check_status_update(&self, obj: &Value, old: &Value) -> Checked {
        validate::validate_status_update(&self.root, &self.env, obj, old)
    }
}

#[cfg(test)]
mod tests {
    /// The API server shares compiled schemas between request tasks.
    #[test]
    fn schema_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Schema>();
        assert_send_sync::<super::SchemaError>();
        assert_send_sync::<super::FieldError>();
    }
}
