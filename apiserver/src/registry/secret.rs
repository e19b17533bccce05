//! The Secret strategy (`pkg/registry/core/secret`): `stringData` is folded into base64 `data`
//! while decoding; `immutable: true` is enforced by the validation stage (`crate::validation`);
//! a TLS Secret whose certificate and key do not make a pair is written with a warning.

use base64::Engine;
use serde_json::{Value, json};

use x509_parser::der_parser::ber::{BerObject, BerObjectContent, Class};
use x509_parser::der_parser::der::parse_der;
use x509_parser::public_key::PublicKey;

use super::strategy::Strategy;
use crate::store::Sub;
use crate::validation::certificates::pem_blocks;

pub(super) struct Secret;

impl Strategy for Secret {
    fn decode(&self, obj: &mut Value) {
        fold_string_data(obj);
    }

    /// `strategy.WarningsOnCreate` (`pkg/registry/core/secret/strategy.go`):
    /// [`tls_warnings`].
    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        tls_warnings(obj)
    }

    /// `strategy.WarningsOnUpdate`: the same, of the new Secret.
    fn warnings_on_update(&self, new: &Value, _old: &Value, sub: Sub) -> Vec<String> {
        if sub == Sub::Main {
            tls_warnings(new)
        } else {
            Vec::new()
        }
    }
}

/// kube's `warningsForSecret`: for a `kubernetes.io/tls` Secret, the error of Go's
/// `tls.X509KeyPair(data["tls.crt"], data["tls.key"])`, if any.
fn tls_warnings(obj: &Value) -> Vec<String> {
    if obj.get("type").and_then(Value::as_str) != Some("kubernetes.io/tls") {
        return Vec::new();
    }
    let data = |key: &str| {
        obj.get("data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default()
    };
    x509_key_pair(&data("tls.crt"), &data("tls.key"))
        .err()
        .into_iter()
        .collect()
}

/// A public key as `X509KeyPair` compares them: an RSA modulus, an EC point (None when the
/// private key does not carry it), an Ed25519 key.
#[derive(Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa(Vec<u8>),
    Ec(Option<Vec<u8>>),
    Ed25519(Vec<u8>),
}

/// Go's `tls.X509KeyPair` (`src/crypto/tls/tls.go`) with its error texts: the certificate
/// input needs a `CERTIFICATE` PEM block, the key input a `PRIVATE KEY` or `* PRIVATE KEY`
/// block; the first certificate must parse, the key must parse as PKCS #1, PKCS #8 or SEC 1,
/// and the two must be of one type with the same public key. Go's `x509.ParseCertificate`
/// errors are many; any certificate that does not parse reads as its most common one,
/// `x509: malformed certificate`. An EC private key without its public point is not compared
/// (Go derives the point; nothing here does).
fn x509_key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let mut certs = Vec::new();
    let mut skipped = Vec::new();
    for block in pem_blocks(cert_pem) {
        if block.tag() == "CERTIFICATE" {
            certs.push(block.into_contents());
        } else {
            skipped.push(block.tag().to_owned());
        }
    }
    if certs.is_empty() {
        if skipped.is_empty() {
            return Err("tls: failed to find any PEM data in certificate input".into());
        }
        if skipped.len() == 1 && skipped[0].ends_with("PRIVATE KEY") {
            return Err("tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched".into());
        }
        return Err(format!(
            "tls: failed to find \"CERTIFICATE\" PEM block in certificate input after skipping PEM blocks of the following types: [{}]",
            skipped.join(" ")
        ));
    }
    let mut skipped = Vec::new();
    let mut key_der = None;
    for block in pem_blocks(key_pem) {
        if block.tag() == "PRIVATE KEY" || block.tag().ends_with(" PRIVATE KEY") {
            key_der = Some(block.into_contents());
            break;
        }
        skipped.push(block.tag().to_owned());
    }
    let Some(key_der) = key_der else {
        if skipped.is_empty() {
            return Err("tls: failed to find any PEM data in key input".into());
        }
        if skipped.len() == 1 && skipped[0] == "CERTIFICATE" {
            return Err(
                "tls: found a certificate rather than a key in the PEM for the private key".into(),
            );
        }
        return Err(format!(
            "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input after skipping PEM blocks of the following types: [{}]",
            skipped.join(" ")
        ));
    };
    let public = certificate_key(&certs[0])?;
    let private = private_key(&key_der)?;
    let Some(public) = public else {
        return Err("tls: unknown public key algorithm".into());
    };
    match (&public, &private) {
        (KeyKind::Rsa(a), KeyKind::Rsa(b)) if a != b => {
            Err("tls: private key does not match public key".into())
        }
        (KeyKind::Ec(a), KeyKind::Ec(Some(b))) if a.as_ref() != Some(b) => {
            Err("tls: private key does not match public key".into())
        }
        (KeyKind::Ed25519(a), KeyKind::Ed25519(b)) if a != b => {
            Err("tls: private key does not match public key".into())
        }
        (KeyKind::Rsa(_), KeyKind::Rsa(_))
        | (KeyKind::Ec(_), KeyKind::Ec(_))
        | (KeyKind::Ed25519(_), KeyKind::Ed25519(_)) => Ok(()),
        _ => Err("tls: private key type does not match public key type".into()),
    }
}

