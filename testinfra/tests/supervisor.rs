//! The supervisor stops every daemon of a run when the watched process dies by `kill -9`, and
//! removes the run's data; a per-process run directory works from plain test code.

mod common;

use std::process::Command;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testinfra::{Infra, ProcId, Provider, RunDir, process};

#[test]
fn kill_9_of_the_watched_process_leaves_nothing_running() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "watched-run").unwrap();
    // A stand-in for the nextest process.
    let mut watched = Command::new("sleep")
        .arg("600")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let watched_id = ProcId::of(watched.id() as i32).unwrap();
    let supervisor = run.supervise(watched_id).unwrap();

    let mut infra = Infra::start(&run, &Provider::Local).unwrap();
    let (pg, redis) = infra.local().unwrap();
    let postmaster = pg.process().unwrap();
    let redis_id = redis.process().unwrap();
    infra.detach();
    let backends = process::children(postmaster.pid);
    assert!(
        !backends.is_empty(),
        "a running postmaster has helper processes"
    );

    kill(Pid::from_raw(watched_id.pid), Signal::SIGKILL).unwrap();
    watched.wait().unwrap();

    let all_gone = common::eventually(common::GONE_DEADLINE, || {
        !postmaster.is_alive()
            && !redis_id.is_alive()
            && !supervisor.is_alive()
            && backends
                .iter()
                .all(|b| ProcId::of(*b).is_none_or(|p| !p.is_alive()))
    });
    let log = std::fs::read_to_string(run.log_path("supervisor")).unwrap_or_default();
    assert!(all_gone, "daemons still running; supervisor log:\n{log}");
    assert!(!run.path().join("data").exists(), "data removed");
    assert!(!run.path().join("secrets").exists(), "secrets removed");
    assert!(run.path().join("finished").exists());
    assert!(
        run.log_path("postgres").exists(),
        "logs kept for post-mortems"
    );
}

#[test]
fn a_per_process_run_dir_lives_under_the_target_dir() {
    let run = RunDir::for_process().unwrap();
    assert!(run.path().starts_with(testinfra::infra_root().unwrap()));
    assert!(
        run.path()
            .to_str()
            .unwrap()
            .contains(&format!("proc-{}-", std::process::id()))
    );
    assert!(run.supervisor().unwrap().is_alive());
    let other = RunDir::for_process().unwrap();
    assert_ne!(run.path(), other.path());
}

#[test]
fn a_leased_run_lives_until_its_lease_ends() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "leased").unwrap();
    let supervisor = run
        .supervise_lease(std::time::Duration::from_secs(600))
        .unwrap();
    let redis = testinfra::redis::start(&run, testinfra::redis::Options::default()).unwrap();
    let id = redis.process().unwrap();
    redis.detach();
    // Nobody is watched: the lease alone keeps it. Ending the lease stops everything.
    assert!(id.is_alive() && supervisor.is_alive());
    run.extend_lease(std::time::Duration::ZERO).unwrap();
    assert!(common::eventually(common::GONE_DEADLINE, || !id.is_alive()
        && !supervisor.is_alive()));
    assert!(run.path().join("finished").exists());
}
