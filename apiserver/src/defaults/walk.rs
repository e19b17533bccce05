//! Applies the defaulting tables to an object: a plan per type, built once, that visits only the
//! fields leading to a type with rules (a ConfigMap costs one map lookup).

use std::sync::LazyLock;

use serde_json::Value;

use super::TABLES;
use super::rules::Rule;
use crate::smp;

/// What defaulting does at one type: its own rules, then the fields worth descending into.
#[derive(Debug, Default)]
struct Node {
    rules: Vec<&'static Rule>,
    /// (JSON field, its type) for fields whose type has rules somewhere below.
    children: Vec<(&'static str, &'static str)>,
}

/// Plans of every type that has rules or reaches a type with rules.
static PLANS: LazyLock<Plans> = LazyLock::new(build);

/// Keyed by the built-in types' static names: foldhash, not the default SipHash, because every
/// test process builds this once (about a thousand fields) and SipHash was most of that.
type Plans = foldhash::HashMap<&'static str, Node>;

fn build() -> Plans {
    let mut rules: foldhash::HashMap<&'static str, Vec<&'static Rule>> = Default::default();
    for table in TABLES {
        for t in *table {
            rules.entry(t.ty).or_default().extend(t.rules.iter());
        }
    }
    // The types that reach a rule are the rules' types and all their ancestors in the type graph:
    // one pass to record each type's parents, then a walk up from the rules' types (the graph
    // has cycles, e.g. JSON schemas, so a type is walked from once).
    let mut parents: foldhash::HashMap<&'static str, Vec<&'static str>> = Default::default();
    for f in smp::all_fields() {
        if !f.child.is_empty() {
            parents.entry(f.child).or_default().push(f.ty);
        }
    }
    let mut reaches: foldhash::HashSet<&'static str> = rules.keys().copied().collect();
    let mut todo: Vec<&'static str> = reaches.iter().copied().collect();
    while let Some(ty) = todo.pop() {
        for parent in parents.get(ty).into_iter().flatten() {
            if reaches.insert(parent) {
                todo.push(parent);
            }
        }
    }
    let mut plans = Plans::default();
    for ty in &reaches {
        plans.insert(
            ty,
            Node {
                rules: rules.get(ty).cloned().unwrap_or_default(),
                children: Vec::new(),
            },
        );
    }
    for f in smp::all_fields() {
        if !f.child.is_empty()
            && reaches.contains(f.child)
            && let Some(node) = plans.get_mut(f.ty)
        {
            node.children.push((f.name, f.child));
        }
    }
    plans
}

/// Defaults `obj`, an object of the built-in kind `kind` in `api_version`; anything else (custom
/// resources, types without defaults) is left as it is.
pub fn apply(api_version: &str, kind: &str, obj: &mut Value) {
    if let Some(ty) = smp::root_type(api_version, kind) {
        visit(ty, obj);
    }
}

/// Defaults `value`, of the Go type `ty` (or a list of them).
fn visit(ty: &str, value: &mut Value) {
    let Some(node) = PLANS.get(ty) else {
        return;
    };
    match value {
        Value::Object(map) => {
            for rule in &node.rules {
                rule.run(map);
            }
            for (field, child) in &node.children {
                if let Some(v) = map.get_mut(*field) {
                    visit(child, v);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if item.is_object() {
                    visit(ty, item);
                }
            }
        }
        _ => {}
    }
}

/// Every Go type an object served by this server can contain (the closure of the served kinds'
/// types over the type graph): the drift test compares only these with the documentation.
pub fn served_types() -> std::collections::BTreeSet<&'static str> {
    let mut out = std::collections::BTreeSet::new();
    let mut todo: Vec<&'static str> = crate::builtin::builtin_types()
        .iter()
        .filter_map(|b| {
            let api_version = if b.group.is_empty() {
                b.version.to_owned()
            } else {
                format!("{}/{}", b.group, b.version)
            };
            smp::root_type(&api_version, b.kind)
        })
        .collect();
    while let Some(ty) = todo.pop() {
        if out.insert(ty) {
            todo.extend(
                smp::fields_of(ty)
                    .map(|f| f.child)
                    .filter(|c| !c.is_empty()),
            );
        }
    }
    out
}

/// Every (type, field) the tables default, for the drift test against the documented defaults.
pub fn declared() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for table in TABLES {
        for t in *table {
            for rule in t.rules {
                match rule {
                    Rule::Set(field, _) | Rule::SetNonZero(field, _) => out.push((t.ty, *field)),
                    Rule::Fn { sets, .. } => out.extend(sets.iter().copied()),
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_rule_names_a_type_the_schema_knows() {
        let known: HashSet<&str> = smp::all_fields()
            .iter()
            .flat_map(|f| [f.ty, f.child])
            .collect();
        for table in TABLES {
            for t in *table {
                assert!(
                    known.contains(t.ty),
                    "defaulting rules for {} name a type smp::schema does not know: fix the name",
                    t.ty
                );
            }
        }
    }

    #[test]
    fn types_without_defaults_have_no_plan() {
        assert!(!PLANS.contains_key("api::core::v1::ConfigMap"));
        assert!(PLANS.contains_key("api::apps::v1::Deployment"));
    }

    /// The plans are exactly the types from which a rule can be reached, as a plain fixpoint over
    /// the type graph computes them.
    #[test]
    fn plans_are_the_types_that_reach_a_rule() {
        let mut reaches: HashSet<&str> =
            TABLES.iter().flat_map(|t| t.iter().map(|t| t.ty)).collect();
        loop {
            let before = reaches.len();
            for f in smp::all_fields() {
                if !f.child.is_empty() && reaches.contains(f.child) {
                    reaches.insert(f.ty);
                }
            }
            if reaches.len() == before {
                break;
            }
        }
        let planned: HashSet<&str> = PLANS.keys().copied().collect();
        assert_eq!(planned, reaches);
        // A type that reaches a rule only through a cycle-free chain of three structs.
        assert!(
            PLANS["api::batch::v1::CronJob"]
                .children
                .iter()
                .any(|(field, _)| *field == "spec")
        );
    }
}
