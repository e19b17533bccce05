//! Decides whether a policy's `matchConstraints` or a binding's `matchResources` select a
//! request, as kube's `matching.Matcher` does: namespace selector, object selector, excluded
//! rules, then resource rules (operations, groups, versions, resources with `*` and
//! `resource/subresource` forms, resource names, scope), and under `matchPolicy: Equivalent`
//! the other served versions of the same resource and, for Events, the other API of the same
//! storage.

use std::sync::Arc;

use serde_json::Value;

use super::policy::{MatchResources, Rule};
use super::request::{Attributes, Operation};
use crate::catalog::{Catalog, ResourceInfo};
use crate::validation::selector;

/// Why a selector could not be evaluated: the namespace is not stored.
#[derive(Debug)]
pub struct MissingNamespace(pub String);

/// kube's `errNilSelector` (a selector the defaults did not fill in).
fn nil_selector(which: &str) -> String {
    format!("a nil {which} selector was passed, please ensure selectors are initialized properly")
}

fn exact_or_wildcard(items: &[String], requested: &str) -> bool {
    items.iter().any(|i| i == "*" || i == requested)
}

/// kube's `rules.Matcher` for one rule against a request on `resource` (the request's own, or
/// an equivalent one).
fn rule_matches(rule: &Rule, a: &Attributes<'_>, resource: &ResourceInfo) -> bool {
    let is_namespace = resource.group.is_empty() && resource.plural == "namespaces";
    let scope = match rule.scope.as_deref() {
        None | Some("*") => true,
        Some("Namespaced") => !is_namespace && !a.namespace.is_empty(),
        Some("Cluster") => is_namespace || a.namespace.is_empty(),
        Some(_) => false,
    };
    let operation = rule
        .operations
        .iter()
        .any(|o| o == "*" || o == a.operation.as_str());
    let resource_ok = rule.resources.iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r.as_str(), ""));
        (res == "*" || res == resource.plural) && (sub == "*" || sub == a.subresource)
    });
    scope
        && operation
        && exact_or_wildcard(&rule.api_groups, &resource.group)
        && exact_or_wildcard(&rule.api_versions, &resource.version)
        && resource_ok
}

fn names_match(rule: &Rule, a: &Attributes<'_>) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == a.name)
}

/// The resources kube's `EquivalentResourcesFor` gives for the request's: the other served
/// versions of it (same group and plural), then the other API of Events, which keeps its
/// objects in the same storage (`events::equivalent_api`).
fn equivalents(a: &Attributes<'_>, catalog: &Catalog) -> Vec<Arc<ResourceInfo>> {
    let mut out: Vec<Arc<ResourceInfo>> = catalog
        .group(&a.info.group)
        .into_iter()
        .flat_map(|g| g.versions.iter())
        .filter(|v| v.version != a.info.version)
        .filter_map(|v| v.resources.iter().find(|r| r.plural == a.info.plural))
        .cloned()
        .collect();
    if let Some((group, version)) = crate::events::equivalent_api(&a.info.group, &a.info.plural)
        && let Some(other) = catalog.get(group, version, &a.info.plural)
    {
        out.push(other.clone());
    }
    out
}

/// Which of `rules` match: None when none does, else the resource (the request's or an
/// equivalent one) the match was made against.
fn matches_rules(
    rules: &[Rule],
    exact: bool,
    a: &Attributes<'_>,
    catalog: &Catalog,
) -> Option<Option<Arc<ResourceInfo>>> {
    if rules
        .iter()
        .any(|r| rule_matches(r, a, a.info) && names_match(r, a))
    {
        return Some(None);
    }
    if exact {
        return None;
    }
    for rule in rules {
        for eq in equivalents(a, catalog) {
            if rule_matches(rule, a, &eq) && names_match(rule, a) {
                return Some(Some(eq));
            }
        }
    }
    None
}

/// The labels of the namespace a namespaced request is in (kube's `GetNamespaceLabels`): a
/// Namespace being created or updated is matched by its own new labels, a deleted one (or a
/// write of one of its subresources, which cannot change labels) by its stored labels.
fn namespace_labels<'v>(
    a: &Attributes<'v>,
    namespace: Option<&'v Value>,
) -> Result<Option<&'v Value>, MissingNamespace> {
    let is_namespace = a.info.group.is_empty() && a.info.plural == "namespaces";
    if is_namespace {
        let own = match a.operation {
            Operation::Create | Operation::Update if a.subresource.is_empty() => a.object,
            _ => a.old_object.or(a.object),
        };
        return Ok(own.and_then(|o| o.pointer("/metadata/labels")));
    }
    match namespace {
        Some(ns) => Ok(ns.pointer("/metadata/labels")),
        None => Err(MissingNamespace(a.namespace.to_owned())),
    }
}

/// The outcome of matching one set of match resources.
pub enum Matched {
    /// Not selected.
    No,
    /// Selected; `Some` names the equivalent resource the rules matched.
    Yes(Option<Arc<ResourceInfo>>),
}

