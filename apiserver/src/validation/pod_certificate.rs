//! Validates certificates.k8s.io PodCertificateRequests as kube's
//! `pkg/apis/certificates/validation/validation.go` does (`ValidatePodCertificateRequestCreate`,
//! `...Update`, `...StatusUpdate`; read at the 1.35 line, blob 189520873 of the search index):
//!
//! - create: the signer name, the pod, service account and node names (DNS subdomains) and
//!   their UIDs (required, at most 128 bytes), `maxExpirationSeconds` within
//!   [3600, 86400] for `kubernetes.io/` signers and [3600, 7862400] for the others;
//! - update of the main resource: the whole spec is immutable;
//! - `/status`: at most one of the terminal conditions (Issued, Denied, Failed), each `True`;
//!   every condition a valid `metav1.Condition` (`ValidateConditions`); a status fixed once a
//!   terminal condition is set; only the conditions when denying or failing; and no change
//!   unless a terminal condition is being set.
//!
//! Not modelled, with the reason:
//! - `spec.stubPKCS10Request` (the 1.36+ replacement of `pkixPublicKey`/`proofOfPossession`,
//!   the only key fields of certificates.k8s.io/v1) and `spec.unverifiedUserAnnotations`: the
//!   kube source of their rules was not available to follow, so neither is checked.
//! - When a request is issued, the certificate chain's own checks (PEM blocks, the leaf's key,
//!   names and lifetime, the timestamps against it and the server's clock): a chain is accepted
//!   as it is.
//! - `maxExpirationSeconds` being required: kube defaults it to 86400 before validation, which
//!   satisfies every signer's range, so an absent value is accepted.

use serde_json::Value;

use super::certificates::validate_signer_name;
use super::field::{self, arr_of, child, index, str_of};
use super::selector::invalid_go;
use crate::status::Cause;

/// `certificates.MinMaxExpirationSeconds` (1 hour).
const MIN_MAX_EXPIRATION: i64 = 3600;
/// `certificates.KubernetesMaxMaxExpirationSeconds` (24 hours) for `kubernetes.io/` signers.
const KUBERNETES_MAX_MAX_EXPIRATION: i64 = 24 * 3600;
/// `certificates.MaxMaxExpirationSeconds` (91 days) for the other signers.
const MAX_MAX_EXPIRATION: i64 = 91 * 24 * 3600;
/// The UIDs of the pod, service account and node are at most this long.
const MAX_UID_LEN: usize = 128;
/// The terminal condition types, in kube's order.
const TERMINAL: [&str; 3] = ["Issued", "Denied", "Failed"];
/// `metav1.Condition` statuses, sorted.
const CONDITION_STATUSES: [&str; 3] = ["False", "True", "Unknown"];
/// `maxReasonLen` and `maxMessageLen` of `metav1validation.ValidateCondition`.
const MAX_REASON_LEN: usize = 1024;
const MAX_MESSAGE_LEN: usize = 32 * 1024;
const CONDITION_REASON_FMT: &str = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?";
const CONDITION_REASON_MSG: &str = "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'";

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// `ValidatePodCertificateRequestCreate` without ObjectMeta.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let signer = str_of(spec, "signerName");
    let mut causes = validate_signer_name("spec.signerName", signer);
    for (name, uid) in [
        ("podName", "podUID"),
        ("serviceAccountName", "serviceAccountUID"),
        ("nodeName", "nodeUID"),
    ] {
        let value = str_of(spec, name);
        causes.extend(field::each(
            &child("spec", name),
            value,
            field::dns1123_subdomain(value),
        ));
        let id = str_of(spec, uid);
        let at = child("spec", uid);
        if id.is_empty() {
            causes.push(field::invalid_str(&at, id, "must not be empty"));
        }
        if id.len() > MAX_UID_LEN {
            causes.push(field::too_long(&at, MAX_UID_LEN));
        }
    }
    if let Some(v) = spec.get("maxExpirationSeconds").filter(|v| !v.is_null()) {
        let max = if is_kubernetes_signer(signer) {
            KUBERNETES_MAX_MAX_EXPIRATION
        } else {
            MAX_MAX_EXPIRATION
        };
        let n = v.as_i64().unwrap_or(0);
        if !(MIN_MAX_EXPIRATION..=max).contains(&n) {
            causes.push(field::invalid(
                "spec.maxExpirationSeconds",
                v,
                &format!("must be in the range [{MIN_MAX_EXPIRATION}, {max}]"),
            ));
        }
    }
    causes
}

/// `IsKubernetesSignerName`: the `kubernetes.io/` signers (and their subdomains).
fn is_kubernetes_signer(signer: &str) -> bool {
    let domain = signer.split('/').next().unwrap_or("");
    domain == "kubernetes.io" || domain.ends_with(".kubernetes.io")
}

