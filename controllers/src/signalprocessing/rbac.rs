//! The permissions the SignalProcessing controller needs, read off its code: it watches
//! SignalProcessings, reads one fresh and writes `/status`; enrichment reads the target's
//! namespace, the target and its controller owners, of the kinds `enrich` looks up (a test
//! below keeps this list and `enrich`'s in step). Only `get`: it never lists or watches them.

use super::CONTROLLER_NAME;
use crate::api::GROUP;
use crate::rbac::{Declaration, Rule};

/// What `controllers/rbac/signalprocessing.yaml` grants.
pub const DECLARATION: Declaration = Declaration {
    controller: CONTROLLER_NAME,
    rules: &[
        // The watch (list, watch) and the fresh read.
        Rule {
            groups: &[GROUP],
            resources: &["signalprocessings"],
            verbs: &["get", "list", "watch"],
        },
        // `manager::update_status_with`: a PUT of `/status`.
        Rule {
            groups: &[GROUP],
            resources: &["signalprocessings/status"],
            verbs: &["update"],
        },
        // Enrichment: the namespace's labels, and targets and owners of the core kinds.
        Rule {
            groups: &[""],
            resources: &["namespaces", "pods", "services", "nodes"],
            verbs: &["get"],
        },
        Rule {
            groups: &["apps"],
            resources: &["deployments", "replicasets", "statefulsets", "daemonsets"],
            verbs: &["get"],
        },
        Rule {
            groups: &["batch"],
            resources: &["jobs", "cronjobs"],
            verbs: &["get"],
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalprocessing::enrich;

    /// Whether `verb` on `group`/`resource` is granted by the declaration.
    fn granted(group: &str, resource: &str, verb: &str) -> bool {
        DECLARATION.rules.iter().any(|r| {
            r.groups.contains(&group) && r.resources.contains(&resource) && r.verbs.contains(&verb)
        })
    }

    #[test]
    fn every_kind_enrichment_looks_up_can_be_read() {
        for (kind, group, _, plural, _) in enrich::LOOKUPS {
            assert!(
                granted(group, plural, "get"),
                "{kind}: get {group}/{plural} not declared"
            );
        }
        assert!(granted("", "namespaces", "get"));
    }

    #[test]
    fn nothing_is_declared_that_enrichment_does_not_read() {
        // The rules after the controller's own two are enrichment's.
        for rule in &DECLARATION.rules[2..] {
            assert_eq!(rule.verbs, ["get"], "enrichment only reads");
            for resource in rule.resources {
                let used = *resource == "namespaces"
                    || enrich::LOOKUPS
                        .iter()
                        .any(|&(_, g, _, p, _)| rule.groups.contains(&g) && p == *resource);
                assert!(used, "{resource} is declared but enrichment never reads it");
            }
        }
    }
}
