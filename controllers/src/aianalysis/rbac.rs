//! The permissions the AIAnalysis controller needs, read off its code: it watches AIAnalyses,
//! reads one fresh before acting, patches its finalizer and writes `/status`. HolmesGPT-API and
//! the Rego approval policy are outside the Kubernetes API.

use super::CONTROLLER_NAME;
use crate::api::GROUP;
use crate::rbac::{Declaration, Rule};

/// What `controllers/rbac/aianalysis.yaml` grants.
pub const DECLARATION: Declaration = Declaration {
    controller: CONTROLLER_NAME,
    rules: &[
        // The watch (list, watch), the fresh read, and the finalizer's merge patch.
        Rule {
            groups: &[GROUP],
            resources: &["aianalyses"],
            verbs: &["get", "list", "watch", "patch"],
        },
        // `manager::update_status_with`: a PUT of `/status`.
        Rule {
            groups: &[GROUP],
            resources: &["aianalyses/status"],
            verbs: &["update"],
        },
    ],
};
