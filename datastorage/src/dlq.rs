//! Owns the Redis dead-letter queue: accepted events that PostgreSQL could not take are
//! appended to a Redis stream (one entry per request, events already carrying their ids), and a
//! background worker replays the stream into PostgreSQL once it is back. An entry is deleted only
//! after the insert committed, and the insert skips ids already stored, so a crash or a replay by
//! two instances at once never loses nor duplicates an event.
//!
//! An event PostgreSQL refuses for its data (a poison event) must not block the queue: replay
//! bisects a refused step down to those events, stores the rest, and parks each poison event in
//! `<stream>:poison` with the reason (counted in `datastorage_dlq_parked_events_total`, logged at
//! WARN with its id). Entries that are not this service's JSON are set aside there too.

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

    /// Whether Redis keeps the queue across its own restart: the append-only file is on (with
    /// `appendfsync always`, every acknowledged entry survives a crash too; with `everysec`, a
    /// crash may lose the last second). Without it, events queued while PostgreSQL is down are
    /// lost if Redis restarts before they are replayed, so [`crate::start`] warns about it.
    /// `None` when Redis does not say (e.g. `INFO` is disabled).
    pub async fn durable(&self) -> Option<bool> {
        let mut cmd = redis::cmd("INFO");
        cmd.arg("persistence");
        let info: String = self.run(&cmd).await.ok()?;
        info.lines()
            .find_map(|line| line.trim().strip_prefix("aof_enabled:"))
            .map(|v| v == "1")
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

    /// The stream where entries and events that can never be stored are set aside.
    pub fn poison_stream(&self) -> String {
        poison_stream(&self.stream)
    }

    /// Replays the stream into PostgreSQL until it is empty or PostgreSQL fails. Returns the
    /// number of events newly stored.
    ///
    /// One step reads entries, inserts their events in one statement and deletes the entries.
    /// When PostgreSQL refuses the statement for a data reason ([`PgError::Refused`]), the step
    /// bisects it down to the events refused on their own ([`insert_isolating`]); those are
    /// parked in the poison stream, each with its reason, by the same atomic Redis script that
    /// deletes their entry, so that an event is parked once and never lost. Any other failure
    /// ends the replay with the entries kept: they are retried on the next tick (events already
    /// stored are skipped by id).
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
            // Per entry taken this step: its id, where its events start in `events`, and the
            // set-aside record of an unreadable entry.
            let mut taken: Vec<(String, usize, Option<Record>)> =
                Vec::with_capacity(reply.ids.len());
            for entry in &reply.ids {
                if events.len() >= REPLAY_EVENTS_PER_STEP {
                    break; // the rest waits for the next step
                }
                let parsed = entry
                    .get::<String>(EVENTS_FIELD)
                    .and_then(|json| serde_json::from_str::<Vec<AuditEvent>>(&json).ok())
                    .filter(|batch| batch.iter().all(|e| e.event_id.is_some()));
                match parsed {
                    Some(batch) => {
                        taken.push((entry.id.clone(), events.len(), None));
                        events.extend(batch);
                    }
                    None => {
                        // Written by something other than this service (or a future version):
                        // set it aside so it cannot block the queue, and keep it for a human.
                        let mut record = vec![
                            ("entry".to_owned(), entry.id.clone()),
                            ("reason".to_owned(), UNREADABLE_REASON.to_owned()),
                        ];
                        for (k, v) in &entry.map {
                            if let Ok(s) = redis::from_redis_value_ref::<String>(v) {
                                record.push((k.clone(), s));
                            }
                        }
                        taken.push((entry.id.clone(), events.len(), Some(record)));
                    }
                }
            }
            let (inserted, outcome) = insert_isolating(pg, &events).await;
            metrics.dlq_replayed(inserted);
            stored += inserted;
            let refused = outcome.map_err(DlqError::Postgres)?;
            // Only after the commit: a crash before the entries are deleted replays them, and
            // the insert skips the ids that made it.
            let mut plain: Vec<&str> = Vec::new();
            let mut parked = 0u64;
            for (i, (id, first, unreadable)) in taken.iter().enumerate() {
                let end = taken.get(i + 1).map_or(events.len(), |next| next.1);
                let mut records: Vec<Record> = Vec::new();
                if let Some(record) = unreadable {
                    records.push(record.clone());
                }
                for (index, refusal) in refused
                    .iter()
                    .filter(|(index, _)| (*first..end).contains(index))
                {
                    records.push(parked_record(id, &events[*index], refusal));
                }
                if records.is_empty() {
                    plain.push(id);
                    continue;
                }
                if self.set_aside(id, &records).await? {
                    if unreadable.is_some() {
                        metrics.dlq_unreadable_entry();
                        tracing::error!(stream = %self.stream, entry = %id, poison = %self.poison_stream(), "unreadable dead-letter entry moved to the poison stream");
                    }
                    for (index, refusal) in refused
                        .iter()
                        .filter(|(index, _)| (*first..end).contains(index))
                    {
                        parked += 1;
                        metrics.dlq_parked(1);
                        tracing::warn!(
                            event_id = %events[*index].event_id.unwrap_or_default(),
                            entry = %id,
                            sqlstate = %refusal.sqlstate,
                            reason = %refusal.message,
                            poison = %self.poison_stream(),
                            "dead-letter event refused by PostgreSQL for its data; parked in the poison stream, the rest of its entry stored"
                        );
                    }
                }
            }
            if !plain.is_empty() {
                let mut del = redis::cmd("XDEL");
                del.arg(&self.stream).arg(&plain);
                let _: u64 = self.run(&del).await?;
            }
            tracing::info!(
                entries = taken.len(),
                events = events.len(),
                inserted,
                parked,
                "replayed dead-letter entries into PostgreSQL"
            );
        }
    }

    /// Deletes entry `id` and, only if this call deleted it, appends `records` to the poison
    /// stream, atomically (one Lua script): a crash parks either everything or nothing, and two
    /// instances replaying at once park an event once. Returns whether this call deleted it.
    async fn set_aside(&self, id: &str, records: &[Record]) -> Result<bool, DlqError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SET_ASIDE_SCRIPT)
            .arg(2)
            .arg(&self.stream)
            .arg(self.poison_stream())
            .arg(id);
        for record in records {
            cmd.arg(record.len());
            for (k, v) in record {
                cmd.arg(k).arg(v);
            }
        }
        let deleted: i64 = self.run(&cmd).await?;
        Ok(deleted == 1)
    }
}

