//! The CertificateSigningRequest strategies (`pkg/registry/certificates/certificates`): a request
//! is immutable once created except through its subresources, `/status` (the signer's
//! certificate and its own conditions) and `/approval` (the Approved/Denied decision), and each
//! write path keeps only the part it owns. Their validation is `crate::validation::certificates`.

use serde_json::{Value, json};

use super::strategy::Strategy;
use crate::auth::UserInfo;
use crate::store::Sub;

/// The condition types only `/approval` may add or change.
const DECISIONS: [&str; 2] = ["Approved", "Denied"];

/// The fields of `spec` kube fills from the requesting user (`PrepareForCreate` clears what a
/// client sent, then writes the user's).
const USER_FIELDS: [&str; 4] = ["username", "uid", "groups", "extra"];

pub(super) struct CertificateSigningRequest;

impl Strategy for CertificateSigningRequest {
    /// `csrStrategy.PrepareForCreate`: the user fields a client wrote are dropped and the
    /// requesting user's written instead (empty ones left out, as their `omitempty` JSON tags
    /// do); the status is reset, which the store's generic `initial_status` (`{}`) does.
    fn prepare_for_create(&self, obj: &mut Value, user: Option<&UserInfo>) -> Vec<String> {
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            // Validation answers a missing spec (its request and signer are required).
            return Vec::new();
        };
        for f in USER_FIELDS {
            spec.remove(f);
        }
        let Some(user) = user else {
            return Vec::new();
        };
        if !user.name.is_empty() {
            spec.insert("username".into(), user.name.clone().into());
        }
        if !user.uid.is_empty() {
            spec.insert("uid".into(), user.uid.clone().into());
        }
        if !user.groups.is_empty() {
            spec.insert("groups".into(), json!(user.groups));
        }
        if !user.extra.is_empty() {
            spec.insert("extra".into(), json!(user.extra));
        }
        Vec::new()
    }

    /// The three strategies' `PrepareForUpdate`. The store has already taken `status` from the
    /// body on `/status` and `/approval` and from the stored object on the main resource.
    fn prepare_for_update(&self, new: &mut Value, old: &Value, sub: Sub) {
        // Every path: the spec is the stored one.
        copy_field(new, old, "spec");
        match sub {
            Sub::Status => {
                // csrStatusStrategy: the decision conditions stay as stored (a changed count is
                // left for validation to refuse), times are filled in.
                for ty in DECISIONS {
                    preserve_condition_instances(new, old, ty);
                }
                populate_condition_timestamps(new, old);
            }
            Sub::Approval => {
                // csrApprovalStrategy: only the conditions change.
                populate_condition_timestamps(new, old);
                let conditions = new.pointer("/status/conditions").cloned();
                copy_field(new, old, "status");
                if let Some(c) = conditions {
                    if !new.get("status").is_some_and(Value::is_object) {
                        new["status"] = json!({});
                    }
                    new["status"]["conditions"] = c;
                } else if let Some(s) = new.get_mut("status").and_then(Value::as_object_mut) {
                    s.remove("conditions");
                }
            }
            Sub::Main | Sub::EphemeralContainers | Sub::Resize | Sub::Finalize | Sub::Scale => {
                copy_field(new, old, "status")
            }
        }
    }
}

/// Sets `new[field]` to `old[field]` (removing it when `old` has none).
fn copy_field(new: &mut Value, old: &Value, field: &str) {
    let Some(m) = new.as_object_mut() else {
        return;
    };
    match old.get(field) {
        Some(v) => {
            m.insert(field.to_owned(), v.clone());
        }
        None => {
            m.remove(field);
        }
    }
}

