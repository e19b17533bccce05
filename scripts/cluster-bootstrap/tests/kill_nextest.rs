//! `kill -9` of a real `cargo nextest run --profile integration-cluster`, mid-run: the inner run's
//! one test (`tests/held.rs`) has made a namespace of its own holding a NotificationRequest with
//! the project's finalizer, and holds (`FIXTURES_HOLD=all`). nextest is killed with SIGKILL,
//! so none of its own clean-up runs; the test process is left running, as a killed nextest
//! leaves its test processes. Afterwards the run's supervisor must have deleted every namespace
//! labelled with that run (the finalizer stripped, since no controller will ever remove it), must
//! have finished (the run's daemons stopped), and must not have touched another run's namespace
//! or that namespace's finalizer.
//!
//! Which supervisor did the work is not left to chance: the held test process is still alive
//! when its namespace is gone, so its own supervisor (which acts when that process exits) has not
//! run yet; the run's supervisor log names the namespace it deleted.
//!
//! Why this test never passed before: its inner run compiled until nextest's time limit killed
//! the test. Twice over: it was `cargo nextest run` of the whole workspace, which builds every
//! test binary the outer run had not built (all of them, when the outer run was
//! `-p cluster-bootstrap`); and it inherited the test process's `CARGO_MANIFEST_DIR`, which ring's
//! build script tracks, so even built binaries were rebuilt from ring upwards (see
//! `inner_run`). The inner run now builds only `-p cluster-bootstrap --test held`, which the
//! outer build of this package has built, with a shell's environment: cargo only checks that it
//! is fresh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectMeta, PostParams};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod inner_run;

const RUN_LABEL: &str = "fixtures.kubernaut.ai/run";
const PROCESS_LABEL: &str = "fixtures.kubernaut.ai/process";
/// The run that is not killed: its namespace and its object's finalizer must stay.
const OTHER_RUN: &str = "another-run";
const OTHER_NAMESPACE: &str = "theirs";
/// The held test's namespace prefix and object name (`tests/held.rs`).
const HELD_PREFIX: &str = "held-";
const HELD_OBJECT: &str = "held";
/// The finalizer of the project's controllers (`controllers::api::FINALIZER`).
const PROJECT_FINALIZER: &str = "kubernaut.ai/finalizer";
/// Until the held test's object exists: cargo's up-to-date check of one test binary, linking the
/// setup binaries when their dep-info is missing (`scripts/run-built`), the setup script
/// (PostgreSQL, Redis, DataStorage, the cluster checks and CRDs) and the test's start, on a
/// loaded 2-core machine. A deadline, not a wait: the poll ends as soon as it is there.
const STARTED_DEADLINE: Duration = Duration::from_secs(240);
/// Until the run's supervisor has removed the run's namespaces and finished: it notices the exit
/// within 0.2 s and the clean-up takes well under a second; the rest is slack for a loaded
/// machine (the clean-up's own wait is 45 s).
const CLEANED_DEADLINE: Duration = Duration::from_secs(90);
/// How often the cluster, the process table and the run directories are polled.
const POLL: Duration = Duration::from_millis(100);
/// The hold's own end, should the kill never come: the guard kills the held process anyway when
/// this test ends; this only bounds a leak if the test itself is killed.
const HOLD_TIMEOUT: &str = "10m";
/// The name (`/proc/<pid>/comm`) of nextest's process.
const NEXTEST_COMM: &str = "cargo-nextest";
/// The marker a supervisor writes when it has stopped its run's daemons (testinfra's
/// supervisor script).
const FINISHED_MARKER: &str = "finished";

fn notification_kind() -> ApiResource {
    ApiResource {
        group: "kubernaut.ai".into(),
        version: "v1alpha1".into(),
        api_version: "kubernaut.ai/v1alpha1".into(),
        kind: "NotificationRequest".into(),
        plural: "notificationrequests".into(),
    }
}

/// Kills what the test started (the nextest run in its own group, the held test process) when
/// it ends, passing or failing, so that no held test outlives it.
struct Guard {
    cargo: Child,
    pids: Vec<i32>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for pid in &self.pids {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        if let Ok(pgid) = i32::try_from(self.cargo.id()) {
            let _ = nix::sys::signal::killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        let _ = self.cargo.wait();
    }
}

/// `/proc/<pid>/stat` after the command's closing paren: state, parent, ...
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn parent_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Whether `pid` runs (exists and is not a zombie).
fn alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

fn comm_of(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_owned())
}

