//! Reads the shared infrastructure a setup script started for this test run, from the
//! variables it exported (values are URLs and paths to 0600 files, never secrets).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// DataStorage's base URL, e.g. `http://127.0.0.1:41234`.
pub const DS_URL: &str = "DS_URL";
/// File holding DataStorage's bearer token.
pub const DS_TOKEN_FILE: &str = "DS_TOKEN_FILE";
/// File holding the PostgreSQL URL.
pub const DS_POSTGRES_URL_FILE: &str = "DS_POSTGRES_URL_FILE";
/// File holding the Redis URL.
pub const DS_REDIS_URL_FILE: &str = "DS_REDIS_URL_FILE";
/// The run directory (logs of every daemon).
pub const DS_RUN_DIR: &str = "DS_RUN_DIR";

const HOW_TO_RUN: &str = "run the integration tests with `cargo nextest run --profile integration`, or export DS_URL and DS_TOKEN_FILE pointing at running infrastructure";

/// The infrastructure shared by every test process of a run.
#[derive(Debug, Clone)]
pub struct SharedInfra {
    datastorage_url: String,
    token: String,
    token_file: PathBuf,
    postgres_url: Option<String>,
    redis_url: Option<String>,
    run_dir: Option<PathBuf>,
}

impl SharedInfra {
    /// Reads `DS_URL` and `DS_TOKEN_FILE` (required) and `DS_POSTGRES_URL_FILE`,
    /// `DS_REDIS_URL_FILE`, `DS_RUN_DIR` (optional).
    pub fn from_env() -> Result<SharedInfra> {
        SharedInfra::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`SharedInfra::from_env`] over any variable source.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<SharedInfra> {
        let datastorage_url = var(DS_URL).ok_or(Error::MissingEnv {
            var: DS_URL,
            hint: HOW_TO_RUN,
        })?;
        if !datastorage_url.starts_with("http://") && !datastorage_url.starts_with("https://") {
            return Err(Error::InvalidEnv {
                var: DS_URL,
                value: datastorage_url,
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        let token_file = PathBuf::from(var(DS_TOKEN_FILE).ok_or(Error::MissingEnv {
            var: DS_TOKEN_FILE,
            hint: HOW_TO_RUN,
        })?);
        let token = read(DS_TOKEN_FILE, &token_file)?;
        let optional = |name: &'static str| -> Result<Option<String>> {
            var(name).map(|p| read(name, &PathBuf::from(p))).transpose()
        };
        Ok(SharedInfra {
            datastorage_url: datastorage_url.trim_end_matches('/').to_string(),
            token,
            token_file,
            postgres_url: optional(DS_POSTGRES_URL_FILE)?,
            redis_url: optional(DS_REDIS_URL_FILE)?,
            run_dir: var(DS_RUN_DIR).map(PathBuf::from),
        })
    }

    /// DataStorage's base URL, without a trailing slash.
    pub fn datastorage_url(&self) -> &str {
        &self.datastorage_url
    }

    /// DataStorage's bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The file the token was read from (to hand to another process).
    pub fn token_file(&self) -> &std::path::Path {
        &self.token_file
    }

    /// The PostgreSQL URL; an error naming the variable when the run did not export it.
    pub fn postgres_url(&self) -> Result<&str> {
        self.postgres_url.as_deref().ok_or(Error::MissingEnv {
            var: DS_POSTGRES_URL_FILE,
            hint: HOW_TO_RUN,
        })
    }

    /// The Redis URL; an error naming the variable when the run did not export it.
    pub fn redis_url(&self) -> Result<&str> {
        self.redis_url.as_deref().ok_or(Error::MissingEnv {
            var: DS_REDIS_URL_FILE,
            hint: HOW_TO_RUN,
        })
    }

    /// The run directory with every daemon's log, when known.
    pub fn run_dir(&self) -> Option<&std::path::Path> {
        self.run_dir.as_deref()
    }
}

fn read(var: &'static str, path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| Error::EnvFile {
            var,
            path: path.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, String)]) -> Result<SharedInfra> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        SharedInfra::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn missing_url_says_how_to_run() {
        let err = from(&[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "DS_URL is not set: run the integration tests with `cargo nextest run --profile integration`, or export DS_URL and DS_TOKEN_FILE pointing at running infrastructure"
        );
    }

    #[test]
    fn reads_secrets_from_files_and_names_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret\n").unwrap();
        let pg = dir.path().join("pg");
        std::fs::write(&pg, "postgres://u:p@127.0.0.1:1/db").unwrap();
        let ok = from(&[
            (DS_URL, "http://127.0.0.1:9/".into()),
            (DS_TOKEN_FILE, token.display().to_string()),
            (DS_POSTGRES_URL_FILE, pg.display().to_string()),
        ])
        .unwrap();
        assert_eq!(ok.datastorage_url(), "http://127.0.0.1:9");
        assert_eq!(ok.token(), "s3cret");
        assert_eq!(ok.postgres_url().unwrap(), "postgres://u:p@127.0.0.1:1/db");
        assert!(
            ok.redis_url()
                .unwrap_err()
                .to_string()
                .starts_with("DS_REDIS_URL_FILE is not set")
        );

        let err = from(&[
            (DS_URL, "http://x".into()),
            (DS_TOKEN_FILE, "/nonexistent/t".into()),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("DS_TOKEN_FILE names /nonexistent/t, which could not be read"),
            "{err}"
        );
        let err = from(&[(DS_URL, "127.0.0.1:9".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an http://"), "{err}");
    }
}
