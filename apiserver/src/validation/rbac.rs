//! `rbac.authorization.k8s.io/v1` validation (kube's `pkg/apis/rbac/validation`): rules need
//! verbs and API groups, bindings need a valid roleRef (immutable) and well-formed subjects.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::selector::invalid_go;
use crate::status::Cause;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// Subject kinds, in kube's order.
pub const SUBJECT_KINDS: [&str; 3] = ["ServiceAccount", "User", "Group"];

/// `ValidatePolicyRule` for every rule of a Role or ClusterRole.
pub fn validate_role(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, r) in arr_of(obj, "rules").iter().enumerate() {
        let at = index("rules", i);
        if arr_of(r, "verbs").is_empty() {
            causes.push(field::required(
                &child(&at, "verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = arr_of(r, "nonResourceURLs");
        if !urls.is_empty() {
            if !arr_of(r, "apiGroups").is_empty() || !arr_of(r, "resources").is_empty() {
                causes.push(field::invalid(
                    &child(&at, "nonResourceURLs"),
                    &Value::Array(urls.to_vec()),
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if arr_of(r, "apiGroups").is_empty() {
            causes.push(field::required(
                &child(&at, "apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if arr_of(r, "resources").is_empty() {
            causes.push(field::required(
                &child(&at, "resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    causes
}

/// The internal `rbac.RoleRef` as kube prints a bad value since 1.34: Go's `json.Marshal` of a
/// struct without JSON tags, so the keys are the Go field names.
fn go_role_ref(r: &Value) -> String {
    field::go_json(&serde_json::json!({
        "APIGroup": str_of(r, "apiGroup"),
        "Kind": str_of(r, "kind"),
        "Name": str_of(r, "name"),
    }))
}

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding`.
pub fn validate_binding(obj: &Value, cluster: bool) -> Vec<Cause> {
    let null = Value::Null;
    let role_ref = obj.get("roleRef").unwrap_or(&null);
    let mut causes = Vec::new();
    if str_of(role_ref, "apiGroup") != RBAC_GROUP {
        causes.push(field::not_supported(
            "roleRef.apiGroup",
            &Value::String(str_of(role_ref, "apiGroup").into()),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if cluster {
        &["ClusterRole"]
    } else {
        &["Role", "ClusterRole"]
    };
    let kind = str_of(role_ref, "kind");
    if !kinds.contains(&kind) {
        causes.push(field::not_supported(
            "roleRef.kind",
            &Value::String(kind.into()),
            kinds,
        ));
    }
    let name = str_of(role_ref, "name");
    if name.is_empty() {
        causes.push(field::required("roleRef.name", ""));
    } else {
        causes.extend(field::each(
            "roleRef.name",
            name,
            field::path_segment_name(name),
        ));
    }
    for (i, s) in arr_of(obj, "subjects").iter().enumerate() {
        let at = index("subjects", i);
        let name = str_of(s, "name");
        if name.is_empty() {
            causes.push(field::required(&child(&at, "name"), ""));
        }
        let api_group = str_of(s, "apiGroup");
        match str_of(s, "kind") {
            "ServiceAccount" => {
                if !name.is_empty() {
                    causes.extend(field::each(
                        &child(&at, "name"),
                        name,
                        field::dns1123_subdomain(name),
                    ));
                }
                if !api_group.is_empty() {
                    causes.push(field::not_supported(
                        &child(&at, "apiGroup"),
                        &Value::String(api_group.into()),
                        &[""],
                    ));
                }
                if cluster && str_of(s, "namespace").is_empty() {
                    causes.push(field::required(&child(&at, "namespace"), ""));
                }
            }
            "User" | "Group" => {
                if api_group != RBAC_GROUP {
                    causes.push(field::not_supported(
                        &child(&at, "apiGroup"),
                        &Value::String(api_group.into()),
                        &[RBAC_GROUP],
                    ));
                }
            }
            other => causes.push(field::not_supported(
                &child(&at, "kind"),
                &Value::String(other.into()),
                &SUBJECT_KINDS,
            )),
        }
    }
    causes
}

pub fn validate_binding_update(new: &Value, old: &Value, cluster: bool) -> Vec<Cause> {
    let mut causes = validate_binding(new, cluster);
    let null = Value::Null;
    let (n, o) = (
        new.get("roleRef").unwrap_or(&null),
        old.get("roleRef").unwrap_or(&null),
    );
    if n != o {
        causes.push(invalid_go(
            "roleRef",
            &go_role_ref(n),
            "cannot change roleRef",
        ));
    }
    causes
}
