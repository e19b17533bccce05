//! Prints DataStorage's batch ingest rate (events/s, batches of 1,000) over HTTP against real
//! PostgreSQL and Redis: one client posting batches back to back, then several at once.
//! Target: ≥ 20,000 events/s. Run: `cargo bench -p datastorage --bench ingest`.
//!
//! Uses the run's shared backends when the nextest setup script exported them, else starts a
//! private PostgreSQL and Redis through `testinfra` (stopped when this process exits).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use audit::EventOutcome;
use audit::api::BATCH_PATH;
use serde_json::Value;
use support::{TestDs, event_json, unique};

/// Events per request: DataStorage's batch limit, the size the audit store sends when busy.
const BATCH: usize = 1000;
/// Batches per measurement: enough for a stable figure (tens of thousands of events), few
/// enough to finish in seconds on a shared two-core machine.
const BATCHES: usize = 30;
/// Concurrent clients in the second measurement: a handful of test processes flushing at once.
const CLIENTS: usize = 4;

fn body(correlation_id: &str) -> String {
    let events: Vec<Value> = (0..BATCH)
        .map(|i| {
            let mut e = event_json(
                correlation_id,
                "bench.ingest.recorded",
                EventOutcome::Success,
            );
            e["event_data"]["i"] = Value::from(i);
            e
        })
        .collect();
    Value::Array(events).to_string()
}

async fn post(ds: &TestDs, body: String) {
    let response = ds
        .http
        .post(ds.at(BATCH_PATH))
        .bearer_auth(&ds.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post batch");
    let status = response.status().as_u16();
    // 202 would mean "queued in the dead-letter queue", which is not the path being measured.
    assert_eq!(
        status, 201,
        "batch not stored in PostgreSQL (HTTP {status}); see the DataStorage log above"
    );
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: both just run.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let started = Instant::now();
    let ds = TestDs::start().await;
    println!(
        "infrastructure and DataStorage ready in {:?}",
        started.elapsed()
    );
    let corr = unique("bench");
    // Request bodies are built up front so the figures measure DataStorage, not the client.
    let template = body(&corr);
    for _ in 0..2 {
        post(&ds, template.clone()).await; // warm-up: pool connections, prepared statements
    }

    let t = Instant::now();
    for _ in 0..BATCHES {
        post(&ds, template.clone()).await;
    }
    let sequential = t.elapsed();

    let t = Instant::now();
    let per_client = BATCHES / CLIENTS;
    let ds_ref = &ds;
    let template_ref = &template;
    futures::future::join_all((0..CLIENTS).map(|_| async move {
        for _ in 0..per_client {
            post(ds_ref, template_ref.clone()).await;
        }
    }))
    .await;
    let concurrent = t.elapsed();

    println!(
        "batch ingest, 1 client:  {BATCHES} batches x {BATCH} events in {sequential:?} = {:.0} events/s ({:.1} ms/batch)",
        rate(BATCHES * BATCH, sequential),
        sequential.as_secs_f64() * 1000.0 / BATCHES as f64
    );
    println!(
        "batch ingest, {CLIENTS} clients: {} batches x {BATCH} events in {concurrent:?} = {:.0} events/s",
        per_client * CLIENTS,
        rate(per_client * CLIENTS * BATCH, concurrent)
    );
    println!("target: >= 20000 events/s");
    ds.shutdown().await;
}
