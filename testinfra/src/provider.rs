//! Chooses where PostgreSQL and Redis come from — local binaries (default), URLs of servers
//! somebody else runs, or containers — and starts them accordingly.

use crate::error::{Error, Result};
use crate::postgres::{self, Postgres};
use crate::redis::{self, Redis};
use crate::run_dir::RunDir;

/// Selects the provider: `local`, `external` or `docker`.
pub const INFRA_VAR: &str = "DS_INFRA";
/// An existing PostgreSQL to use (external provider).
pub const POSTGRES_URL_VAR: &str = "DS_POSTGRES_URL";
/// An existing Redis to use (external provider).
pub const REDIS_URL_VAR: &str = "DS_REDIS_URL";

/// Where the servers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Start private servers from the binaries on this machine.
    Local,
    /// Use servers that already run.
    External {
        /// Their PostgreSQL.
        postgres_url: String,
        /// Their Redis.
        redis_url: String,
    },
    /// Start containers (needs the `docker` feature and a Docker engine).
    Docker,
}

impl Provider {
    /// Reads `DS_INFRA`, `DS_POSTGRES_URL` and `DS_REDIS_URL`: with both URLs set and no
    /// `DS_INFRA`, the servers are external.
    pub fn from_env() -> Result<Provider> {
        Provider::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`Provider::from_env`] over any variable source (testable without touching the
    /// process environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Provider> {
        let pg = var(POSTGRES_URL_VAR);
        let redis = var(REDIS_URL_VAR);
        let external = |pg: Option<String>, redis: Option<String>| match (pg, redis) {
            (Some(postgres_url), Some(redis_url)) => Ok(Provider::External {
                postgres_url,
                redis_url,
            }),
            (None, _) => Err(Error::MissingEnv {
                var: POSTGRES_URL_VAR,
                hint: "the external provider needs both DS_POSTGRES_URL and DS_REDIS_URL",
            }),
            (_, None) => Err(Error::MissingEnv {
                var: REDIS_URL_VAR,
                hint: "the external provider needs both DS_POSTGRES_URL and DS_REDIS_URL",
            }),
        };
        match var(INFRA_VAR).as_deref() {
            None => match (&pg, &redis) {
                (None, None) => Ok(Provider::Local),
                _ => external(pg, redis),
            },
            Some("local") => Ok(Provider::Local),
            Some("external") => external(pg, redis),
            Some("docker") => Ok(Provider::Docker),
            Some(other) => Err(Error::InvalidEnv {
                var: INFRA_VAR,
                value: other.into(),
                reason: "use local, external or docker".into(),
            }),
        }
    }
}

/// PostgreSQL + Redis for one run, however provided.
#[derive(Debug)]
pub struct Infra {
    postgres_url: String,
    redis_url: String,
    /// Local servers we own (stopped on drop unless detached).
    local: Option<(Postgres, Redis)>,
}

impl Infra {
    /// Starts (or connects to) both servers for `run`.
    pub fn start(run: &RunDir, provider: &Provider) -> Result<Infra> {
        match provider {
            Provider::Local => {
                // Sequential on purpose: two daemons starting at once on a 2-core machine
                // shared with compilers gain little and make start-up times erratic.
                let pg = postgres::start(run, postgres::Options::default())?;
                let redis = redis::start(run, redis::Options::default())?;
                Ok(Infra {
                    postgres_url: pg.url(),
                    redis_url: redis.url(),
                    local: Some((pg, redis)),
                })
            }
            Provider::External {
                postgres_url,
                redis_url,
            } => Ok(Infra {
                postgres_url: postgres_url.clone(),
                redis_url: redis_url.clone(),
                local: None,
            }),
            Provider::Docker => docker(run),
        }
    }

    /// The PostgreSQL URL (contains the password: pass it on through a 0600 file).
    pub fn postgres_url(&self) -> &str {
        &self.postgres_url
    }

    /// The Redis URL (contains the password).
    pub fn redis_url(&self) -> &str {
        &self.redis_url
    }

    /// The local servers, when the provider is local.
    pub fn local(&mut self) -> Option<(&mut Postgres, &mut Redis)> {
        self.local.as_mut().map(|(p, r)| (p, r))
    }

    /// Leaves everything running after this handle is gone; the run's supervisor stops it.
    pub fn detach(mut self) {
        if let Some((pg, redis)) = self.local.take() {
            pg.detach();
            redis.detach();
        }
    }
}

#[cfg(feature = "docker")]
fn docker(run: &RunDir) -> Result<Infra> {
    let (postgres_url, redis_url) = crate::docker::start(run)?;
    Ok(Infra {
        postgres_url,
        redis_url,
        local: None,
    })
}

#[cfg(not(feature = "docker"))]
fn docker(_run: &RunDir) -> Result<Infra> {
    Err(Error::InvalidEnv {
        var: INFRA_VAR,
        value: "docker".into(),
        reason: "this build has no container support: build with `--features docker` (e.g. `cargo run -p ds-bootstrap --features docker`)".into(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Provider> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Provider::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn default_is_local_and_urls_mean_external() {
        assert_eq!(from(&[]).unwrap(), Provider::Local);
        assert_eq!(
            from(&[
                ("DS_POSTGRES_URL", "postgres://x"),
                ("DS_REDIS_URL", "redis://y")
            ])
            .unwrap(),
            Provider::External {
                postgres_url: "postgres://x".into(),
                redis_url: "redis://y".into()
            }
        );
        assert_eq!(from(&[("DS_INFRA", "docker")]).unwrap(), Provider::Docker);
    }

    #[test]
    fn half_an_external_config_and_unknown_providers_are_errors() {
        let err = from(&[("DS_POSTGRES_URL", "postgres://x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("DS_REDIS_URL is not set"), "{err}");
        let err = from(&[("DS_INFRA", "external"), ("DS_REDIS_URL", "r")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("DS_POSTGRES_URL is not set"), "{err}");
        let err = from(&[("DS_INFRA", "podman")]).unwrap_err().to_string();
        assert!(err.contains("use local, external or docker"), "{err}");
    }

    #[test]
    fn external_servers_are_used_as_given_and_nothing_is_started() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "ext").unwrap();
        let provider = Provider::External {
            postgres_url: "postgres://a".into(),
            redis_url: "redis://b".into(),
        };
        let mut infra = Infra::start(&run, &provider).unwrap();
        assert_eq!(
            (infra.postgres_url(), infra.redis_url()),
            ("postgres://a", "redis://b")
        );
        assert!(infra.local().is_none());
        assert!(run.registered().is_empty());
    }

    #[cfg(not(feature = "docker"))]
    #[test]
    fn docker_without_the_feature_says_how_to_get_it() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "d").unwrap();
        let err = Infra::start(&run, &Provider::Docker)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--features docker"), "{err}");
    }
}
