//! The validating admission stage (kube's ValidatingAdmissionPolicy plugin and its dispatcher):
//! for a write, every bound policy that matches is evaluated once per param of each matching
//! binding, and the binding's `validationActions` turn failures into a refusal (Deny), a
//! `Warning` header (Warn) or nothing but a record (Audit). Also the selection both policy
//! plugins share (kube's generic policy dispatcher: policies, bindings, matching, params).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crd_schema::expr::{self, CelValue};
use serde_json::{Value, json};

use super::evaluate::{self, Annotation, Inputs};
use super::matching::{self, Matched};
use super::policy::{Cache, CompiledPolicy, FailurePolicy, MatchResources, ParamKind};
use super::request::Attributes;
use crate::catalog::{Catalog, ResourceInfo};
use crate::meta::meta_str;
use crate::status::{ApiError, Cause, Details};
use crate::store::{ObjKey, Stored};

/// The group of the admission registration types.
pub(super) const GROUP: &str = "admissionregistration.k8s.io";
/// Store keys of the policies and their bindings.
pub const POLICIES_KEY: &str = "admissionregistration.k8s.io/validatingadmissionpolicies";
pub const BINDINGS_KEY: &str = "admissionregistration.k8s.io/validatingadmissionpolicybindings";

/// Resources no API-defined policy applies to: the CEL admission configuration itself (a
/// policy must not lock its own fix out, kube's `admissionResources`).
pub(super) const EXEMPT: &[&str] = &[
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
];

/// The objects admission reads: the policies, bindings, params and namespaces, as of the
/// write being admitted (the store's lock is held).
pub struct Snapshot<'s> {
    pub objects: &'s HashMap<Arc<str>, BTreeMap<ObjKey, Arc<Stored>>>,
    pub catalog: &'s Catalog,
    /// Where Services the server calls are served (`ApiServer::route_service`).
    pub service_routes: &'s BTreeMap<ObjKey, std::net::SocketAddr>,
}

impl Snapshot<'_> {
    pub(super) fn all(&self, key: &str) -> Option<&BTreeMap<ObjKey, Arc<Stored>>> {
        self.objects.get(key).filter(|m| !m.is_empty())
    }

    pub(super) fn get(&self, key: &str, ns: &str, name: &str) -> Option<&Arc<Stored>> {
        self.objects
            .get(key)?
            .get(&(ns.to_owned(), name.to_owned()))
    }

    /// The stored Namespace of a namespaced request (None for cluster-scoped ones and for a
    /// Namespace itself, which selectors match by its own labels).
    pub(super) fn namespace_of(&self, a: &Attributes<'_>) -> Option<&Value> {
        let is_namespace = a.info.group.is_empty() && a.info.plural == "namespaces";
        if a.namespace.is_empty() || is_namespace {
            return None;
        }
        self.get("/namespaces", "", a.namespace).map(|s| s.value())
    }

    /// The served resource of a paramKind (its version, its kind).
    fn param_resource(&self, pk: &ParamKind) -> Option<Arc<ResourceInfo>> {
        let (g, v) = pk.group_version();
        self.catalog.by_kind(g, v, &pk.kind).cloned()
    }
}

/// What admission lets through: the warnings of Warn bindings and the audit records (audit
/// annotations and Audit failures), which this server keeps only in its debug log.
#[derive(Debug, Default)]
pub struct Admitted {
    pub warnings: Vec<String>,
}

/// A refusal (kube's `policyDecisionWithMetadata`).
struct Denial {
    policy: String,
    binding: Option<String>,
    message: String,
    reason: Option<&'static str>,
}

/// The reason's HTTP code, kube's `reasonToCode`.
fn reason_code(reason: &str) -> u16 {
    match reason {
        "Forbidden" => 403,
        "Unauthorized" => 401,
        "RequestEntityTooLarge" => 413,
        _ => 422,
    }
}