/// A poison-stream record: field/value pairs.
type Record = Vec<(String, String)>;

/// Reason recorded with an entry that is not a JSON array of events with ids.
const UNREADABLE_REASON: &str =
    "unreadable entry: its `events` field is not a JSON array of audit events with ids";

/// Deletes the entry ARGV[1] of the stream KEYS[1]; if it was there, appends each record to the
/// stream KEYS[2]. A record is ARGV[i] = its number of fields n, then n field/value pairs.
const SET_ASIDE_SCRIPT: &str = r#"
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local args = {KEYS[2], '*'}
  for j = 1, 2 * n do args[#args + 1] = ARGV[i + j] end
  redis.call('XADD', unpack(args))
  i = i + 1 + 2 * n
end
return 1
"#;

/// The poison stream of the dead-letter stream `stream`.
fn poison_stream(stream: &str) -> String {
    format!("{stream}:poison")
}

/// The poison-stream record of `event`, refused by PostgreSQL, from entry `entry`.
fn parked_record(entry: &str, event: &AuditEvent, refusal: &Refusal) -> Record {
    vec![
        ("entry".to_owned(), entry.to_owned()),
        (
            "event_id".to_owned(),
            event.event_id.unwrap_or_default().to_string(),
        ),
        ("reason".to_owned(), refusal.message.clone()),
        ("sqlstate".to_owned(), refusal.sqlstate.clone()),
        // Serialising an event (strings, numbers, maps) cannot fail.
        (
            EVENT_FIELD.to_owned(),
            serde_json::to_string(event).unwrap_or_default(),
        ),
    ]
}

/// Field of a poison record holding the parked event as JSON.
const EVENT_FIELD: &str = "event";

/// Why PostgreSQL refused one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The SQLSTATE (or `encode`).
    pub sqlstate: String,
    /// PostgreSQL's message.
    pub message: String,
}