/// kube's `Matcher.Matches`. `namespace` is the stored Namespace of the request (None when
/// cluster-scoped or missing).
pub fn matches(
    m: &MatchResources,
    a: &Attributes<'_>,
    namespace: Option<&Value>,
    catalog: &Catalog,
) -> Result<Matched, String> {
    let Some(ns_selector) = &m.namespace_selector else {
        return Err(nil_selector("namespace"));
    };
    let Some(obj_selector) = &m.object_selector else {
        return Err(nil_selector("object"));
    };
    let is_namespace = a.info.group.is_empty() && a.info.plural == "namespaces";
    // Cluster-scoped objects (other than Namespaces) are not subject to a namespace selector.
    let mut namespace_error = None;
    if (!a.namespace.is_empty() || is_namespace) && !selector::is_empty(ns_selector) {
        match namespace_labels(a, namespace) {
            Ok(labels) => {
                if !selector::matches(ns_selector, labels) {
                    return Ok(Matched::No);
                }
            }
            Err(MissingNamespace(ns)) => {
                namespace_error = Some(format!("namespaces \"{ns}\" not found"));
            }
        }
    }
    if !selector::is_empty(obj_selector) {
        // kube's matchObject: an absent object never matches, one without labels may.
        let selected = |o: Option<&Value>| {
            o.is_some_and(|o| selector::matches(obj_selector, o.pointer("/metadata/labels")))
        };
        if !selected(a.object) && !selected(a.old_object) {
            return Ok(Matched::No);
        }
    }
    if matches_rules(&m.exclude_resource_rules, m.exact, a, catalog).is_some() {
        return Ok(Matched::No);
    }
    let matched = if m.resource_rules.is_empty() {
        Some(None)
    } else {
        matches_rules(&m.resource_rules, m.exact, a, catalog)
    };
    match (matched, namespace_error) {
        (None, _) => Ok(Matched::No),
        (Some(_), Some(e)) => Err(e),
        (Some(eq), None) => Ok(Matched::Yes(eq)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserInfo;
    use serde_json::json;

    fn rule(ops: &[&str], groups: &[&str], resources: &[&str], scope: Option<&str>) -> Rule {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
        Rule {
            resource_names: Vec::new(),
            operations: s(ops),
            api_groups: s(groups),
            api_versions: vec!["*".into()],
            resources: s(resources),
            scope: scope.map(str::to_owned),
        }
    }

    fn check(r: &Rule, plural: &str, sub: &str, ns: &str, op: Operation) -> bool {
        let catalog = Catalog::builtin();
        let info = catalog
            .groups()
            .iter()
            .flat_map(|g| g.versions.iter())
            .flat_map(|v| v.resources.iter())
            .find(|i| i.plural == plural)
            .expect("served")
            .clone();
        let user = UserInfo::admin();
        let obj = json!({});
        let a = Attributes {
            operation: op,
            info: &info,
            subresource: sub,
            object_type: None,
            name: "x",
            namespace: ns,
            object: Some(&obj),
            old_object: None,
            user: &user,
            dry_run: false,
            field_manager: "",
            authorizer: None,
        };
        rule_matches(r, &a, &info)
    }

    #[test]
    fn resource_forms_follow_kubes_rules_matcher() {
        let pods = rule(&["CREATE"], &[""], &["pods"], None);
        assert!(check(&pods, "pods", "", "ns", Operation::Create));
        assert!(
            !check(&pods, "pods", "status", "ns", Operation::Create),
            "pods does not cover pods/status"
        );
        assert!(
            !check(&pods, "pods", "", "ns", Operation::Update),
            "operation"
        );
        let status = rule(&["*"], &[""], &["pods/status"], None);
        assert!(check(&status, "pods", "status", "ns", Operation::Update));
        assert!(!check(&status, "pods", "", "ns", Operation::Update));
        let any_status = rule(&["*"], &["*"], &["*/status"], None);
        assert!(check(
            &any_status,
            "pods",
            "status",
            "ns",
            Operation::Update
        ));
        let all = rule(&["*"], &["*"], &["*/*"], None);
        assert!(check(&all, "pods", "status", "ns", Operation::Delete));
        assert!(check(&all, "pods", "", "ns", Operation::Delete));
        let star = rule(&["*"], &["*"], &["*"], None);
        assert!(
            !check(&star, "pods", "status", "ns", Operation::Delete),
            "* is main resources only"
        );
        let apps = rule(&["*"], &["apps"], &["*"], None);
        assert!(!check(&apps, "pods", "", "ns", Operation::Create), "group");
    }

    #[test]
    fn scope_separates_namespaced_from_cluster_requests_and_namespaces_are_cluster() {
        let cluster = rule(&["*"], &["*"], &["*"], Some("Cluster"));
        let namespaced = rule(&["*"], &["*"], &["*"], Some("Namespaced"));
        assert!(check(&cluster, "namespaces", "", "", Operation::Create));
        assert!(check(&cluster, "nodes", "", "", Operation::Create));
        assert!(!check(&cluster, "pods", "", "ns", Operation::Create));
        assert!(check(&namespaced, "pods", "", "ns", Operation::Create));
        assert!(!check(&namespaced, "namespaces", "", "", Operation::Create));
    }
}