/// The namespaces of every run but [`OTHER_RUN`].
async fn run_namespaces(client: &kube::Client) -> Vec<Namespace> {
    Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(&format!("{RUN_LABEL},{RUN_LABEL}!={OTHER_RUN}")))
        .await
        .unwrap()
        .items
}

/// The held test's namespace once its finalized object exists: (namespace, run label, pid).
async fn held(client: &kube::Client) -> Option<(String, String, i32)> {
    for ns in run_namespaces(client).await {
        let name = ns.metadata.name.clone().unwrap_or_default();
        if !name.starts_with(HELD_PREFIX) {
            continue;
        }
        let api =
            Api::<DynamicObject>::namespaced_with(client.clone(), &name, &notification_kind());
        let finalized = api
            .get_opt(HELD_OBJECT)
            .await
            .ok()
            .flatten()
            .is_some_and(|o| {
                o.metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == PROJECT_FINALIZER)
            });
        if !finalized {
            continue;
        }
        let labels = ns.metadata.labels.unwrap_or_default();
        let pid = labels
            .get(PROCESS_LABEL)?
            .trim_start_matches('p')
            .parse()
            .ok()?;
        return Some((name, labels.get(RUN_LABEL)?.clone(), pid));
    }
    None
}

/// The run directory `<target>/infra/<run id><suffix>` of the run whose label is `label` (the
/// run id, lowercased: nextest's run ids are lowercase UUIDs already).
fn run_dir(label: &str, suffix: &str) -> Option<PathBuf> {
    let infra = inner_run::workspace_root().join("target").join("infra");
    let infra = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| PathBuf::from(d).join("infra"))
        .unwrap_or(infra);
    std::fs::read_dir(infra).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().to_lowercase();
        (name == format!("{label}{suffix}")).then(|| e.path())
    })
}

fn file_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

async fn create_theirs(client: &kube::Client) {
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(OTHER_NAMESPACE.into()),
                    labels: Some(BTreeMap::from([(
                        RUN_LABEL.to_owned(),
                        OTHER_RUN.to_owned(),
                    )])),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// Another run's object with the project's finalizer: the killed run's clean-up must leave it.
async fn create_their_object(client: &kube::Client) {
    let kind = notification_kind();
    let object: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": "theirs", "finalizers": [PROJECT_FINALIZER]},
        "spec": {"type": "Simple", "priority": "Low", "subject": "theirs", "body": "not the killed run's"},
    }))
    .unwrap();
    Api::<DynamicObject>::namespaced_with(client.clone(), OTHER_NAMESPACE, &kind)
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
}

