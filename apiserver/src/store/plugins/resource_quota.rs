//! kube's `ResourceQuota` admission plugin (`staging/src/k8s.io/apiserver/pkg/admission/plugin/
//! resourcequota`), the last of the validating plugins, after the webhooks: a create (or an
//! update of a Service or PersistentVolumeClaim, or a Pod's `resize`) whose usage (`store/quota.rs`) would take a
//! quota of its namespace over its `status.hard` is refused (403 `exceeded quota: q,
//! requested: pods=1, used: pods=2, limited: pods=2`), and a Pod under a quota of `cpu` or
//! `memory` requests or limits must set them in every container (403 `failed quota: q: must
//! specify limits.cpu for: a,b; requests.memory for: a`). Only quotas whose `status.hard` the
//! resourcequota controller has filled are enforced, as in kube.

use std::collections::BTreeMap;

use serde_json::Value;

use super::limit_ranger::resources;
use super::{Inner, Write, forbidden};
use crate::admission::Operation;
use crate::status::ApiError;
use crate::store::quota::{self, QUOTAS_KEY, Usage};
use crate::validation::quantity::Quantity;

/// `validationSet`: the compute resources a quota makes every container state.
const MUST_SPECIFY: [&str; 6] = [
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

impl Inner {
    /// The plugin's `Validate` (kube's `CheckRequest`).
    pub(in crate::store) fn check_quota(&self, w: &Write<'_>) -> Result<(), ApiError> {
        let (Some(_), Some(obj)) = (w.user, w.object) else {
            return Ok(());
        };
        let store_key = w.info.store_key();
        let core = w.info.group.is_empty();
        let handled = match (w.operation, w.subresource) {
            (Operation::Create, "") => true,
            // Only these evaluators charge an update (a type or a size can change), and the pod
            // evaluator a resize (`podEvaluator.Handles`).
            (Operation::Update, "") => {
                core && matches!(
                    w.info.plural.as_str(),
                    "services" | "persistentvolumeclaims"
                )
            }
            (Operation::Update, "resize") => core && w.info.plural == "pods",
            // A claim's status write, which can grow its allocated storage or name another
            // VolumeAttributesClass. kube asks `RequiresQuotaReplenish`, whose first test compares
            // two fresh `*Quantity` pointers and so always holds: every status write is judged,
            // and one that charges nothing more passes below.
            (Operation::Update, "status") => core && w.info.plural == "persistentvolumeclaims",
            _ => false,
        };
        if !handled || w.namespace.is_empty() {
            return Ok(());
        }
        let quotas: Vec<Value> = self
            .objects_in(QUOTAS_KEY, w.namespace)
            .filter(|q| {
                q.pointer("/status/hard")
                    .and_then(Value::as_object)
                    .is_some_and(|h| !h.is_empty())
            })
            .collect();
        if quotas.is_empty() {
            return Ok(());
        }
        let mut delta = quota::usage(&store_key, obj);
        if let Some(old) = w.old_object.filter(|_| w.operation == Operation::Update) {
            for (name, q) in quota::usage(&store_key, old) {
                let d = delta.entry(name).or_insert(Quantity::count(0));
                *d = d.sub(&q);
            }
        }
        // An update is charged only what grows (`SubtractWithNonNegativeResult`), and what does
        // not grow is not checked (`RemoveZeros`): shrinking within an exceeded quota is allowed.
        delta.retain(|_, q| q.nanos() > 0);
        if delta.is_empty() {
            return Ok(());
        }
        let hard_of = |q: &Value| resources(q.pointer("/status/hard"));
        let interesting: Vec<&Value> = quotas
            .iter()
            .filter(|q| {
                quota::in_scope(q, &store_key, obj)
                    && hard_of(q).keys().any(|k| {
                        delta.contains_key(k)
                            || (store_key == "/pods" && MUST_SPECIFY.contains(&k.as_str()))
                    })
            })
            .collect();
        if store_key == "/pods" {
            for q in &interesting {
                let required: Vec<String> = hard_of(q)
                    .into_keys()
                    .filter(|k| MUST_SPECIFY.contains(&k.as_str()))
                    .collect();
                if let Some(missing) = missing_compute(obj, &required) {
                    return Err(forbidden(
                        w,
                        obj,
                        &format!("failed quota: {}: must specify {missing}", quota::name(q)),
                    ));
                }
            }
        }
        for q in &interesting {
            let hard = hard_of(q);
            let used = resources(q.pointer("/status/used"));
            let mut exceeded: Vec<&String> = Vec::new();
            for (name, d) in &delta {
                let Some(limit) = hard.get(name) else {
                    continue;
                };
                let total = used.get(name).map_or(*d, |u| u.add(d));
                if total.cmp(limit).is_gt() {
                    exceeded.push(name);
                }
            }
            if exceeded.is_empty() {
                continue;
            }
            let mask = |list: &Usage| -> Usage {
                exceeded
                    .iter()
                    .map(|k| {
                        (
                            (*k).clone(),
                            list.get(*k).copied().unwrap_or(Quantity::count(0)),
                        )
                    })
                    .collect()
            };
            return Err(forbidden(
                w,
                obj,
                &format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    quota::name(q),
                    quota::pretty(&mask(&delta)),
                    quota::pretty(&mask(&used)),
                    quota::pretty(&mask(&hard)),
                ),
            ));
        }
        Ok(())
    }
}

/// `podEvaluator.Constraints`: the `required` compute resources some container (init or
/// regular) does not state, as `limits.cpu for: a,b; requests.memory for: a`.
fn missing_compute(pod: &Value, required: &[String]) -> Option<String> {
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for list in ["containers", "initContainers"] {
        for c in pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let stated = quota::compute_usage(
                &resources(c.pointer("/resources/requests")),
                &resources(c.pointer("/resources/limits")),
            );
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            for r in required {
                if !stated.contains_key(r) {
                    missing.entry(r).or_default().push(name.to_owned());
                }
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    Some(
        missing
            .into_iter()
            .map(|(r, mut names)| {
                names.sort();
                names.dedup();
                format!("{r} for: {}", names.join(","))
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}
