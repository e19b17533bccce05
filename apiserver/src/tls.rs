//! Owns the server's TLS identity: the certificate authority servers are signed by (one made per
//! process unless one is given) and each server's leaf certificate for `127.0.0.1` and `localhost`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::Error;

/// The names every leaf certificate is valid for: the server only listens on loopback, and clients
/// reach it by address (the URL it reports) or as `localhost`.
const LEAF_NAMES: &[&str] = &["127.0.0.1", "localhost"];
/// The common name of the CA made by [`Ca::generate`].
const CA_COMMON_NAME: &str = "apiserver test CA";
/// The protocol the server speaks, offered by ALPN: HTTP/1.1 only (the server has no HTTP/2).
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// A certificate authority that signs the servers' certificates. Clients trust its certificate.
pub struct Ca {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of debug output.
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA with a fresh ECDSA P-256 key (about a millisecond).
    pub fn generate() -> Result<Self, Error> {
        let key = KeyPair::generate().map_err(tls_err("generating the CA key"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, CA_COMMON_NAME);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(tls_err("signing the CA certificate"))?;
        let key_pem = key.serialize_pem();
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// A CA from its certificate and PKCS#8 private key in PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem).map_err(tls_err("reading the CA key"))?;
        let der = rustls_pemfile_cert(cert_pem)?;
        let issuer =
            Issuer::from_ca_cert_der(&der, key).map_err(tls_err("reading the CA certificate"))?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            cert_der: der,
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    /// A CA from a certificate file and a key file (PEM), e.g. the run's CA made by the setup script.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, Error> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| Error::ReadTls {
                path: path.to_owned(),
                source,
            })
        };
        Self::from_pem(&read(cert)?, &read(key)?).map_err(|e| match e {
            Error::Tls { what, message } => Error::Tls {
                what: format!("{what} ({} and {})", cert.display(), key.display()),
                message,
            },
            other => other,
        })
    }

    /// The CA made once for this process, shared by every server that is given no CA.
    pub fn process() -> Result<Arc<Self>, Error> {
        static PROCESS_CA: OnceLock<Arc<Ca>> = OnceLock::new();
        if let Some(ca) = PROCESS_CA.get() {
            return Ok(ca.clone());
        }
        let ca = Arc::new(Self::generate()?);
        // Two threads may race to make it: the first one kept wins, the other is dropped.
        Ok(PROCESS_CA.get_or_init(|| ca).clone())
    }

    /// The CA certificate in PEM (what `certificate-authority-data` holds, base64-encoded).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate in DER (what `kube::Config::root_cert` holds).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's private key in PEM, for writing it to a 0600 file.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A rustls server configuration with a fresh leaf certificate for [`LEAF_NAMES`] signed by
    /// this CA (the chain sent is leaf + CA).
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        self.server_config_for(LEAF_NAMES)
    }

    /// A rustls server configuration (HTTP/1.1 by ALPN) with a fresh leaf certificate for `names`
    /// (IP addresses or DNS names) signed by this CA: what a test's admission or conversion webhook
    /// serves, with [`Ca::cert_pem`] as the `caBundle` of its configuration.
    pub fn server_config_for(&self, names: &[&str]) -> Result<Arc<rustls::ServerConfig>, Error> {
        let key = KeyPair::generate().map_err(tls_err("generating the server key"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("apiserver"),
        );
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => (*n).try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(tls_err("naming the server certificate"))?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let leaf = params
            .signed_by(&key, &self.issuer)
            .map_err(tls_err("signing the server certificate"))?;
        let chain = vec![leaf.der().clone(), self.cert_der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // The provider is named, not taken from the process default, so a process whose rustls
        // has more than one provider compiled in still works.
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(tls_err("choosing TLS versions"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err("loading the server certificate"))?;
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        Ok(Arc::new(config))
    }

    /// A rustls client configuration trusting only this CA, for hand-made clients (tests, tools).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.cert_der.clone())
            .map_err(tls_err("trusting the CA certificate"))?;
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(tls_err("choosing TLS versions"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        Ok(Arc::new(config))
    }
}

/// The first certificate of a PEM text.
fn rustls_pemfile_cert(pem: &str) -> Result<CertificateDer<'static>, Error> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(tls_err("reading the CA certificate"))
}

fn tls_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Tls {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_read_back_from_pem_signs_servers_its_certificate_verifies() {
        let made = Ca::generate().unwrap();
        let read = Ca::from_pem(made.cert_pem(), made.key_pem()).unwrap();
        assert_eq!(read.cert_der(), made.cert_der());
        // The issuer read from the certificate signs leaves that chain to it.
        read.server_config().unwrap();
        read.client_config().unwrap();
    }

    #[test]
    fn a_bad_key_or_certificate_is_an_error_naming_it() {
        let made = Ca::generate().unwrap();
        let err = Ca::from_pem(made.cert_pem(), "not a key").unwrap_err();
        assert!(err.to_string().contains("reading the CA key"), "{err}");
        let err = Ca::from_pem("not a certificate", made.key_pem()).unwrap_err();
        assert!(
            err.to_string().contains("reading the CA certificate"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let err =
            Ca::from_files(&dir.path().join("ca.crt"), &dir.path().join("ca.key")).unwrap_err();
        assert!(err.to_string().contains("ca.crt"), "{err}");
    }

    #[test]
    fn the_process_ca_is_made_once() {
        let a = Ca::process().unwrap();
        let b = Ca::process().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }
}
