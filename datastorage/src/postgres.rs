//! Owns every PostgreSQL access: the pool, the embedded migrations, the idempotent batch insert
//! and the filtered, paged query. Every operation has a deadline, and failures are classified
//! into "PostgreSQL is unavailable" (the caller falls back to the dead-letter queue, and replay
//! keeps the entry for later), "PostgreSQL refused the data" (retrying the same values can never
//! succeed: replay isolates and parks the events) and others.

use std::str::FromStr;
use std::time::Duration;

use audit::{AuditEvent, EventOutcome};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

/// Longest wait for a pooled connection while PostgreSQL is reachable: covers queueing behind
/// other requests when every connection is busy, and opening a connection (a SCRAM handshake
/// costs hundreds of milliseconds in an unoptimised build on a loaded machine).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an acquire may take before DataStorage checks whether PostgreSQL is there at all.
/// Most acquires take microseconds (an idle pooled connection); past this, a TCP probe tells a
/// stopped server (refused: fall back to the dead-letter queue now) from a busy one (keep
/// waiting). Together with [`PROBE_TIMEOUT`] this bounds detecting a dead PostgreSQL to about
/// half a second, where sqlx alone would retry a refused connect until [`ACQUIRE_TIMEOUT`].
pub const SLOW_ACQUIRE: Duration = Duration::from_millis(250);

/// Deadline of the TCP reachability probe: loopback and LAN connects take well under a
/// millisecond; an unroutable host never answers.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// Deadline for one statement. A 1,000-event insert takes tens of milliseconds even on a busy
/// two-core CI machine; two seconds only trips on a server that stopped answering mid-statement.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Deadline for connecting and migrating at start-up, when the server may still be warming up.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Deadline for the readiness probe's `SELECT 1`.
pub const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a PostgreSQL operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server cannot be reached or is shutting down; the operation may succeed later.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    /// PostgreSQL refused the values themselves (SQLSTATE class 22, data exception, or 23,
    /// integrity constraint violation), or they could not be encoded for it: the same values
    /// will be refused every time.
    #[error("PostgreSQL refused the data (SQLSTATE {sqlstate}): {message}")]
    Refused {
        /// The SQLSTATE, or `encode` when sqlx could not encode a value.
        sqlstate: String,
        /// PostgreSQL's (or sqlx's) message.
        message: String,
    },
    /// Anything else (a permission or schema problem, a bug).
    #[error("PostgreSQL operation failed")]
    Failed(#[source] sqlx::Error),
}

/// Filters of a list query, already validated.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub event_type: Option<String>,
    pub event_category: Option<String>,
    pub event_outcome: Option<EventOutcome>,
    pub correlation_id: Option<String>,
    pub actor_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// The pool and the statements.
#[derive(Clone, Debug)]
pub struct Pg {
    pool: PgPool,
    /// `host:port` for the reachability probe; `None` for a Unix socket (no TCP to probe).
    probe_addr: Option<(String, u16)>,
}

impl Pg {
    /// Connects (at most `max_connections`) and runs the embedded migrations. Concurrent
    /// callers on one database are safe: sqlx serialises migrations with an advisory lock.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, crate::Error> {
        let options = PgConnectOptions::from_str(url).map_err(|e| crate::Error::Postgres {
            action: "parse the PostgreSQL URL",
            source: e,
        })?;
        let probe_addr = options
            .get_socket()
            .is_none()
            .then(|| (options.get_host().to_owned(), options.get_port()));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A pooled connection to a restarted server is dead; checking on acquire replaces
            // it instead of failing the request.
            .test_before_acquire(true)
            .connect_lazy_with(options);
        let pg = Self { pool, probe_addr };
        tokio::time::timeout(STARTUP_TIMEOUT, async {
            // Retry the first connection until the deadline: a server started a moment ago
            // may still answer "the database system is starting up".
            loop {
                match pg.pool.acquire().await {
                    Ok(_) => return Ok(()),
                    Err(e) if is_unavailable(&e) => {
                        tokio::time::sleep(Duration::from_millis(50)).await
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .await
        .map_err(|_| crate::Error::Timeout {
            what: "connecting to PostgreSQL",
            after: STARTUP_TIMEOUT,
        })?
        .map_err(|e| crate::Error::Postgres {
            action: "connect to PostgreSQL",
            source: e,
        })?;
        tokio::time::timeout(
            STARTUP_TIMEOUT,
            sqlx::migrate!("./migrations").run(&pg.pool),
        )
        .await
        .map_err(|_| crate::Error::Timeout {
            what: "running the migrations",
            after: STARTUP_TIMEOUT,
        })?
        .map_err(crate::Error::Migrate)?;
        Ok(pg)
    }

    /// A pooled connection; fails fast (as unavailable) when PostgreSQL refuses connections.
    async fn acquire(&self) -> Result<PoolConnection<Postgres>, PgError> {
        let acquire = self.pool.acquire();
        tokio::pin!(acquire);
        if let Ok(result) = tokio::time::timeout(SLOW_ACQUIRE, &mut acquire).await {
            return result.map_err(classify);
        }
        if let Some((host, port)) = &self.probe_addr {
            let probe = tokio::time::timeout(
                PROBE_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), *port)),
            )
            .await;
            match probe {
                Ok(Ok(_)) => {} // reachable: busy or slow, keep waiting
                Ok(Err(e)) => {
                    return Err(PgError::Unavailable(format!(
                        "PostgreSQL refuses connections: {e}"
                    )));
                }
                Err(_) => {
                    return Err(PgError::Unavailable(format!(
                        "PostgreSQL did not accept a TCP connection within {PROBE_TIMEOUT:?}"
                    )));
                }
            }
        }
        acquire.await.map_err(classify)
    }

    /// Closes the pool, waiting for checked-out connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `SELECT 1` with a deadline.
    pub async fn ping(&self) -> Result<(), PgError> {
        let mut conn = self.acquire().await?;
        timed(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&mut *conn))
            .await
            .map(|_| ())
    }