/// Go's `json.Marshal` of the internal `certificates.PodCertificateRequestSpec` (Go names, no
/// omitempty: byte slices and the map print `null` when unset).
fn go_spec(spec: &Value) -> String {
    let empty = field::GO_EMPTY_STRING;
    field::go_struct(
        spec,
        &[
            ("SignerName", "signerName", empty.clone()),
            ("PodName", "podName", empty.clone()),
            ("PodUID", "podUID", empty.clone()),
            ("ServiceAccountName", "serviceAccountName", empty.clone()),
            ("ServiceAccountUID", "serviceAccountUID", empty.clone()),
            ("NodeName", "nodeName", empty.clone()),
            ("NodeUID", "nodeUID", empty),
            ("MaxExpirationSeconds", "maxExpirationSeconds", Value::Null),
            ("PKIXPublicKey", "pkixPublicKey", Value::Null),
            ("ProofOfPossession", "proofOfPossession", Value::Null),
            ("StubPKCS10Request", "stubPKCS10Request", Value::Null),
            (
                "UnverifiedUserAnnotations",
                "unverifiedUserAnnotations",
                Value::Null,
            ),
        ],
    )
}

/// The spec as Semantic.DeepEqual compares it (unset and empty are the same).
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// `ValidatePodCertificateRequestUpdate` without ObjectMeta: the spec is immutable.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    if normalized(spec(new)) == normalized(spec(old)) {
        return Vec::new();
    }
    vec![invalid_go(
        "spec",
        &go_spec(spec(new)),
        "field is immutable",
    )]
}

fn conditions(obj: &Value) -> &[Value] {
    obj.get("status").map_or(&[], |s| arr_of(s, "conditions"))
}

/// Whether a condition of `ty` is `True` (`pcrIsIssued` and its kin).
fn has(obj: &Value, ty: &str) -> bool {
    conditions(obj)
        .iter()
        .any(|c| str_of(c, "type") == ty && str_of(c, "status") == "True")
}

/// `metav1validation.ValidateConditions`.
pub(crate) fn validate_conditions(list: &[Value], path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at = index(path, i);
        let ty = str_of(c, "type");
        if seen.contains(&ty) {
            causes.push(field::duplicate(
                &child(&at, "type"),
                &Value::String(ty.to_owned()),
            ));
        } else {
            seen.push(ty);
        }
        causes.extend(field::each(
            &child(&at, "type"),
            ty,
            field::qualified_name(ty),
        ));
        let status = str_of(c, "status");
        if !CONDITION_STATUSES.contains(&status) {
            causes.push(field::not_supported(
                &child(&at, "status"),
                &Value::String(status.to_owned()),
                &CONDITION_STATUSES,
            ));
        }
        if let Some(g) = c.get("observedGeneration")
            && g.as_i64().is_some_and(|g| g < 0)
        {
            causes.push(field::invalid(
                &child(&at, "observedGeneration"),
                g,
                "must be greater than or equal to zero",
            ));
        }
        if str_of(c, "lastTransitionTime").is_empty() {
            causes.push(field::required(
                &child(&at, "lastTransitionTime"),
                "must be set",
            ));
        }
        let reason = str_of(c, "reason");
        let reason_at = child(&at, "reason");
        if reason.is_empty() {
            causes.push(field::required(&reason_at, "must be set"));
        } else {
            if !is_condition_reason(reason) {
                causes.push(field::invalid_str(
                    &reason_at,
                    reason,
                    &field::regex_error(
                        CONDITION_REASON_MSG,
                        CONDITION_REASON_FMT,
                        &[
                            "my_name",
                            "MY_NAME",
                            "MyName",
                            "ReasonA,ReasonB",
                            "ReasonA:ReasonB",
                        ],
                    ),
                ));
            }
            if reason.len() > MAX_REASON_LEN {
                causes.push(field::too_long(&reason_at, MAX_REASON_LEN));
            }
        }
        if str_of(c, "message").len() > MAX_MESSAGE_LEN {
            causes.push(field::too_long(&child(&at, "message"), MAX_MESSAGE_LEN));
        }
    }
    causes
}

/// `conditionReasonFmt`.
fn is_condition_reason(s: &str) -> bool {
    let b = s.as_bytes();
    let inner = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b',' | b':');
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(inner)
        && (b.len() == 1 || b[b.len() - 1].is_ascii_alphanumeric() || b[b.len() - 1] == b'_')
}

/// The status as Semantic.DeepEqual compares it.
fn status(obj: &Value) -> Value {
    normalized(obj.get("status").unwrap_or(&Value::Null))
}