fn conditions(csr: &Value) -> &[Value] {
    csr.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn type_of(c: &Value) -> &str {
    c.get("type").and_then(Value::as_str).unwrap_or("")
}

/// kube's `preserveConditionInstances`: when `new` has as many conditions of type `ty` as `old`,
/// they are replaced, in order, by the stored ones.
fn preserve_condition_instances(new: &mut Value, old: &Value, ty: &str) {
    let old_of: Vec<Value> = conditions(old)
        .iter()
        .filter(|c| type_of(c) == ty)
        .cloned()
        .collect();
    let Some(list) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let new_at: Vec<usize> = (0..list.len())
        .filter(|&i| type_of(&list[i]) == ty)
        .collect();
    if new_at.len() != old_of.len() {
        return;
    }
    for (i, c) in new_at.into_iter().zip(old_of) {
        list[i] = c;
    }
}

/// Whether a time field is unset (Go's zero `metav1.Time` encodes as null or is omitted).
fn unset(c: &Value, field: &str) -> bool {
    c.get(field)
        .is_none_or(|v| v.is_null() || v.as_str().is_some_and(str::is_empty))
}

/// kube's `populateConditionTimestamps`: a condition without `lastUpdateTime` gets now; one
/// without `lastTransitionTime` keeps the stored time of a condition of the same type and status,
/// else now.
fn populate_condition_timestamps(new: &mut Value, old: &Value) {
    let now = crate::meta::now();
    let stored = conditions(old).to_vec();
    let Some(list) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in list.iter_mut().filter(|c| c.is_object()) {
        if unset(c, "lastUpdateTime") {
            c["lastUpdateTime"] = now.clone().into();
        }
        if unset(c, "lastTransitionTime") {
            let same = stored.iter().find(|o| {
                type_of(o) == type_of(c)
                    && o.get("status") == c.get("status")
                    && !unset(o, "lastTransitionTime")
            });
            c["lastTransitionTime"] = match same {
                Some(o) => o["lastTransitionTime"].clone(),
                None => now.clone().into(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(conditions: Value) -> Value {
        json!({"spec": {"request": "old", "usages": ["client auth"], "username": "u"},
               "status": {"conditions": conditions, "certificate": "Y2VydA=="}})
    }

    #[test]
    fn user_fields_a_client_sends_are_dropped_on_create() {
        let mut obj = json!({"spec": {"request": "r", "username": "mallory", "uid": "1",
            "groups": ["system:masters"], "extra": {"a": ["b"]}, "usages": ["client auth"]}});
        CertificateSigningRequest.prepare_for_create(&mut obj, None);
        assert_eq!(
            obj,
            json!({"spec": {"request": "r", "usages": ["client auth"]}})
        );
    }

    #[test]
    fn the_requesting_user_is_recorded_on_create() {
        let mut obj = json!({"spec": {"request": "r", "username": "mallory", "uid": "1",
            "groups": ["system:masters"], "extra": {"a": ["b"]}}});
        let mut user = UserInfo::service_account("ns", "sa", "u-1");
        user.extra.insert(
            "authentication.kubernetes.io/node-name".into(),
            vec!["n".into()],
        );
        CertificateSigningRequest.prepare_for_create(&mut obj, Some(&user));
        assert_eq!(
            obj["spec"],
            json!({"request": "r", "username": "system:serviceaccount:ns:sa", "uid": "u-1",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"],
                "extra": {"authentication.kubernetes.io/node-name": ["n"]}})
        );
        // A user without uid, groups or extra leaves those fields out (omitempty).
        let mut obj = json!({"spec": {"request": "r", "uid": "forged", "groups": ["g"]}});
        CertificateSigningRequest.prepare_for_create(&mut obj, Some(&UserInfo::new("bob", &[])));
        assert_eq!(obj["spec"], json!({"request": "r", "username": "bob"}));
    }

    #[test]
    fn the_main_resource_keeps_spec_and_status() {
        let old = csr(json!([{"type": "Approved", "status": "True"}]));
        let mut new =
            json!({"metadata": {"labels": {"a": "b"}}, "spec": {"request": "new"}, "status": {}});
        CertificateSigningRequest.prepare_for_update(&mut new, &old, Sub::Main);
        assert_eq!(new["spec"], old["spec"]);
        assert_eq!(new["status"], old["status"]);
        assert_eq!(new["metadata"]["labels"]["a"], "b");
    }

    #[test]
    fn status_keeps_the_stored_decisions_and_stamps_new_conditions() {
        let old = csr(json!([{"type": "Approved", "status": "True", "reason": "R",
            "lastUpdateTime": "2020-01-01T00:00:00Z", "lastTransitionTime": "2020-01-01T00:00:00Z"}]));
        let mut new = csr(
            json!([{"type": "Approved", "status": "True", "reason": "changed"},
            {"type": "Failed", "status": "True"}]),
        );
        CertificateSigningRequest.prepare_for_update(&mut new, &old, Sub::Status);
        let conds = new["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds[0], old["status"]["conditions"][0]);
        assert!(conds[1]["lastUpdateTime"].is_string());
        assert!(conds[1]["lastTransitionTime"].is_string());
    }

    #[test]
    fn approval_changes_only_the_conditions_and_keeps_a_transition_time() {
        let old = csr(json!([{"type": "Custom", "status": "True",
            "lastTransitionTime": "2020-01-01T00:00:00Z"}]));
        let mut new = csr(json!([{"type": "Custom", "status": "True"},
            {"type": "Approved", "status": "True"}]));
        new["status"]["certificate"] = "b3RoZXI=".into();
        new["spec"]["request"] = "changed".into();
        CertificateSigningRequest.prepare_for_update(&mut new, &old, Sub::Approval);
        assert_eq!(new["spec"], old["spec"]);
        assert_eq!(new["status"]["certificate"], "Y2VydA==");
        let conds = new["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(conds[1]["type"], "Approved");
    }
}