    /// Inserts every event (each must carry its `event_id`) in one statement, hence one
    /// transaction: all or nothing. Events whose id is already stored are skipped, which makes
    /// dead-letter replays idempotent. Returns how many rows were new.
    pub async fn insert(&self, events: &[AuditEvent]) -> Result<u64, PgError> {
        if events.is_empty() {
            return Ok(0);
        }
        let n = events.len();
        let mut ids = Vec::with_capacity(n);
        let mut versions = Vec::with_capacity(n);
        let mut types = Vec::with_capacity(n);
        let mut timestamps = Vec::with_capacity(n);
        let mut categories = Vec::with_capacity(n);
        let mut actions = Vec::with_capacity(n);
        let mut outcomes = Vec::with_capacity(n);
        let mut correlations = Vec::with_capacity(n);
        let mut data = Vec::with_capacity(n);
        let mut actor_types = Vec::with_capacity(n);
        let mut actor_ids = Vec::with_capacity(n);
        let mut resource_types = Vec::with_capacity(n);
        let mut resource_ids = Vec::with_capacity(n);
        let mut namespaces = Vec::with_capacity(n);
        let mut durations = Vec::with_capacity(n);
        let mut error_codes = Vec::with_capacity(n);
        let mut error_messages = Vec::with_capacity(n);
        for e in events {
            let Some(id) = e.event_id else {
                // The HTTP layer assigns ids before any write; an event without one is a bug.
                return Err(PgError::Failed(sqlx::Error::Protocol(
                    "audit event without event_id".into(),
                )));
            };
            ids.push(id);
            versions.push(e.version.clone());
            types.push(e.event_type.clone());
            timestamps.push(e.event_timestamp);
            categories.push(e.event_category.clone());
            actions.push(e.event_action.clone());
            outcomes.push(e.event_outcome.as_str().to_owned());
            correlations.push(e.correlation_id.clone());
            data.push(Value::Object(e.event_data.clone()));
            actor_types.push(e.actor_type.clone());
            actor_ids.push(e.actor_id.clone());
            resource_types.push(e.resource_type.clone());
            resource_ids.push(e.resource_id.clone());
            namespaces.push(e.namespace.clone());
            durations.push(e.duration_ms);
            error_codes.push(e.error_code.clone());
            error_messages.push(e.error_message.clone());
        }
        // One statement with array parameters: a 1,000-event batch is one round trip, and a
        // single statement is atomic, so a batch is stored whole or not at all.
        let query = sqlx::query(
            "INSERT INTO audit_events (event_id, version, event_type, event_timestamp, event_category, \
             event_action, event_outcome, correlation_id, event_data, actor_type, actor_id, resource_type, \
             resource_id, namespace, duration_ms, error_code, error_message) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::text[], $12::text[], \
             $13::text[], $14::text[], $15::int8[], $16::text[], $17::text[]) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(ids)
        .bind(versions)
        .bind(types)
        .bind(timestamps)
        .bind(categories)
        .bind(actions)
        .bind(outcomes)
        .bind(correlations)
        .bind(data)
        .bind(actor_types)
        .bind(actor_ids)
        .bind(resource_types)
        .bind(resource_ids)
        .bind(namespaces)
        .bind(durations)
        .bind(error_codes)
        .bind(error_messages);
        let mut conn = self.acquire().await?;
        let result = timed(STATEMENT_TIMEOUT, query.execute(&mut *conn)).await?;
        Ok(result.rows_affected())
    }

    /// One page of matching events, newest first (ties broken by id so pages are stable), and
    /// the number of matches.
    pub async fn list(
        &self,
        filter: &Filter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<AuditEvent>, u64), PgError> {
        let mut conn = self.acquire().await?;
        let mut count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM audit_events");
        push_filter(&mut count, filter);
        let total: i64 = timed(STATEMENT_TIMEOUT, count.build().fetch_one(&mut *conn))
            .await?
            .try_get(0)
            .map_err(PgError::Failed)?;

        let mut select = QueryBuilder::<Postgres>::new(
            "SELECT event_id, version, event_type, event_timestamp, event_category, event_action, \
             event_outcome, correlation_id, event_data, actor_type, actor_id, resource_type, resource_id, \
             namespace, duration_ms, error_code, error_message FROM audit_events",
        );
        push_filter(&mut select, filter);
        select.push(" ORDER BY event_timestamp DESC, event_id DESC LIMIT ");
        select.push_bind(i64::from(limit));
        select.push(" OFFSET ");
        // Offsets beyond i64 match nothing anyway.
        select.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        let rows = timed(STATEMENT_TIMEOUT, select.build().fetch_all(&mut *conn)).await?;
        let events = rows
            .iter()
            .map(row_to_event)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, u64::try_from(total).unwrap_or(0)))
    }
}