/// `field.Invalid(status, OmitValueType{}, detail)`: the value is left out.
fn status_invalid(detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        "status",
        format!("Invalid value: {detail}"),
    )
}

/// `ValidatePodCertificateRequestStatusUpdate` without ObjectMeta (the caller checks it first;
/// kube stops there when it fails, which the caller's order keeps).
pub fn validate_status_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut terminal = 0;
    for (i, c) in conditions(new).iter().enumerate() {
        let ty = str_of(c, "type");
        let at = index("status.conditions", i);
        if TERMINAL.contains(&ty) {
            terminal += 1;
            if terminal > 1 {
                causes.push(field::invalid_str(
                    &child(&at, "type"),
                    ty,
                    "There may be at most one condition with type \"Issued\", \"Denied\", or \"Failed\"",
                ));
            }
            if str_of(c, "status") != "True" {
                causes.push(field::not_supported(
                    &child(&at, "status"),
                    c.get("status").unwrap_or(&Value::String(String::new())),
                    &["True"],
                ));
            }
        } else {
            causes.push(field::not_supported(
                &child(&at, "type"),
                &Value::String(ty.to_owned()),
                &TERMINAL,
            ));
        }
    }
    causes.extend(validate_conditions(conditions(new), "status.conditions"));
    if !causes.is_empty() {
        return causes;
    }
    if TERMINAL.iter().any(|t| has(old, t)) {
        if status(new) != status(old) {
            causes.push(status_invalid(
                "immutable after PodCertificateRequest is issued, denied, or failed",
            ));
        }
        return causes;
    }
    if has(new, "Denied") || has(new, "Failed") {
        let only_conditions = normalized(&serde_json::json!({"conditions": conditions(new)}));
        if status(new) != only_conditions {
            causes.push(status_invalid(
                "non-condition status fields must be empty when denying or failing the PodCertificateRequest",
            ));
        }
        return causes;
    }
    if has(new, "Issued") {
        // The chain's own checks are not modelled (see the module doc).
        return causes;
    }
    if status(new) != status(old) {
        causes.push(status_invalid(
            "status is immutable unless transitioning to \"Issued\", \"Denied\", or \"Failed\"",
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    fn pcr() -> Value {
        json!({"spec": {"signerName": "example.com/signer", "podName": "p", "podUID": "u1",
            "serviceAccountName": "default", "serviceAccountUID": "u2", "nodeName": "n",
            "nodeUID": "u3", "maxExpirationSeconds": 86400}})
    }

    #[test]
    fn arbitrary_json_is_tolerated() {
        for v in [
            json!(null),
            json!(1),
            json!({"spec": 1, "status": []}),
            json!({"spec": {"podName": 1, "maxExpirationSeconds": "x"},
                "status": {"conditions": [1, null, {"type": 2}]}}),
        ] {
            validate(&v);
            validate_update(&v, &json!(null));
            validate_status_update(&v, &v);
        }
    }

    #[test]
    fn create_rules() {
        assert!(validate(&pcr()).is_empty());
        let mut bad = pcr();
        bad["spec"]["podName"] = "Bad".into();
        bad["spec"]["nodeUID"] = "".into();
        bad["spec"]["signerName"] = "kubernetes.io/x".into();
        bad["spec"]["maxExpirationSeconds"] = 90000.into();
        let m = messages(&validate(&bad));
        assert!(
            m[0].starts_with(
                "spec.podName: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain"
            ),
            "{m:?}"
        );
        assert_eq!(m[1], "spec.nodeUID: Invalid value: \"\": must not be empty");
        assert_eq!(
            m[2],
            "spec.maxExpirationSeconds: Invalid value: 90000: must be in the range [3600, 86400]"
        );
        bad["spec"]["signerName"] = "example.com/x".into();
        assert_eq!(messages(&validate(&bad)).len(), 2);
    }

    #[test]
    fn status_rules() {
        let old = pcr();
        let mut new = pcr();
        new["status"] = json!({"conditions": [{"type": "Denied", "status": "True",
            "reason": "No", "lastTransitionTime": "2024-01-01T00:00:00Z"}]});
        assert!(validate_status_update(&new, &old).is_empty());
        assert_eq!(
            messages(&validate_status_update(&old, &new)),
            [
                "status: Invalid value: immutable after PodCertificateRequest is issued, denied, or failed"
            ]
        );
        new["status"]["conditions"][0]["type"] = "Ready".into();
        assert_eq!(
            messages(&validate_status_update(&new, &old)),
            [
                "status.conditions[0].type: Unsupported value: \"Ready\": supported values: \"Issued\", \"Denied\", \"Failed\""
            ]
        );
    }
}
