//! The RBAC registry's privilege-escalation checks on writes of Roles, ClusterRoles and their
//! bindings (kube's `pkg/registry/rbac/*/policybased` storage and `validation/rule.go`): a user
//! may write a role only with rules it already holds, unless it may `escalate` that role, and a
//! binding only to a role whose rules it holds, unless it may `bind` that role. `system:masters`
//! may do both. The refusal is kube's 403: `user "u" (groups=[...]) is attempting to grant RBAC
//! permissions not currently held:` and the missing rules in kube's compact form.

use std::collections::BTreeSet;

use serde_json::Value;

use super::attributes::Attributes;
use super::rbac::{PolicyRule, RBAC_GROUP, url_covers};
use super::user::UserInfo;
use crate::http::State;
use crate::status::{ApiError, GroupResource};

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

fn has_all(set: &[String], want: &[String]) -> bool {
    want.iter().all(|w| has(set, w))
}

/// kube's `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: one(verb),
                    ..PolicyRule::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule {
                            resource_names: one(name),
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: one(verb),
                ..PolicyRule::default()
            });
        }
    }
    out
}

/// kube's `resourceCoversAll`: `*`, exact names, or `*/sub` for a subresource.
fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|w| {
        has(owner, w)
            || w.split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

/// kube's `ruleCovers` for one broken-down rule.
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resources_cover(&owner.resources, &sub.resources);
    let urls = sub
        .non_resource_urls
        .iter()
        .all(|p| owner.non_resource_urls.iter().any(|o| url_covers(o, p)));
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && urls && names
}

/// kube's `Covers`: the broken-down servant rules no owner rule covers (empty: covered).
pub(crate) fn missing(owner: &[PolicyRule], servant: &[PolicyRule]) -> Vec<PolicyRule> {
    servant
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect()
}

/// kube's `CompactRules`: simple rules (one group, one resource, at most one name, no URLs)
/// on the same resource merge their verbs.
fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for r in rules {
        let is_simple = r.resource_names.len() <= 1
            && r.non_resource_urls.is_empty()
            && r.api_groups.len() == 1
            && r.resources.len() == 1;
        if !is_simple {
            out.push(r);
            continue;
        }
        match simple.iter_mut().find(|s| {
            s.api_groups == r.api_groups
                && s.resources == r.resources
                && s.resource_names == r.resource_names
        }) {
            Some(s) => s.verbs.extend(r.verbs),
            None => simple.push(r),
        }
    }
    out.extend(simple);
    out
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn go_quoted(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// kube's `CompactString` of a rule.
fn compact_string(r: &PolicyRule) -> String {
    let mut parts = Vec::new();
    for (label, list) in [
        ("APIGroups", &r.api_groups),
        ("Resources", &r.resources),
        ("NonResourceURLs", &r.non_resource_urls),
        ("ResourceNames", &r.resource_names),
        ("Verbs", &r.verbs),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label}:{}", go_quoted(list)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// kube's `ConfirmNoEscalation`: `Err(message)` naming the rules `user` lacks in `ns`.
fn confirm_no_escalation(
    state: &State,
    user: &UserInfo,
    ns: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let owner = state.authz.rules_for(&state.store, user, ns);
    let lacking = missing(&owner, rules);
    if lacking.is_empty() {
        return Ok(());
    }
    let described: BTreeSet<String> = compact(lacking).iter().map(compact_string).collect();
    Err(format!(
        "user {:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        go_quoted(&user.groups),
        described.into_iter().collect::<Vec<_>>().join("\n")
    ))
}

fn allowed(state: &State, user: &UserInfo, a: &Attributes) -> bool {
    state.authz.authorize(&state.store, user, a).0
}

/// Checks a write of an RBAC object `obj` (the object as it would be stored) in `ns` by `user`,
/// as kube's policy-based RBAC storage does before storing it.
pub(crate) fn check_rbac_write(
    state: &State,
    user: &UserInfo,
    plural: &str,
    ns: &str,
    obj: &Value,
) -> Result<(), ApiError> {
    // kube's EscalationAllowed: the privileged group skips every check.
    if user.is_master() {
        return Ok(());
    }
    let name = crate::meta::meta_str(obj, "name");
    let forbidden = |why: &str| {
        ApiError::forbidden(
            GroupResource {
                group: RBAC_GROUP,
                resource: plural,
            },
            name,
            why,
        )
    };
    match plural {
        "roles" | "clusterroles" => {
            // kube's RoleEscalationAuthorized: `escalate` on this role.
            if allowed(
                state,
                user,
                &Attributes::resource("escalate", RBAC_GROUP, plural, ns, name),
            ) {
                return Ok(());
            }
            if plural == "clusterroles" && obj.get("aggregationRule").is_some_and(|r| !r.is_null())
            {
                return Err(forbidden(
                    "must have cluster-admin privileges to use the aggregationRule",
                ));
            }
            confirm_no_escalation(state, user, ns, &PolicyRule::list(obj))
                .map_err(|e| forbidden(&e))
        }
        "rolebindings" | "clusterrolebindings" => {
            let kind = obj
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            let role = obj
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let role_plural = if kind == "Role" {
                "roles"
            } else {
                "clusterroles"
            };
            // kube's BindingAuthorized: `bind` on the referenced role.
            if allowed(
                state,
                user,
                &Attributes::resource("bind", RBAC_GROUP, role_plural, ns, role),
            ) {
                return Ok(());
            }
            let rules = state
                .authz
                .role_ref_rules(&state.store, kind, ns, role)
                .map_err(|e| forbidden(&e))?;
            confirm_no_escalation(state, user, ns, &rules).map_err(|e| forbidden(&e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        PolicyRule::from_json(&v)
    }

    #[test]
    fn covers_as_kube_and_names_what_is_missing() {
        let owner = [rule(
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/log"]}),
        )];
        let fine = [rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/log"]}),
        )];
        assert!(missing(&owner, &fine).is_empty());
        let more = [rule(
            json!({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods", "secrets"]}),
        )];
        let lacking = compact(missing(&owner, &more));
        let shown: BTreeSet<String> = lacking.iter().map(compact_string).collect();
        assert_eq!(
            shown.into_iter().collect::<Vec<_>>(),
            [
                r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#,
                r#"{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}"#,
            ]
        );
        // resourceNames: an owner limited to names covers only those names.
        let named = [rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]}),
        )];
        assert!(missing(&named, &[rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]}))]).is_empty());
        assert!(
            !missing(
                &named,
                &[rule(
                    json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})
                )]
            )
            .is_empty()
        );
        let urls = [rule(
            json!({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}),
        )];
        assert!(
            missing(
                &urls,
                &[rule(
                    json!({"verbs": ["get"], "nonResourceURLs": ["/apis/x"]})
                )]
            )
            .is_empty()
        );
        assert!(
            !missing(
                &urls,
                &[rule(json!({"verbs": ["get"], "nonResourceURLs": ["/api"]}))]
            )
            .is_empty()
        );
    }
}
