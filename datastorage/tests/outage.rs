//! The outage campaign: DataStorage serves while four emitters record audit events
//! continuously through the `audit` crate's buffered store (configured as the controllers'
//! fixture configures it), and the test, with a PostgreSQL, a Redis and a DataStorage process of
//! its own, in turn freezes PostgreSQL for 5 s (SIGSTOP), stops it for 5 s and restarts Redis
//! while the dead-letter queue holds the events of that outage, crashes DataStorage (SIGKILL)
//! and restarts it, and restarts it gracefully (SIGTERM). Afterwards every event recorded is
//! stored exactly once, counted by the emitters' own ids in PostgreSQL. The figures (emitted,
//! stored, duplicates, time to drain) are printed; run with `--no-capture` to see them.
//!
//! Redis runs with its append-only file here: DataStorage's queue survives a Redis restart only
//! then (see the crate README, "Dead-letter queue durability").

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, Client, EventOutcome, StoreConfig, StoreReport};
use sqlx::Row;
use support::{WAIT, eventually, signal_postgres, unique, xlen};

/// Emitters, each a buffered store of its own, as each controller process has one.
const EMITTERS: u64 = 4;
/// Gap between two events of one emitter: 4 × 100 events/s, a busy controller set.
const EMIT_GAP: Duration = Duration::from_millis(10);
/// How long PostgreSQL stays frozen, then stopped (the campaign's brief).
const OUTAGE: Duration = Duration::from_secs(5);
/// DataStorage crashes in a row: each is a chance to kill it between storing a batch and
/// answering, the window in which a retry without an idempotency key duplicates.
const CRASHES: usize = 3;
/// Replay interval of the campaign's DataStorage: short, so draining is measured, not waited.
const REPLAY_INTERVAL: &str = "100ms";
/// Deadline for everything to be stored once the emitters stop: the stores' retry schedule
/// (about 31 s at worst) plus replay.
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// A DataStorage process of the test's own, killed with the test however it ends.
struct DsProcess {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    starts: usize,
    stream: String,
}

impl DsProcess {
    fn secret(dir: &Path, name: &str, value: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, value).expect("write secret");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    fn new(dir: &Path, pg_url: &str, redis_url: &str, token: &str) -> Self {
        Self::secret(dir, "pg", pg_url);
        Self::secret(dir, "redis", redis_url);
        Self::secret(dir, "token", token);
        let mut ds = Self {
            child: None,
            dir: dir.to_owned(),
            port: 0,
            starts: 0,
            stream: unique("outage-dlq"),
        };
        ds.start();
        ds
    }

