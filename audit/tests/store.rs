//! Tests the buffered audit store against a scripted in-process HTTP server (no DataStorage):
//! batching, periodic and explicit flush, retry on 5xx/401/403/timeouts/refused connections,
//! dropping on other 4xx, the bounded buffer, close(), and the drop counter's exposition.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audit::store::{DROPPED_METRIC, SENT_METRIC};
use audit::{
    AuditEvent, AuditStore, Client, EventOutcome, RecordError, RetryPolicy, StoreConfig,
    StoreReport,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::sync::Notify;

const TOKEN: &str = "test-token";
/// Deadline for anything the tests wait for; generous because the machine is shared.
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
enum Reply {
    Status(u16),
    /// Answer 201 only after this long (longer than the client's timeout → a network error).
    Delay(Duration),
    /// Answer 201 once the test calls `release`.
    Hang,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    /// Every request: its bearer header and the events it carried.
    received: Mutex<Vec<(Option<String>, Vec<Value>)>>,
    /// The `Idempotency-Key` of every request, in order.
    keys: Mutex<Vec<Option<String>>>,
    release: Notify,
}

struct TestServer {
    addr: SocketAddr,
    script: Arc<Script>,
}

impl TestServer {
    async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            ..Script::default()
        });
        let app = Router::new()
            .route(audit::api::BATCH_PATH, post(batch))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<(Option<String>, Vec<Value>)> {
        self.script.received.lock().expect("lock").clone()
    }

    fn batch_sizes(&self) -> Vec<usize> {
        self.requests()
            .iter()
            .map(|(_, events)| events.len())
            .collect()
    }

    async fn wait_for_requests(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.requests().len() < n {
            assert!(
                Instant::now() < deadline,
                "server saw {} requests, expected {n}",
                self.requests().len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn batch(
    State(script): State<Arc<Script>>,
    headers: HeaderMap,
    body: axum::Json<Vec<Value>>,
) -> (StatusCode, axum::Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let events = body.0;
    let count = events.len();
    script.received.lock().expect("lock").push((auth, events));
    script.keys.lock().expect("lock").push(
        headers
            .get(audit::api::IDEMPOTENCY_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let reply = script
        .replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(Reply::Status(201));
    let status = match reply {
        Reply::Status(code) => code,
        Reply::Delay(d) => {
            tokio::time::sleep(d).await;
            201
        }
        Reply::Hang => {
            script.release.notified().await;
            201
        }
    };
    let ids: Vec<String> = (0..count).map(|_| uuid_like()).collect();
    let body = if status < 300 {
        json!({ "event_ids": ids })
    } else {
        json!({ "type": "about:blank", "title": "scripted", "status": status, "detail": "scripted failure" })
    };
    (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(body),
    )
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        multiplier: 2.0,
        max_backoff: Duration::from_millis(20),
        jitter: 0.1,
        max_attempts,
    }
}

fn config(batch_size: usize, retry: RetryPolicy) -> StoreConfig {
    StoreConfig {
        buffer_capacity: 10_000,
        batch_size,
        // Long, so only explicit flushes send unless a test says otherwise.
        flush_interval: Duration::from_secs(3600),
        retry,
        close_timeout: Duration::from_secs(10),
        default_actor: None,
    }
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new(
        "test.store.recorded",
        "test",
        "recorded",
        EventOutcome::Success,
        "rr-store",
    )
    .with_data("i", i as u64)
}

fn store(url: &str, config: StoreConfig, request_timeout: Duration) -> (AuditStore, Registry) {
    let mut registry = Registry::default();
    let client = Client::new(url, TOKEN, request_timeout).expect("client");
    let store = AuditStore::start(client, config, &mut registry);
    (store, registry)
}

fn exposition(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
    text
}

#[tokio::test]
async fn flush_sends_everything_in_bounded_batches_with_the_token() {
    let server = TestServer::start(vec![]).await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_secs(10),
    );
    for i in 0..2500 {
        store.record(event(i)).expect("record");
    }
    let report = store.flush().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 2500,
            dropped: 0
        }
    );
    assert_eq!(server.batch_sizes(), vec![1000, 1000, 500]);
    for (auth, _) in server.requests() {
        assert_eq!(auth.as_deref(), Some("Bearer test-token"));
    }
    // Order is kept: the first batch starts with event 0.
    assert_eq!(server.requests()[0].1[0]["event_data"]["i"], json!(0));
    assert!(exposition(&registry).contains(&format!("{SENT_METRIC}_total 2500")));
}

#[tokio::test]
async fn a_full_batch_is_sent_without_waiting_for_a_flush() {
    let server = TestServer::start(vec![]).await;
    let (store, _registry) = store(
        &server.url(),
        config(10, fast_retry(3)),
        Duration::from_secs(10),
    );
    for i in 0..10 {
        store.record(event(i)).expect("record");
    }
    server.wait_for_requests(1).await;
    assert_eq!(server.batch_sizes(), vec![10]);
}

#[tokio::test]
async fn the_background_task_flushes_on_its_interval() {
    let server = TestServer::start(vec![]).await;
    let mut cfg = config(1000, fast_retry(3));
    cfg.flush_interval = Duration::from_millis(20);
    let (store, _registry) = store(&server.url(), cfg, Duration::from_secs(10));
    for i in 0..7 {
        store.record(event(i)).expect("record");
    }
    server.wait_for_requests(1).await;
    assert_eq!(server.batch_sizes().iter().sum::<usize>(), 7);
}

#[tokio::test]
async fn server_errors_and_auth_failures_are_retried_until_accepted() {
    let server = TestServer::start(vec![
        Reply::Status(500),
        Reply::Status(503),
        Reply::Status(401),
        Reply::Status(403),
    ])
    .await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(5)),
        Duration::from_secs(10),
    );
    for i in 0..3 {
        store.record(event(i)).expect("record");
    }
    let report = store.flush().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 3,
            dropped: 0
        }
    );
    assert_eq!(server.batch_sizes(), vec![3, 3, 3, 3, 3]);
    assert!(!exposition(&registry).contains("reason="));
}

