//! Tests the dead-letter queue with a PostgreSQL (and Redis) of the test's own, so stopping
//! them cannot disturb tests running in parallel: writes while PostgreSQL is down are answered
//! 202 and queued; once it is back every event is stored exactly once (counted in the table),
//! a replayed duplicate is skipped, and with both stores down nothing is acknowledged.

mod support;

use std::collections::BTreeSet;

use audit::EventOutcome;
use audit::api::{BATCH_PATH, EVENTS_PATH, PROBLEM_CONTENT_TYPE};
use serde_json::{Value, json};
use support::{
    TestDs, backends, event_json, eventually, metrics, signal_postgres, stored, unique, xlen,
};
use uuid::Uuid;

struct OwnServers {
    pg: testinfra::postgres::Postgres,
    redis: testinfra::redis::Redis,
}

fn own_servers() -> OwnServers {
    // Reuse this process's run directory when it has one (one supervisor per process).
    let run = match &backends().run {
        Some(run) => run.clone(),
        None => testinfra::RunDir::for_process().expect("run directory"),
    };
    let pg = testinfra::postgres::start(
        &run,
        testinfra::postgres::Options {
            name: unique("dlq-pg"),
            ..testinfra::postgres::Options::default()
        },
    )
    .expect("own PostgreSQL");
    let redis = testinfra::redis::start(
        &run,
        testinfra::redis::Options {
            name: unique("dlq-redis"),
            ..testinfra::redis::Options::default()
        },
    )
    .expect("own Redis");
    OwnServers { pg, redis }
}

fn ids_of(body: &Value) -> Vec<Uuid> {
    if let Some(id) = body.get("event_id") {
        return vec![serde_json::from_value(id.clone()).expect("event_id")];
    }
    serde_json::from_value(body["event_ids"].clone()).expect("event_ids")
}

