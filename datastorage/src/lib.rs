//! The audit REST service: axum + PostgreSQL (sqlx) + Redis dead-letter queue.
//!
//! [`start`] connects to PostgreSQL (running the embedded migrations) and Redis, binds the
//! listener, spawns the dead-letter replay worker and returns a [`Running`] handle once the
//! service accepts connections. Shutdown is an input: [`Running::shutdown`] or a cancelled
//! [`Running::shutdown_token`].
//!
//! Endpoints (see [`audit::api`] for the bodies): `POST /api/v1/audit/events` → 201
//! `{event_id}`; `POST /api/v1/audit/events/batch` → 201 `{event_ids}` (202 for both when
//! PostgreSQL is down and the events went to the dead-letter queue); `GET /api/v1/audit/events`
//! with filters; `/healthz` and `/readyz` (no token); `/metrics` (token).
//!
//! A batch is all or nothing: validated whole (one bad event is a 400 naming its index and
//! field, nothing stored), then stored in one statement or queued as one entry. Input PostgreSQL
//! cannot store (a NUL in any string, `event_data` at any depth included; a timestamp outside
//! the four-digit UTC years) is a 400 naming the field's JSON path, before anything is accepted.
//! An optional `Idempotency-Key` header makes a resent request store nothing twice. Poison
//! events in the dead-letter queue are parked, never block it. The crate README describes the
//! contract, the queue and its durability in full.

mod config;
mod dlq;
mod http;
mod metrics;
mod postgres;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{
    Args, Config, DEFAULT_DLQ_REPLAY_INTERVAL, DEFAULT_DLQ_STREAM, DEFAULT_PG_MAX_CONNECTIONS,
};
pub use dlq::REDIS_TIMEOUT;
pub use http::MAX_BODY_BYTES;
pub use postgres::{ACQUIRE_TIMEOUT, PROBE_TIMEOUT, SLOW_ACQUIRE, STATEMENT_TIMEOUT};

/// Longest wait for in-flight requests and the replay worker to finish at shutdown before they
/// are abandoned: requests are bounded by the store deadlines (a few seconds), so this is ample.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why DataStorage could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret file could not be read.
    #[error("failed to read the {what} file {path}")]
    ReadSecret {
        /// Which secret.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A secret file is readable by other users.
    #[error(
        "the {what} file {path} has mode {mode:o}; it holds a secret, so run `chmod 600 {path}`"
    )]
    InsecureSecretFile {
        /// Which secret.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A secret file is empty.
    #[error("the {what} file {path} is empty; write the {what} into it")]
    EmptySecret {
        /// Which secret.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// PostgreSQL refused or failed at start-up. (URLs are never quoted: they carry passwords.)
    #[error("failed to {action} (check --postgres-url-file and that PostgreSQL is running)")]
    Postgres {
        /// What was being done.
        action: &'static str,
        /// The sqlx error.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded migrations failed.
    #[error("failed to run the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Redis refused or failed at start-up.
    #[error("failed to {action} (check --redis-url-file and that Redis is running)")]
    Redis {
        /// What was being done.
        action: &'static str,
        /// The redis error.
        #[source]
        source: redis::RedisError,
    },
    /// A start-up step took too long.
    #[error("timed out after {after:?} {what}")]
    Timeout {
        /// What was being done.
        what: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// The listen address could not be bound.
    #[error(
        "failed to listen on {addr} (is the port taken? pass --listen 127.0.0.1:0 for any free port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while running.
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
    /// A background task panicked (a bug).
    #[error("a DataStorage background task panicked")]
    TaskPanicked(#[source] tokio::task::JoinError),
}

/// A running DataStorage instance.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
    pg: postgres::Pg,
}

/// Connects, migrates, binds, spawns the replay worker, and returns once listening.
pub async fn start(config: Config) -> Result<Running, Error> {
    config.check()?;
    let pg = postgres::Pg::connect(&config.postgres_url, config.pg_max_connections).await?;
    let dlq = dlq::Dlq::connect(&config.redis_url, config.dlq_stream.clone()).await?;
    match dlq.durable().await {
        Some(true) => {}
        Some(false) => tracing::warn!(
            stream = %config.dlq_stream,
            "Redis runs without its append-only file: events queued in the dead-letter queue while \
             PostgreSQL is down are lost if Redis restarts before they are replayed; for no loss run \
             Redis with `appendonly yes` and `appendfsync always`"
        ),
        None => tracing::warn!(
            "could not tell whether Redis persists the dead-letter queue (INFO persistence did not \
             answer); without `appendonly yes` a Redis restart loses queued events"
        ),
    }
    let mut registry = Registry::default();
    let metrics = metrics::Metrics::register(&mut registry);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let shutdown = CancellationToken::new();
    let state = Arc::new(http::AppState {
        pg: pg.clone(),
        dlq: dlq.clone(),
        metrics: metrics.clone(),
        registry,
        token: config.token.clone(),
    });
    let app = http::router(state);
    let server_stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(server_stop.cancelled_owned())
            .await
    });
    let worker = tokio::spawn(dlq::replay_worker(
        dlq,
        pg.clone(),
        metrics,
        config.dlq_replay_interval,
        shutdown.clone(),
    ));
    tracing::info!(%addr, stream = %config.dlq_stream, "DataStorage listening");
    Ok(Running {
        addr,
        shutdown,
        server,
        worker,
        pg,
    })
}

impl Running {
    /// The address the service listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://<local_addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A token that stops the service when cancelled (e.g. from a signal handler) while
    /// another task waits in [`Running::wait`].
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting requests, lets in-flight ones finish, stops the replay worker and closes
    /// the pool.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the service stops (its shutdown token cancelled, or the server failed), then
    /// cleans up as [`Running::shutdown`] does.
    pub async fn wait(self) -> Result<(), Error> {
        let Running {
            shutdown,
            mut server,
            worker,
            pg,
            ..
        } = self;
        let served = tokio::select! {
            r = &mut server => Some(r),
            _ = shutdown.cancelled() => None,
        };
        // Either way, stop everything else too.
        shutdown.cancel();
        let served = match served {
            Some(r) => r,
            None => match tokio::time::timeout(SHUTDOWN_TIMEOUT, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(
                        "in-flight requests did not finish within {SHUTDOWN_TIMEOUT:?}; aborting them"
                    );
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        let worker_result = tokio::time::timeout(SHUTDOWN_TIMEOUT, worker).await;
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, pg.close())
            .await
            .is_err()
        {
            tracing::warn!("PostgreSQL pool did not close within {SHUTDOWN_TIMEOUT:?}");
        }
        served.map_err(Error::TaskPanicked)?.map_err(Error::Serve)?;
        match worker_result {
            Ok(Err(e)) => Err(Error::TaskPanicked(e)),
            _ => Ok(()),
        }
    }
}