fn push_filter(q: &mut QueryBuilder<Postgres>, f: &Filter) {
    let mut first = true;
    let mut and = |q: &mut QueryBuilder<Postgres>| {
        q.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    for (column, value) in [
        ("event_type", &f.event_type),
        ("event_category", &f.event_category),
        ("correlation_id", &f.correlation_id),
        ("actor_id", &f.actor_id),
    ] {
        if let Some(v) = value {
            and(q);
            q.push(column).push(" = ").push_bind(v.clone());
        }
    }
    if let Some(o) = f.event_outcome {
        and(q);
        q.push("event_outcome = ").push_bind(o.as_str());
    }
    if let Some(t) = f.since {
        and(q);
        q.push("event_timestamp >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        and(q);
        q.push("event_timestamp <= ").push_bind(t);
    }
}

fn row_to_event(row: &PgRow) -> Result<AuditEvent, PgError> {
    let get_err = PgError::Failed;
    let outcome: String = row.try_get("event_outcome").map_err(get_err)?;
    let event_outcome = EventOutcome::parse(&outcome).ok_or_else(|| {
        PgError::Failed(sqlx::Error::Decode(
            format!("stored event_outcome {outcome:?} is not a known outcome").into(),
        ))
    })?;
    let data: Value = row.try_get("event_data").map_err(PgError::Failed)?;
    let Value::Object(event_data) = data else {
        return Err(PgError::Failed(sqlx::Error::Decode(
            "stored event_data is not a JSON object".into(),
        )));
    };
    Ok(AuditEvent {
        event_id: Some(
            row.try_get::<Uuid, _>("event_id")
                .map_err(PgError::Failed)?,
        ),
        version: row.try_get("version").map_err(PgError::Failed)?,
        event_type: row.try_get("event_type").map_err(PgError::Failed)?,
        event_timestamp: row.try_get("event_timestamp").map_err(PgError::Failed)?,
        event_category: row.try_get("event_category").map_err(PgError::Failed)?,
        event_action: row.try_get("event_action").map_err(PgError::Failed)?,
        event_outcome,
        correlation_id: row.try_get("correlation_id").map_err(PgError::Failed)?,
        event_data,
        actor_type: row.try_get("actor_type").map_err(PgError::Failed)?,
        actor_id: row.try_get("actor_id").map_err(PgError::Failed)?,
        resource_type: row.try_get("resource_type").map_err(PgError::Failed)?,
        resource_id: row.try_get("resource_id").map_err(PgError::Failed)?,
        namespace: row.try_get("namespace").map_err(PgError::Failed)?,
        duration_ms: row.try_get("duration_ms").map_err(PgError::Failed)?,
        error_code: row.try_get("error_code").map_err(PgError::Failed)?,
        error_message: row.try_get("error_message").map_err(PgError::Failed)?,
    })
}

/// Sorts a failure into unavailable (retry later), refused (the data can never be stored) or
/// failed (anything else).
fn classify(e: sqlx::Error) -> PgError {
    if is_unavailable(&e) {
        return PgError::Unavailable(e.to_string());
    }
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Class 22: data exception (e.g. 22P05 "unsupported Unicode escape sequence" for a
            // NUL in jsonb, 22021 for a NUL in text, 22008 timestamp out of range). Class 23:
            // integrity constraint violation (a CHECK constraint).
            if code.starts_with("22") || code.starts_with("23") {
                return PgError::Refused {
                    sqlstate: code.into_owned(),
                    message: db.message().to_owned(),
                };
            }
            PgError::Failed(e)
        }
        sqlx::Error::Encode(source) => PgError::Refused {
            sqlstate: "encode".to_owned(),
            message: source.to_string(),
        },
        _ => PgError::Failed(e),
    }
}

/// Runs `fut` with a deadline, classifying both the timeout and the error.
async fn timed<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, PgError> {
    match tokio::time::timeout(limit, fut).await {
        Err(_) => Err(PgError::Unavailable(format!("no answer within {limit:?}"))),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(e)),
    }
}

/// Whether `e` means the server is unreachable or going away (so the write may be retried
/// later from the dead-letter queue) rather than a problem with the statement.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Class 08: connection exception. 57P01/57P02/57P03: admin or crash shutdown,
            // cannot connect now (starting up or shutting down). 53300: too many connections.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }
        _ => false,
    }
}
