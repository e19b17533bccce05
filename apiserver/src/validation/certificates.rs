//! Validates CertificateSigningRequests as kube's `pkg/apis/certificates/validation` does
//! (`ValidateCertificateSigningRequestCreate`, `...Update`, `...StatusUpdate` and
//! `...ApprovalUpdate`): the PKCS#10 request and its signature, usages, signer name,
//! `expirationSeconds`, the conditions and the issued certificate, and which of them each write
//! path (the main resource, `/status`, `/approval`) may change.
//!
//! kube tolerates on update what the stored object already breaks (`getValidationOptions`), so
//! an old request stays writable; the same tolerances are kept here.
//!
//! Not modelled, with the reason:
//! - Go's `encoding/asn1`/`crypto/x509` error texts for a request or certificate whose DER does
//!   not parse: the message here names the parse failure in x509-parser's words.
//! - Signature algorithms ring does not verify (ECDSA P-521, RSA keys under 2048 bits, SHA-1
//!   ECDSA) are refused as unimplemented, where Go accepts them.
//! - The `cmp.Diff` kube appends to "updates may not modify a condition of type": left out.
//! - The declarative validation of 1.34+ (`DeclarativeValidationTakeover` is off by default, so
//!   kube answers with these hand-written rules).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer;

use super::field::{self, child, index};
use crate::status::Cause;
use crate::store::Sub;