/// An unsigned big-endian integer without leading zero bytes.
fn magnitude(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

const ED25519_OID: &str = "1.3.101.112";

/// The public key of a DER certificate (None: an algorithm `X509KeyPair` does not know).
fn certificate_key(der: &[u8]) -> Result<Option<KeyKind>, String> {
    let malformed = || "x509: malformed certificate".to_owned();
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| malformed())?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm.to_id_string() == ED25519_OID {
        return Ok(Some(KeyKind::Ed25519(
            spki.subject_public_key.data.to_vec(),
        )));
    }
    Ok(match spki.parsed().map_err(|_| malformed())? {
        PublicKey::RSA(rsa) => Some(KeyKind::Rsa(magnitude(rsa.modulus))),
        PublicKey::EC(point) => Some(KeyKind::Ec(Some(point.data().to_vec()))),
        _ => None,
    })
}

fn sequence<'a, 'b>(obj: &'b BerObject<'a>) -> Option<&'b Vec<BerObject<'a>>> {
    obj.as_sequence().ok()
}

fn integer<'a>(obj: &BerObject<'a>) -> Option<&'a [u8]> {
    match obj.content {
        BerObjectContent::Integer(i) => Some(i),
        _ => None,
    }
}

/// `x509.ParsePKCS1PrivateKey`'s structure: version, modulus, then the seven other integers.
fn pkcs1(der: &[u8]) -> Option<KeyKind> {
    let (_, obj) = parse_der(der).ok()?;
    let items = sequence(&obj)?;
    if items.len() < 9 || items[..9].iter().any(|i| integer(i).is_none()) {
        return None;
    }
    Some(KeyKind::Rsa(magnitude(integer(&items[1])?)))
}

/// `x509.ParseECPrivateKey` (SEC 1): version 1, the private key, optional parameters and the
/// optional public point (`[1] BIT STRING`).
fn sec1(der: &[u8]) -> Option<KeyKind> {
    let (_, obj) = parse_der(der).ok()?;
    let items = sequence(&obj)?;
    if items.len() < 2 || integer(&items[0])? != [1] {
        return None;
    }
    if !matches!(items[1].content, BerObjectContent::OctetString(_)) {
        return None;
    }
    let point = items[2..].iter().find_map(|item| {
        if item.header.class() != Class::ContextSpecific || item.header.tag().0 != 1 {
            return None;
        }
        let inner = match &item.content {
            BerObjectContent::Unknown(any) => any.data,
            _ => return None,
        };
        let (_, bits) = parse_der(inner).ok()?;
        match bits.content {
            BerObjectContent::BitString(_, b) => Some(b.data.to_vec()),
            _ => None,
        }
    });
    Some(KeyKind::Ec(point))
}

/// Go's `tls.parsePrivateKey`: PKCS #1, then PKCS #8 (RSA, ECDSA or Ed25519; another key type
/// in a PKCS #8 wrapping is an error of its own), then SEC 1.
fn private_key(der: &[u8]) -> Result<KeyKind, String> {
    if let Some(key) = pkcs1(der) {
        return Ok(key);
    }
    if let Some(wrapped) = pkcs8(der) {
        return wrapped;
    }
    sec1(der).ok_or_else(|| "tls: failed to parse private key".to_owned())
}