#[tokio::test]
async fn a_timed_out_request_is_retried() {
    let server = TestServer::start(vec![Reply::Delay(Duration::from_secs(5))]).await;
    let (store, _registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_millis(200),
    );
    store.record(event(0)).expect("record");
    let report = store.flush().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 1,
            dropped: 0
        }
    );
    assert_eq!(server.batch_sizes(), vec![1, 1]);
}

#[tokio::test]
async fn every_attempt_of_a_batch_carries_its_idempotency_key_and_the_next_batch_a_new_one() {
    // A 500, then an answer that comes too late (the server may have stored the batch: only the
    // key lets DataStorage recognise the retry), then success.
    let server = TestServer::start(vec![
        Reply::Status(500),
        Reply::Delay(Duration::from_secs(5)),
    ])
    .await;
    let (store, _registry) = store(
        &server.url(),
        config(1000, fast_retry(5)),
        Duration::from_millis(200),
    );
    store.record(event(0)).expect("record");
    store.flush().await;
    store.record(event(1)).expect("record");
    store.flush().await;
    let keys = server.script.keys.lock().expect("lock").clone();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let first = keys[0].clone().expect("the first attempt has a key");
    assert!(!first.is_empty());
    assert_eq!(
        &keys[..3],
        &[
            Some(first.clone()),
            Some(first.clone()),
            Some(first.clone())
        ]
    );
    assert!(keys[3].as_ref().is_some_and(|k| *k != first), "{keys:?}");
}

#[tokio::test]
async fn other_client_errors_drop_the_batch_without_retry_and_count_it() {
    let server = TestServer::start(vec![Reply::Status(400)]).await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(5)),
        Duration::from_secs(10),
    );
    for i in 0..4 {
        store.record(event(i)).expect("record");
    }
    let report = store.flush().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 0,
            dropped: 4
        }
    );
    assert_eq!(server.batch_sizes(), vec![4], "a 400 must not be retried");
    assert!(
        exposition(&registry).contains(&format!("{DROPPED_METRIC}_total{{reason=\"rejected\"}} 4"))
    );
    // The store keeps working after a drop.
    store.record(event(9)).expect("record");
    assert_eq!(
        store.flush().await,
        StoreReport {
            sent: 1,
            dropped: 4
        }
    );
}

#[tokio::test]
async fn exhausted_retries_drop_and_count_the_batch() {
    let server = TestServer::start(vec![
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(500),
    ])
    .await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_secs(10),
    );
    store.record(event(0)).expect("record");
    store.record(event(1)).expect("record");
    assert_eq!(
        store.flush().await,
        StoreReport {
            sent: 0,
            dropped: 2
        }
    );
    assert_eq!(server.batch_sizes(), vec![2, 2, 2]);
    assert!(exposition(&registry).contains(&format!(
        "{DROPPED_METRIC}_total{{reason=\"retries_exhausted\"}} 2"
    )));
}

#[tokio::test]
async fn refused_connections_are_retried_then_counted() {
    // Bind then drop a listener: its port is (almost certainly) closed for the test's duration.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let (store, registry) = store(
        &format!("http://{closed}"),
        config(1000, fast_retry(3)),
        Duration::from_secs(5),
    );
    store.record(event(0)).expect("record");
    // Bounded: a close that kept retrying a dead DataStorage would hang the test, not pass it.
    let report = tokio::time::timeout(WAIT, store.close())
        .await
        .expect("close finished its bounded retries");
    assert_eq!(
        report,
        StoreReport {
            sent: 0,
            dropped: 1
        }
    );
    assert!(exposition(&registry).contains("reason=\"retries_exhausted\"} 1"));
}

