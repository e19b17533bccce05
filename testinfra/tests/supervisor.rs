//! The supervisor stops every daemon of a run when the watched process dies by `kill -9`, and
//! removes the run's data; a per-process run directory works from plain test code.

mod common;

use std::os::unix::process::CommandExt as _;
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

#[test]
fn kill_9_of_the_watched_process_runs_the_finalizers_before_the_daemons_stop() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "finalized-run").unwrap();
    let mut watched = Command::new("sleep")
        .arg("600")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let watched_id = ProcId::of(watched.id() as i32).unwrap();
    let supervisor = run.supervise(watched_id).unwrap();
    // A daemon of the run, and a finalizer that records whether it was still alive when the
    // finalizer ran (a cluster clean-up needs the run's own API server up).
    let mut daemon = Command::new("sleep")
        .arg("600")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let daemon_id = ProcId::of(daemon.id() as i32).unwrap();
    run.register(daemon_id, Signal::SIGTERM, "sleeper").unwrap();
    let marker = root.path().join("finalized it's quoted");
    run.register_finalizer(
        "10-record",
        &[
            "/bin/sh".into(),
            "-c".into(),
            format!("kill -0 {} && echo \"$1\" > \"$2\"", daemon_id.pid),
            "sh".into(),
            "daemon alive".into(),
            marker.display().to_string(),
        ],
    )
    .unwrap();
    // A failing finalizer does not stop the others or the daemons' shutdown.
    run.register_finalizer("05-fails", &["false".into()])
        .unwrap();

    kill(Pid::from_raw(watched_id.pid), Signal::SIGKILL).unwrap();
    watched.wait().unwrap();

    let done = common::eventually(common::GONE_DEADLINE, || {
        !supervisor.is_alive() && !daemon_id.is_alive()
    });
    let _ = daemon.wait();
    let log = std::fs::read_to_string(run.log_path("supervisor")).unwrap_or_default();
    assert!(done, "supervisor or daemon still running; log:\n{log}");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default(),
        "daemon alive\n",
        "the finalizer ran, with its arguments intact, while the daemon was alive; log:\n{log}"
    );
    assert!(log.contains("finalizer 05-fails failed"), "{log}");
}

#[test]
fn a_finalizer_needs_a_command() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "empty-finalizer").unwrap();
    let err = run.register_finalizer("x", &[]).unwrap_err().to_string();
    assert!(err.contains("finalizer \"x\" has no command"), "{err}");
}

#[test]
fn a_leftover_run_whose_supervisor_died_gets_its_finalizers_run() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "orphaned").unwrap();
    let marker = root.path().join("orphan-finalized");
    run.register_finalizer("cleanup", &["touch".into(), marker.display().to_string()])
        .unwrap();
    // No supervisor and an old directory: what a run killed with its supervisor leaves.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(run.path().join("finalizers").join("cleanup"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::fs::File::open(run.path())
        .unwrap()
        .set_modified(old)
        .unwrap();
    testinfra::remove_leftovers(root.path());
    assert!(marker.exists(), "the leftover run's finalizer ran");
}