/// `x509.ParsePKCS8PrivateKey`: None when it is no PKCS #8 key Go could parse.
fn pkcs8(der: &[u8]) -> Option<Result<KeyKind, String>> {
    let (_, obj) = parse_der(der).ok()?;
    let items = sequence(&obj)?;
    if items.len() < 3 {
        return None;
    }
    integer(&items[0])?;
    let algorithm = sequence(&items[1])?.first()?.as_oid().ok()?.to_id_string();
    let BerObjectContent::OctetString(inner) = items[2].content else {
        return None;
    };
    match algorithm.as_str() {
        // rsaEncryption
        "1.2.840.113549.1.1.1" => pkcs1(inner).map(Ok),
        // id-ecPublicKey
        "1.2.840.10045.2.1" => sec1(inner).map(Ok),
        ED25519_OID => {
            let (_, seed) = parse_der(inner).ok()?;
            let BerObjectContent::OctetString(seed) = seed.content else {
                return None;
            };
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
            use ring::signature::KeyPair;
            Some(Ok(KeyKind::Ed25519(pair.public_key().as_ref().to_vec())))
        }
        // X25519: Go parses it into an ecdh key, which tls does not take.
        "1.3.101.110" => Some(Err(
            "tls: found unknown private key type in PKCS#8 wrapping".into(),
        )),
        _ => None,
    }
}

/// Folds `stringData` into base64 `data`, as kube-apiserver's Secret conversion does (a key in
/// both takes the `stringData` value).
fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    for (k, v) in string_data {
        let text = v
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        data[k.as_str()] = base64::engine::general_purpose::STANDARD
            .encode(text)
            .into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its PKCS #8 key, of `alg`.
    fn pair(alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn err(cert: &str, key: &str) -> String {
        x509_key_pair(cert.as_bytes(), key.as_bytes()).unwrap_err()
    }

    /// `TestX509KeyPairErrors` and the mismatch cases of Go's `tls_test.go`, as far as this
    /// port goes.
    #[test]
    fn key_pairs_fail_as_gos_x509_key_pair_does() {
        let (ec_cert, ec_key) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (ed_cert, ed_key) = pair(&rcgen::PKCS_ED25519);
        let (_, other_ec_key) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (_, other_ed_key) = pair(&rcgen::PKCS_ED25519);
        assert_eq!(x509_key_pair(ec_cert.as_bytes(), ec_key.as_bytes()), Ok(()));
        assert_eq!(x509_key_pair(ed_cert.as_bytes(), ed_key.as_bytes()), Ok(()));
        let mismatch = "tls: private key does not match public key";
        assert_eq!(err(&ec_cert, &other_ec_key), mismatch);
        assert_eq!(err(&ed_cert, &other_ed_key), mismatch);
        assert_eq!(
            err(&ec_cert, &ed_key),
            "tls: private key type does not match public key type"
        );
        assert_eq!(
            err("junk", &ec_key),
            "tls: failed to find any PEM data in certificate input"
        );
        assert_eq!(
            err(&ec_key, &ec_cert),
            "tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched"
        );
        let other = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";
        assert_eq!(
            err(other, &ec_key),
            r#"tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [FOO]"#
        );
        assert_eq!(
            err(&ec_cert, "junk"),
            "tls: failed to find any PEM data in key input"
        );
        assert_eq!(
            err(&ec_cert, &ec_cert),
            "tls: found a certificate rather than a key in the PEM for the private key"
        );
        assert_eq!(
            err(&ec_cert, &format!("{other}{ec_cert}")),
            r#"tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [FOO CERTIFICATE]"#
        );
        let bad_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(err(&ec_cert, bad_key), "tls: failed to parse private key");
        let bad_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(err(bad_cert, &ec_key), "x509: malformed certificate");
    }

    #[test]
    fn only_tls_secrets_are_checked() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let secret = |ty: &str| json!({"type": ty, "data": {"tls.crt": b64("junk"), "tls.key": b64("junk")}});
        assert_eq!(
            tls_warnings(&secret("kubernetes.io/tls")),
            ["tls: failed to find any PEM data in certificate input"]
        );
        assert!(tls_warnings(&secret("Opaque")).is_empty());
    }
}
