//! Helpers shared by the integration tests: a private run directory per test, supervised by
//! the test process itself, and polling with deadlines.

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How long a daemon may take to disappear after its supervisor acts: the supervisor polls
/// every 0.2 s and gives daemons 5 s before SIGKILL; the rest is slack for a loaded machine.
pub const GONE_DEADLINE: Duration = Duration::from_secs(20);

/// A fresh run directory under a temp dir, supervised by this test process.
pub fn run_dir() -> (tempfile::TempDir, testinfra::RunDir) {
    let root = tempfile::Builder::new()
        .prefix("testinfra-test-")
        .tempdir()
        .expect("temp dir");
    let run = testinfra::RunDir::create(root.path(), "run").expect("run dir");
    run.supervise(testinfra::ProcId::current())
        .expect("supervisor");
    (root, run)
}

/// Polls `cond` every 20 ms until it holds or `deadline` passes.
pub fn eventually(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
