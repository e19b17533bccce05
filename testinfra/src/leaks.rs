//! Finds a run's secrets where they must not be: in an environment, in output, or in any file of
//! a directory tree other than a 0600 secret file (logs, exported variables, JUnit, kubeconfig
//! copies). Findings name the secret by its label and the place, never the value.
//!
//! The scan is bounded: [`scan_dir`] reads at most [`MAX_SCAN_TOTAL`] bytes and fails naming the
//! directory beyond that, and [`scan_run_dir`] leaves out the daemons' data directories (database
//! pages are not where a secret leaks in text, and a run's PostgreSQL data alone is tens of MiB).
//! Every secret is searched for in one pass over each file (Aho-Corasick), so a run with hundreds
//! of API-server tokens costs no more than one with a few.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;

use crate::error::{Error, Result};

/// Secrets shorter than this are not searched for: short strings match by chance (every secret
/// this crate and the API server make is 32 characters or longer).
const MIN_SECRET_LEN: usize = 8;
/// Files are read up to this much: logs of a whole run stay far below it, and a larger file (a
/// database page, a core dump) is not where a secret leaks in text.
const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;
/// The mode of a secret file: such files are where secrets belong, so they are not searched.
const SECRET_FILE_MODE: u32 = 0o600;
/// Bytes one [`scan_dir`] reads at most: a whole run's logs, kubeconfigs and JUnit files are a
/// few MiB; more means the scan was pointed at build artefacts or data, and reading them would
/// take minutes (the unbounded scan of `target/` timed out at 120 s), so it fails instead.
pub const MAX_SCAN_TOTAL: u64 = 256 * 1024 * 1024;
/// The run directory's subdirectory of daemon data (`RunDir::data`), left out by
/// [`scan_run_dir`].
const RUN_DATA_DIR: &str = "data";

/// One secret to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// What it is, e.g. `DataStorage token` (printed in findings instead of the value).
    pub label: String,
    /// The value.
    pub value: String,
}

impl Secret {
    /// A secret with a label.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Secret {
        Secret {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// A secret found where it must not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The secret's label.
    pub secret: String,
    /// Where: a file path, or a named text such as `environment variable X`.
    pub place: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} found in {}", self.secret, self.place)
    }
}

/// The secrets long enough to search for, compiled into one matcher.
struct Searcher<'a> {
    secrets: Vec<&'a Secret>,
    /// None when there is nothing to search for.
    matcher: Option<AhoCorasick>,
}

impl<'a> Searcher<'a> {
    fn new(secrets: &'a [Secret]) -> Searcher<'a> {
        let secrets: Vec<&Secret> = secrets
            .iter()
            .filter(|s| s.value.len() >= MIN_SECRET_LEN)
            .collect();
        // Building fails only past aho-corasick's size limits, far beyond a run's few hundred
        // secrets; a searcher that finds nothing would hide leaks, so fall back to no matcher
        // only when there is nothing to search for.
        let matcher = if secrets.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::new(secrets.iter().map(|s| s.value.as_bytes()))
                    .expect("a few hundred secrets of a few dozen bytes fit aho-corasick's limits"),
            )
        };
        Searcher { secrets, matcher }
    }

    fn scan(&self, place: &str, text: &[u8]) -> Vec<Leak> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let mut hit = vec![false; self.secrets.len()];
        for m in matcher.find_overlapping_iter(text) {
            hit[m.pattern().as_usize()] = true;
        }
        self.secrets
            .iter()
            .zip(hit)
            .filter(|(_, hit)| *hit)
            .map(|(s, _)| Leak {
                secret: s.label.clone(),
                place: place.to_owned(),
            })
            .collect()
    }
}

/// The secrets that `text`, known as `place`, contains.
pub fn scan_text(secrets: &[Secret], place: &str, text: &[u8]) -> Vec<Leak> {
    Searcher::new(secrets).scan(place, text)
}

/// The secrets in every variable of `vars` (name and value).
pub fn scan_env<'a>(
    secrets: &[Secret],
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Leak> {
    vars.into_iter()
        .flat_map(|(k, v)| {
            scan_text(
                secrets,
                &format!("environment variable {k}"),
                format!("{k}={v}").as_bytes(),
            )
        })
        .collect()
}

