//! Test support: the PostgreSQL and Redis a test talks to, and an in-process DataStorage on a
//! free port with a random token.
//!
//! Backends come from the nextest setup script when it exported `DS_POSTGRES_URL_FILE` and
//! `DS_REDIS_URL_FILE` (shared by every test process of the run); otherwise this process starts
//! its own pair once through `testinfra` (stopped by testinfra's supervisor when the process
//! exits, however it exits). Each test then starts its own DataStorage against them: the pool
//! lives on the test's own tokio runtime, and the dead-letter stream key is unique per test so
//! instances never replay one another's events. Tests share one database, so each uses unique
//! correlation ids.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use audit::{AuditEvent, EventOutcome};
use datastorage::{Config, Running};
use serde_json::Value;

/// Deadline for anything a test waits for; generous because parallel runs share two cores.
pub const WAIT: Duration = Duration::from_secs(30);

/// Replay interval of test instances: short, so DLQ tests finish in well under a second of
/// waiting once PostgreSQL is back.
pub const TEST_REPLAY_INTERVAL: Duration = Duration::from_millis(50);

pub struct Backends {
    pub postgres_url: String,
    pub redis_url: String,
    /// Present when this process started the servers; lives (and they run) until exit.
    pub run: Option<testinfra::RunDir>,
}

static BACKENDS: OnceLock<Backends> = OnceLock::new();

/// The shared backends (see the module docs).
pub fn backends() -> &'static Backends {
    BACKENDS.get_or_init(|| {
        if let Ok(shared) = testinfra::SharedInfra::from_env()
            && let (Ok(pg), Ok(redis)) = (shared.postgres_url(), shared.redis_url())
        {
            return Backends {
                postgres_url: pg.to_owned(),
                redis_url: redis.to_owned(),
                run: None,
            };
        }
        let run = testinfra::RunDir::for_process()
            .unwrap_or_else(|e| panic!("cannot create a run directory: {e}"));
        let pg = testinfra::postgres::start(&run, testinfra::postgres::Options::default())
            .unwrap_or_else(|e| panic!("cannot start PostgreSQL for the tests: {e}"));
        let redis = testinfra::redis::start(&run, testinfra::redis::Options::default())
            .unwrap_or_else(|e| panic!("cannot start Redis for the tests: {e}"));
        let backends = Backends {
            postgres_url: pg.url(),
            redis_url: redis.url(),
            run: Some(run),
        };
        // Statics are never dropped; the run's supervisor stops both servers at process exit.
        pg.detach();
        redis.detach();
        backends
    })
}

/// A name no other test (of this or a concurrent run) uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A DataStorage started for one test, with a client that knows its URL and token.
pub struct TestDs {
    pub running: Option<Running>,
    pub url: String,
    pub token: String,
    /// The instance's dead-letter stream key (unique per test).
    pub dlq_stream: String,
    pub http: reqwest::Client,
}

impl TestDs {
    /// Starts DataStorage on the shared backends.
    pub async fn start() -> Self {
        let b = backends();
        Self::start_on(&b.postgres_url, &b.redis_url).await
    }

    /// Starts DataStorage on the given backends, with a unique DLQ stream.
    pub async fn start_on(postgres_url: &str, redis_url: &str) -> Self {
        let token = unique("token");
        let mut config = Config::new(
            "127.0.0.1:0".parse().expect("addr"),
            postgres_url,
            redis_url,
            token.clone(),
        );
        let dlq_stream = unique("test-dlq");
        config.dlq_stream = dlq_stream.clone();
        config.dlq_replay_interval = TEST_REPLAY_INTERVAL;
        config.pg_max_connections = 4;
        let running = datastorage::start(config)
            .await
            .unwrap_or_else(|e| panic!("DataStorage failed to start: {e:?}"));
        let url = running.url();
        let http = reqwest::Client::builder()
            .timeout(WAIT)
            .build()
            .expect("http client");
        Self {
            running: Some(running),
            url,
            token,
            dlq_stream,
            http,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// POSTs JSON with the token.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Option<String>, Value) {
        let response = self
            .http
            .post(self.at(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// GETs with the token and the given query pairs.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Option<String>, Value) {
        let response = self
            .http
            .get(self.at(path))
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// An audit client for this instance.
    pub fn client(&self) -> audit::Client {
        audit::Client::new(&self.url, self.token.clone(), WAIT).expect("audit client")
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }
}

/// Status, content type and body (JSON, or a string when it is not JSON).
pub async fn read(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, body)
}

/// A valid event of `correlation_id`, as JSON.
pub fn event_json(correlation_id: &str, event_type: &str, outcome: EventOutcome) -> Value {
    let event = AuditEvent::new(event_type, "test", "recorded", outcome, correlation_id)
        .with_actor("service", "datastorage-tests")
        .with_data("k", "v");
    serde_json::to_value(event).expect("serialise")
}

/// Polls `check` until it returns `Some` or [`WAIT`] passes.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `signal` (e.g. "STOP", "CONT") to the postmaster and all its children.
///
/// The postmaster is signalled first: once it is stopped it forks no new backend,
/// so the list of children read afterwards is complete. A child may exit between
/// the listing and its signal (autovacuum workers and backends of closed
/// connections come and go): that child needs no signal, so only the postmaster's
/// signal must succeed.
pub fn signal_postgres(pg: &testinfra::postgres::Postgres, signal: &str) {
    let postmaster = pg.process().expect("PostgreSQL runs").pid;
    let send = |pid: i32| {
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run kill")
            .success()
    };
    assert!(
        send(postmaster),
        "kill -{signal} {postmaster} (the postmaster)"
    );
    for child in testinfra::process::children(postmaster) {
        // Exited since the listing: nothing left to signal.
        let _ = send(child);
    }
}

/// (rows, distinct ids) stored for `correlation_id`, read straight from the table.
pub async fn stored(
    pg_url: &str,
    correlation_id: &str,
) -> Option<(i64, std::collections::BTreeSet<uuid::Uuid>)> {
    use sqlx::Row;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(pg_url)
        .await
        .ok()?;
    let rows = sqlx::query("SELECT event_id FROM audit_events WHERE correlation_id = $1")
        .bind(correlation_id)
        .fetch_all(&pool)
        .await
        .ok()?;
    pool.close().await;
    let ids = rows.iter().map(|r| r.get::<uuid::Uuid, _>(0)).collect();
    Some((rows.len() as i64, ids))
}

/// `XLEN` of `stream`; `None` while Redis does not answer.
pub async fn xlen(redis_url: &str, stream: &str) -> Option<u64> {
    let client = redis::Client::open(redis_url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    redis::cmd("XLEN")
        .arg(stream)
        .query_async(&mut conn)
        .await
        .ok()
}

/// DataStorage's metrics exposition.
pub async fn metrics(ds: &TestDs) -> String {
    ds.http
        .get(ds.at("/metrics"))
        .bearer_auth(&ds.token)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}
