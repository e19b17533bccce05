//! The run's clean-up on a cluster: when the watched process (nextest) dies by `kill -9`, the
//! supervisor runs `cluster-bootstrap cleanup`, and afterwards no namespace labelled with the run
//! remains, while other runs' namespaces are untouched.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectMeta, PostParams};
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

/// The project's finalizer, as its controllers set it (`controllers::api::FINALIZER`).
const PROJECT_FINALIZER: &str = "kubernaut.ai/finalizer";
/// A finalizer of someone else, which the clean-up must never remove.
const FOREIGN_FINALIZER: &str = "example.com/keep";

/// An embedded server with the project's CRDs, its kubeconfig and a client.
async fn server_with_crds() -> (apiserver::ApiServer, tempfile::TempDir, std::path::PathBuf) {
    let server = apiserver::ApiServer::builder()
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds"))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    (server, dir, kubeconfig)
}

fn notification_kind() -> ApiResource {
    ApiResource {
        group: "kubernaut.ai".into(),
        version: "v1alpha1".into(),
        api_version: "kubernaut.ai/v1alpha1".into(),
        kind: "NotificationRequest".into(),
        plural: "notificationrequests".into(),
    }
}

/// A NotificationRequest in `ns` holding `finalizers`, as one left by an exited controller.
async fn held_object(client: &kube::Client, ns: &str, name: &str, finalizers: &[&str]) {
    let obj: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "NotificationRequest",
        "metadata": {"name": name, "namespace": ns, "finalizers": finalizers},
        "spec": {"type": "Simple", "priority": "Low", "subject": "s", "body": "b"}
    }))
    .unwrap();
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, &notification_kind())
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
}

fn cleanup(kubeconfig: &std::path::Path, selector: &str, wait_secs: u64) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cluster-bootstrap"))
        .args(["cleanup", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--selector", selector, "--wait-secs"])
        .arg(wait_secs.to_string())
        .args(["--finalizer-group", "kubernaut.ai"])
        .output()
        .unwrap()
}

// Two workers: the embedded server must keep answering while the test waits for the
// clean-up program (a blocking call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_whose_controllers_are_gone_are_deleted_with_their_custom_resources() {
    let (server, _dir, kubeconfig) = server_with_crds().await;
    let client = server.client().unwrap();
    for (name, run) in [("gone-a", "run-1"), ("gone-b", "run-1"), ("other", "run-2")] {
        namespace(&client, name, run).await;
        // Each holds custom resources with the project's finalizer, whose controller (a test
        // process's) has exited: nothing would ever remove it.
        held_object(&client, name, "n1", &[PROJECT_FINALIZER]).await;
        held_object(&client, name, "n2", &[PROJECT_FINALIZER]).await;
    }

    // The deadline is the program's own (--wait-secs): it fails naming what is left.
    let out = cleanup(&kubeconfig, &format!("{RUN_LABEL}=run-1"), 45);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        names(&client, "run-1").await,
        Vec::<String>::new(),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "removed finalizer(s) kubernaut.ai/finalizer of NotificationRequest gone-a/n1"
        ),
        "{stdout}"
    );
    // Another run's namespace and its objects' finalizers are untouched.
    assert_eq!(names(&client, "run-2").await, vec!["other"]);
    let theirs =
        Api::<DynamicObject>::namespaced_with(client.clone(), "other", &notification_kind())
            .get("n1")
            .await
            .unwrap();
    assert_eq!(
        theirs.metadata.finalizers.unwrap_or_default(),
        vec![PROJECT_FINALIZER.to_owned()]
    );
    assert!(theirs.metadata.deletion_timestamp.is_none());
}

// Two workers: the embedded server must keep answering while the test waits for the
// clean-up program (a blocking call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_finalizer_is_kept_and_the_namespace_it_holds_is_reported() {
    let (server, _dir, kubeconfig) = server_with_crds().await;
    let client = server.client().unwrap();
    namespace(&client, "held", "run-3").await;
    held_object(
        &client,
        "held",
        "n",
        &[PROJECT_FINALIZER, FOREIGN_FINALIZER],
    )
    .await;

    let out = cleanup(&kubeconfig, &format!("{RUN_LABEL}=run-3"), 1);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 namespace(s) still there after 1s: held")
            && err.contains("NotificationRequest held/n (finalizers: example.com/keep)")
            && err.contains("remove the finalizers named there"),
        "{err}"
    );
    // Only the project's finalizer was removed.
    let obj = Api::<DynamicObject>::namespaced_with(client.clone(), "held", &notification_kind())
        .get("n")
        .await
        .unwrap();
    assert_eq!(
        obj.metadata.finalizers.unwrap_or_default(),
        vec![FOREIGN_FINALIZER.to_owned()]
    );
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