/// The secrets in every file under `dir` except 0600 files (where secrets are kept on purpose);
/// symbolic links are not followed. A missing `dir` has no leaks. Fails once more than
/// [`MAX_SCAN_TOTAL`] bytes would be read.
pub fn scan_dir(secrets: &[Secret], dir: &Path) -> Result<Vec<Leak>> {
    scan_tree(&Searcher::new(secrets), dir, &[], MAX_SCAN_TOTAL)
}

/// [`scan_dir`] of a run directory (`target/infra/<run>`) without its daemons' data directory
/// (`data/`): the logs, exported files and supervisor state the run wrote are searched; the
/// database and Redis files are not (binary pages, tens of MiB; PostgreSQL keeps only a SCRAM
/// hash of its password there).
pub fn scan_run_dir(secrets: &[Secret], run_dir: &Path) -> Result<Vec<Leak>> {
    scan_tree(
        &Searcher::new(secrets),
        run_dir,
        &[run_dir.join(RUN_DATA_DIR)],
        MAX_SCAN_TOTAL,
    )
}

fn scan_tree(
    searcher: &Searcher<'_>,
    dir: &Path,
    skip: &[PathBuf],
    max_total: u64,
) -> Result<Vec<Leak>> {
    let mut leaks = Vec::new();
    let mut total: u64 = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if skip.contains(&path) {
            continue;
        }
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Daemons remove files while a run goes on (e.g. PostgreSQL's temporary files).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("leak check", "inspect", &path)(e)),
        };
        if meta.is_dir() {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("leak check", "list", &path)(e)),
            };
            pending.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
        } else if meta.is_file()
            && meta.permissions().mode() & 0o777 != SECRET_FILE_MODE
            && meta.size() <= MAX_SCAN_BYTES
        {
            total = total.saturating_add(meta.size());
            if total > max_total {
                return Err(Error::ScanTooLarge {
                    dir: dir.to_owned(),
                    limit: max_total,
                });
            }
            match std::fs::read(&path) {
                Ok(bytes) => leaks.extend(searcher.scan(&path.display().to_string(), &bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("leak check", "read", &path)(e)),
            }
        }
    }
    Ok(leaks)
}

/// The secrets a run directory's `secrets/` holds: DataStorage's token and the PostgreSQL and
/// Redis passwords (taken from their URLs).
pub fn run_secrets(run_dir: &Path) -> Result<Vec<Secret>> {
    let read = |name: &str| -> Result<String> {
        let path: PathBuf = run_dir.join("secrets").join(name);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(Error::io("leak check", "read secret", &path))
    };
    let mut secrets = vec![Secret::new("DataStorage token", read("datastorage-token")?)];
    for (label, file) in [
        ("PostgreSQL password", "postgres-url"),
        ("Redis password", "redis-url"),
    ] {
        if let Some(password) = url_password(&read(file)?) {
            secrets.push(Secret::new(label, password));
        }
    }
    Ok(secrets)
}

/// The bearer tokens of the kubeconfigs (`*.yaml` files holding `token:` lines) under `dir`,
/// labelled by file.
pub fn kubeconfig_tokens(dir: &Path) -> Result<Vec<Secret>> {
    let mut secrets = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(secrets),
        Err(e) => return Err(Error::io("leak check", "list", dir)(e)),
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            if let Some(token) = line.trim().strip_prefix("token: ") {
                secrets.push(Secret::new(
                    format!("API server token of {}", path.display()),
                    token.trim(),
                ));
            }
        }
    }
    Ok(secrets)
}

