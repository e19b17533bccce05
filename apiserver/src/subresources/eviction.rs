//! Serves `pods/eviction` (POST a `policy/v1` `Eviction`), as kube's `EvictionREST`: the Eviction
//! is admitted as the CREATE of `pods/eviction` (the pod's deletion it causes is not admitted,
//! kube deletes with `ValidateAllObjectFunc`), then a pod that
//! is terminal, pending or already being deleted is deleted at once; otherwise the one
//! PodDisruptionBudget whose selector matches the pod must allow a disruption, which the eviction
//! spends (`status.disruptionsAllowed` - 1, the pod under `status.disruptedPods`) before the pod
//! is deleted. No budget left answers 429 TooManyRequests; more than one budget, 500.

use std::sync::Arc;

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::rmw;
use crate::admission::webhook;
use crate::catalog::ResourceInfo;
use crate::http::{self as h, Body, State};
use crate::meta::{self, meta_str};
use crate::selector::LabelSelector;
use crate::status::{ApiError, Cause, Details};
use crate::store::{DeleteOpts, Sub, Target, WriteOpts};

/// kube's `MaxDisruptedPodSize`: more evictions granted but not yet seen by the disruption
/// controller than this, and the budget refuses further ones.
const MAX_DISRUPTED_PODS: usize = 2000;
/// Seconds kube tells a client to wait while a budget's status lags its spec.
const RETRY_WHILE_PROCESSING_S: u32 = 10;
/// Attempts at the budget's status write when other writers race it (kube retries on conflict).
const PDB_WRITE_ATTEMPTS: usize = 20;
/// The message of every refusal by a budget.
const VIOLATES: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn too_many_requests(cause: String, retry_after: Option<u32>) -> ApiError {
    ApiError {
        code: 429,
        reason: "TooManyRequests".into(),
        message: VIOLATES.to_owned(),
        details: Some(Box::new(Details {
            causes: vec![Cause::new("DisruptionBudget", "", cause)],
            retry_after_seconds: retry_after,
            ..Details::default()
        })),
    }
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn deleting(obj: &Value) -> bool {
    !meta_str(obj, "deletionTimestamp").is_empty()
}

/// kube's `canIgnorePDB`.
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || deleting(pod)
}

/// `podutil.IsPodReady`: the Ready condition is True.
fn ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The budgets of the pod's namespace whose (non-empty) selector matches its labels.
fn budgets_of(state: &State, pod: &Value, ns: &str) -> Result<Vec<Value>, ApiError> {
    let t = Target {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        namespace: ns,
        name: "",
    };
    let list: Value = serde_json::from_slice(&state.store.list(&t, &Default::default())?)
        .map_err(|e| ApiError::internal(format!("a stored list is not JSON: {e}")))?;
    let mut out = Vec::new();
    for pdb in list["items"].as_array().into_iter().flatten() {
        let Some(sel) = pdb.pointer("/spec/selector") else {
            continue;
        };
        let text = crate::subresources::scale::label_selector_string(sel);
        // A nil or empty selector matches nothing here, not everything (kube's comment).
        if text.is_empty() {
            continue;
        }
        // An invalid selector matches no pod.
        let Ok(parsed) = LabelSelector::parse(&text) else {
            continue;
        };
        if parsed.matches(pod) {
            out.push(pdb.clone());
        }
    }
    Ok(out)
}

/// kube's `checkAndDecrement`: spends one disruption of `pdb` on `pod_name` (written unless dry run).
fn check_and_decrement(
    state: &State,
    ns: &str,
    pod_name: &str,
    mut pdb: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let name = meta_str(&pdb, "name").to_owned();
    if int(&pdb, "/status/observedGeneration") < int(&pdb, "/metadata/generation") {
        return Err(too_many_requests(
            format!("The disruption budget {name} is still being processed by the server."),
            Some(RETRY_WHILE_PROCESSING_S),
        ));
    }
    let forbidden = |why: &str| {
        ApiError::forbidden(
            crate::status::GroupResource {
                group: "policy",
                resource: "poddisruptionbudget",
            },
            &name,
            why,
        )
    };
    let allowed = int(&pdb, "/status/disruptionsAllowed");
    if allowed < 0 {
        return Err(forbidden("pdb disruptions allowed is negative"));
    }
    let disrupted = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len());
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(too_many_requests(
            format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                int(&pdb, "/status/desiredHealthy"),
                int(&pdb, "/status/currentHealthy")
            ),
            None,
        ));
    }
    if dry_run {
        return Ok(());
    }
    if !pdb.get("status").is_some_and(Value::is_object) {
        pdb["status"] = json!({});
    }
    pdb["status"]["disruptionsAllowed"] = (allowed - 1).into();
    if allowed - 1 == 0 {
        // pdbhelper.UpdateDisruptionAllowedCondition with no disruption left.
        set_disruption_condition(&mut pdb);
    }
    if !pdb["status"]
        .get("disruptedPods")
        .is_some_and(Value::is_object)
    {
        pdb["status"]["disruptedPods"] = json!({});
    }
    pdb["status"]["disruptedPods"][pod_name] = meta::now().into();
    let t = Target {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        namespace: ns,
        name: &name,
    };
    state
        .store
        .update(&t, Sub::Status, pdb, &WriteOpts::default())
        .map(|_| ())
}