/// The refusal kube builds: `admission.NewForbidden` with the decision's reason and code and
/// the message repeated as the one cause.
fn refusal(a: &Attributes<'_>, d: &Denial) -> ApiError {
    let message = match &d.binding {
        Some(b) => format!(
            "ValidatingAdmissionPolicy '{}' with binding '{b}' denied request: {}",
            d.policy, d.message
        ),
        None => format!(
            "ValidatingAdmissionPolicy '{}' denied request: {}",
            d.policy, d.message
        ),
    };
    let name = a.name_for_errors();
    let mut e = ApiError::forbidden(a.info.group_resource(), &name, &message);
    let reason = d.reason.unwrap_or("Invalid");
    e.reason = reason.into();
    e.code = reason_code(reason);
    let details = e.details.get_or_insert_with(Box::<Details>::default);
    details.causes.push(Cause::new("", "", message));
    e
}

/// The `namespaceObject` variable (kube's `CreateNamespaceObject`: spec, status and part of
/// the metadata).
pub(super) fn namespace_object(ns: Option<&Value>) -> CelValue {
    let Some(ns) = ns else {
        return CelValue::Null;
    };
    let mut meta = serde_json::Map::new();
    // Every ObjectMeta field but selfLink and managedFields, as kube copies them.
    for &k in crate::order::OBJECT_META
        .iter()
        .filter(|k| !matches!(**k, "selfLink" | "managedFields"))
    {
        if let Some(v) = ns.pointer(&format!("/metadata/{k}")) {
            meta.insert(k.into(), v.clone());
        }
    }
    let mut o = json!({"metadata": meta});
    for k in ["spec", "status"] {
        if let Some(v) = ns.get(k) {
            o[k] = v.clone();
        }
    }
    expr::from_json(&o)
}

/// The params of a binding (kube's `CollectParams`): `[None]` without paramKind or paramRef.
fn collect_params(
    snapshot: &Snapshot<'_>,
    param: Option<&(ParamKind, Arc<ResourceInfo>)>,
    param_ref: Option<&Value>,
    namespace: &str,
) -> Result<Vec<Option<Value>>, String> {
    let (Some((_, info)), Some(param_ref)) = (param, param_ref.filter(|r| r.is_object())) else {
        return Ok(vec![None]);
    };
    let text = |k: &str| param_ref.get(k).and_then(Value::as_str).unwrap_or("");
    let ref_ns = text("namespace");
    let ns = if info.namespaced {
        if !ref_ns.is_empty() {
            ref_ns
        } else if !namespace.is_empty() {
            namespace
        } else {
            return Err(
                "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                    .into(),
            );
        }
    } else if !ref_ns.is_empty() {
        return Err(
            "paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into(),
        );
    } else {
        ""
    };
    let key = info.store_key();
    let selector = param_ref.get("selector").filter(|s| !s.is_null());
    let params: Vec<Option<Value>> = if !text("name").is_empty() {
        if selector.is_some() {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".into());
        }
        snapshot
            .get(&key, ns, text("name"))
            .map(|s| Some(s.value().clone()))
            .into_iter()
            .collect()
    } else if let Some(sel) = selector {
        snapshot
            .all(&key)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|((obj_ns, _), _)| !info.namespaced || obj_ns == ns)
            .filter(|(_, s)| {
                crate::validation::selector::matches(sel, s.value().pointer("/metadata/labels"))
            })
            .map(|(_, s)| Some(s.value().clone()))
            .collect()
    } else {
        return Err("one of name or selector must be provided".into());
    };
    if params.is_empty() && text("parameterNotFoundAction") == "Deny" {
        return Err(
            "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
        );
    }
    Ok(params)
}

/// The object as the matched version shows it (`versioned::to_version`).
pub(super) fn as_version(obj: Option<&Value>, info: &ResourceInfo) -> CelValue {
    match obj {
        None => CelValue::Null,
        Some(o) => expr::from_json(&super::versioned::to_version(o, &info.api_version())),
    }
}

/// What a plugin's compiled policy offers the selection of its invocations.
pub(super) trait Selectable {
    fn param_kind(&self) -> Option<&ParamKind>;
    /// None: the policy has no `matchConstraints`.
    fn match_constraints(&self) -> Option<&MatchResources>;
}

impl Selectable for CompiledPolicy {
    fn param_kind(&self) -> Option<&ParamKind> {
        self.param_kind.as_ref()
    }
    fn match_constraints(&self) -> Option<&MatchResources> {
        self.match_constraints.as_ref()
    }
}