/// `allValidUsages`, sorted as Go's `sets.String.List()` lists them in messages.
pub const KEY_USAGES: [&str; 23] = [
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// Condition types whose status may only be `True` (`trueConditionTypes`).
const TRUE_ONLY_TYPES: [&str; 3] = ["Approved", "Denied", "Failed"];
/// Every condition status (`allStatusValues`, sorted).
const STATUS_VALUES: [&str; 3] = ["False", "True", "Unknown"];
/// The decision conditions only `/approval` may add or change.
const DECISIONS: [&str; 2] = ["Approved", "Denied"];
/// The conditions no update may remove.
const PERMANENT: [&str; 3] = ["Approved", "Denied", "Failed"];

/// `certificates.LegacyUnknownSignerName`: refused by the v1 API on new requests.
const LEGACY_SIGNER: &str = "kubernetes.io/legacy-unknown";
/// kube's floor for `spec.expirationSeconds` (10 minutes).
const MIN_EXPIRATION_SECONDS: i64 = 600;

/// `certificateValidationOptions`: what one write may do or tolerate.
#[derive(Debug, Default, Clone, Copy)]
struct Options {
    allow_setting_approval_conditions: bool,
    allow_setting_certificate: bool,
    allow_both_approved_and_denied: bool,
    allow_legacy_signer_name: bool,
    allow_duplicate_condition_types: bool,
    allow_empty_condition_type: bool,
    allow_arbitrary_certificate: bool,
    allow_unknown_usages: bool,
    allow_duplicate_usages: bool,
}

impl Options {
    /// `getValidationOptions`: the tolerances for data the stored object `old` already has.
    fn for_write(new: &Value, old: Option<&Value>) -> Self {
        let Some(old) = old else {
            return Self::default();
        };
        let types: Vec<&str> = conditions(old).iter().map(type_of).collect();
        let usages = usages(old);
        Self {
            allow_setting_approval_conditions: false,
            allow_setting_certificate: false,
            allow_both_approved_and_denied: types.contains(&"Approved")
                && types.contains(&"Denied"),
            allow_legacy_signer_name: str_at(old, "/spec/signerName") == LEGACY_SIGNER,
            allow_duplicate_condition_types: has_duplicates(&types),
            allow_empty_condition_type: types.contains(&""),
            allow_arbitrary_certificate: certificate(new) == certificate(old)
                || check_certificate(&certificate(old)).is_err(),
            allow_unknown_usages: usages.iter().any(|u| !KEY_USAGES.contains(u)),
            allow_duplicate_usages: has_duplicates(&usages),
        }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn conditions(csr: &Value) -> &[Value] {
    csr.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn type_of(c: &Value) -> &str {
    c.get("type").and_then(Value::as_str).unwrap_or("")
}

fn usages(csr: &Value) -> Vec<&str> {
    csr.pointer("/spec/usages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|u| u.as_str().unwrap_or(""))
        .collect()
}

fn has_duplicates(items: &[&str]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, x)| items[..i].contains(x))
}

/// The bytes of a `[]byte` field (base64 in JSON; the decode stage has refused bad base64).
fn bytes_at(csr: &Value, pointer: &str) -> Vec<u8> {
    BASE64.decode(str_at(csr, pointer)).unwrap_or_default()
}

fn certificate(csr: &Value) -> Vec<u8> {
    bytes_at(csr, "/status/certificate")
}

/// Validation of a new CertificateSigningRequest (ObjectMeta is checked by the caller).
pub fn validate(obj: &Value) -> Vec<Cause> {
    validate_with(obj, Options::for_write(obj, None))
}

/// Validation of an update through `sub`: the main resource, `/status` (may set the
/// certificate) or `/approval` (may set the decision conditions).
pub fn validate_update(new: &Value, old: &Value, sub: Sub) -> Vec<Cause> {
    let mut opts = Options::for_write(new, Some(old));
    match sub {
        Sub::Status => opts.allow_setting_certificate = true,
        Sub::Approval => opts.allow_setting_approval_conditions = true,
        Sub::Main | Sub::EphemeralContainers | Sub::Resize | Sub::Finalize | Sub::Scale => {}
    }
    let mut causes = validate_with(new, opts);
    let count = |csr: &Value, ty: &str| conditions(csr).iter().filter(|c| type_of(c) == ty).count();
    for ty in PERMANENT {
        if count(new, ty) < count(old, ty) {
            causes.push(field::forbidden(
                "status.conditions",
                &format!(
                    "updates may not remove a condition of type {}",
                    field::quote(ty)
                ),
            ));
        }
    }
    if !opts.allow_setting_approval_conditions {
        for ty in DECISIONS {
            let of = |csr: &Value| -> Vec<Value> {
                conditions(csr)
                    .iter()
                    .filter(|c| type_of(c) == ty)
                    .cloned()
                    .collect()
            };
            let (before, after) = (of(old), of(new));
            if after.len() > before.len() {
                causes.push(field::forbidden(
                    "status.conditions",
                    &format!(
                        "updates may not add a condition of type {}",
                        field::quote(ty)
                    ),
                ));
            } else if after.len() == before.len() && after != before {
                causes.push(field::forbidden(
                    "status.conditions",
                    &format!(
                        "updates may not modify a condition of type {}",
                        field::quote(ty)
                    ),
                ));
            }
        }
    }
    let (new_cert, old_cert) = (certificate(new), certificate(old));
    if new_cert != old_cert {
        if !opts.allow_setting_certificate {
            causes.push(field::forbidden(
                "status.certificate",
                "updates may not set certificate content",
            ));
        } else if !old_cert.is_empty() {
            // kube's allowResettingCertificate is never set for v1.
            causes.push(field::forbidden(
                "status.certificate",
                "updates may not modify existing certificate content",
            ));
        }
    }
    causes
}

/// `validateCertificateSigningRequest` without ObjectMeta.
fn validate_with(csr: &Value, opts: Options) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Err(e) = check_request(&bytes_at(csr, "/spec/request")) {
        let sent = csr.pointer("/spec/request").cloned().unwrap_or(Value::Null);
        causes.push(field::invalid("spec.request", &sent, &e));
    }
    let usages = usages(csr);
    if usages.is_empty() {
        causes.push(field::required("spec.usages", ""));
    }
    if !opts.allow_unknown_usages {
        for (i, u) in usages.iter().enumerate() {
            if !KEY_USAGES.contains(u) {
                causes.push(field::not_supported(
                    &index("spec.usages", i),
                    &Value::String((*u).to_owned()),
                    &KEY_USAGES,
                ));
            }
        }
    }
    if !opts.allow_duplicate_usages {
        for (i, u) in usages.iter().enumerate() {
            if usages[..i].contains(u) {
                causes.push(field::duplicate(
                    &index("spec.usages", i),
                    &Value::String((*u).to_owned()),
                ));
            }
        }
    }
    let signer = str_at(csr, "/spec/signerName");
    if !opts.allow_legacy_signer_name && signer == LEGACY_SIGNER {
        causes.push(field::invalid_str(
            "spec.signerName",
            signer,
            "the legacy signerName is not allowed via this API version",
        ));
    } else {
        causes.extend(validate_signer_name("spec.signerName", signer));
    }
    if let Some(v) = csr.pointer("/spec/expirationSeconds")
        && v.as_i64().is_some_and(|s| s < MIN_EXPIRATION_SECONDS)
    {
        causes.push(field::invalid(
            "spec.expirationSeconds",
            v,
            "may not specify a duration less than 600 seconds (10 minutes)",
        ));
    }
    causes.extend(validate_conditions(csr, opts));
    if !opts.allow_arbitrary_certificate
        && let Err(e) = check_certificate(&certificate(csr))
    {
        causes.push(field::invalid_str(
            "status.certificate",
            "<certificate data>",
            &e,
        ));
    }
    causes
}

/// `validateConditions`.
fn validate_conditions(csr: &Value, opts: Options) -> Vec<Cause> {
    let at = "status.conditions";
    let mut causes = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let (mut approved, mut denied) = (false, false);
    for (i, c) in conditions(csr).iter().enumerate() {
        let here = index(at, i);
        let ty = type_of(c);
        if !opts.allow_empty_condition_type && ty.is_empty() {
            causes.push(field::required(&child(&here, "type"), ""));
        }
        let allowed: &[&str] = if TRUE_ONLY_TYPES.contains(&ty) {
            &["True"]
        } else {
            &STATUS_VALUES
        };
        let status = c.get("status").and_then(Value::as_str).unwrap_or("");
        if status.is_empty() {
            causes.push(field::required(&child(&here, "status"), ""));
        } else if !allowed.contains(&status) {
            causes.push(field::not_supported(
                &child(&here, "status"),
                &Value::String(status.to_owned()),
                allowed,
            ));
        }
        if !opts.allow_both_approved_and_denied {
            // kube reports this on the list (`zeroOrOneOf`), not on the item.
            let clash = match ty {
                "Approved" => {
                    approved = true;
                    denied
                }
                "Denied" => {
                    denied = true;
                    approved
                }
                _ => false,
            };
            if clash {
                causes.push(field::invalid_str(
                    at,
                    ty,
                    "Approved and Denied conditions are mutually exclusive",
                ));
            }
        }
        if !opts.allow_duplicate_condition_types {
            if seen.contains(&ty) {
                causes.push(field::duplicate(
                    &child(&here, "type"),
                    &Value::String(ty.to_owned()),
                ));
            }
            seen.push(ty);
        }
    }
    causes
}

/// `ValidateSignerName` (core validation): `example.com/signer-name`.
pub fn validate_signer_name(path: &str, signer: &str) -> Vec<Cause> {
    if signer.is_empty() {
        return vec![field::required(path, "")];
    }
    let segments: Vec<&str> = signer.split('/').collect();
    let [domain, rest] = segments.as_slice() else {
        return vec![field::invalid_str(
            path,
            signer,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        )];
    };
    let mut causes = Vec::new();
    if domain.len() > field::DNS1123_SUBDOMAIN_MAX {
        causes.push(field::too_long(path, field::DNS1123_SUBDOMAIN_MAX));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        let errs = field::dns1123_label(label);
        if !errs.is_empty() {
            for e in errs {
                causes.push(field::invalid_str(
                    path,
                    domain,
                    &format!("validating label {}: {e}", field::quote(label)),
                ));
            }
            break;
        }
    }
    if labels.len() < 2 {
        causes.push(field::invalid_str(
            path,
            domain,
            "should be a domain with at least two segments separated by dots",
        ));
    }
    for label in rest.split('.') {
        let errs = field::dns1123_subdomain(label);
        if !errs.is_empty() {
            for e in errs {
                causes.push(field::invalid_str(
                    path,
                    rest,
                    &format!("validating label {}: {e}", field::quote(label)),
                ));
            }
            break;
        }
    }
    // A domain, '/', then a namespace (label) '.' a resource name (subdomain).
    let max = field::DNS1123_SUBDOMAIN_MAX
        + (field::DNS1123_SUBDOMAIN_MAX + field::DNS_LABEL_MAX + 1)
        + 1;
    if signer.len() > max {
        causes.push(field::too_long(path, max));
    }
    causes
}

/// The PEM blocks of `data` as Go's `pem.Decode` loop finds them (a malformed block ends the
/// search, as it ends Go's loop over `pem.Decode`).
pub(crate) fn pem_blocks(data: &[u8]) -> Vec<pem::Pem> {
    let mut blocks = Vec::new();
    let mut rest = data;
    while let Some(start) = find(rest, b"-----BEGIN ") {
        rest = &rest[start..];
        let Ok(block) = pem::parse(rest) else {
            break;
        };
        blocks.push(block);
        // Past this block's END line.
        let Some(end) = find(rest, b"-----END ") else {
            break;
        };
        let after = &rest[end + b"-----END ".len()..];
        let Some(close) = find(after, b"-----") else {
            break;
        };
        rest = &after[close + b"-----".len()..];
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// kube's `validateCSR`: `certificates.ParseCSR` (the first PEM block must be a
/// `CERTIFICATE REQUEST`, its DER a PKCS#10 request) and `CheckSignature`.
fn check_request(data: &[u8]) -> Result<(), String> {
    let Some(block) = pem_blocks(data).into_iter().next() else {
        return Err("PEM block type must be CERTIFICATE REQUEST".into());
    };
    if block.tag() != "CERTIFICATE REQUEST" {
        return Err("PEM block type must be CERTIFICATE REQUEST".into());
    }
    let (rest, csr) = X509CertificationRequest::from_der(block.contents())
        .map_err(|e| format!("x509: malformed certificate request: {e}"))?;
    if !rest.is_empty() {
        return Err("asn1: syntax error: trailing data".into());
    }
    csr.verify_signature().map_err(|e| match e {
        X509Error::SignatureUnsupportedAlgorithm => {
            "x509: cannot verify signature: algorithm unimplemented".to_owned()
        }
        _ => verification_failure(&csr),
    })
}

/// Go's wording of a bad signature, which depends on the key type.
fn verification_failure(csr: &X509CertificationRequest<'_>) -> String {
    /// rsaEncryption, id-ecPublicKey and id-Ed25519.
    const RSA: &str = "1.2.840.113549.1.1.1";
    const EC: &str = "1.2.840.10045.2.1";
    const ED25519: &str = "1.3.101.112";
    let algorithm = csr
        .certification_request_info
        .subject_pki
        .algorithm
        .algorithm
        .to_id_string();
    match algorithm.as_str() {
        RSA => "crypto/rsa: verification error".into(),
        EC => "x509: ECDSA verification failure".into(),
        ED25519 => "x509: Ed25519 verification failure".into(),
        _ => "x509: cannot verify signature: algorithm unimplemented".into(),
    }
}

/// kube's `validateCertificate`: empty, or CERTIFICATE PEM blocks without headers, each holding
/// at least one certificate.
fn check_certificate(data: &[u8]) -> Result<(), String> {
    if data.is_empty() {
        return Ok(());
    }
    let blocks = pem_blocks(data);
    for block in &blocks {
        if block.tag() != "CERTIFICATE" {
            return Err(format!(
                "only CERTIFICATE PEM blocks are allowed, found {}",
                field::quote(block.tag())
            ));
        }
        if block.headers().iter().next().is_some() {
            return Err("no PEM block headers are permitted".into());
        }
        // x509.ParseCertificates: one or more DER certificates back to back.
        let mut der = block.contents();
        let mut count = 0;
        while !der.is_empty() {
            let (rest, _) = x509_parser::parse_x509_certificate(der)
                .map_err(|_| "x509: malformed certificate".to_owned())?;
            der = rest;
            count += 1;
        }
        if count == 0 {
            return Err("found CERTIFICATE PEM block containing 0 certificates".into());
        }
    }
    if blocks.is_empty() {
        return Err("must contain at least one CERTIFICATE PEM block".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A real request, signed by a fresh P-256 key.
    fn request_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["node-1".to_owned()]).unwrap();
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    fn csr(request: &str) -> Value {
        json!({"spec": {"request": BASE64.encode(request), "signerName": "example.com/signer",
            "usages": ["digital signature", "client auth"]}})
    }

    use crate::validation::test_support::messages;

    #[test]
    fn a_signed_request_is_valid() {
        assert_eq!(
            messages(&validate(&csr(&request_pem()))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_request_that_is_not_pem_or_not_a_csr_is_refused() {
        let sent = BASE64.encode("hello");
        assert_eq!(
            messages(&validate(&csr("hello"))),
            [format!(
                "spec.request: Invalid value: \"{sent}\": PEM block type must be CERTIFICATE REQUEST"
            )]
        );
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let m = messages(&validate(&csr(&cert.pem())));
        assert!(
            m[0].ends_with("PEM block type must be CERTIFICATE REQUEST"),
            "{m:?}"
        );
    }

    #[test]
    fn a_tampered_signature_is_refused_with_gos_words() {
        let pem_text = request_pem();
        let block = pem::parse(&pem_text).unwrap();
        let mut der = block.contents().to_vec();
        let last = der.len() - 1;
        der[last] ^= 0x55;
        let tampered = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der));
        let m = messages(&validate(&csr(&tampered)));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].ends_with(": x509: ECDSA verification failure"),
            "{m:?}"
        );
    }

    #[test]
    fn usages_signer_and_expiration() {
        let mut obj = csr(&request_pem());
        obj["spec"]["usages"] = json!(["client auth", "frobnicate", "client auth"]);
        obj["spec"]["signerName"] = "kubernetes.io/legacy-unknown".into();
        obj["spec"]["expirationSeconds"] = 599.into();
        let m = messages(&validate(&obj));
        assert!(m[0].starts_with("spec.usages[1]: Unsupported value: \"frobnicate\": supported values: \"any\", \"cert sign\""), "{m:?}");
        assert_eq!(m[1], "spec.usages[2]: Duplicate value: \"client auth\"");
        assert_eq!(
            m[2],
            "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version"
        );
        assert_eq!(
            m[3],
            "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"
        );
        obj["spec"]["usages"] = json!([]);
        assert!(messages(&validate(&obj)).contains(&"spec.usages: Required value".to_owned()));
    }

    #[test]
    fn signer_names_as_kube_checks_them() {
        let m = |s: &str| messages(&validate_signer_name("spec.signerName", s));
        assert_eq!(m(""), ["spec.signerName: Required value"]);
        assert_eq!(
            m("example.com"),
            [
                "spec.signerName: Invalid value: \"example.com\": must be a fully qualified domain and path of the form 'example.com/signer-name'"
            ]
        );
        assert_eq!(
            m("example/signer"),
            [
                "spec.signerName: Invalid value: \"example\": should be a domain with at least two segments separated by dots"
            ]
        );
        assert!(
            m("Example.com/signer")[0]
                .contains("validating label \"Example\": a lowercase RFC 1123 label")
        );
        assert!(
            m("example.com/Signer")[0]
                .contains("validating label \"Signer\": a lowercase RFC 1123 subdomain")
        );
        assert!(m("kubernetes.io/kube-apiserver-client").is_empty());
    }

    #[test]
    fn conditions_on_create() {
        let mut obj = csr(&request_pem());
        obj["status"] = json!({"conditions": [
            {"type": "Approved", "status": "True"},
            {"type": "Denied", "status": "False"},
            {"type": "", "status": ""},
            {"type": "Approved", "status": "Maybe"},
        ]});
        assert_eq!(
            messages(&validate(&obj)),
            [
                "status.conditions[1].status: Unsupported value: \"False\": supported values: \"True\"",
                "status.conditions: Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive",
                "status.conditions[2].type: Required value",
                "status.conditions[2].status: Required value",
                "status.conditions[3].status: Unsupported value: \"Maybe\": supported values: \"True\"",
                "status.conditions: Invalid value: \"Approved\": Approved and Denied conditions are mutually exclusive",
                "status.conditions[3].type: Duplicate value: \"Approved\"",
            ]
        );
    }

    #[test]
    fn certificates_must_be_certificate_blocks() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(check_certificate(cert.pem().as_bytes()).is_ok());
        assert_eq!(
            check_certificate(b"junk"),
            Err("must contain at least one CERTIFICATE PEM block".to_owned())
        );
        assert_eq!(
            check_certificate(request_pem().as_bytes()),
            Err(
                "only CERTIFICATE PEM blocks are allowed, found \"CERTIFICATE REQUEST\"".to_owned()
            )
        );
        let empty = pem::encode(&pem::Pem::new("CERTIFICATE", Vec::new()));
        assert_eq!(
            check_certificate(empty.as_bytes()),
            Err("found CERTIFICATE PEM block containing 0 certificates".to_owned())
        );
    }

    #[test]
    fn update_paths_own_their_parts() {
        let request = request_pem();
        let old = csr(&request);
        let mut approved = csr(&request);
        approved["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
        // The main resource and /status may not approve; /approval may.
        for sub in [Sub::Main, Sub::Status] {
            assert_eq!(
                messages(&validate_update(&approved, &old, sub)),
                [
                    "status.conditions: Forbidden: updates may not add a condition of type \"Approved\""
                ]
            );
        }
        assert!(validate_update(&approved, &old, Sub::Approval).is_empty());
        // Nobody removes a decision.
        assert_eq!(
            messages(&validate_update(&old, &approved, Sub::Approval)),
            [
                "status.conditions: Forbidden: updates may not remove a condition of type \"Approved\""
            ]
        );
        // Only /status sets the certificate, once.
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let mut issued = approved.clone();
        issued["status"]["certificate"] = BASE64.encode(cert.pem()).into();
        assert!(validate_update(&issued, &approved, Sub::Status).is_empty());
        assert_eq!(
            messages(&validate_update(&issued, &approved, Sub::Main)),
            ["status.certificate: Forbidden: updates may not set certificate content"]
        );
        let mut reissued = issued.clone();
        reissued["status"]["certificate"] = BASE64.encode(request_pem_cert()).into();
        assert_eq!(
            messages(&validate_update(&reissued, &issued, Sub::Status)),
            ["status.certificate: Forbidden: updates may not modify existing certificate content"]
        );
        let mut junk = approved.clone();
        junk["status"]["certificate"] = BASE64.encode("junk").into();
        assert_eq!(
            messages(&validate_update(&junk, &approved, Sub::Status)),
            [
                "status.certificate: Invalid value: \"<certificate data>\": must contain at least one CERTIFICATE PEM block"
            ]
        );
    }

    fn request_pem_cert() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec!["y".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem()
    }

    #[test]
    fn what_the_stored_object_already_breaks_stays_allowed() {
        let request = request_pem();
        let mut old = csr(&request);
        old["spec"]["usages"] = json!(["frobnicate", "frobnicate"]);
        old["spec"]["signerName"] = LEGACY_SIGNER.into();
        old["status"] = json!({"conditions": [{"type": "Approved", "status": "True"},
            {"type": "Denied", "status": "True"}]});
        assert!(validate_update(&old, &old, Sub::Main).is_empty());
        assert!(!validate(&old).is_empty());
    }
}