fn set_disruption_condition(pdb: &mut Value) {
    let cond = json!({
        "type": "DisruptionAllowed",
        "status": "False",
        "reason": "InsufficientPods",
        "message": "",
        "observedGeneration": int(pdb, "/metadata/generation"),
        "lastTransitionTime": meta::now(),
    });
    let conds = pdb["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conds)) = conds else {
        return;
    };
    match conds
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("DisruptionAllowed"))
    {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("False") => {}
        Some(c) => *c = cond,
        None => conds.push(cond),
    }
}

/// The type of the object `pods/eviction` creates, for its decoding and admission.
fn eviction_type() -> ResourceInfo {
    ResourceInfo::subresource_kind("policy", "v1", "Eviction")
}

pub(super) async fn serve(
    state: &State,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    // Admission webhooks are called between passes of the admission (kube's create handler
    // admits the Eviction before `EvictionREST.Create` acts on it).
    let pass = state
        .store
        .has_webhooks()
        .then(|| Arc::new(webhook::Pass::default()));
    let create = WriteOpts {
        webhooks: pass.clone(),
        ..h::write_opts(q, &req, "CreateOptions", Vec::new())?
    };
    let (eviction, mut warnings) = super::decode_created(
        h::read_object(req).await?,
        &eviction_type(),
        &["policy/v1beta1"],
        t.namespace,
        &create,
        true,
        super::BodyKind {
            catalog: &state.store.catalog(),
            not_a: |kind| format!("not a Eviction object: *policy.{kind}"),
        },
    )?;
    let eviction_type = Arc::new(eviction_type());
    // `EvictionREST.Create` checks the name between mutating and validating admission.
    let same_name = |e: &Value| {
        if meta_str(e, "name") == t.name {
            Ok(())
        } else {
            Err(ApiError::bad_request(
                "name in URL does not match name in Eviction object",
            ))
        }
    };
    let ((eviction, admitted), hooks) = rmw::passes(pass.as_deref(), || {
        state.store.admit_create(
            t,
            "eviction",
            &eviction_type,
            eviction.clone(),
            same_name,
            &create,
        )
    })
    .await?;
    warnings.extend(admitted);
    warnings.extend(hooks);
    let delete_body = eviction
        .get("deleteOptions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // kube's propagateDryRun: the query's dryRun and the body's both count ("All" is the
    // only value either may carry, so they cannot disagree here).
    let mut opts: DeleteOpts = h::delete_opts_from(q, &delete_body)?;
    opts.dry_run = opts.dry_run || create.dry_run;
    let client_rv = opts.resource_version.is_some();
    let pod = rmw::read(&state.store, t)?;
    if can_ignore_budget(&pod) {
        let mut o = opts.clone();
        // shouldEnforceResourceVersion: only a pending pod could race into readiness.
        if phase(&pod) == "Pending" && !deleting(&pod) && !client_rv {
            o.resource_version = Some(meta_str(&pod, "resourceVersion").to_owned());
        }
        state.store.delete(t, &o)?;
        return super::created(&warnings);
    }
    let budgets = budgets_of(state, &pod, t.namespace)?;
    if budgets.len() > 1 {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            "code": 500});
        return Ok(h::json_response(500, status.to_string()));
    }
    let mut precondition_added = false;
    let mut budget_name = String::new();
    if let Some(pdb) = budgets.into_iter().next() {
        budget_name = meta_str(&pdb, "name").to_owned();
        let desired = int(&pdb, "/status/desiredHealthy");
        if !ready(&pod) && int(&pdb, "/status/currentHealthy") >= desired && desired > 0 {
            // An unready pod is not counted healthy: no disruption is spent on it.
            precondition_added = true;
        } else {
            let pdb_name = meta_str(&pdb, "name").to_owned();
            let mut current = pdb;
            let mut attempt = 0;
            loop {
                attempt += 1;
                match check_and_decrement(state, t.namespace, t.name, current, opts.dry_run) {
                    Ok(()) => break,
                    Err(e) if e.code == 409 && attempt < PDB_WRITE_ATTEMPTS => {
                        let pt = Target {
                            group: "policy",
                            version: "v1",
                            plural: "poddisruptionbudgets",
                            namespace: t.namespace,
                            name: &pdb_name,
                        };
                        current = rmw::read(&state.store, &pt)?;
                    }
                    Err(e) if e.code == 409 => {
                        return Err(ApiError::timeout(format!(
                            "couldn't update PodDisruptionBudget {pdb_name:?} due to conflicts"
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut o = opts;
    if precondition_added && !client_rv {
        o.resource_version = Some(meta_str(&pod, "resourceVersion").to_owned());
    }
    match state.store.delete(t, &o) {
        Ok(_) => super::created(&warnings),
        Err(e) if e.code == 409 && precondition_added && !client_rv => Err(too_many_requests(
            format!("The disruption budget {budget_name} is still being processed by the server."),
            Some(RETRY_WHILE_PROCESSING_S),
        )),
        Err(e) => Err(e),
    }
}
