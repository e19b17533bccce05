//! Memory comes back after large objects are deleted: the watch history is bounded in bytes, so
//! the deleted objects' last states do not stay in it, and the freed memory is returned to the
//! system. A binary of its own with a single test, which measures in a child process of its own
//! (this binary again), so that no other allocations move the resident set size it measures.

use std::io::Read as _;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};

/// Set in the child process that measures.
const CHILD_VAR: &str = "APISERVER_MEMORY_TEST_CHILD";
/// glibc's tunable for the mmap threshold. The child runs without it, so what it measures is the
/// setting a host makes with `apiserver::return_freed_memory` (as the `apiserver` binary and the
/// fixtures do): without it glibc raises the threshold to the size of the blocks freed and keeps later ones in its
/// arenas (measured RSS 246 MiB after the deletes from a 25 MiB start).
const MMAP_THRESHOLD_VAR: &str = "MALLOC_MMAP_THRESHOLD_";
/// How long the child may take (100 creates and deletes of 1 MiB take seconds).
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);
/// Objects created and deleted.
const OBJECTS: usize = 100;
/// Payload of each: 1 MiB, under the 1.5 MiB storage limit.
const PAYLOAD: usize = 1024 * 1024;
/// How much above its start the resident set may stay: "back within 2× of the start".
const RSS_FACTOR: u64 = 2;
/// How long the allocator may take to hand freed memory back.
const SETTLE: Duration = Duration::from_secs(20);
/// Interval between RSS samples while waiting.
const POLL: Duration = Duration::from_millis(50);

/// This process's resident set size in bytes (VmRSS of /proc/self/status).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[test]
fn memory_is_returned_after_large_objects_are_deleted() {
    if std::env::var_os(CHILD_VAR).is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(measure());
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "memory_is_returned_after_large_objects_are_deleted",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .env_remove(MMAP_THRESHOLD_VAR)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the measuring child");
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the measuring child did not finish within {CHILD_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    let mut output = String::new();
    for mut stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let _ = stream.read_to_string(&mut output);
    }
    eprintln!("{output}");
    assert!(
        status.success(),
        "the measuring child failed: {status}\n{output}"
    );
    assert!(
        output.contains("RSS: start"),
        "the child measured nothing:\n{output}"
    );
}

async fn measure() {
    apiserver::return_freed_memory();
    let server = apiserver::ApiServer::builder()
        // No kube-controller-manager objects (`kube-root-ca.crt`): these tests count ConfigMaps.
        .namespace_defaults(false)
        .start()
        .await
        .expect("start");
    let api: Api<ConfigMap> = Api::namespaced(server.client().expect("client"), "default");
    let object = |i: usize| -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("big-{i}")},
            "data": {"blob": "x".repeat(PAYLOAD)},
        }))
        .expect("config map")
    };
    // Warm up the connection, the TLS session and the runtime before taking the baseline.
    api.create(&PostParams::default(), &object(0))
        .await
        .expect("warm-up create");
    api.delete("big-0", &DeleteParams::default())
        .await
        .expect("warm-up delete");
    let start = rss();

    let mut peak = start;
    for i in 1..=OBJECTS {
        api.create(&PostParams::default(), &object(i))
            .await
            .expect("create");
        peak = peak.max(rss());
    }
    for i in 1..=OBJECTS {
        api.delete(&format!("big-{i}"), &DeleteParams::default())
            .await
            .expect("delete");
    }
    assert!(
        api.list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );

    let limit = RSS_FACTOR * start;
    let deadline = Instant::now() + SETTLE;
    let mut now = rss();
    while now > limit && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        now = rss();
    }
    eprintln!(
        "RSS: start {}, peak {}, after deleting {OBJECTS} objects of {} {}",
        mib(start),
        mib(peak),
        mib(PAYLOAD as u64),
        mib(now)
    );
    assert!(
        peak > limit,
        "the objects must have raised the RSS for the test to mean anything: peak {}",
        mib(peak)
    );
    assert!(
        now <= limit,
        "RSS {} after the deletes, more than {RSS_FACTOR}× the start ({})",
        mib(now),
        mib(start)
    );
}
