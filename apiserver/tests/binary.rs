//! The standalone `apiserver` binary: URL on the first stdout line, CRDs and kubeconfig from flags,
//! clean exit on SIGTERM and SIGINT, a clear error for a bad CRD directory, and the flags that
//! change behaviour (`--no-garbage-collection`, `--allow-privileged=false`).

mod common;

use std::process::Stdio;

use common::WAIT;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

async fn run_until_signal(signal: Signal) {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kc");
    let crds = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(["--listen", "127.0.0.1:0", "--crds", crds, "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn apiserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("URL in time")
        .expect("read")
        .expect("a first line");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let text = std::fs::read_to_string(&kubeconfig).expect("read the kubeconfig");
    assert!(text.contains("certificate-authority-data: "), "{text}");
    assert!(
        text.contains(&format!("server: {url}\n")),
        "no credentials in the URL: {text}"
    );

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig written");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let gizmos = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
        "example.com",
        "v1",
        "Gizmo",
    ));
    let api: kube::Api<kube::core::DynamicObject> =
        kube::Api::namespaced_with(client, "default", &gizmos);
    assert!(
        api.list(&Default::default())
            .await
            .expect("CRDs from --crds are served")
            .items
            .is_empty()
    );

    let pid = Pid::from_raw(child.id().expect("pid") as i32);
    kill(pid, signal).expect("signal");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn serves_until_sigterm() {
    run_until_signal(Signal::SIGTERM).await;
}

#[tokio::test]
async fn serves_until_sigint() {
    run_until_signal(Signal::SIGINT).await;
}

#[tokio::test]
async fn bad_crd_directory_fails_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(["--crds", "/nonexistent/crds"])
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no URL is printed on failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to read CRDs from /nonexistent/crds"),
        "{stderr}"
    );
}

#[tokio::test]
async fn no_garbage_collection_flag_leaves_deleted_namespaces_terminating() {
    use k8s_openapi::api::core::v1::Namespace;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kc");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(["--no-garbage-collection", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn apiserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("URL in time")
        .expect("read")
        .expect("a first line");
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig written");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let api: kube::Api<Namespace> = kube::Api::all(kube::Client::try_from(config).expect("client"));
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "stays"}})).expect("ns");
    api.create(&Default::default(), &ns).await.expect("create");
    api.delete("stays", &Default::default())
        .await
        .expect("delete");
    let got = api
        .get("stays")
        .await
        .expect("still there without a namespace controller");
    assert_eq!(
        got.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    let pid = Pid::from_raw(child.id().expect("pid") as i32);
    kill(pid, Signal::SIGTERM).expect("signal");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn allow_privileged_false_refuses_privileged_containers() {
    use k8s_openapi::api::core::v1::Pod;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kc");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(["--allow-privileged=false", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn apiserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("URL in time")
        .expect("read")
        .expect("a first line");
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig written");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let api: kube::Api<Pod> =
        kube::Api::namespaced(kube::Client::try_from(config).expect("client"), "default");
    let pod = |privileged: bool| -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": if privileged { "priv" } else { "plain" }},
            "spec": {"containers": [{"name": "app", "image": "busybox",
                "securityContext": {"privileged": privileged}}]},
        }))
        .expect("pod")
    };
    let err = api
        .create(&Default::default(), &pod(true))
        .await
        .expect_err("refused");
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(status.code, 422);
    assert_eq!(
        status.message,
        "Pod \"priv\" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster policy"
    );
    api.create(&Default::default(), &pod(false))
        .await
        .expect("an unprivileged pod is created");
    let pid = Pid::from_raw(child.id().expect("pid") as i32);
    kill(pid, Signal::SIGTERM).expect("signal");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(status.success(), "{status}");
}
