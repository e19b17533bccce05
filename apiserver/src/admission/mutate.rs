//! The MutatingAdmissionPolicy stage (kube's generic `policyDispatcher.Dispatch` and the
//! mutating `dispatcher.dispatchInvocations`): for a create or update, every bound policy that
//! matches is invoked once per param of each matching binding, in policy then binding name
//! order (kube walks a map of policies, so its order is not defined; a fixed one makes the
//! outcome of policies that touch the same field reproducible); its
//! match conditions decide whether it runs, then its mutations change the object one after the
//! other, each result decoded and defaulted again. Errors follow the policy's failure policy:
//! under `Fail` the request is refused with kube's `policy '...' with binding '...' denied
//! request: ...`.
//!
//! Reinvocation (`reinvocationPolicy: IfNeeded`) follows kube's `policyReinvokeContext`: a
//! policy that ran before a later policy (or, at the end of the stage, a webhook) changed the
//! object is run once more, in a second round.

use std::sync::Arc;

use crd_schema::expr::{self, CelValue};
use serde_json::Value;

use super::dispatch::{
    EXEMPT, GROUP, Selectable, Selected, Snapshot, as_version, namespace_object, select,
};
use super::evaluate::{self, Inputs};
use super::mutating::{self, MutatingCache, PatchError, PatchType};
use super::policy::{FailurePolicy, MatchResources, ParamKind};
use super::request::Attributes;
use super::versioned;
use crate::catalog::ResourceInfo;
use crate::meta::meta_str;
use crate::status::{ApiError, Cause, Details};

/// Store keys of the policies and their bindings.
pub const POLICIES_KEY: &str = "admissionregistration.k8s.io/mutatingadmissionpolicies";
pub const BINDINGS_KEY: &str = "admissionregistration.k8s.io/mutatingadmissionpolicybindings";

/// One invocation's identity (kube's reinvocation `key`): policy, binding and param.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    policy: String,
    binding: String,
    param: Option<(String, String)>,
}

/// What one write's mutating policy stage remembers between its rounds (kube's
/// `policyReinvokeContext`).
#[derive(Debug, Default)]
pub struct Reinvocation {
    /// Invocations of `IfNeeded` policies made since the object last changed.
    previously_invoked: Vec<Key>,
    /// Invocations to run again in the second round.
    reinvoke: Vec<Key>,
    /// The object as the first round left it.
    last_output: Option<Value>,
}

impl Reinvocation {
    /// Whether a second round is due for `obj` (what the rest of the mutating stage made of the
    /// first round's output).
    pub fn wanted(&self, obj: &Value) -> bool {
        // kube's chain runs the round whenever a policy changed the object, but only these
        // invocations can run in it.
        let changed_since = self.last_output.as_ref().is_some_and(|last| last != obj);
        !self.reinvoke.is_empty() || (changed_since && !self.previously_invoked.is_empty())
    }

    /// Moves the invoked `IfNeeded` policies to the ones to run again.
    fn require_reinvoking(&mut self) {
        self.reinvoke.append(&mut self.previously_invoked);
    }
}

/// A policy error (kube's `generic.PolicyError`): the message names the policy and, for an
/// invocation's error, its binding.
struct PolicyError {
    failure_policy: FailurePolicy,
    message: String,
    /// `Invalid` for an invocation's error; None (Forbidden) for a configuration error.
    reason: Option<&'static str>,
}

fn policy_error(
    policy: &str,
    failure_policy: FailurePolicy,
    binding: Option<&str>,
    reason: Option<&'static str>,
    why: &str,
) -> PolicyError {
    let message = match binding {
        Some(b) => format!("policy '{policy}' with binding '{b}' denied request: {why}"),
        None => format!("policy {policy:?} denied request: {why}"),
    };
    PolicyError {
        failure_policy,
        message,
        reason,
    }
}

/// kube's refusal: `admission.NewForbidden` whose message and reason become the first error's,
/// with one cause per error.
fn refusal(a: &Attributes<'_>, errors: &[&PolicyError]) -> ApiError {
    let name = a.name_for_errors();
    let mut e = ApiError::forbidden(
        a.info.group_resource(),
        &name,
        "admission request denied by policy",
    );
    if let Some(first) = errors.first() {
        e.message = first.message.clone();
        if let Some(reason) = first.reason {
            e.reason = reason.into();
        }
    }
    let details = e.details.get_or_insert_with(Box::<Details>::default);
    for err in errors {
        details.causes.push(Cause::new("", "", err.message.clone()));
    }
    e
}

impl Selectable for mutating::MutatingPolicy {
    fn param_kind(&self) -> Option<&ParamKind> {
        self.param_kind.as_ref()
    }
    fn match_constraints(&self) -> Option<&MatchResources> {
        self.match_constraints.as_ref()
    }
}

/// One policy × binding × param to run.
struct Invocation<'s> {
    policy: Arc<mutating::MutatingPolicy>,
    binding: &'s str,
    param: Option<Value>,
    /// The equivalent resource the policy matched, when not the request's own.
    matched: Option<Arc<ResourceInfo>>,
}

