//! Makes the run's certificate authority: one CA per test run, whose certificate every embedded
//! API server's certificate chains to, so one trusted certificate covers all of the run's servers.
//! Its key goes in a 0600 file under the run directory and only paths are exported (nextest copies
//! exported values into its JUnit XML).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::error::{Error, Result};
use crate::run_dir::RunDir;

/// Exported: the run CA's certificate (PEM).
pub const TEST_CA_CERT_FILE: &str = "TEST_CA_CERT_FILE";
/// Exported: the run CA's PKCS#8 private key (PEM, mode 0600).
pub const TEST_CA_KEY_FILE: &str = "TEST_CA_KEY_FILE";
/// The common name of the run's CA (shows in `openssl x509 -text` and client TLS errors).
const CA_COMMON_NAME: &str = "test run CA";
/// A certificate is public: anyone may read it.
const CERT_MODE: u32 = 0o644;

/// The run CA's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// The private key, PEM, mode 0600.
    pub key: PathBuf,
}

/// Makes a CA (ECDSA P-256) and writes it into `run`: `ca.crt` and `secrets/ca.key`.
pub fn write_run_ca(run: &RunDir) -> Result<CaFiles> {
    let failed = |message: String| Error::Ca { message };
    let key = KeyPair::generate().map_err(|e| failed(format!("generating the key: {e}")))?;
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
        .map_err(|e| failed(format!("signing the certificate: {e}")))?;
    let key_file = run.write_secret("ca.key", &key.serialize_pem())?;
    let cert_file = run.path().join("ca.crt");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(CERT_MODE)
        .open(&cert_file)
        .map_err(Error::io("run CA", "create", &cert_file))?;
    file.write_all(cert.pem().as_bytes())
        .map_err(Error::io("run CA", "write", &cert_file))?;
    Ok(CaFiles {
        cert: cert_file,
        key: key_file,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_key_is_private_and_both_files_are_pem() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "ca-test").unwrap();
        let files = write_run_ca(&run).unwrap();
        let mode = |p: &PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(mode(&files.cert), CERT_MODE);
        let cert = std::fs::read_to_string(&files.cert).unwrap();
        let key = std::fs::read_to_string(&files.key).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        KeyPair::from_pem(&key).unwrap();
        assert!(files.key.starts_with(run.path()) && files.cert.starts_with(run.path()));
    }
}