/// One outcome of kube's generic policy dispatcher (`policyDispatcher.Dispatch`), in policy
/// then binding name order.
pub(super) enum Selected<'s, P> {
    /// The policy's (`binding` None) or a binding's configuration error, with kube's
    /// `failed to configure policy: ` or `failed to configure binding: ` prefix.
    ConfigError {
        policy: Arc<P>,
        binding: Option<&'s str>,
        message: String,
    },
    /// A binding that matches the request, with its params (`[None]` without paramKind) and
    /// the equivalent resource the policy matched when not the request's own.
    Bound {
        policy: Arc<P>,
        binding: &'s Value,
        params: Vec<Option<Value>>,
        matched: Option<Arc<ResourceInfo>>,
    },
}

/// Selects the invocations of a policy plugin for the write `a`: each policy named by one of
/// `bindings` (a binding whose policy does not exist is skipped, as kube's policy source does)
/// that matches, each of its bindings that matches, and their params. `compile` gives a stored
/// policy's compiled form.
pub(super) fn select<'s, P: Selectable>(
    snapshot: &'s Snapshot<'_>,
    a: &Attributes<'_>,
    bindings: &'s BTreeMap<ObjKey, Arc<Stored>>,
    policies: Option<&'s BTreeMap<ObjKey, Arc<Stored>>>,
    mut compile: impl FnMut(&Value) -> Arc<P>,
) -> Vec<Selected<'s, P>> {
    let mut by_policy: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for b in bindings.values() {
        let policy = b
            .value()
            .pointer("/spec/policyName")
            .and_then(Value::as_str)
            .unwrap_or("");
        by_policy.entry(policy).or_default().push(b.value());
    }
    let namespace = snapshot.namespace_of(a);
    let mut out = Vec::new();
    for (policy_name, bindings) in by_policy {
        let Some(stored) = policies.and_then(|p| p.get(&(String::new(), policy_name.to_owned())))
        else {
            continue;
        };
        let policy = compile(stored.value());
        let config_error = |binding: Option<&'s str>, why: String| Selected::ConfigError {
            policy: policy.clone(),
            binding,
            message: match binding {
                None => format!("failed to configure policy: {why}"),
                Some(_) => format!("failed to configure binding: {why}"),
            },
        };
        let Some(constraints) = policy.match_constraints() else {
            out.push(config_error(
                None,
                "policy contained no match constraints, a required field".into(),
            ));
            continue;
        };
        let matched = match matching::matches(constraints, a, namespace, snapshot.catalog) {
            Ok(Matched::No) => continue,
            Ok(Matched::Yes(eq)) => eq,
            Err(e) => {
                out.push(config_error(None, e));
                continue;
            }
        };
        let param = match policy.param_kind() {
            None => None,
            Some(pk) => match snapshot.param_resource(pk) {
                Some(info) => Some((pk.clone(), info)),
                None => {
                    out.push(config_error(
                        None,
                        format!(
                            "failed to find resource referenced by paramKind: '{}'",
                            pk.gvk_string()
                        ),
                    ));
                    continue;
                }
            },
        };
        let mut sorted = bindings;
        sorted.sort_by_key(|b| meta_str(b, "name"));
        for binding in sorted {
            let binding_name = meta_str(binding, "name");
            let spec = binding.get("spec").unwrap_or(&Value::Null);
            if let Some(m) = spec.get("matchResources").filter(|m| m.is_object()) {
                match matching::matches(&MatchResources::parse(m), a, namespace, snapshot.catalog) {
                    Ok(Matched::Yes(_)) => {}
                    Ok(Matched::No) => continue,
                    Err(e) => {
                        out.push(config_error(Some(binding_name), e));
                        continue;
                    }
                }
            }
            out.push(
                match collect_params(snapshot, param.as_ref(), spec.get("paramRef"), a.namespace) {
                    Ok(params) => Selected::Bound {
                        policy: policy.clone(),
                        binding,
                        params,
                        matched: matched.clone(),
                    },
                    Err(e) => config_error(Some(binding_name), e),
                },
            );
        }
    }
    out
}