/// Where replayed events are inserted: PostgreSQL, or a fake in unit tests.
pub(crate) trait Sink {
    /// Inserts `events` all or nothing, skipping ids already stored; returns the rows added.
    async fn insert(&self, events: &[AuditEvent]) -> Result<u64, PgError>;
}

impl Sink for Pg {
    async fn insert(&self, events: &[AuditEvent]) -> Result<u64, PgError> {
        Pg::insert(self, events).await
    }
}

/// Inserts `events`, isolating the ones `sink` refuses for a data reason: a refused statement
/// is split in halves, each retried, down to single events. Returns the rows added, and the
/// refused events (by index, in order) or the first other error, which ends the work at once
/// (what was inserted before it stays inserted; a retry skips it by id).
///
/// Cost: with k refused events among n, about 2·k·log2(n) statements instead of one; a clean
/// step stays one statement.
pub(crate) async fn insert_isolating(
    sink: &impl Sink,
    events: &[AuditEvent],
) -> (u64, Result<Vec<(usize, Refusal)>, PgError>) {
    let mut inserted = 0;
    let mut refused = Vec::new();
    if events.is_empty() {
        return (0, Ok(refused));
    }
    // Ranges still to insert, the next one on top; pushing the right half first keeps the
    // events in order.
    let mut todo = Vec::new();
    todo.push(0..events.len());
    while let Some(range) = todo.pop() {
        match sink.insert(&events[range.clone()]).await {
            Ok(n) => inserted += n,
            Err(PgError::Refused { sqlstate, message }) if range.len() == 1 => {
                refused.push((range.start, Refusal { sqlstate, message }));
            }
            Err(PgError::Refused { .. }) => {
                let mid = range.start + range.len() / 2;
                todo.push(mid..range.end);
                todo.push(range.start..mid);
            }
            Err(e) => return (inserted, Err(e)),
        }
    }
    (inserted, Ok(refused))
}

