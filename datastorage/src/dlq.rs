//! Owns the Redis dead-letter queue: accepted events that PostgreSQL could not take are
//! appended to a Redis stream (one entry per request, events already carrying their ids), and a
//! background worker replays the stream into PostgreSQL once it is back. An entry is deleted only
//! after the insert committed, and the insert skips ids already stored, so a crash or a replay by
//! two instances at once never loses nor duplicates an event.

use std::time::Duration;

use audit::AuditEvent;
use redis::aio::ConnectionManager;
use redis::streams::StreamRangeReply;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::postgres::{Pg, PgError};

/// Deadline for one Redis command. Redis answers in microseconds on loopback; a second only
/// trips on a dead or hung server, and keeps a request from hanging when both stores are down.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// Deadline for connecting to Redis at start-up.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Stream entries read per replay step (each holds one request: 1 to 1,000 events).
const REPLAY_ENTRIES_PER_READ: usize = 50;

/// Events inserted per replay step: entries are taken until this many events are collected, so
/// one step inserts fewer than twice this (an entry holds at most 1,000). Sized like a client
/// batch, it stays well within the statement deadline even on a loaded machine; a step that
/// timed out would otherwise be retried at the same size forever.
const REPLAY_EVENTS_PER_STEP: usize = 1000;

/// Field of a stream entry holding the JSON array of events.
const EVENTS_FIELD: &str = "events";

/// Why a dead-letter queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// Redis answered with an error or the connection failed.
    #[error("Redis dead-letter queue operation failed")]
    Redis(#[source] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Replay stopped because PostgreSQL failed; the entries stay queued.
    #[error("replay into PostgreSQL failed")]
    Postgres(#[source] PgError),
}

/// The Redis stream and a connection to it (reconnects by itself).
#[derive(Clone)]
pub struct Dlq {
    conn: ConnectionManager,
    stream: String,
}

impl std::fmt::Debug for Dlq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dlq")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl Dlq {
    /// Connects to Redis at `url` (the URL is never logged: it carries the password).
    pub async fn connect(url: &str, stream: String) -> Result<Self, crate::Error> {
        let client = redis::Client::open(url).map_err(|e| crate::Error::Redis {
            action: "parse the Redis URL",
            source: e,
        })?;
        // A plain connection first: the connection manager retries failed connects (with
        // backoff) and would turn a wrong password into a timeout instead of the real error.
        let probe = tokio::time::timeout(
            REDIS_CONNECT_TIMEOUT,
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| crate::Error::Timeout {
            what: "connecting to Redis",
            after: REDIS_CONNECT_TIMEOUT,
        })?
        .map_err(|e| crate::Error::Redis {
            action: "connect to Redis",
            source: e,
        })?;
        drop(probe);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let conn = tokio::time::timeout(
            REDIS_CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| crate::Error::Timeout {
            what: "connecting to Redis",
            after: REDIS_CONNECT_TIMEOUT,
        })?
        .map_err(|e| crate::Error::Redis {
            action: "connect to Redis",
            source: e,
        })?;
        let dlq = Self { conn, stream };
        dlq.ping().await.map_err(|e| match e {
            DlqError::Redis(source) => crate::Error::Redis {
                action: "authenticate to Redis",
                source,
            },
            _ => crate::Error::Timeout {
                what: "pinging Redis",
                after: REDIS_TIMEOUT,
            },
        })?;
        Ok(dlq)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, DlqError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(REDIS_TIMEOUT, cmd.query_async(&mut conn)).await {
            Err(_) => Err(DlqError::Timeout(REDIS_TIMEOUT)),
            Ok(r) => r.map_err(DlqError::Redis),
        }
    }

    /// `PING` with a deadline.
    pub async fn ping(&self) -> Result<(), DlqError> {
        let _: String = self.run(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// Appends one request's events (with their ids) as one stream entry.
    pub async fn push(&self, events: &[AuditEvent]) -> Result<(), DlqError> {
        // Serialising events (strings, numbers, maps) cannot fail.
        let payload = serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned());
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream)
            .arg("*")
            .arg(EVENTS_FIELD)
            .arg(payload);
        let _: String = self.run(&cmd).await?;
        Ok(())
    }

    /// Number of entries (requests) waiting.
    pub async fn len(&self) -> Result<u64, DlqError> {
        let mut cmd = redis::cmd("XLEN");
        cmd.arg(&self.stream);
        self.run(&cmd).await
    }

    /// Replays the stream into PostgreSQL until it is empty or PostgreSQL fails. Returns the
    /// number of events newly stored.
    pub async fn replay(&self, pg: &Pg, metrics: &Metrics) -> Result<u64, DlqError> {
        let mut stored = 0;
        loop {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(&self.stream)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(REPLAY_ENTRIES_PER_READ);
            let reply: StreamRangeReply = self.run(&cmd).await?;
            if reply.ids.is_empty() {
                return Ok(stored);
            }
            let mut events: Vec<AuditEvent> = Vec::new();
            let mut done: Vec<String> = Vec::with_capacity(reply.ids.len());
            for entry in &reply.ids {
                if events.len() >= REPLAY_EVENTS_PER_STEP {
                    break; // the rest waits for the next step
                }
                let parsed = entry
                    .get::<String>(EVENTS_FIELD)
                    .and_then(|json| serde_json::from_str::<Vec<AuditEvent>>(&json).ok())
                    .filter(|batch| batch.iter().all(|e| e.event_id.is_some()));
                match parsed {
                    Some(batch) => events.extend(batch),
                    None => {
                        // Written by something other than this service (or a future version):
                        // move it aside so it cannot block the queue, and keep it for a human.
                        tracing::error!(stream = %self.stream, entry = %entry.id, "unreadable dead-letter entry moved to the poison stream");
                        let mut copy = redis::cmd("XADD");
                        copy.arg(format!("{}:poison", self.stream))
                            .arg("*")
                            .arg("entry")
                            .arg(&entry.id);
                        for (k, v) in &entry.map {
                            if let Ok(s) = redis::from_redis_value_ref::<String>(v) {
                                copy.arg(k).arg(s);
                            }
                        }
                        let _: String = self.run(&copy).await?;
                    }
                }
                done.push(entry.id.clone());
            }
            let inserted = pg.insert(&events).await.map_err(DlqError::Postgres)?;
            // Only after the commit: a crash before this line replays the entries, and the
            // insert skips the ids that made it.
            let mut del = redis::cmd("XDEL");
            del.arg(&self.stream).arg(&done);
            let _: u64 = self.run(&del).await?;
            metrics.dlq_replayed(inserted);
            stored += inserted;
            tracing::info!(
                entries = done.len(),
                events = events.len(),
                inserted,
                "replayed dead-letter entries into PostgreSQL"
            );
        }
    }
}

/// Replays the queue every `interval` until `shutdown`. Errors are logged and retried on the
/// next tick: the queue is durable, so waiting is always safe.
pub async fn replay_worker(
    dlq: Dlq,
    pg: Pg,
    metrics: Metrics,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match dlq.replay(&pg, &metrics).await {
            Ok(_) => {}
            Err(DlqError::Postgres(e)) => {
                tracing::debug!(error = %e, "dead-letter replay waits for PostgreSQL")
            }
            Err(e) => tracing::warn!(error = %e, "dead-letter replay failed; will retry"),
        }
        if let Ok(depth) = dlq.len().await {
            metrics.set_dlq_depth(depth);
        }
    }
}