/// Runs validating admission for the write `a`. Returns the warnings to send, or the refusal.
pub fn admit(
    snapshot: &Snapshot<'_>,
    cache: &mut Cache,
    a: &Attributes<'_>,
) -> Result<Admitted, ApiError> {
    // The common case, a server without bindings, costs one map lookup.
    let Some(bindings) = snapshot.all(BINDINGS_KEY) else {
        return Ok(Admitted::default());
    };
    if a.info.group == GROUP && EXEMPT.contains(&a.info.plural.as_str()) {
        return Ok(Admitted::default());
    }
    let policies = snapshot.all(POLICIES_KEY);
    if let Some(stored) = policies {
        // Forget compiled policies that were deleted.
        cache.sweep(stored);
    }
    let namespace = snapshot.namespace_of(a);
    let mut denials = Vec::new();
    let mut admitted = Admitted::default();
    // The CEL inputs, converted once per request and matched resource (not once per policy):
    // the object's conversion (managedFields included) is most of an evaluation's cost.
    let mut converted: Vec<(String, Inputs)> = Vec::new();
    for selected in select(snapshot, a, bindings, policies, |p| cache.get(p)) {
        let (policy, binding, params, matched) = match selected {
            Selected::ConfigError {
                policy,
                binding,
                message,
            } => {
                if policy.failure_policy == FailurePolicy::Fail {
                    denials.push(Denial {
                        policy: policy.name.clone(),
                        binding: binding.map(str::to_owned),
                        message,
                        reason: None,
                    });
                }
                continue;
            }
            Selected::Bound {
                policy,
                binding,
                params,
                matched,
            } => (policy, binding, params, matched),
        };
        let matched_info: &ResourceInfo = matched.as_deref().unwrap_or(a.info);
        let binding_name = meta_str(binding, "name");
        let actions: Vec<&str> = binding
            .pointer("/spec/validationActions")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for param in params {
            let key = matched_info.api_version();
            let at = match converted.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    converted.push((
                        key,
                        Inputs {
                            object: as_version(a.object, a.object_type_for(matched_info)),
                            old_object: as_version(a.old_object, a.object_type_for(matched_info)),
                            params: CelValue::Null,
                            request: expr::from_json(&a.request_value(matched_info)),
                            namespace_object: namespace_object(namespace),
                            authorizer: a.authorizer(),
                        },
                    ));
                    converted.len() - 1
                }
            };
            let inputs = &mut converted[at].1;
            inputs.params = param.as_ref().map_or(CelValue::Null, expr::from_json);
            let outcome = evaluate::validate(&policy, inputs);
            for (index, d) in outcome.decisions.iter().enumerate() {
                if !d.deny {
                    continue;
                }
                for action in &actions {
                    match *action {
                        "Deny" => denials.push(Denial {
                            policy: policy.name.clone(),
                            binding: Some(binding_name.to_owned()),
                            message: d.message.clone(),
                            reason: d.reason,
                        }),
                        "Warn" => admitted.warnings.push(format!(
                            "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{binding_name}': {}",
                            policy.name, d.message
                        )),
                        "Audit" => tracing::info!(
                            policy = %policy.name,
                            binding = binding_name,
                            expression_index = index,
                            message = %d.message,
                            "validation.policy.admission.k8s.io/validation_failure"
                        ),
                        _ => {}
                    }
                }
            }
            record_annotations(&policy, binding_name, &outcome.annotations, &mut denials);
        }
    }
    match denials.first() {
        Some(d) => Err(refusal(a, d)),
        None => Ok(admitted),
    }
}

/// Audit annotations: published ones go to the debug log (this server keeps no audit log); an
/// evaluation error under `failurePolicy: Fail` refuses the request whatever the binding's
/// actions are, as in kube.
fn record_annotations(
    policy: &CompiledPolicy,
    binding: &str,
    annotations: &[Annotation],
    denials: &mut Vec<Denial>,
) {
    for a in annotations {
        match a {
            Annotation::Publish(key, value) => tracing::info!(
                annotation = %format!("{}/{key}", policy.name),
                value = %value,
                "admission policy audit annotation"
            ),
            Annotation::Exclude => {}
            Annotation::Error(message) => denials.push(Denial {
                policy: policy.name.clone(),
                binding: Some(binding.to_owned()),
                message: message.clone(),
                reason: None,
            }),
        }
    }
}
