//! Validates ClusterTrustBundles as kube's `pkg/apis/certificates/validation` does
//! (`ValidateClusterTrustBundle`, `ValidateClusterTrustBundleUpdate`): the signer name's form,
//! the name that must carry it as a prefix (`ValidateClusterTrustBundleName`, applied through
//! `objectmeta::NameRule::ClusterTrustBundle`), and the trust bundle: PEM `CERTIFICATE` blocks
//! without headers, each an X.509 CA certificate, none twice, at least one, at most 1 MiB. An
//! update that leaves the bundle as stored does not parse it again (so an object stored under
//! other parsing rules stays writable), and the signer name is immutable.
//!
//! Not modelled: Go's order of several sets of duplicates (it ranges over a map, so it varies
//! from answer to answer; here they come in the order of their first entries).

use serde_json::Value;
use x509_parser::prelude::FromDer;

use super::certificates::{pem_blocks, validate_signer_name};
use super::field;
use crate::status::Cause;

/// `certificates.MaxTrustBundleSize`: the largest `spec.trustBundle` kube accepts.
const MAX_TRUST_BUNDLE_BYTES: usize = 1024 * 1024;

const TRUST_BUNDLE: &str = "spec.trustBundle";
const SIGNER_NAME: &str = "spec.signerName";

/// kube passes this string as the bad value of every trust bundle error (the bundle itself can be
/// a megabyte long).
const VALUE_OMITTED: &str = "<value omitted>";

fn spec_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("spec")
        .and_then(|s| s.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `ValidateClusterTrustBundleName(signerName)`: without a signer the name may not contain ':';
/// with one it must start with the signer name, '/' replaced by ':', and a ':'; the rest is a
/// DNS subdomain.
pub fn name_errors(signer: &str, name: &str) -> Vec<String> {
    if signer.is_empty() {
        if name.contains(':') {
            return vec![
                "ClusterTrustBundle without signer name must not have \":\" in its name".into(),
            ];
        }
        return field::dns1123_subdomain(name);
    }
    let required = format!("{}:", signer.replace('/', ":"));
    match name.strip_prefix(&required) {
        Some(rest) => field::dns1123_subdomain(rest),
        None => vec![format!(
            "ClusterTrustBundle for signerName {signer} must be named with prefix {required}"
        )],
    }
}

/// `ValidateClusterTrustBundle` without its ObjectMeta part (the caller's, with the name rule).
pub fn validate(obj: &Value) -> Vec<Cause> {
    validate_with(obj, true)
}

fn validate_with(obj: &Value, parse_bundle: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let signer = spec_str(obj, "signerName");
    if !signer.is_empty() {
        causes.extend(validate_signer_name(SIGNER_NAME, signer));
    }
    if parse_bundle {
        causes.extend(trust_bundle(spec_str(obj, "trustBundle")));
    }
    causes
}

/// `ValidateClusterTrustBundleUpdate` without its `ValidateObjectMetaUpdate` part (the
/// caller's); it checks the name again against the new signer name, as kube's update runs the
/// create rules, ObjectMeta's included.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let signer = spec_str(new, "signerName");
    let name = new
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut causes = field::each("metadata.name", name, name_errors(signer, name));
    // kube: "If the caller isn't changing the TrustBundle field, don't parse it."
    let changed = spec_str(new, "trustBundle") != spec_str(old, "trustBundle");
    causes.extend(validate_with(new, changed));
    if signer != spec_str(old, "signerName") {
        causes.push(field::invalid_str(
            SIGNER_NAME,
            signer,
            "field is immutable",
        ));
    }
    causes
}

fn omitted(detail: String) -> Cause {
    field::invalid_str(TRUST_BUNDLE, VALUE_OMITTED, &detail)
}

