//! Prints the cost of `AuditStore::record` (what a controller pays per event: validation and a
//! channel send, never I/O) and the store's end-to-end rate into a minimal in-process HTTP
//! sink. Run: `cargo bench -p audit --bench record`.

use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, Client, EventOutcome, StoreConfig};
use axum::Router;
use axum::routing::post;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

/// Events per measurement: ten full buffers, enough for a stable per-event figure.
const EVENTS: usize = 100_000;

async fn sink(body: axum::Json<Vec<Value>>) -> (axum::http::StatusCode, axum::Json<Value>) {
    let ids: Vec<String> = (0..body.0.len())
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({ "event_ids": ids })),
    )
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new(
        "bench.store.recorded",
        "bench",
        "recorded",
        EventOutcome::Success,
        "rr-bench",
    )
    .with_actor("service", "bench")
    .with_data("i", i as u64)
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route(audit::api::BATCH_PATH, post(sink));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client =
        Client::new(&format!("http://{addr}"), "bench", Duration::from_secs(10)).expect("client");
    let mut registry = Registry::default();
    // A buffer as large as the run, so this measures record() and not drops.
    let config = StoreConfig {
        buffer_capacity: EVENTS,
        ..StoreConfig::default()
    };
    let store = AuditStore::start(client, config, &mut registry);

    let events: Vec<AuditEvent> = (0..EVENTS).map(event).collect();
    let started = Instant::now();
    for e in events {
        let _ = store.record(e);
    }
    let recording = started.elapsed();
    let report = store.close().await;
    let total = started.elapsed();
    println!(
        "record(): {EVENTS} events in {recording:?} = {:.0} ns/event (caller cost, no I/O)",
        recording.as_nanos() as f64 / EVENTS as f64
    );
    println!(
        "end to end into an in-process sink: {} sent, {} dropped in {total:?} = {:.0} events/s",
        report.sent,
        report.dropped,
        report.sent as f64 / total.as_secs_f64()
    );
}
