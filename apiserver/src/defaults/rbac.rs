//! Defaults of the rbac group (`pkg/apis/rbac/v1/defaults.go`).

use super::rules::{Obj, Rule, TypeRules, str_of};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::rbac::v1::RoleRef",
        rules: &[Rule::SetNonZero(
            "apiGroup",
            super::rules::Lit::Str(RBAC_GROUP),
        )],
    },
    TypeRules {
        ty: "api::rbac::v1::Subject",
        rules: &[Rule::Fn {
            sets: &[("api::rbac::v1::Subject", "apiGroup")],
            apply: subject,
        }],
    },
];

/// `SetDefaults_Subject`: users and groups are RBAC subjects; service accounts belong to the core group.
fn subject(s: &mut Obj) {
    if str_of(s, "apiGroup").is_empty() && matches!(str_of(s, "kind"), "User" | "Group") {
        s.insert("apiGroup".into(), RBAC_GROUP.into());
    }
}
