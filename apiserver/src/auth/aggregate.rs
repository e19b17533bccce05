//! The clusterrole-aggregation-controller of kube-controller-manager: a ClusterRole with an
//! `aggregationRule` gets as `rules` the union of the rules of every other ClusterRole its
//! `clusterRoleSelectors` select (roles in name order, duplicates dropped). Run at the end of
//! each write of a ClusterRole, like this server's other controllers, so the aggregated rules
//! are in place (and authorize) when the write returns.

use serde_json::Value;

use crate::http::State;
use crate::meta::meta_str;
use crate::store::{Fields, Sub, Target, WriteOpts};

use super::rbac::RBAC_GROUP;

/// The field manager kube's controller applies with.
const MANAGER: &str = "clusterrole-aggregation-controller";
/// Rounds of aggregation per write: an aggregated role may select another aggregated role, whose
/// new rules then flow one level further each round; kube's bootstrap nests two levels.
const MAX_ROUNDS: usize = 4;

/// Whether a metav1.LabelSelector JSON selects these labels (an empty selector selects all).
fn selects(selector: &Value, labels: Option<&serde_json::Map<String, Value>>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|list| {
            list.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                    Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    _ => false,
                }
            })
        });
    match_labels && expressions
}

/// Brings every aggregated ClusterRole's rules up to date.
pub(crate) fn aggregate_cluster_roles(state: &State) {
    for _ in 0..MAX_ROUNDS {
        let mut roles = state.authz.cluster_roles(&state.store);
        roles.sort_by(|a, b| meta_str(a.value(), "name").cmp(meta_str(b.value(), "name")));
        let mut changed = false;
        for role in &roles {
            let Some(selectors) = role
                .value()
                .pointer("/aggregationRule/clusterRoleSelectors")
                .and_then(Value::as_array)
            else {
                continue;
            };
            let name = meta_str(role.value(), "name");
            let mut rules: Vec<Value> = Vec::new();
            for selector in selectors {
                for other in &roles {
                    let other_name = meta_str(other.value(), "name");
                    let labels = other
                        .value()
                        .pointer("/metadata/labels")
                        .and_then(Value::as_object);
                    if other_name == name || !selects(selector, labels) {
                        continue;
                    }
                    for rule in other
                        .value()
                        .get("rules")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if !rules.contains(rule) {
                            rules.push(rule.clone());
                        }
                    }
                }
            }
            let current = role.value().get("rules").and_then(Value::as_array);
            if current.map_or(rules.is_empty(), |c| *c == rules) {
                continue;
            }
            let mut updated = role.value().clone();
            updated["rules"] = Value::Array(rules);
            let t = Target {
                group: RBAC_GROUP,
                version: "v1",
                plural: "clusterroles",
                namespace: "",
                name,
            };
            let opts = WriteOpts {
                fields: Fields::Update(MANAGER.to_owned()),
                ..WriteOpts::default()
            };
            // A conflict means another write got there first; that write aggregates again.
            match state.store.update(&t, Sub::Main, updated, &opts) {
                Ok(_) => changed = true,
                Err(e) => tracing::debug!(error = %e, role = name, "aggregation update skipped"),
            }
        }
        if !changed {
            return;
        }
    }
}