#[tokio::test]
async fn a_full_buffer_drops_and_counts_without_blocking() {
    let server = TestServer::start(vec![Reply::Hang]).await;
    let mut cfg = config(1, fast_retry(3));
    cfg.buffer_capacity = 5;
    let (store, registry) = store(&server.url(), cfg, Duration::from_secs(60));
    store.record(event(0)).expect("record");
    // The first event is in flight (the server holds it); the buffer now takes exactly 5 more.
    server.wait_for_requests(1).await;
    for i in 1..=5 {
        store.record(event(i)).expect("record");
    }
    // `record` is synchronous: it answers BufferFull at once while the first batch is still
    // held by the server, rather than waiting for room.
    let err = store.record(event(6)).expect_err("buffer full");
    assert!(
        matches!(err, RecordError::BufferFull { capacity: 5 }),
        "{err}"
    );
    server.script.release.notify_one();
    let report = store.close().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 6,
            dropped: 1
        }
    );
    assert!(exposition(&registry).contains("reason=\"buffer_full\"} 1"));
}

#[tokio::test]
async fn invalid_events_are_dropped_at_record_time() {
    let server = TestServer::start(vec![]).await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_secs(10),
    );
    let mut bad = event(0);
    bad.event_type = String::new();
    match store.record(bad) {
        Err(RecordError::Invalid(e)) => assert_eq!(e.field, "event_type"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut with_id = event(1);
    with_id.event_id = Some(uuid::Uuid::new_v4());
    assert!(matches!(
        store.record(with_id),
        Err(RecordError::Invalid(_))
    ));
    store.record(event(2)).expect("record");
    assert_eq!(
        store.flush().await,
        StoreReport {
            sent: 1,
            dropped: 2
        }
    );
    assert!(exposition(&registry).contains("reason=\"invalid\"} 2"));
}

#[tokio::test]
async fn close_flushes_and_later_records_are_refused() {
    let server = TestServer::start(vec![]).await;
    let (store, registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_secs(10),
    );
    let clone = store.clone();
    for i in 0..42 {
        clone.record(event(i)).expect("record");
    }
    assert_eq!(
        store.close().await,
        StoreReport {
            sent: 42,
            dropped: 0
        }
    );
    assert_eq!(server.batch_sizes(), vec![42]);
    assert!(matches!(clone.record(event(0)), Err(RecordError::Closed)));
    assert_eq!(
        clone.report(),
        StoreReport {
            sent: 42,
            dropped: 1
        }
    );
    // flush after close returns at once with the totals.
    assert_eq!(
        clone.flush().await,
        StoreReport {
            sent: 42,
            dropped: 1
        }
    );
    assert!(exposition(&registry).contains("reason=\"closed\"} 1"));
}

#[tokio::test]
async fn dropping_every_handle_still_sends_what_was_recorded() {
    let server = TestServer::start(vec![]).await;
    let (store, _registry) = store(
        &server.url(),
        config(1000, fast_retry(3)),
        Duration::from_secs(10),
    );
    store.record(event(0)).expect("record");
    drop(store);
    server.wait_for_requests(1).await;
    assert_eq!(server.batch_sizes(), vec![1]);
}

#[test]
fn the_client_refuses_non_http_urls() {
    assert!(Client::new("not a url", TOKEN, Duration::from_secs(1)).is_err());
    assert!(Client::new("unix:/tmp/x", TOKEN, Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn close_gives_up_after_its_timeout_and_counts_the_rest() {
    let server = TestServer::start(vec![Reply::Status(503); 100]).await;
    let retry = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        multiplier: 1.0,
        max_backoff: Duration::from_millis(100),
        jitter: 0.0,
        max_attempts: 1000,
    };
    let mut cfg = config(1000, retry);
    cfg.close_timeout = Duration::from_millis(300);
    let (store, registry) = store(&server.url(), cfg, Duration::from_secs(10));
    for i in 0..3 {
        store.record(event(i)).expect("record");
    }
    let report = store.close().await;
    assert_eq!(
        report,
        StoreReport {
            sent: 0,
            dropped: 3
        }
    );
    // Retries stopped at the deadline: far fewer than max_attempts.
    assert!(
        server.requests().len() < 10,
        "{} attempts",
        server.requests().len()
    );
    assert!(exposition(&registry).contains("reason=\"close_timeout\"} 3"));
}

#[tokio::test]
async fn events_without_an_actor_get_the_default_actor() {
    let server = TestServer::start(vec![]).await;
    let mut cfg = config(1000, fast_retry(3));
    cfg.default_actor = Some(("service".into(), "test-svc@integration.test-p0".into()));
    let (store, _registry) = store(&server.url(), cfg, Duration::from_secs(10));
    store.record(event(0)).expect("record");
    store
        .record(event(1).with_actor("user", "alice"))
        .expect("record");
    store.flush().await;
    let sent = &server.requests()[0].1;
    assert_eq!(sent[0]["actor_type"], json!("service"));
    assert_eq!(sent[0]["actor_id"], json!("test-svc@integration.test-p0"));
    assert_eq!(
        sent[1]["actor_id"],
        json!("alice"),
        "an explicit actor is kept"
    );
}
