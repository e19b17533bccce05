//! Owns DataStorage's configuration: the [`Config`] the library starts from, and the command
//! line [`Args`] that build it. Secrets (PostgreSQL and Redis URLs with passwords, the bearer
//! token) come from 0600 files, never from argv where `ps` would show them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;

/// Default gap between dead-letter replay attempts: events reach PostgreSQL a few seconds after
/// it is back, and a down PostgreSQL costs one failed connect per interval.
pub const DEFAULT_DLQ_REPLAY_INTERVAL: Duration = Duration::from_secs(5);

/// Default Redis stream key of the dead-letter queue.
pub const DEFAULT_DLQ_STREAM: &str = "datastorage:audit-events:dlq";

/// Default PostgreSQL pool size: enough for a dozen parallel test processes posting at once on
/// a small machine without exhausting PostgreSQL's default 100 connections.
pub const DEFAULT_PG_MAX_CONNECTIONS: u32 = 16;

/// Everything [`crate::start`] needs.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (see `Running::local_addr`).
    pub listen: SocketAddr,
    /// PostgreSQL URL (`postgres://user:password@host:port/db`).
    pub postgres_url: String,
    /// Redis URL (`redis://:password@host:port/`).
    pub redis_url: String,
    /// The bearer token clients must present.
    pub token: String,
    /// Gap between dead-letter replay attempts.
    pub dlq_replay_interval: Duration,
    /// Redis stream key of the dead-letter queue. Instances that share a Redis but not a
    /// PostgreSQL database must use different keys, or one would replay the other's events.
    pub dlq_stream: String,
    /// PostgreSQL pool size.
    pub pg_max_connections: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs and token stay out of logs.
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("dlq_replay_interval", &self.dlq_replay_interval)
            .field("dlq_stream", &self.dlq_stream)
            .field("pg_max_connections", &self.pg_max_connections)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A configuration with the defaults for everything but the addresses and the token.
    pub fn new(
        listen: SocketAddr,
        postgres_url: impl Into<String>,
        redis_url: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        Self {
            listen,
            postgres_url: postgres_url.into(),
            redis_url: redis_url.into(),
            token: token.into(),
            dlq_replay_interval: DEFAULT_DLQ_REPLAY_INTERVAL,
            dlq_stream: DEFAULT_DLQ_STREAM.to_owned(),
            pg_max_connections: DEFAULT_PG_MAX_CONNECTIONS,
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.token.trim().is_empty() {
            return Err(Error::InvalidConfig("the bearer token is empty".into()));
        }
        if self.dlq_replay_interval.is_zero() {
            return Err(Error::InvalidConfig(
                "dlq_replay_interval must be positive".into(),
            ));
        }
        if self.dlq_stream.is_empty() {
            return Err(Error::InvalidConfig("dlq_stream must not be empty".into()));
        }
        if self.pg_max_connections == 0 {
            return Err(Error::InvalidConfig(
                "pg_max_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Command-line arguments of the `datastorage` binary (and of anything embedding it).
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// File (mode 0600) holding the PostgreSQL URL.
    #[arg(long)]
    pub postgres_url_file: PathBuf,
    /// File (mode 0600) holding the Redis URL.
    #[arg(long)]
    pub redis_url_file: PathBuf,
    /// File (mode 0600) holding the bearer token clients must present.
    #[arg(long)]
    pub token_file: PathBuf,
    /// Gap between dead-letter replay attempts, e.g. 500ms, 5s, 1m.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub dlq_replay_interval: Duration,
    /// Redis stream key of the dead-letter queue.
    #[arg(long, default_value = DEFAULT_DLQ_STREAM)]
    pub dlq_stream: String,
    /// PostgreSQL pool size.
    #[arg(long, default_value_t = DEFAULT_PG_MAX_CONNECTIONS)]
    pub pg_max_connections: u32,
}

impl Args {
    /// Reads the secret files and builds the [`Config`].
    pub fn into_config(self) -> Result<Config, Error> {
        let config = Config {
            listen: self.listen,
            postgres_url: read_secret("PostgreSQL URL", &self.postgres_url_file)?,
            redis_url: read_secret("Redis URL", &self.redis_url_file)?,
            token: read_secret("bearer token", &self.token_file)?,
            dlq_replay_interval: self.dlq_replay_interval,
            dlq_stream: self.dlq_stream,
            pg_max_connections: self.pg_max_connections,
        };
        config.check()?;
        Ok(config)
    }
}

/// Reads a secret from a file that only its owner may read; surrounding whitespace is trimmed.
pub(crate) fn read_secret(what: &'static str, path: &Path) -> Result<String, Error> {
    use std::os::unix::fs::PermissionsExt;
    let read_err = |source| Error::ReadSecret {
        what,
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path)
        .map_err(read_err)?
        .permissions()
        .mode()
        & 0o777;
    // Group or other access to a secret is a deployment mistake worth stopping for.
    if mode & 0o077 != 0 {
        return Err(Error::InsecureSecretFile {
            what,
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(Error::EmptySecret {
            what,
            path: path.to_owned(),
        });
    }
    Ok(secret.to_owned())
}

/// Parses `250ms`, `5s`, `2m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 500ms, 5s or 1m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{s:?} has an unknown unit; use ms, s, m or h")),
    };
    if d.is_zero() {
        return Err("the interval must be positive".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    fn args(dir: &Path, token_mode: u32, token: &str) -> Args {
        Args {
            listen: "127.0.0.1:0".parse().expect("addr"),
            postgres_url_file: write(dir, "pg", "postgres://u:p@127.0.0.1:1/db\n", 0o600),
            redis_url_file: write(dir, "redis", "redis://:p@127.0.0.1:2/", 0o600),
            token_file: write(dir, "token", token, token_mode),
            dlq_replay_interval: Duration::from_secs(1),
            dlq_stream: "s".into(),
            pg_max_connections: 2,
        }
    }

    #[test]
    fn reads_trimmed_secrets_from_private_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = args(dir.path(), 0o600, "tok\n")
            .into_config()
            .expect("config");
        assert_eq!(config.postgres_url, "postgres://u:p@127.0.0.1:1/db");
        assert_eq!(config.token, "tok");
        assert!(
            !format!("{config:?}").contains("tok"),
            "Debug must not print secrets"
        );
    }

    #[test]
    fn refuses_readable_empty_or_missing_secret_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = args(dir.path(), 0o644, "tok")
            .into_config()
            .expect_err("insecure");
        assert!(matches!(err, Error::InsecureSecretFile { .. }), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        let err = args(dir.path(), 0o600, " \n")
            .into_config()
            .expect_err("empty");
        assert!(matches!(err, Error::EmptySecret { .. }), "{err}");
        let mut a = args(dir.path(), 0o600, "tok");
        a.redis_url_file = dir.path().join("nope");
        let err = a.into_config().expect_err("missing");
        assert!(err.to_string().contains("Redis URL"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
