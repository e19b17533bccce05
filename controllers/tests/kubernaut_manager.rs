//! The `kubernaut-manager` binary (the single-controller baseline's shared manager) as a
//! process: it starts against an API server from a kubeconfig, serves its metrics, stops
//! gracefully on SIGTERM, and fails start-up with a message naming what is wrong.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use controllers::api::WorkflowExecution;

const BIN: &str = env!("CARGO_BIN_EXE_kubernaut-manager");
/// Start-up takes milliseconds; the margin covers a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// A directory of this test's own under the target directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = fixtures::target_dir()
            .join("tmp")
            .join(format!("kubernaut-manager-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn args(dir: &Path, kubeconfig: &Path) -> Vec<String> {
    let token = dir.join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        // Nothing is audited in this test, so nothing needs to listen there.
        "--datastorage-url=http://127.0.0.1:1".into(),
        format!("--datastorage-token-file={}", token.display()),
        format!("--metrics-addr-file={}", dir.join("metrics.addr").display()),
        "--wfe-cooldown-ms=300".into(),
    ]
}

#[test]
fn runs_serves_metrics_and_stops_on_sigterm() {
    let scratch = Scratch::new("run");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(
            apiserver::ApiServer::builder()
                .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
                .start(),
        )
        .unwrap();
    let kubeconfig = scratch.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let mut child = Command::new(BIN)
        .args(args(&scratch.0, &kubeconfig))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr_file = scratch.0.join("metrics.addr");
    let addr = poll("the metrics address file", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("kubernaut-manager exited during start-up: {status}");
        }
        std::fs::read_to_string(&addr_file)
            .ok()
            .filter(|a| !a.is_empty())
    });
    // The WorkflowExecution controller is registered: an execution gets reconciled (its
    // finalizer added), and the reconcile is counted on the served registry.
    // The client's worker is spawned on the runtime that is current when it is built.
    let client = {
        let _entered = rt.enter();
        server.client().unwrap()
    };
    let wfes: kube::Api<WorkflowExecution> = kube::Api::namespaced(client, "default");
    let wfe = WorkflowExecution::test("served").with_namespace("default");
    rt.block_on(wfes.create(&Default::default(), &wfe)).unwrap();
    poll("the controller to add its finalizer", || {
        let got = rt.block_on(wfes.get("served")).unwrap();
        got.metadata.finalizers.filter(|f| !f.is_empty())
    });
    let metrics = poll("the reconcile to be counted", || {
        let text = http_get(&addr, "/metrics");
        text.contains("workflowexecution_reconciler_total{")
            .then_some(text)
    });
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("audit_events_sent_total"), "{metrics}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = poll("kubernaut-manager to exit after SIGTERM", || {
        child.try_wait().unwrap()
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "{exit}: {stderr}");
    assert!(stderr.contains("kubernaut-manager: stopping"), "{stderr}");
    rt.block_on(server.shutdown());
}

#[test]
fn a_missing_token_file_fails_start_up_naming_it() {
    let scratch = Scratch::new("no-token");
    let kubeconfig = scratch.0.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: a\ncurrent-context: a\nusers:\n- name: a\n  user:\n    token: x\n").unwrap();
    let missing = scratch.0.join("missing-token");
    let out = fixtures::output_within(
        Command::new(BIN)
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg("--datastorage-url=http://127.0.0.1:1")
            .arg(format!("--datastorage-token-file={}", missing.display())),
        DEADLINE,
    )
    .expect("kubernaut-manager exits on a bad start-up flag");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "reading the DataStorage token file {}",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_backoff_base_without_its_cap_is_refused_naming_the_cap() {
    for (given, missing) in [
        ("--sp-error-backoff-base-ms=5", "--sp-error-backoff-cap-ms"),
        (
            "--aianalysis-retry-backoff-cap-ms=5",
            "--aianalysis-retry-backoff-base-ms",
        ),
        (
            "--wfe-error-backoff-base-ms=5",
            "--wfe-error-backoff-cap-ms",
        ),
    ] {
        let out = fixtures::output_within(
            Command::new(BIN)
                .arg("--kubeconfig=/nonexistent")
                .arg("--datastorage-url=http://127.0.0.1:1")
                .arg("--datastorage-token-file=/nonexistent")
                .arg(given),
            DEADLINE,
        )
        .expect("kubernaut-manager exits on a bad flag");
        assert_eq!(out.status.code(), Some(2), "a usage error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(missing), "{given}: {stderr}");
    }
}

#[test]
fn a_missing_kubeconfig_fails_start_up_naming_it() {
    let out = fixtures::output_within(
        Command::new(BIN).args([
            "--kubeconfig=/nonexistent/kubeconfig",
            "--datastorage-url=http://127.0.0.1:1",
            "--datastorage-token-file=/nonexistent/t",
        ]),
        DEADLINE,
    )
    .expect("kubernaut-manager exits on a bad start-up flag");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reading the kubeconfig /nonexistent/kubeconfig"),
        "{stderr}"
    );
}

#[test]
fn a_bad_notification_routing_fails_start_up_naming_it() {
    let scratch = Scratch::new("bad-routing");
    let kubeconfig = scratch.0.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: a\ncurrent-context: a\nusers:\n- name: a\n  user:\n    token: x\n").unwrap();
    let routing = scratch.0.join("routing.yaml");
    std::fs::write(&routing, "channels: [not, a, map]\n").unwrap();
    let out = fixtures::output_within(
        Command::new(BIN)
            .args(args(&scratch.0, &kubeconfig))
            .arg(format!("--notification-routing={}", routing.display())),
        DEADLINE,
    )
    .expect("kubernaut-manager exits on a bad start-up flag");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("registering the notification")
            || stderr.contains("parsing the notification routing"),
        "{stderr}"
    );
    assert!(stderr.contains(&routing.display().to_string()), "{stderr}");
}

#[test]
fn a_bad_aianalysis_policy_fails_start_up_naming_it() {
    let scratch = Scratch::new("bad-policy");
    let kubeconfig = scratch.0.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: a\ncurrent-context: a\nusers:\n- name: a\n  user:\n    token: x\n").unwrap();
    let policy = scratch.0.join("approval.rego");
    std::fs::write(&policy, "package aianalysis.approval\nthis is not rego\n").unwrap();
    let out = fixtures::output_within(
        Command::new(BIN)
            .args(args(&scratch.0, &kubeconfig))
            // Nothing listens there; start-up fails on the policy before any call.
            .arg("--hapi-url=http://127.0.0.1:1")
            .arg(format!("--aianalysis-policy-file={}", policy.display())),
        DEADLINE,
    )
    .expect("kubernaut-manager exits on a bad start-up flag");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("registering the aianalysis controller"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "the approval policy {} is not valid Rego",
            policy.display()
        )),
        "{stderr}"
    );
}
