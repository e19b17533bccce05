//! The run's clean-up on a cluster: when the watched process (nextest) dies by `kill -9`, the
//! supervisor runs `cluster-bootstrap cleanup`, and afterwards no namespace labelled with the run
//! remains, while other runs' namespaces are untouched.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testinfra::{ProcId, RunDir};

/// The supervisor polls every 0.2 s and the clean-up takes milliseconds; the rest is slack for
/// a machine loaded by parallel builds.
const DEADLINE: Duration = Duration::from_secs(60);
const RUN_LABEL: &str = "fixtures.kubernaut.ai/run";

async fn namespace(client: &kube::Client, name: &str, run: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(RUN_LABEL.to_owned(), run.to_owned())])),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn names(client: &kube::Client, run: &str) -> Vec<String> {
    Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(&format!("{RUN_LABEL}={run}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

#[tokio::test]
async fn kill_9_of_nextest_leaves_no_namespace_of_the_run() {
    let server = apiserver::ApiServer::builder().start().await.unwrap();
    let client = server.client().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    for (name, run) in [
        ("mine-a", "run-1"),
        ("mine-b", "run-1"),
        ("theirs", "run-2"),
    ] {
        namespace(&client, name, run).await;
    }

    let run = RunDir::create(dir.path(), "cluster-run").unwrap();
    // A stand-in for the nextest process.
    let mut nextest = Command::new("sleep").arg("600").spawn().unwrap();
    let nextest_id = ProcId::of(nextest.id() as i32).unwrap();
    run.supervise(nextest_id).unwrap();
    run.register_finalizer(
        "10-namespaces",
        &[
            env!("CARGO_BIN_EXE_cluster-bootstrap").to_owned(),
            "cleanup".into(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--selector".into(),
            format!("{RUN_LABEL}=run-1"),
            "--wait-secs".into(),
            "45".into(),
        ],
    )
    .unwrap();

    kill(Pid::from_raw(nextest_id.pid), Signal::SIGKILL).unwrap();
    nextest.wait().unwrap();

    let deadline = Instant::now() + DEADLINE;
    while !run.path().join("finished").exists() {
        assert!(
            Instant::now() < deadline,
            "the supervisor did not finish; its log:\n{}",
            std::fs::read_to_string(run.log_path("supervisor")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(run.log_path("supervisor")).unwrap_or_default();
    assert_eq!(
        names(&client, "run-1").await,
        Vec::<String>::new(),
        "log:\n{log}"
    );
    assert_eq!(
        names(&client, "run-2").await,
        vec!["theirs"],
        "another run's namespace stays"
    );
    assert!(log.contains("deleted namespace mine-a"), "{log}");
}

#[test]
fn an_empty_selector_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_cluster-bootstrap"))
        .args(["cleanup", "--kubeconfig", "/nonexistent", "--selector", " "])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to delete with an empty --selector"),
        "{err}"
    );
}