fn batch(correlation_id: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                event_json(
                    correlation_id,
                    &format!("test.dlq.e{i}"),
                    EventOutcome::Success,
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn events_accepted_while_postgres_is_down_are_stored_exactly_once_when_it_is_back() {
    let mut servers = own_servers();
    let pg_url = servers.pg.url();
    let redis_url = servers.redis.url();
    let ds = TestDs::start_on(&pg_url, &redis_url).await;
    let corr = unique("dlq");
    let mut expected: BTreeSet<Uuid> = BTreeSet::new();

    let (status, _, body) = ds.post(BATCH_PATH, &batch(&corr, 10)).await;
    assert_eq!(status, 201, "{body}");
    expected.extend(ids_of(&body));

    servers.pg.stop().expect("stop PostgreSQL");
    // Every write is still accepted, as 202, and queued: one stream entry per request.
    let mut queued_requests = 0;
    for n in [100, 1000] {
        let started = std::time::Instant::now();
        let (status, _, body) = ds.post(BATCH_PATH, &batch(&corr, n)).await;
        // A figure for the report (run with --nocapture), not an assertion: timing is load-dependent.
        eprintln!(
            "batch of {n} answered {status} {:?} after PostgreSQL stopped",
            started.elapsed()
        );
        assert_eq!(status, 202, "{body}");
        let ids = ids_of(&body);
        assert_eq!(ids.len(), n);
        expected.extend(ids);
        queued_requests += 1;
    }
    for i in 0..5 {
        let (status, _, body) = ds
            .post(
                EVENTS_PATH,
                &event_json(&corr, &format!("test.dlq.single{i}"), EventOutcome::Failure),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        expected.extend(ids_of(&body));
        queued_requests += 1;
    }
    assert_eq!(expected.len(), 1115);
    assert_eq!(
        xlen(&redis_url, &ds.dlq_stream).await,
        Some(queued_requests)
    );

    // Reads cannot be served from the queue, and readiness says why.
    let (status, ct, problem) = ds.get(EVENTS_PATH, &[("correlation_id", &corr)]).await;
    assert_eq!(
        (status, ct.as_deref()),
        (503, Some(PROBLEM_CONTENT_TYPE)),
        "{problem}"
    );
    let (status, _, problem) =
        support::read(ds.http.get(ds.at("/readyz")).send().await.expect("readyz")).await;
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("PostgreSQL"),
        "{problem}"
    );
    // The worker keeps the entries while PostgreSQL is down.
    assert_eq!(
        xlen(&redis_url, &ds.dlq_stream).await,
        Some(queued_requests)
    );

    servers.pg.start().expect("restart PostgreSQL");
    eventually("the dead-letter queue to drain", || async {
        (xlen(&redis_url, &ds.dlq_stream).await == Some(0)).then_some(())
    })
    .await;
    let (rows, ids) = stored(&pg_url, &corr).await.expect("count rows");
    assert_eq!(rows, 1115, "every event stored exactly once");
    assert_eq!(ids, expected, "exactly the acknowledged ids");
    let (status, _, body) = ds
        .get(EVENTS_PATH, &[("correlation_id", &corr), ("limit", "1")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pagination"]["total"], json!(1115));

    // A replay of events already stored (a crash between commit and XDEL) adds nothing.
    let listed: Vec<audit::AuditEvent> = serde_json::from_value(
        ds.get(EVENTS_PATH, &[("correlation_id", &corr), ("limit", "3")])
            .await
            .2["data"]
            .clone(),
    )
    .expect("events");
    let client = redis::Client::open(redis_url.as_str()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: String = redis::cmd("XADD")
        .arg(&ds.dlq_stream)
        .arg("*")
        .arg("events")
        .arg(serde_json::to_string(&listed).expect("json"))
        .query_async(&mut conn)
        .await
        .expect("XADD");
    eventually("the duplicate entry to be replayed", || async {
        (xlen(&redis_url, &ds.dlq_stream).await == Some(0)).then_some(())
    })
    .await;
    assert_eq!(
        stored(&pg_url, &corr).await.expect("count rows").0,
        1115,
        "a replayed duplicate is not stored twice"
    );

    let metrics = ds
        .http
        .get(ds.at("/metrics"))
        .bearer_auth(&ds.token)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("datastorage_audit_events_written_total{destination=\"dlq\"} 1105"),
        "{metrics}"
    );
    assert!(
        metrics.contains("datastorage_audit_events_written_total{destination=\"postgres\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("datastorage_dlq_replayed_events_total 1105"),
        "{metrics}"
    );

    // With PostgreSQL and Redis both down nothing is acknowledged: 503, never a 2xx.
    servers.redis.stop().expect("stop Redis");
    servers.pg.stop().expect("stop PostgreSQL");
    let lost = unique("dlq-lost");
    let (status, ct, problem) = ds
        .post(
            EVENTS_PATH,
            &event_json(&lost, "test.dlq.lost", EventOutcome::Success),
        )
        .await;
    assert_eq!(
        (status, ct.as_deref()),
        (503, Some(PROBLEM_CONTENT_TYPE)),
        "{problem}"
    );
    servers.pg.start().expect("restart PostgreSQL");
    assert_eq!(stored(&pg_url, &lost).await.expect("count rows").0, 0);
    ds.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_running_through_a_postgres_restart_loses_and_duplicates_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let mut servers = own_servers();
    let pg_url = servers.pg.url();
    let redis_url = servers.redis.url();
    let ds = TestDs::start_on(&pg_url, &redis_url).await;
    let corr = unique("dlq-writer");
    let stop = Arc::new(AtomicBool::new(false));
    // Every answer the writer got: status and the ids it acknowledged.
    type Answers = Arc<Mutex<Vec<(u16, Vec<Uuid>)>>>;
    let answers: Answers = Arc::default();
    let writer = {
        let (http, url, token, corr, stop, answers) = (
            ds.http.clone(),
            ds.at(BATCH_PATH),
            ds.token.clone(),
            corr.clone(),
            stop.clone(),
            answers.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&batch(&corr, 20))
                    .send()
                    .await
                    .expect("request");
                let (status, _, body) = support::read(response).await;
                let ids = if status == 201 || status == 202 {
                    ids_of(&body)
                } else {
                    Vec::new()
                };
                answers.lock().expect("lock").push((status, ids));
            }
        })
    };
    let saw = |status: u16, after: usize| {
        let answers = answers.clone();
        async move {
            let answers = answers.lock().expect("lock");
            answers
                .iter()
                .skip(after)
                .any(|(s, _)| *s == status)
                .then_some(answers.len())
        }
    };
    eventually("stored batches before the stop", || saw(201, 0)).await;
    // Stopped while the writer keeps posting: some requests are in flight at that moment.
    tokio::task::block_in_place(|| servers.pg.stop()).expect("stop PostgreSQL");
    let at_202 = eventually("a queued batch while PostgreSQL is down", || saw(202, 0)).await;
    tokio::task::block_in_place(|| servers.pg.start()).expect("restart PostgreSQL");
    eventually("a stored batch after the restart", || saw(201, at_202)).await;
    stop.store(true, Ordering::Release);
    writer.await.expect("writer");

    let answers = answers.lock().expect("lock").clone();
    let failures: Vec<u16> = answers
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| *s != 201 && *s != 202)
        .collect();
    assert!(
        failures.is_empty(),
        "with Redis up every write is acknowledged; got {failures:?}"
    );
    let acknowledged: BTreeSet<Uuid> = answers
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    assert_eq!(acknowledged.len(), answers.len() * 20);
    eventually("the dead-letter queue to drain", || async {
        (xlen(&redis_url, &ds.dlq_stream).await == Some(0)).then_some(())
    })
    .await;
    let (rows, ids) = stored(&pg_url, &corr).await.expect("count rows");
    assert_eq!(
        rows as usize,
        acknowledged.len(),
        "every acknowledged event stored exactly once"
    );
    assert_eq!(ids, acknowledged);
    eprintln!(
        "writer: {} batches, {} stored directly, {} queued and replayed",
        answers.len(),
        answers.iter().filter(|(s, _)| *s == 201).count(),
        answers.iter().filter(|(s, _)| *s == 202).count()
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_entry_is_set_aside_and_does_not_block_the_queue() {
    let b = backends();
    let ds = TestDs::start().await;
    let corr = unique("dlq-poison");
    let client = redis::Client::open(b.redis_url.as_str()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    // An entry this service did not write, then a good one behind it.
    let _: String = redis::cmd("XADD")
        .arg(&ds.dlq_stream)
        .arg("*")
        .arg("events")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .expect("XADD poison");
    let mut good: audit::AuditEvent = serde_json::from_value(event_json(
        &corr,
        "test.dlq.after-poison",
        EventOutcome::Success,
    ))
    .expect("event");
    let id = Uuid::new_v4();
    good.event_id = Some(id);
    let _: String = redis::cmd("XADD")
        .arg(&ds.dlq_stream)
        .arg("*")
        .arg("events")
        .arg(serde_json::to_string(&[good]).expect("json"))
        .query_async(&mut conn)
        .await
        .expect("XADD good");

    eventually("the queue to drain past the unreadable entry", || async {
        (xlen(&b.redis_url, &ds.dlq_stream).await == Some(0)).then_some(())
    })
    .await;
    let poison = format!("{}:poison", ds.dlq_stream);
    assert_eq!(
        xlen(&b.redis_url, &poison).await,
        Some(1),
        "kept for a human"
    );
    let (rows, ids) = stored(&b.postgres_url, &corr).await.expect("count rows");
    assert_eq!((rows, ids), (1, BTreeSet::from([id])));
    let _: u64 = redis::cmd("DEL")
        .arg(&poison)
        .query_async(&mut conn)
        .await
        .expect("DEL");
    ds.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgres_is_timed_out_and_its_writes_queued() {
    let servers = own_servers();
    let pg_url = servers.pg.url();
    let redis_url = servers.redis.url();
    let ds = TestDs::start_on(&pg_url, &redis_url).await;
    let corr = unique("dlq-hung");
    assert_eq!(ds.post(BATCH_PATH, &batch(&corr, 5)).await.0, 201);

    // Frozen, not stopped: connections are accepted by the kernel but nothing answers.
    signal_postgres(&servers.pg, "STOP");
    // Thawed however this block ends, so a failure cannot leave a frozen server behind.
    struct Thaw<'a>(&'a testinfra::postgres::Postgres);
    impl Drop for Thaw<'_> {
        fn drop(&mut self) {
            signal_postgres(self.0, "CONT");
        }
    }
    let (status, body, elapsed) = {
        let _thaw = Thaw(&servers.pg);
        let started = std::time::Instant::now();
        let (status, _, body) = ds.post(BATCH_PATH, &batch(&corr, 7)).await;
        (status, body, started.elapsed())
    };
    assert_eq!(status, 202, "{body}");
    // A figure, not an assertion (load-dependent): the deadlines bound it, not PostgreSQL.
    eprintln!("a write to a frozen PostgreSQL was queued after {elapsed:?}");

    eventually("the queued batch to be replayed", || async {
        (xlen(&redis_url, &ds.dlq_stream).await == Some(0)).then_some(())
    })
    .await;
    let (rows, _) = stored(&pg_url, &corr).await.expect("count rows");
    assert_eq!(rows, 12, "every event stored exactly once");
    ds.shutdown().await;
}

/// An event as an earlier version (or an unforeseen value) could have queued it: with its id.
fn queued_event(correlation_id: &str, event_type: &str) -> audit::AuditEvent {
    let mut event: audit::AuditEvent = serde_json::from_value(event_json(
        correlation_id,
        event_type,
        EventOutcome::Success,
    ))
    .expect("event");
    event.event_id = Some(Uuid::new_v4());
    event
}

#[tokio::test]
async fn a_poison_event_is_parked_and_the_rest_of_its_entry_stored_once() {
    let mut servers = own_servers();
    let pg_url = servers.pg.url();
    let redis_url = servers.redis.url();
    let ds = TestDs::start_on(&pg_url, &redis_url).await;
    let corr = unique("dlq-parked");

    servers.pg.stop().expect("stop PostgreSQL");
    // Unstorable input is refused before it is accepted, PostgreSQL down or not: none of it
    // reaches the queue.
    let mut nul = event_json(&corr, "test.dlq.nul", EventOutcome::Success);
    nul["event_data"] = json!({"k": "a\u{0}b"});
    let (status, _, problem) = ds.post(EVENTS_PATH, &nul).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], json!("event_data.k"), "{problem}");
    let (status, _, body) = ds
        .post(
            EVENTS_PATH,
            &event_json(&corr, "test.dlq.queued", EventOutcome::Success),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let mut good: BTreeSet<Uuid> = ids_of(&body).into_iter().collect();
    assert_eq!(xlen(&redis_url, &ds.dlq_stream).await, Some(1));

    // Entries an earlier version queued: three events with the middle one unstorable (a NUL in
    // jsonb), and another entry with a NUL in a text column, each ahead of good events.
    let mut poison_jsonb = queued_event(&corr, "test.dlq.poison-jsonb");
    poison_jsonb.event_data.insert("k".into(), json!("a\u{0}b"));
    let mut poison_text = queued_event(&corr, "test.dlq.poison-text");
    poison_text.actor_id = Some("x\u{0}y".into());
    let entries = [
        vec![
            queued_event(&corr, "test.dlq.before"),
            poison_jsonb.clone(),
            queued_event(&corr, "test.dlq.after"),
        ],
        vec![
            queued_event(&corr, "test.dlq.e1"),
            queued_event(&corr, "test.dlq.e2"),
            poison_text.clone(),
        ],
    ];
    let client = redis::Client::open(redis_url.as_str()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    for entry in &entries {
        for e in entry {
            if e.event_id != poison_jsonb.event_id && e.event_id != poison_text.event_id {
                good.insert(e.event_id.expect("id"));
            }
        }
        let _: String = redis::cmd("XADD")
            .arg(&ds.dlq_stream)
            .arg("*")
            .arg("events")
            .arg(serde_json::to_string(entry).expect("json"))
            .query_async(&mut conn)
            .await
            .expect("XADD");
    }

    servers.pg.start().expect("restart PostgreSQL");
    eventually(
        "the dead-letter queue to drain past the poison events",
        || async { (xlen(&redis_url, &ds.dlq_stream).await == Some(0)).then_some(()) },
    )
    .await;
    let (rows, ids) = stored(&pg_url, &corr).await.expect("count rows");
    assert_eq!(rows, 5, "every good event stored exactly once");
    assert_eq!(ids, good);

    // Each poison event is kept, whole, with the reason PostgreSQL gave.
    let poison_stream = format!("{}:poison", ds.dlq_stream);
    let parked: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&poison_stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("XRANGE");
    assert_eq!(parked.ids.len(), 2, "one record per poison event");
    for (record, original, sqlstate) in [
        (&parked.ids[0], &poison_jsonb, "22P05"),
        (&parked.ids[1], &poison_text, "22021"),
    ] {
        let field = |name: &str| record.get::<String>(name).unwrap_or_default();
        assert_eq!(
            field("event_id"),
            original.event_id.expect("id").to_string()
        );
        assert_eq!(field("sqlstate"), sqlstate, "reason: {}", field("reason"));
        assert!(!field("reason").is_empty());
        let kept: audit::AuditEvent = serde_json::from_str(&field("event")).expect("event JSON");
        assert_eq!(&kept, original);
    }
    let text = metrics(&ds).await;
    assert!(
        text.contains("datastorage_dlq_parked_events_total 2"),
        "{text}"
    );
    assert!(
        text.contains("datastorage_dlq_replayed_events_total 5"),
        "{text}"
    );
    ds.shutdown().await;
}
