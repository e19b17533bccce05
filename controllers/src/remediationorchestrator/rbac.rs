//! The permissions the RemediationOrchestrator needs, read off its code: it watches
//! RemediationRequests, reads them (the request, a duplicate's original, the namespace's others
//! for routing) and writes their `/status`; it creates, reads and watches the four child kinds
//! it owns. It never writes a child after creating it: each child's controller owns its status,
//! and garbage collection deletes the children with the request.

use super::CONTROLLER_NAME;
use crate::api::GROUP;
use crate::rbac::{Declaration, Rule};

/// What `controllers/rbac/remediationorchestrator.yaml` grants.
pub const DECLARATION: Declaration = Declaration {
    controller: CONTROLLER_NAME,
    rules: &[
        // Watched twice (its own reconciles, and to wake duplicates), read fresh, and listed per
        // namespace by the routing checks.
        Rule {
            groups: &[GROUP],
            resources: &["remediationrequests"],
            verbs: &["get", "list", "watch"],
        },
        // `manager::update_status_with`: a PUT of `/status`.
        Rule {
            groups: &[GROUP],
            resources: &["remediationrequests/status"],
            verbs: &["update"],
        },
        // The owned children: watched (their changes wake the owner), created, read back.
        Rule {
            groups: &[GROUP],
            resources: &[
                "signalprocessings",
                "aianalyses",
                "workflowexecutions",
                "notificationrequests",
            ],
            verbs: &["get", "list", "watch", "create"],
        },
    ],
};
