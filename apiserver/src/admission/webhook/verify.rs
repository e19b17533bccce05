//! Owns the check of a webhook's server certificate against its `caBundle`, as kube-apiserver's
//! Go client makes it (`crypto/tls` calling `x509.Certificate.Verify` with the bundle as roots).
//!
//! One rule differs between Go's x509 and rustls' webpki, and webhook servers rely on it: Go
//! takes a served certificate that is itself one of the roots as a chain of its own
//! (`if opts.Roots.contains(c)`), checking only its validity period, unhandled critical
//! extensions, host name and extended key usage; webpki builds every chain from an end-entity
//! certificate up to an anchor and refuses a CA certificate in that place (`CaUsedAsEndEntity`).
//! Operator frameworks serve such certificates: kopf's `WebhookServer` generates one self-signed
//! certificate with `CA:TRUE` and puts that same certificate in `caBundle`. Every other
//! certificate goes through webpki's chain building unchanged.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use x509_parser::prelude::FromDer;

/// Verifies as Go's `x509.Certificate.Verify` does for a webhook client: a served certificate
/// that is one of the roots is its own chain; any other is webpki's to judge.
#[derive(Debug)]
pub(crate) struct GoVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Vec<CertificateDer<'static>>,
}

impl GoVerifier {
    pub(crate) fn new(
        roots: Vec<CertificateDer<'static>>,
        webpki: Arc<WebPkiServerVerifier>,
    ) -> Self {
        GoVerifier { webpki, roots }
    }
}

impl ServerCertVerifier for GoVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if !self
            .roots
            .iter()
            .any(|root| root.as_ref() == end_entity.as_ref())
        {
            return self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        }
        // Go's order: the host name first, then the certificate's own validity; the chain is
        // the certificate alone, so only its extended key usage remains.
        verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
        trusted_root_as_leaf(end_entity.as_ref(), now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// What Go's `isValid` and `checkChainForKeyUsage` check of a root that is also the leaf: no
/// critical extension it does not handle, the validity period, and an extended key usage that
/// allows a TLS server (none listed means any).
fn trusted_root_as_leaf(der: &[u8], now: UnixTime) -> Result<(), Error> {
    let bad = |e: CertificateError| Error::InvalidCertificate(e);
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|_| bad(CertificateError::BadEncoding))?;
    let handled = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        use x509_parser::oid_registry as oids;
        [
            oids::OID_X509_EXT_BASIC_CONSTRAINTS,
            oids::OID_X509_EXT_KEY_USAGE,
            oids::OID_X509_EXT_EXTENDED_KEY_USAGE,
            oids::OID_X509_EXT_SUBJECT_ALT_NAME,
            oids::OID_X509_EXT_NAME_CONSTRAINTS,
            oids::OID_X509_EXT_CERTIFICATE_POLICIES,
            oids::OID_X509_EXT_POLICY_CONSTRAINTS,
            oids::OID_X509_EXT_INHIBIT_ANY_POLICY,
            oids::OID_X509_EXT_POLICY_MAPPINGS,
        ]
        .contains(oid)
    };
    if cert
        .extensions()
        .iter()
        .any(|e| e.critical && !handled(&e.oid))
    {
        return Err(bad(CertificateError::Other(rustls::OtherError(Arc::new(
            UnhandledCriticalExtension,
        )))));
    }
    let now = now.as_secs() as i64;
    if now < cert.validity().not_before.timestamp() {
        return Err(bad(CertificateError::NotValidYet));
    }
    if now > cert.validity().not_after.timestamp() {
        return Err(bad(CertificateError::Expired));
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let eku = eku.value;
        if !(eku.any || eku.server_auth) {
            return Err(bad(CertificateError::InvalidPurpose));
        }
    }
    Ok(())
}

/// Go's `x509.UnhandledCriticalExtension`.
#[derive(Debug)]
struct UnhandledCriticalExtension;

impl std::fmt::Display for UnhandledCriticalExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x509: unhandled critical extension")
    }
}

impl std::error::Error for UnhandledCriticalExtension {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `localhost`, valid from `days.0` to `days.1` days from today.
    fn cert(
        ca: bool,
        eku: &[rcgen::ExtendedKeyUsagePurpose],
        days: (i64, i64),
    ) -> CertificateDer<'static> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        if ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        params.extended_key_usages = eku.to_vec();
        let day = |offset: i64| {
            let d = jiff::Zoned::now()
                .date()
                .checked_add(jiff::Span::new().days(offset))
                .unwrap();
            rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
        };
        params.not_before = day(days.0);
        params.not_after = day(days.1);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier(roots: &[CertificateDer<'static>]) -> GoVerifier {
        let mut store = rustls::RootCertStore::empty();
        for r in roots {
            store.add(r.clone()).unwrap();
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(store),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        GoVerifier::new(roots.to_vec(), webpki)
    }

    fn check(v: &GoVerifier, c: &CertificateDer<'static>, host: &str) -> Result<(), Error> {
        let name = ServerName::try_from(host.to_owned()).unwrap();
        v.verify_server_cert(c, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn a_self_signed_ca_served_as_the_leaf_is_trusted_as_go_trusts_it() {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let c = cert(true, &[ServerAuth, ClientAuth], (-1, 365));
        let v = verifier(std::slice::from_ref(&c));
        check(&v, &c, "localhost").expect("Go accepts a root served as the leaf");
        // The host name is still checked, and only this exact certificate is its own chain.
        assert!(matches!(
            check(&v, &c, "example.com"),
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
        let other = cert(true, &[ServerAuth], (-1, 365));
        assert!(check(&v, &other, "localhost").is_err(), "not in the bundle");
    }

    #[test]
    fn a_root_as_leaf_must_be_current_and_allowed_to_serve_tls() {
        use rcgen::ExtendedKeyUsagePurpose::ClientAuth;
        let expired = cert(true, &[], (-30, -1));
        assert!(matches!(
            check(
                &verifier(std::slice::from_ref(&expired)),
                &expired,
                "localhost"
            ),
            Err(Error::InvalidCertificate(CertificateError::Expired))
        ));
        let future = cert(true, &[], (1, 30));
        assert!(matches!(
            check(
                &verifier(std::slice::from_ref(&future)),
                &future,
                "localhost"
            ),
            Err(Error::InvalidCertificate(CertificateError::NotValidYet))
        ));
        let client_only = cert(true, &[ClientAuth], (-1, 30));
        assert!(matches!(
            check(
                &verifier(std::slice::from_ref(&client_only)),
                &client_only,
                "localhost"
            ),
            Err(Error::InvalidCertificate(CertificateError::InvalidPurpose))
        ));
        // No extended key usage at all allows any use, as in Go.
        let any = cert(true, &[], (-1, 30));
        check(&verifier(std::slice::from_ref(&any)), &any, "localhost").expect("no EKU is any");
    }
}
