//! Random credentials and the 0600 files that carry them (values exported to tests are paths
//! to these files, never the secrets: nextest copies exported values into its JUnit XML).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rand::RngExt;
use rand::distr::Alphanumeric;

use crate::error::{Error, Result};

/// 32 alphanumerics = about 190 bits: unguessable, and safe in a URL without escaping.
pub const SECRET_LEN: usize = 32;

/// Only the owner may read a secret file.
const SECRET_MODE: u32 = 0o600;

/// A fresh random password or token.
pub fn random_secret() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect()
}

/// Writes `value` to `path` with mode 0600, replacing the file if it exists.
pub fn write_secret(component: &'static str, path: &Path, value: &str) -> Result<()> {
    // Remove first: an existing file would keep its old (possibly wider) mode.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(component, "replace secret file", path)(e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(SECRET_MODE)
        .open(path)
        .map_err(Error::io(component, "create secret file", path))?;
    file.write_all(value.as_bytes())
        .map_err(Error::io(component, "write secret file", path))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn secrets_are_random_and_url_safe() {
        let a = random_secret();
        assert_eq!(a.len(), SECRET_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_secret());
    }

    #[test]
    fn secret_file_is_0600_even_when_replacing_a_wider_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_secret("test", &path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