/// The password of a `scheme://user:password@host/...` URL.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let user_info = authority.rsplit_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_owned())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn secret() -> Secret {
        Secret::new("test token", "s3cr3t-value-0123456789")
    }

    #[test]
    fn finds_a_secret_in_text_and_names_it_without_its_value() {
        let leaks = scan_text(
            &[secret()],
            "output",
            b"GET http://x:s3cr3t-value-0123456789@h/",
        );
        assert_eq!(leaks.len(), 1);
        let shown = leaks[0].to_string();
        assert_eq!(shown, "test token found in output");
        assert!(scan_text(&[secret()], "output", b"nothing here").is_empty());
        // Too short to search for: no false alarms from chance matches.
        assert!(scan_text(&[Secret::new("short", "abc")], "o", b"abcabc").is_empty());
    }

    #[test]
    fn finds_a_secret_in_the_environment() {
        let vars = [
            ("DS_TOKEN_FILE", "/run/secrets/t"),
            ("LEAKY", "s3cr3t-value-0123456789"),
        ];
        let leaks = scan_env(&[secret()], vars);
        assert_eq!(
            leaks,
            [Leak {
                secret: "test token".into(),
                place: "environment variable LEAKY".into()
            }]
        );
    }

    #[test]
    fn searches_every_file_but_the_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(logs.join("clean.log"), "started").unwrap();
        std::fs::write(logs.join("leaky.log"), "token=s3cr3t-value-0123456789").unwrap();
        let kept = dir.path().join("token");
        std::fs::write(&kept, "s3cr3t-value-0123456789").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o600)).unwrap();
        let leaks = scan_dir(&[secret()], dir.path()).unwrap();
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].place.ends_with("logs/leaky.log"), "{leaks:?}");
        // A 0644 copy of a secret file is a leak.
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(scan_dir(&[secret()], dir.path()).unwrap().len(), 2);
        assert!(
            scan_dir(&[secret()], &dir.path().join("missing"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn every_secret_is_found_in_one_pass_and_overlaps_count() {
        let a = Secret::new("a", "abcdefgh-0123");
        let b = Secret::new("b", "0123-ijklmnop");
        let leaks = scan_text(&[a, b, secret()], "f", b"xx abcdefgh-0123-ijklmnop yy");
        let labels: Vec<&str> = leaks.iter().map(|l| l.secret.as_str()).collect();
        assert_eq!(labels, ["a", "b"]);
        assert!(scan_text(&[], "f", b"anything").is_empty());
    }

    #[test]
    fn a_run_dir_scan_leaves_out_daemon_data_but_not_logs() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["logs", "data/postgres"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("data/postgres/page"),
            "s3cr3t-value-0123456789",
        )
        .unwrap();
        assert!(scan_run_dir(&[secret()], dir.path()).unwrap().is_empty());
        std::fs::write(dir.path().join("logs/x.log"), "s3cr3t-value-0123456789").unwrap();
        let leaks = scan_run_dir(&[secret()], dir.path()).unwrap();
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].place.ends_with("logs/x.log"), "{leaks:?}");
        // scan_dir itself searches everything it is given.
        assert_eq!(scan_dir(&[secret()], dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn a_scan_past_its_byte_limit_fails_naming_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 2048]).unwrap();
        let secrets = [secret()];
        let searcher = Searcher::new(&secrets);
        let err = scan_tree(&searcher, dir.path(), &[], 1024)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&dir.path().display().to_string()) && err.contains("1024 bytes"),
            "{err}"
        );
        assert!(
            scan_tree(&searcher, dir.path(), &[], 4096)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn reads_the_run_secrets_and_kubeconfig_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::write(secrets.join("datastorage-token"), "dstoken0123456789\n").unwrap();
        std::fs::write(
            secrets.join("postgres-url"),
            "postgres://postgres:pgpass0123456789@127.0.0.1:5/postgres",
        )
        .unwrap();
        std::fs::write(
            secrets.join("redis-url"),
            "redis://:rdpass0123456789@127.0.0.1:6/0",
        )
        .unwrap();
        let found = run_secrets(dir.path()).unwrap();
        let values: Vec<&str> = found.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(
            values,
            ["dstoken0123456789", "pgpass0123456789", "rdpass0123456789"]
        );
        std::fs::write(
            dir.path().join("kubeconfig-a.yaml"),
            "users:\n- name: a\n  user:\n    token: apitoken0123456789\n",
        )
        .unwrap();
        let tokens = kubeconfig_tokens(dir.path()).unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].value, "apitoken0123456789");
        // A run directory without secrets is an error naming the file.
        let err = run_secrets(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("datastorage-token"), "{err}");
    }
}
