//! The permissions the NotificationRequest controller needs, read off its code: it watches
//! NotificationRequests, reads one fresh before acting, patches its delivery-claim annotation
//! and writes `/status`. The channels (console, file, webhook) are outside the Kubernetes API.

use super::CONTROLLER_NAME;
use crate::api::GROUP;
use crate::rbac::{Declaration, Rule};

/// What `controllers/rbac/notification.yaml` grants.
pub const DECLARATION: Declaration = Declaration {
    controller: CONTROLLER_NAME,
    rules: &[
        // The watch (list, watch), the fresh read, and the claim annotation's merge patch.
        Rule {
            groups: &[GROUP],
            resources: &["notificationrequests"],
            verbs: &["get", "list", "watch", "patch"],
        },
        // `manager::update_status_with`: a PUT of `/status`.
        Rule {
            groups: &[GROUP],
            resources: &["notificationrequests/status"],
            verbs: &["update"],
        },
    ],
};