/// Runs the mutating admission policies on `obj`, the object of the write `a` (whose `object`
/// is not read: `obj` is the current one). `second_round` runs only the invocations the first
/// one marked for reinvocation. `normalize` decodes and defaults a changed object as the store
/// decodes a request body. Returns the refusal, if any.
pub fn mutate(
    snapshot: &Snapshot<'_>,
    cache: &mut MutatingCache,
    a: &Attributes<'_>,
    obj: &mut Value,
    state: &mut Reinvocation,
    second_round: bool,
    normalize: &dyn Fn(&mut Value) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    // The common case, a server without bindings, costs one map lookup.
    let Some(bindings) = snapshot.all(BINDINGS_KEY) else {
        return Ok(());
    };
    if a.info.group == GROUP && EXEMPT.contains(&a.info.plural.as_str()) {
        return Ok(());
    }
    let policies = snapshot.all(POLICIES_KEY);
    if let Some(stored) = policies {
        cache.sweep(stored);
    }
    let namespace = snapshot.namespace_of(a);
    let current = Attributes {
        object: Some(&*obj),
        ..*a
    };
    // kube's generic dispatcher: its configuration errors come first, then the invocations'.
    let mut errors: Vec<PolicyError> = Vec::new();
    let mut invocations: Vec<Invocation<'_>> = Vec::new();
    for selected in select(snapshot, &current, bindings, policies, |p| cache.get(p)) {
        match selected {
            Selected::ConfigError {
                policy,
                binding,
                message,
            } => errors.push(policy_error(
                &policy.name,
                policy.failure_policy,
                binding,
                None,
                &message,
            )),
            Selected::Bound {
                policy,
                binding,
                params,
                matched,
            } => invocations.extend(params.into_iter().map(|param| Invocation {
                policy: policy.clone(),
                binding: meta_str(binding, "name"),
                param,
                matched: matched.clone(),
            })),
        }
    }
    // kube's mutating dispatcher: each invocation in turn on the object as it is now.
    if second_round && state.last_output.as_ref() != Some(&*obj) {
        // Something after the first round (a webhook) changed the object.
        state.require_reinvoking();
    }
    let namespace_object = namespace_object(namespace);
    for inv in &invocations {
        let policy = &inv.policy;
        let matched: &ResourceInfo = inv.matched.as_deref().unwrap_or(a.info);
        // The type of the object in the matched version (a subresource's own kind, e.g. Scale).
        let typed = a.object_type_for(matched);
        if policy.mutations.len() != policy.declared_mutations {
            // kube's compiler makes a patcher per mutation; validation refuses the others.
            return Err(ApiError::internal(format!(
                "expected {} compiled evaluators for policy {}, got {}",
                policy.declared_mutations,
                policy.name,
                policy.mutations.len()
            )));
        }
        let invocation_error = |errors: &mut Vec<PolicyError>, why: &str| {
            errors.push(policy_error(
                &policy.name,
                policy.failure_policy,
                Some(inv.binding),
                Some("Invalid"),
                why,
            ));
        };
        let current = Attributes {
            object: Some(&*obj),
            ..*a
        };
        let mut inputs = Inputs {
            object: as_version(Some(&*obj), typed),
            old_object: as_version(a.old_object, typed),
            params: inv.param.as_ref().map_or(CelValue::Null, expr::from_json),
            request: expr::from_json(&current.request_value(matched)),
            namespace_object: namespace_object.clone(),
            authorizer: current.authorizer(),
        };
        if !policy.match_conditions.is_empty() {
            match evaluate::mutating_match_conditions(
                &policy.match_conditions,
                &policy.variables,
                &inputs,
                &policy.env,
            ) {
                Ok(true) => {}
                Ok(false) => continue,
                // kube's matcher fails open under `Ignore` without an error.
                Err(_) if policy.failure_policy == FailurePolicy::Ignore => continue,
                Err(e) => {
                    invocation_error(&mut errors, &e);
                    continue;
                }
            }
        }
        let key = Key {
            policy: policy.name.clone(),
            binding: inv.binding.to_owned(),
            param: inv.param.as_ref().map(|p| {
                (
                    meta_str(p, "namespace").to_owned(),
                    meta_str(p, "name").to_owned(),
                )
            }),
        };
        if second_round && !state.reinvoke.contains(&key) {
            continue;
        }
        let before = obj.clone();
        for m in &policy.mutations {
            inputs.object = as_version(Some(&*obj), typed);
            let result =
                match evaluate::mutation(&m.expression, &policy.variables, &inputs, &policy.env) {
                    Ok(v) => v,
                    Err(e) => {
                        invocation_error(&mut errors, &e);
                        continue;
                    }
                };
            // The policy sees, and patches, the object in the version it matched; the result
            // goes back to the form admission holds (kube's `VersionedAttributes`).
            let matched_version = typed.api_version();
            let stored = obj
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(&matched_version)
                .to_owned();
            let versioned = versioned::to_version(obj, &matched_version);
            let patched = match m.patch_type {
                PatchType::ApplyConfiguration => {
                    mutating::apply_configuration(&versioned, &result, typed)
                }
                PatchType::JsonPatch => mutating::json_patch(&versioned, &result, typed),
            };
            let patched = match patched {
                Ok(p) => p,
                Err(PatchError::Status(e)) => return Err(e),
                Err(PatchError::Policy(why)) => {
                    invocation_error(&mut errors, &why);
                    continue;
                }
            };
            if patched == versioned {
                continue;
            }
            let mut patched = versioned::from_version(patched, &matched_version, &stored);
            normalize(&mut patched)?;
            *obj = patched;
        }
        if *obj != before {
            // kube: a change makes every reinvocable policy invoked so far run again.
            state.require_reinvoking();
        }
        if policy.reinvoke && !second_round {
            state.previously_invoked.push(key);
        }
    }
    if !second_round {
        state.last_output = Some(obj.clone());
    }
    let failing: Vec<&PolicyError> = errors
        .iter()
        .filter(|e| e.failure_policy == FailurePolicy::Fail)
        .collect();
    if failing.is_empty() {
        Ok(())
    } else {
        Err(refusal(a, &failing))
    }
}
