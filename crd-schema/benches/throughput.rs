//! Prints how long compiling a schema and handling one object take, on kubernaut's
//! RemediationRequest schema (the fixture the tests use). Run: `cargo bench -p crd-schema`.
//! Figures only; nothing here asserts on time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crd_schema::Schema;
use serde_json::{Value, json};

/// Enough repetitions that one measurement takes well over the timer's resolution, few enough
/// that the whole run stays under a few seconds on a shared 2-core machine.
const ITERATIONS: u32 = 20_000;
/// Compiling is ~100x slower than validating; fewer rounds keep its share of the run similar.
const COMPILE_ITERATIONS: u32 = 500;

fn rr() -> Value {
    json!({
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "RemediationRequest",
        "metadata": {"name": "rr-1", "namespace": "default"},
        "spec": {
            "signalFingerprint": "a".repeat(64),
            "signalName": "HighMemory",
            "severity": "critical",
            "signalType": "prometheus-alert",
            "signalSource": "alertmanager",
            "targetResource": {"kind": "Deployment", "name": "web", "namespace": "default"},
            "firingTime": "2026-11-25T10:00:00Z",
            "receivedTime": "2026-11-25T10:00:01Z",
            "signalLabels": {"alertname": "HighMemory", "namespace": "default", "pod": "web-1"}
        },
        "status": {"overallPhase": "Processing", "message": "working"}
    })
}

fn report(what: &str, iterations: u32, elapsed: Duration) {
    let per_op = elapsed / iterations;
    let per_sec = f64::from(iterations) / elapsed.as_secs_f64();
    println!(
        "{what:<44} {:>9.1} µs/op {per_sec:>12.0} ops/s",
        per_op.as_secs_f64() * 1e6
    );
}

fn time(what: &str, iterations: u32, mut f: impl FnMut()) {
    f(); // warm caches and lazy statics once
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    report(what, iterations, start.elapsed());
}

fn main() {
    let raw: Value = serde_json::from_str(include_str!(
        "../tests/fixtures/remediationrequest.schema.json"
    ))
    .expect("fixture is JSON");
    let schema = Schema::compile(&raw).expect("fixture compiles");
    let obj = rr();
    let mut changed = obj.clone();
    changed["spec"]["severity"] = json!("warning");
    let mut status_only = obj.clone();
    status_only["status"]["overallPhase"] = json!("Analyzing");

    println!(
        "crd-schema throughput, RemediationRequest schema, {} iterations",
        ITERATIONS
    );
    time("compile schema", COMPILE_ITERATIONS, || {
        black_box(Schema::compile(black_box(&raw)).ok());
    });
    time(
        "prune + apply_defaults (clone included)",
        ITERATIONS,
        || {
            let mut o = obj.clone();
            black_box(schema.prune(&mut o));
            schema.apply_defaults(&mut o);
            black_box(o);
        },
    );
    time("validate create (valid)", ITERATIONS, || {
        black_box(schema.validate(black_box(&obj), None));
    });
    time(
        "validate update, status change (CEL runs)",
        ITERATIONS,
        || {
            black_box(schema.validate(black_box(&status_only), Some(&obj)));
        },
    );
    time(
        "validate update, spec change (rejected)",
        ITERATIONS,
        || {
            black_box(schema.validate(black_box(&changed), Some(&obj)));
        },
    );
}