    /// Starts the binary on the port of the first start (port 0 the first time), retrying
    /// while the port is still held by the process that just died.
    fn start(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.starts += 1;
            let log = self.dir.join(format!("datastorage-{}.log", self.starts));
            let out = File::create(&log).expect("log file");
            let mut child = Command::new(env!("CARGO_BIN_EXE_datastorage"))
                .args(["--listen", &format!("127.0.0.1:{}", self.port)])
                .args(["--dlq-stream", &self.stream])
                .args(["--dlq-replay-interval", REPLAY_INTERVAL])
                .args([
                    "--postgres-url-file",
                    &self.dir.join("pg").to_string_lossy(),
                ])
                .args([
                    "--redis-url-file",
                    &self.dir.join("redis").to_string_lossy(),
                ])
                .args(["--token-file", &self.dir.join("token").to_string_lossy()])
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log file"))
                .stderr(out)
                .spawn()
                .expect("spawn datastorage");
            // The log line "DataStorage listening addr=127.0.0.1:PORT" says it serves.
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if let Some(addr) = text.split("addr=").nth(1) {
                    let addr = addr.split_whitespace().next().unwrap_or("");
                    self.port = addr
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or_else(|| panic!("no port in {addr:?}"));
                    self.child = Some(child);
                    return;
                }
                if let Some(status) = child.try_wait().expect("try_wait") {
                    assert!(
                        Instant::now() < deadline,
                        "datastorage exited with {status} and did not come back within {WAIT:?}: {text}"
                    );
                    break; // e.g. the port is not free yet: start again
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("datastorage did not start within {WAIT:?}: {text}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends `signal` and waits for the exit.
    fn stop(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        while child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "datastorage ignored SIG{signal}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for DsProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// (rows, distinct emitter ids) of the campaign in PostgreSQL.
async fn count(pg_url: &str, corr: &str) -> Option<(i64, i64)> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect(pg_url)
        .await
        .ok()?;
    let row = sqlx::query(
        "SELECT count(*), count(DISTINCT event_data->>'emitter_id') FROM audit_events WHERE correlation_id = $1",
    )
    .bind(corr)
    .fetch_one(&pool)
    .await
    .ok()?;
    pool.close().await;
    Some((row.get(0), row.get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_emitted_through_every_outage_are_all_stored_exactly_once() {
    let run = testinfra::RunDir::for_process().expect("run directory");
    let mut pg = testinfra::postgres::start(
        &run,
        testinfra::postgres::Options {
            name: unique("outage-pg"),
            ..testinfra::postgres::Options::default()
        },
    )
    .expect("own PostgreSQL");
    let mut redis = testinfra::redis::start(
        &run,
        testinfra::redis::Options {
            name: unique("outage-redis"),
            append_only: true,
            ..testinfra::redis::Options::default()
        },
    )
    .expect("own Redis");
    let (pg_url, redis_url) = (pg.url(), redis.url());
    let dir = tempfile::tempdir().expect("tempdir");
    let token = unique("token");
    let mut ds =
        tokio::task::block_in_place(|| DsProcess::new(dir.path(), &pg_url, &redis_url, &token));
    let corr = unique("outage");

    // The emitters: each records an event every EMIT_GAP, with an id of its own in event_data.
    let stop = Arc::new(AtomicBool::new(false));
    let emitted = Arc::new(AtomicU64::new(0));
    let mut stores = Vec::new();
    let mut registries = Vec::new();
    let mut emitters = Vec::new();
    for emitter in 0..EMITTERS {
        let mut registry = prometheus_client::registry::Registry::default();
        let client = Client::new(
            &ds.url(),
            token.clone(),
            audit::client::DEFAULT_REQUEST_TIMEOUT,
        )
        .expect("client");
        let store = AuditStore::start(
            client,
            // As the fixture configures each controller process's store.
            StoreConfig {
                flush_interval: Duration::from_millis(50),
                ..StoreConfig::default()
            },
            &mut registry,
        );
        registries.push(registry);
        stores.push(store.clone());
        let (stop, emitted, corr) = (stop.clone(), emitted.clone(), corr.clone());
        emitters.push(tokio::spawn(async move {
            let mut seq = 0u64;
            while !stop.load(Ordering::Acquire) {
                let event = AuditEvent::new(
                    "test.outage.tick",
                    "test",
                    "tick",
                    EventOutcome::Success,
                    &corr,
                )
                .with_data("emitter_id", format!("{emitter}/{seq}"));
                store
                    .record(event)
                    .expect("recorded: the buffer never fills");
                emitted.fetch_add(1, Ordering::AcqRel);
                seq += 1;
                tokio::time::sleep(EMIT_GAP).await;
            }
        }));
    }
    let started = Instant::now();
    // Waits until more events are stored than before: the system is flowing again.
    let flowing = |what: &'static str| {
        let (pg_url, corr) = (pg_url.clone(), corr.clone());
        async move {
            let before = count(&pg_url, &corr).await.map_or(0, |c| c.0);
            eventually(what, || async {
                count(&pg_url, &corr)
                    .await
                    .filter(|c| c.0 > before)
                    .map(|_| ())
            })
            .await;
        }
    };
    let drained = |what: &'static str| {
        let (redis_url, stream) = (redis_url.clone(), ds.stream.clone());
        async move {
            eventually(what, || async {
                (xlen(&redis_url, &stream).await == Some(0)).then_some(())
            })
            .await;
        }
    };
    flowing("events stored before any fault").await;

    // 1. PostgreSQL frozen for 5 s: connections hang instead of failing.
    eprintln!(
        "[{:?}] PostgreSQL frozen (SIGSTOP) for {OUTAGE:?}",
        started.elapsed()
    );
    signal_postgres(&pg, "STOP");
    tokio::time::sleep(OUTAGE).await;
    signal_postgres(&pg, "CONT");
    drained("the queue to drain after the freeze").await;
    flowing("events stored after the freeze").await;

    // 2. PostgreSQL stopped for 5 s; Redis restarted while the queue holds that outage's events.
    eprintln!(
        "[{:?}] PostgreSQL stopped for {OUTAGE:?}",
        started.elapsed()
    );
    let stopped_at = Instant::now();
    tokio::task::block_in_place(|| pg.stop()).expect("stop PostgreSQL");
    let queued = eventually("events queued while PostgreSQL is down", || async {
        xlen(&redis_url, &ds.stream).await.filter(|n| *n > 0)
    })
    .await;
    eprintln!(
        "[{:?}] Redis restarted with {queued}+ entries queued",
        started.elapsed()
    );
    tokio::task::block_in_place(|| redis.stop().and_then(|()| redis.start()))
        .expect("restart Redis");
    tokio::time::sleep(OUTAGE.saturating_sub(stopped_at.elapsed())).await;
    tokio::task::block_in_place(|| pg.start()).expect("restart PostgreSQL");
    drained("the queue to drain after PostgreSQL's restart").await;
    flowing("events stored after PostgreSQL's restart").await;

    // 3. DataStorage crashes and comes back, several times.
    for crash in 1..=CRASHES {
        eprintln!(
            "[{:?}] DataStorage killed (SIGKILL), crash {crash}",
            started.elapsed()
        );
        tokio::task::block_in_place(|| {
            ds.stop("KILL");
            ds.start();
        });
        flowing("events stored after a DataStorage crash").await;
    }

    // 4. DataStorage restarted gracefully.
    eprintln!("[{:?}] DataStorage restarted (SIGTERM)", started.elapsed());
    tokio::task::block_in_place(|| {
        ds.stop("TERM");
        ds.start();
    });
    flowing("events stored after a DataStorage restart").await;

    // Stop emitting, flush every store, and wait for every event to be stored.
    stop.store(true, Ordering::Release);
    for emitter in emitters {
        emitter.await.expect("emitter");
    }
    let emitted = emitted.load(Ordering::Acquire);
    let drain_started = Instant::now();
    let mut report = StoreReport::default();
    for store in &stores {
        let r = store.close().await;
        report.sent += r.sent;
        report.dropped += r.dropped;
    }
    let deadline = Instant::now() + DRAIN_DEADLINE;
    let (rows, distinct) = loop {
        let counted = count(&pg_url, &corr).await;
        if let Some((rows, distinct)) = counted
            && (distinct as u64 >= emitted || Instant::now() > deadline)
            && xlen(&redis_url, &ds.stream).await == Some(0)
        {
            break (rows, distinct);
        }
        assert!(
            Instant::now() < deadline + WAIT,
            "PostgreSQL or Redis stopped answering"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let drain = drain_started.elapsed();
    let distinct = distinct as u64;
    let rows = rows as u64;
    eprintln!(
        "outage campaign ({:?}): emitted {emitted}, sent {}, dropped {}, stored {rows} rows, \
         {distinct} distinct, duplicates {}, missing {}, drained {drain:?} after the emitters stopped",
        started.elapsed(),
        report.sent,
        report.dropped,
        rows - distinct.min(rows),
        emitted.saturating_sub(distinct)
    );
    assert_eq!(report.dropped, 0, "the stores lost events: {report:?}");
    assert_eq!(distinct, emitted, "every emitted event is stored");
    assert_eq!(rows, distinct, "no event is stored twice");
    drop(registries);
    tokio::task::block_in_place(|| ds.stop("TERM"));
}