/// kube's `validateTrustBundle`: every PEM block (Go's `pem.Decode` loop) must be a headerless
/// `CERTIFICATE` holding one X.509 certificate whose basic constraints say it is a CA; the
/// first problem of each block is reported, and only when all blocks are good are an empty
/// bundle and duplicates refused.
fn trust_bundle(text: &str) -> Vec<Cause> {
    if text.len() > MAX_TRUST_BUNDLE_BYTES {
        return vec![field::too_long(TRUST_BUNDLE, MAX_TRUST_BUNDLE_BYTES)];
    }
    let mut causes = Vec::new();
    // Each distinct certificate with the indices of the blocks holding it, in first-seen order.
    let mut anchors: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
    for (i, block) in pem_blocks(text.as_bytes()).iter().enumerate() {
        if block.tag() != "CERTIFICATE" {
            causes.push(omitted(format!(
                "entry {i} has bad block type: {}",
                block.tag()
            )));
            continue;
        }
        if block.headers().iter().next().is_some() {
            causes.push(omitted(format!("entry {i} has PEM block headers")));
            continue;
        }
        let der = block.contents();
        // x509.ParseCertificate: exactly one certificate, nothing after it.
        let parsed = x509_parser::certificate::X509Certificate::from_der(der)
            .ok()
            .filter(|(rest, _)| rest.is_empty());
        let Some((_, cert)) = parsed else {
            causes.push(omitted(format!("entry {i} does not parse as X.509")));
            continue;
        };
        // Go's IsCA is the basicConstraints extension's cA flag; BasicConstraintsValid says
        // whether that extension is there at all.
        let constraints = cert.basic_constraints();
        let is_ca = matches!(&constraints, Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            causes.push(omitted(format!("entry {i} does not have the CA bit set")));
            continue;
        }
        if !matches!(constraints, Ok(Some(_))) {
            causes.push(omitted(format!("entry {i} has invalid basic constraints")));
            continue;
        }
        match anchors.iter_mut().find(|(d, _)| d.as_slice() == der) {
            Some((_, at)) => at.push(i),
            None => anchors.push((der.to_vec(), vec![i])),
        }
    }
    // kube: a malformed block already says enough; no duplicate or missing-anchor errors too.
    if !causes.is_empty() {
        return causes;
    }
    if anchors.is_empty() {
        causes.push(omitted("at least one trust anchor must be provided".into()));
    }
    for (_, at) in anchors.iter().filter(|(_, at)| at.len() > 1) {
        // Go's %v of an []int: [0 2].
        let listed: Vec<String> = at.iter().map(usize::to_string).collect();
        causes.push(omitted(format!(
            "duplicate trust anchor (indices [{}])",
            listed.join(" ")
        )));
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ca".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn leaf_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec!["leaf".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem()
    }

    fn bundle(signer: &str, text: &str) -> Value {
        let name = format!("{}:b", signer.replace('/', ":"));
        json!({"metadata": {"name": name}, "spec": {"signerName": signer, "trustBundle": text}})
    }

    use crate::validation::test_support::messages;

    #[test]
    fn names_carry_the_signer_as_a_prefix() {
        assert!(name_errors("", "plain").is_empty());
        assert_eq!(
            name_errors("", "a:b"),
            ["ClusterTrustBundle without signer name must not have \":\" in its name"]
        );
        assert!(name_errors("example.com/s", "example.com:s:x").is_empty());
        assert_eq!(
            name_errors("example.com/s", "x"),
            [
                "ClusterTrustBundle for signerName example.com/s must be named with prefix example.com:s:"
            ]
        );
        assert_eq!(name_errors("example.com/s", "example.com:s:X").len(), 1);
    }

    #[test]
    fn ca_certificates_are_accepted_anything_else_is_named_by_entry() {
        let ca = ca_pem();
        assert!(validate(&bundle("", &ca)).is_empty());
        let two = format!("{ca}{}", ca_pem());
        assert!(validate(&bundle("example.com/s", &two)).is_empty());
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert_eq!(
            messages(&validate(&bundle("", &format!("{ca}{key}{}", leaf_pem())))),
            [
                "spec.trustBundle: Invalid value: \"<value omitted>\": entry 1 has bad block type: PRIVATE KEY",
                "spec.trustBundle: Invalid value: \"<value omitted>\": entry 2 does not have the CA bit set",
            ]
        );
        let garbage = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        assert_eq!(
            messages(&validate(&bundle("", &garbage))),
            [
                "spec.trustBundle: Invalid value: \"<value omitted>\": entry 0 does not parse as X.509"
            ]
        );
        let mut headed = pem::parse(&ca).unwrap();
        headed
            .headers_mut()
            .add("Proc-Type", "4,ENCRYPTED")
            .unwrap();
        assert_eq!(
            messages(&validate(&bundle("", &pem::encode(&headed)))),
            ["spec.trustBundle: Invalid value: \"<value omitted>\": entry 0 has PEM block headers"]
        );
    }

    #[test]
    fn empty_duplicate_and_oversized_bundles_are_refused() {
        assert_eq!(
            messages(&validate(&bundle("", "no pem here"))),
            [
                "spec.trustBundle: Invalid value: \"<value omitted>\": at least one trust anchor must be provided"
            ]
        );
        let ca = ca_pem();
        let other = ca_pem();
        assert_eq!(
            messages(&validate(&bundle("", &format!("{ca}{other}{ca}")))),
            [
                "spec.trustBundle: Invalid value: \"<value omitted>\": duplicate trust anchor (indices [0 2])"
            ]
        );
        let big = "x".repeat(MAX_TRUST_BUNDLE_BYTES + 1);
        assert_eq!(
            messages(&validate(&bundle("", &big))),
            ["spec.trustBundle: Too long: may not be more than 1048576 bytes"]
        );
        // The signer name is checked as a CSR's is.
        assert_eq!(validate(&bundle("signer", &ca)).len(), 1);
    }

    #[test]
    fn updates_keep_the_signer_and_parse_only_a_changed_bundle() {
        let old = bundle("example.com/s", "stored under other rules");
        assert!(validate_update(&old, &old).is_empty());
        let mut changed = old.clone();
        changed["spec"]["signerName"] = "example.com/t".into();
        changed["spec"]["trustBundle"] = ca_pem().into();
        assert_eq!(
            messages(&validate_update(&changed, &old)),
            [
                "metadata.name: Invalid value: \"example.com:s:b\": ClusterTrustBundle for signerName example.com/t must be named with prefix example.com:t:",
                "spec.signerName: Invalid value: \"example.com/t\": field is immutable"
            ]
        );
        let mut broken = old.clone();
        broken["spec"]["trustBundle"] = "still not pem".into();
        assert_eq!(validate_update(&broken, &old).len(), 1);
    }
}
