//! Prints how long the setup script takes: cold (script start → DataStorage ready, from
//! nothing) and warm (`DS_REUSE=1` with a matching warm set). Figures are printed, never
//! asserted: they depend on the machine and its load.
//!
//! Run: `cargo bench -p ds-bootstrap --bench bootstrap`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Watched, alive, eventually, run_processes};

/// Enough runs for a stable median without making the bench slow.
const RUNS: usize = 5;

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<34} runs={} min={:>7.1} ms  median={:>7.1} ms  max={:>7.1} ms",
        times.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");

    let mut cold = Vec::new();
    for i in 0..RUNS {
        let mut watched = Watched::new();
        let env_file = dir.path().join(format!("cold-{i}"));
        let boot = common::run(
            common::command(&common::run_id("bench-cold"), Some(&watched), &env_file),
            &env_file,
        );
        assert!(boot.success, "bootstrap failed: {}", boot.stderr);
        cold.push(boot.elapsed);
        // Tear down before the next run so runs do not compete for the CPU.
        let procs = run_processes(&boot.run_dir());
        watched.kill9();
        eventually(common::GONE_DEADLINE, || alive(&procs) == 0);
    }
    summary("cold bootstrap (start → ready)", cold);

    let key = common::run_id("bench-warm");
    let warm_run = |name: &str| {
        let env_file = dir.path().join(name);
        let mut cmd = common::command(&common::run_id(name), None, &env_file);
        cmd.env("DS_REUSE", "1")
            .env("DS_REUSE_KEY", &key)
            .env("DS_REUSE_TTL", "600");
        let boot = common::run(cmd, &env_file);
        assert!(boot.success, "bootstrap failed: {}", boot.stderr);
        boot
    };
    let first = warm_run("warm-first");
    let mut warm = Vec::new();
    for i in 0..RUNS {
        let boot = warm_run(&format!("warm-{i}"));
        assert!(
            boot.stderr.contains("reusing"),
            "not reused: {}",
            boot.stderr
        );
        warm.push(boot.elapsed);
    }
    summary("warm reuse (DS_REUSE=1)", warm);
    let _ = testinfra::extend_lease(&first.run_dir(), Duration::ZERO);
}