/// Replays the queue every `interval` until `shutdown`. Errors are logged and retried on the
/// next tick: the queue is durable, so waiting is always safe. An unavailable PostgreSQL is
/// logged at WARN once per outage (then at debug: it is expected while it is down); any other
/// failure, which waiting may not cure, at ERROR every time.
pub async fn replay_worker(
    dlq: Dlq,
    pg: Pg,
    metrics: Metrics,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut waiting_for_postgres = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match dlq.replay(&pg, &metrics).await {
            Ok(_) => waiting_for_postgres = false,
            Err(DlqError::Postgres(e @ PgError::Unavailable(_))) => {
                if waiting_for_postgres {
                    tracing::debug!(error = %e, "dead-letter replay waits for PostgreSQL");
                } else {
                    tracing::warn!(error = %e, ?interval, "dead-letter replay waits for PostgreSQL; retrying every interval");
                    waiting_for_postgres = true;
                }
            }
            Err(DlqError::Postgres(e)) => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "dead-letter replay failed in PostgreSQL; the entries are kept and retried")
            }
            Err(e) => tracing::warn!(error = %e, "dead-letter replay failed; will retry"),
        }
        if let Ok(depth) = dlq.len().await {
            metrics.set_dlq_depth(depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use audit::EventOutcome;
    use uuid::Uuid;

    use super::*;

    /// Refuses any statement holding one of `poison`; goes unavailable after `up_for` calls.
    struct Fake {
        poison: HashSet<Uuid>,
        up_for: usize,
        calls: Mutex<usize>,
        stored: Mutex<Vec<Uuid>>,
    }

    impl Fake {
        fn new(poison: &[Uuid]) -> Self {
            Self {
                poison: poison.iter().copied().collect(),
                up_for: usize::MAX,
                calls: Mutex::new(0),
                stored: Mutex::new(Vec::new()),
            }
        }
    }

    impl Sink for Fake {
        async fn insert(&self, events: &[AuditEvent]) -> Result<u64, PgError> {
            let mut calls = self.calls.lock().expect("lock");
            *calls += 1;
            if *calls > self.up_for {
                return Err(PgError::Unavailable("connection refused".into()));
            }
            if events
                .iter()
                .any(|e| self.poison.contains(&e.event_id.expect("id")))
            {
                return Err(PgError::Refused {
                    sqlstate: "22P05".into(),
                    message: "unsupported Unicode escape sequence".into(),
                });
            }
            let mut stored = self.stored.lock().expect("lock");
            let mut added = 0;
            for e in events {
                let id = e.event_id.expect("id");
                if !stored.contains(&id) {
                    stored.push(id);
                    added += 1;
                }
            }
            Ok(added)
        }
    }

    fn events(n: usize) -> Vec<AuditEvent> {
        (0..n)
            .map(|i| {
                let mut e =
                    AuditEvent::new("t.e", "t", "e", EventOutcome::Success, format!("c{i}"));
                e.event_id = Some(Uuid::new_v4());
                e
            })
            .collect()
    }

    #[tokio::test]
    async fn a_clean_step_is_one_statement() {
        let events = events(1000);
        let fake = Fake::new(&[]);
        let (inserted, refused) = insert_isolating(&fake, &events).await;
        assert_eq!((inserted, refused.expect("no error")), (1000, vec![]));
        assert_eq!(*fake.calls.lock().expect("lock"), 1);
    }

    #[tokio::test]
    async fn refused_events_are_isolated_and_every_other_event_stored_once_in_order() {
        let events = events(1000);
        let poison_at = [0, 3, 4, 517, 999];
        let poison: Vec<Uuid> = poison_at
            .iter()
            .map(|i| events[*i].event_id.expect("id"))
            .collect();
        let fake = Fake::new(&poison);
        let (inserted, refused) = insert_isolating(&fake, &events).await;
        let refused = refused.expect("no outage");
        assert_eq!(
            refused.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            poison_at
        );
        assert!(refused.iter().all(|(_, r)| r.sqlstate == "22P05"));
        assert_eq!(inserted, 995);
        let expected: Vec<Uuid> = events
            .iter()
            .map(|e| e.event_id.expect("id"))
            .filter(|id| !poison.contains(id))
            .collect();
        assert_eq!(*fake.stored.lock().expect("lock"), expected);
        // Bisection, not one statement per event.
        let calls = *fake.calls.lock().expect("lock");
        assert!(calls < 120, "{calls} statements");
    }

    #[tokio::test]
    async fn every_event_refused_is_every_event_parked() {
        let events = events(7);
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id.expect("id")).collect();
        let (inserted, refused) = insert_isolating(&Fake::new(&ids), &events).await;
        assert_eq!(inserted, 0);
        assert_eq!(refused.expect("no outage").len(), 7);
    }

    #[tokio::test]
    async fn an_outage_during_isolation_ends_it_with_the_error_and_parks_nothing() {
        let events = events(64);
        let poison = [events[40].event_id.expect("id")];
        let mut fake = Fake::new(&poison);
        // The whole step is refused, then its left half stored, then PostgreSQL goes away.
        fake.up_for = 2;
        let (inserted, outcome) = insert_isolating(&fake, &events).await;
        assert_eq!(inserted, 32);
        assert!(
            matches!(outcome, Err(PgError::Unavailable(_))),
            "{outcome:?}"
        );
        // A later replay of the same events (as the kept entry is) skips what made it.
        fake.up_for = usize::MAX;
        let (inserted, refused) = insert_isolating(&fake, &events).await;
        assert_eq!(inserted, 31);
        assert_eq!(refused.expect("no outage").len(), 1);
        assert_eq!(fake.stored.lock().expect("lock").len(), 63);
    }
}