// Two workers: the embedded server must keep answering while the test blocks on the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_real_nextest_run_leaves_no_namespace_of_it() {
    let server = apiserver::ApiServer::builder().start().await.unwrap();
    let client = server.client().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    create_theirs(&client).await;

    let out = dir.path().join("nextest.out");
    let err = dir.path().join("nextest.err");
    let mut cmd = inner_run::cargo_nextest_run(&[
        "--profile",
        "integration-cluster",
        "-p",
        "cluster-bootstrap",
        "--test",
        "held",
        "--run-ignored",
        "only",
    ]);
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .env("FIXTURES_KUBECONFIG", &kubeconfig)
        .env("FIXTURES_HOLD", "all")
        .env("FIXTURES_HOLD_TIMEOUT", HOLD_TIMEOUT);
    let started = Instant::now();
    let mut guard = Guard {
        cargo: cmd.spawn().unwrap(),
        pids: Vec::new(),
    };
    let log = || format!("stdout:\n{}\nstderr:\n{}", file_text(&out), file_text(&err));

    // The held test's namespace exists, and its object holds the finalizer.
    let deadline = Instant::now() + STARTED_DEADLINE;
    let (held_ns, run, test_pid) = loop {
        if let Some(found) = held(&client).await {
            break found;
        }
        if let Ok(Some(status)) = guard.cargo.try_wait() {
            panic!(
                "the nextest run ended ({status}) before its test held\n{}",
                log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the held test's namespace did not appear within {STARTED_DEADLINE:?}\n{}",
            log()
        );
        tokio::time::sleep(POLL).await;
    };
    let held_after = started.elapsed();
    guard.pids.push(test_pid);
    // nextest is the test process's parent.
    let nextest = parent_of(test_pid).expect("the held test process has a parent");
    assert_eq!(comm_of(nextest).as_deref(), Some(NEXTEST_COMM), "{}", log());
    guard.pids.push(nextest);
    // The CRDs are installed now (the inner setup script applied crds/).
    create_their_object(&client).await;

    kill(Pid::from_raw(nextest), Signal::SIGKILL).unwrap();
    let status = guard.cargo.wait().unwrap();
    assert!(!status.success(), "cargo reports the killed run: {status}");
    let killed_at = Instant::now();

    let deadline = Instant::now() + CLEANED_DEADLINE;
    loop {
        let left = run_namespaces(&client).await;
        if left.is_empty() {
            break;
        }
        let names: Vec<String> = left
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        assert!(
            Instant::now() < deadline,
            "namespaces of run {run} still there {CLEANED_DEADLINE:?} after kill -9: {names:?}\nsupervisor log:\n{}\n{}",
            run_dir(&run, "-cluster")
                .map(|d| file_text(&d.join("logs").join("supervisor.log")))
                .unwrap_or_default(),
            log()
        );
        tokio::time::sleep(POLL).await;
    }
    let cleaned_after = killed_at.elapsed();
    // The run's supervisor did it: the held process (whose own supervisor acts only when it
    // exits) still runs.
    assert!(
        alive(test_pid),
        "the held test process {test_pid} ended before its namespace was gone, so which supervisor removed it is unknown\n{}",
        log()
    );

    // Both supervisors of the run (ds-bootstrap's and cluster-bootstrap's) finish: the daemons
    // stopped, the clean-up done; the cluster one's log names the namespace it deleted.
    let deadline = Instant::now() + CLEANED_DEADLINE;
    for suffix in ["", "-cluster"] {
        let dir = loop {
            match run_dir(&run, suffix) {
                Some(d) if d.join(FINISHED_MARKER).exists() => break d,
                found => assert!(
                    Instant::now() < deadline,
                    "the supervisor of run directory {run}{suffix} ({found:?}) did not finish within {CLEANED_DEADLINE:?}"
                ),
            }
            tokio::time::sleep(POLL).await;
        };
        if suffix == "-cluster" {
            let supervisor = file_text(&dir.join("logs").join("supervisor.log"));
            assert!(
                supervisor.contains(&format!("deleted namespace {held_ns}"))
                    && supervisor.contains(&format!(
                        "removed finalizer(s) {PROJECT_FINALIZER} of NotificationRequest {held_ns}/{HELD_OBJECT}"
                    )),
                "the run's supervisor log does not record the namespace's deletion and the finalizer's removal:\n{supervisor}"
            );
        }
    }

    let theirs = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        OTHER_NAMESPACE,
        &notification_kind(),
    )
    .get("theirs")
    .await
    .expect("another run's object stays");
    assert_eq!(
        theirs.metadata.finalizers.as_deref(),
        Some(&[PROJECT_FINALIZER.to_owned()][..]),
        "another run's finalizer stays"
    );
    let their_ns = Api::<Namespace>::all(client.clone())
        .get(OTHER_NAMESPACE)
        .await
        .expect("another run's namespace stays");
    assert!(
        their_ns.metadata.deletion_timestamp.is_none(),
        "another run's namespace is not being deleted"
    );
    eprintln!(
        "kill_nextest: held after {:.1} s; the run's namespaces gone {:.2} s after kill -9",
        held_after.as_secs_f64(),
        cleaned_after.as_secs_f64()
    );
}

#[test]
fn the_test_process_variables_are_not_passed_on_and_the_users_settings_are() {
    for key in [
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
        "NEXTEST_RUN_ID",
        "FIXTURES_CLUSTER_KUBECONFIG",
        "DS_URL",
        "TEST_CA_CERT_FILE",
    ] {
        assert!(inner_run::inherited_from_the_test(key), "{key}");
    }
    for key in [
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "PATH",
        "HOME",
        "RUSTUP_TOOLCHAIN",
    ] {
        assert!(!inner_run::inherited_from_the_test(key), "{key}");
    }
}
