//! The permissions the WorkflowExecution controller needs, read off its code: it watches
//! WorkflowExecutions, reads one fresh before acting, patches its finalizer and writes
//! `/status`; it watches, creates, reads and deletes the execution Jobs (the per-target lock),
//! and lists a failed Job's Pods for their termination message.

use super::CONTROLLER_NAME;
use crate::api::GROUP;
use crate::rbac::{Declaration, Rule};

/// What `controllers/rbac/workflowexecution.yaml` grants.
pub const DECLARATION: Declaration = Declaration {
    controller: CONTROLLER_NAME,
    rules: &[
        // The watch (list, watch), the fresh read, and the finalizer's merge patch.
        Rule {
            groups: &[GROUP],
            resources: &["workflowexecutions"],
            verbs: &["get", "list", "watch", "patch"],
        },
        // `manager::update_status_with`: a PUT of `/status`.
        Rule {
            groups: &[GROUP],
            resources: &["workflowexecutions/status"],
            verbs: &["update"],
        },
        // The Jobs it runs in the execution namespace: watched for their outcome, created
        // (taking the lock), read back on AlreadyExists, deleted after the cooldown.
        Rule {
            groups: &["batch"],
            resources: &["jobs"],
            verbs: &["get", "list", "watch", "create", "delete"],
        },
        // A failed Job's Pods, listed by the Job's selector for the failure reason.
        Rule {
            groups: &[""],
            resources: &["pods"],
            verbs: &["list"],
        },
    ],
};
