//! Serves `certificatesigningrequests/approval`: GET answers the CSR; PUT and PATCH change only
//! `status.conditions` (kube's `csrApprovalStrategy`), where `Approved` and `Denied` are
//! mutually exclusive, must be `True` and, once set, stay (`ValidateCertificateSigningRequestApprovalUpdate`).

use serde_json::{Value, json};

use super::rmw;
use crate::http::State;
use crate::meta;
use crate::status::{ApiError, Cause};
use crate::store::{Target, WriteOpts};

/// The condition types that decide a request.
const DECISIONS: &[&str] = &["Approved", "Denied"];

fn conditions(csr: &Value) -> &[Value] {
    csr.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn type_of(c: &Value) -> &str {
    c.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The changes kube refuses, as field causes.
fn check(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in conditions(new).iter().enumerate() {
        let at = format!("status.conditions[{i}]");
        let ty = type_of(c);
        if ty.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                format!("{at}.type"),
                "Required value",
            ));
            continue;
        }
        if DECISIONS.contains(&ty) {
            let status = c.get("status").and_then(Value::as_str).unwrap_or("");
            if status != "True" {
                causes.push(Cause::new(
                    "FieldValueNotSupported",
                    format!("{at}.status"),
                    format!(
                        "Unsupported value: {}: supported values: \"True\"",
                        json!(status)
                    ),
                ));
            }
            if let Some(other) = seen.iter().find(|s| DECISIONS.contains(s) && **s != ty) {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    format!("{at}.type"),
                    format!(
                        "Invalid value: {}: {other} and {ty} conditions are mutually exclusive",
                        json!(ty)
                    ),
                ));
            }
            if seen.contains(&ty) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("{at}.type"),
                    format!("Duplicate value: {}", json!(ty)),
                ));
            }
        }
        seen.push(ty);
    }
    for c in conditions(old) {
        let ty = type_of(c);
        if DECISIONS.contains(&ty) && !conditions(new).iter().any(|n| type_of(n) == ty) {
            causes.push(Cause::new(
                "FieldValueForbidden",
                "status.conditions",
                format!(
                    "Forbidden: updates may not remove a condition of type {}",
                    json!(ty)
                ),
            ));
        }
    }
    causes
}

/// The `approval` view: the whole CSR, of which only `status.conditions` is written.
pub(super) struct Approval;

impl rmw::View for Approval {
    fn name(&self) -> &str {
        "certificatesigningrequests/approval"
    }

    fn show(&self, parent: &Value) -> Value {
        parent.clone()
    }

    /// Writes `sent`'s conditions into the stored CSR, stamping the times kube's strategy stamps.
    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        old: &Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let mut new = rmw::parent_to_write(sent, "CertificateSigningRequest", t, old)?;
        let causes = check(sent, old);
        if !causes.is_empty() {
            return Err(ApiError::invalid(
                "CertificateSigningRequest.certificates.k8s.io",
                "certificates.k8s.io",
                "CertificateSigningRequest",
                t.name,
                causes,
            ));
        }
        let now = meta::now();
        let mut conds: Vec<Value> = conditions(sent).to_vec();
        for c in &mut conds {
            // kube's populateConditionTimestamps: a condition without times gets "now".
            for field in ["lastUpdateTime", "lastTransitionTime"] {
                if c.get(field).is_none_or(Value::is_null) {
                    c[field] = now.clone().into();
                }
            }
        }
        if !new.get("status").is_some_and(Value::is_object) {
            new["status"] = json!({});
        }
        if conds.is_empty() {
            if let Some(s) = new["status"].as_object_mut() {
                s.remove("conditions");
            }
        } else {
            new["status"]["conditions"] = conds.into();
        }
        // The store's status subresource is the one path that writes `.status`.
        let w = state
            .store
            .update(t, crate::store::Sub::Status, new, opts)?;
        rmw::written(&w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_exclusive_true_and_permanent() {
        let none = json!({});
        let approved = json!({"status": {"conditions": [{"type": "Approved", "status": "True"}]}});
        assert!(check(&approved, &none).is_empty());
        let both = json!({"status": {"conditions": [
            {"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]}});
        assert_eq!(
            check(&both, &none)[0].message,
            "Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive"
        );
        let falsy = json!({"status": {"conditions": [{"type": "Denied", "status": "False"}]}});
        assert_eq!(check(&falsy, &none)[0].field, "status.conditions[0].status");
        let dropped = json!({"status": {"conditions": []}});
        assert_eq!(
            check(&dropped, &approved)[0].message,
            "Forbidden: updates may not remove a condition of type \"Approved\""
        );
    }
}
