//! The setup script proper: shared infrastructure, the cluster, its checks and CRDs, the
//! run's clean-up, the exported variables.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::Signal;
use testinfra::{ProcId, RunDir};

use crate::check::{self, Target};

/// The cluster to use; unset: start the standalone API server.
pub const KUBECONFIG_VAR: &str = "FIXTURES_KUBECONFIG";
/// `1`: delete the CRDs when the run ends (they stay by default: other runs may share them).
pub const CLEANUP_CRDS_VAR: &str = "FIXTURES_CLUSTER_CLEANUP_CRDS";
/// The fixture's cluster-mode variables (`fixtures::CLUSTER_*_VAR`; a test checks they match).
pub const CLUSTER_KUBECONFIG_VAR: &str = "FIXTURES_CLUSTER_KUBECONFIG";
pub const CLUSTER_CONTEXT_VAR: &str = "FIXTURES_CLUSTER_CONTEXT";
pub const CLUSTER_CLEANUP_VAR: &str = "FIXTURES_CLUSTER_CLEANUP";
pub const CLUSTER_FINALIZER_GROUPS_VAR: &str = "FIXTURES_CLUSTER_FINALIZER_GROUPS";
/// The label on every namespace a test process creates (`fixtures::RUN_LABEL`).
pub const RUN_LABEL: &str = "fixtures.kubernaut.ai/run";

/// The standalone server starts in milliseconds; the slack covers a machine loaded by builds.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the standalone server's readiness is probed.
const READY_POLL: Duration = Duration::from_millis(10);
/// How long the run's clean-up waits for its namespaces to be gone: under the supervisor's
/// 60 s limit per finalizer (testinfra's FINALIZER_TIMEOUT), so the wait's own error is logged.
const CLEANUP_WAIT_SECS: u64 = 45;
/// The name (`/proc/<pid>/comm`) of nextest's process, whose exit ends the run.
const NEXTEST_COMM: &str = "cargo-nextest";
/// Overrides the process to watch (running the script by hand), as ds-bootstrap does.
const WATCH_PID_VAR: &str = "DS_BOOTSTRAP_WATCH_PID";

const HOW_TO_RUN: &str = "cluster-bootstrap is a nextest setup script: run `cargo nextest run --profile integration-cluster`";

/// The setup script.
pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let env_file = PathBuf::from(
        std::env::var_os("NEXTEST_ENV")
            .with_context(|| format!("NEXTEST_ENV is not set: {HOW_TO_RUN}"))?,
    );
    let run_id = std::env::var("NEXTEST_RUN_ID")
        .with_context(|| format!("NEXTEST_RUN_ID is not set: {HOW_TO_RUN}"))?;
    let workspace = std::env::var_os("NEXTEST_WORKSPACE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));

    let mut steps = Steps::default();
    // The shared infrastructure first, exactly as the integration profile starts it (its
    // variables land in the same $NEXTEST_ENV). Built before nextest started (a setup script
    // never compiles: see scripts/run-built).
    let status = steps.time("ds", || {
        testinfra::built::run_built(&workspace, "ds-bootstrap")
            .status()
            .context("could not run ds-bootstrap through scripts/run-built")
    })?;
    if !status.success() {
        bail!("ds-bootstrap failed ({status}); its error is above");
    }

    let watched = watched_process()?;
    let root = testinfra::infra_root()
        .or_else(|_| Ok::<_, anyhow::Error>(workspace.join("target").join("infra")))?;
    let run = RunDir::create(&root, &format!("{run_id}-cluster"))?;
    // The supervisor first: whatever fails below, what was started stops when the run ends.
    run.supervise(watched)?;

    let target = match std::env::var_os(KUBECONFIG_VAR).filter(|v| !v.is_empty()) {
        Some(path) => {
            let kubeconfig = PathBuf::from(path);
            if !kubeconfig.is_file() {
                bail!(
                    "{KUBECONFIG_VAR}={} is not a file: give the kubeconfig of the cluster to test against, or unset it to use the standalone API server",
                    kubeconfig.display()
                );
            }
            let context = current_context(&kubeconfig)?;
            Target {
                kubeconfig,
                context: Some(context),
            }
        }
        None => start_standalone(&run, &env_file, &mut steps)?,
    };

    let crds = check::read_crds(&workspace.join("crds"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("creating a tokio runtime")?;
    let report = runtime.block_on(async {
        let client = target.client().await?;
        let at = Instant::now();
        let report = check::check(&target, &client).await?;
        steps.record("checks", at);
        let at = Instant::now();
        check::apply_crds(&target.describe(), &client, &crds).await?;
        steps.record("CRDs", at);
        let at = Instant::now();
        check::wait_established(
            &target.describe(),
            &client,
            &crds,
            check::ESTABLISHED_TIMEOUT,
        )
        .await?;
        steps.record("Established", at);
        Ok::<_, anyhow::Error>(report)
    })?;

    // The run's clean-up: whatever its processes did not delete, and the CRDs if asked.
    let me = std::env::current_exe().context("finding this program's path")?;
    let groups = crd_groups(&crds);
    let mut argv = cleanup_argv(&me, &target, &run_selector(&run_id));
    argv.extend(["--wait-secs".into(), CLEANUP_WAIT_SECS.to_string()]);
    for group in &groups {
        argv.extend(["--finalizer-group".into(), group.clone()]);
    }
    if std::env::var(CLEANUP_CRDS_VAR).is_ok_and(|v| v == "1") {
        for crd in &crds {
            argv.extend([
                "--crd".into(),
                crd.metadata.name.clone().unwrap_or_default(),
            ]);
        }
    }
    run.register_finalizer("10-namespaces", &argv)?;

    let mut exports = vec![
        (
            CLUSTER_KUBECONFIG_VAR,
            target.kubeconfig.display().to_string(),
        ),
        (CLUSTER_CLEANUP_VAR, me.display().to_string()),
        // The test processes' own clean-up removes the same groups' finalizers.
        (CLUSTER_FINALIZER_GROUPS_VAR, groups.join(",")),
    ];
    if let Some(context) = &target.context {
        exports.push((CLUSTER_CONTEXT_VAR, context.clone()));
    }
    append_exports(&env_file, &exports)?;
    eprintln!(
        "cluster-bootstrap: {} is Kubernetes {}, {} CRDs Established (run label {RUN_LABEL}={}; logs: {}/logs)",
        target.describe(),
        report.version,
        crds.len(),
        label_value(&run_id),
        run.path().display()
    );
    // Where the start-up time goes, one figure per step (see README "Cluster mode").
    eprintln!(
        "cluster-bootstrap: ready in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        steps
    );
    Ok(())
}

/// The API groups of `crds`, sorted and once each: the project's controllers' finalizers are
/// named after them (`kubernaut.ai/finalizer`).
pub fn crd_groups(
    crds: &[k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition],
) -> Vec<String> {
    let groups: std::collections::BTreeSet<String> =
        crds.iter().map(|c| c.spec.group.clone()).collect();
    groups.into_iter().collect()
}

/// The selector of every namespace of run `run_id`.
pub fn run_selector(run_id: &str) -> String {
    format!("{RUN_LABEL}={}", label_value(run_id))
}

/// The clean-up command line for `selector` on `target`.
pub fn cleanup_argv(program: &Path, target: &Target, selector: &str) -> Vec<String> {
    let mut argv = vec![
        program.display().to_string(),
        "cleanup".into(),
        "--kubeconfig".into(),
        target.kubeconfig.display().to_string(),
        "--selector".into(),
        selector.into(),
    ];
    if let Some(context) = &target.context {
        argv.extend(["--context".into(), context.clone()]);
    }
    argv
}

/// A run id as a label value, exactly as the fixture writes it: lowercase alphanumerics and
/// `-`, at most 63 characters, alphanumeric at both ends.
pub fn label_value(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_owned()
}

/// The kubeconfig's current context, resolved once so that every test process uses the same
/// one even if the file changes during the run.
fn current_context(kubeconfig: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(kubeconfig)
        .with_context(|| format!("reading {KUBECONFIG_VAR}={}", kubeconfig.display()))?;
    let parsed = kube::config::Kubeconfig::from_yaml(&text).with_context(|| {
        format!(
            "{KUBECONFIG_VAR}={} is not a kubeconfig",
            kubeconfig.display()
        )
    })?;
    parsed.current_context.filter(|c| !c.is_empty()).with_context(|| {
        format!(
            "{KUBECONFIG_VAR}={} has no current-context: set one (`kubectl config use-context NAME --kubeconfig {}`)",
            kubeconfig.display(),
            kubeconfig.display()
        )
    })
}

/// Starts the project's standalone API server (garbage collection and namespace deletion on)
/// as a daemon of the run, signed by the run's CA, and returns its kubeconfig.
fn start_standalone(run: &RunDir, env_file: &Path, steps: &mut Steps) -> anyhow::Result<Target> {
    let exported = std::fs::read_to_string(env_file)
        .with_context(|| format!("reading {}", env_file.display()))?;
    let get = |key: &str| {
        exported
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(str::to_owned)
            .with_context(|| format!("ds-bootstrap exported no {key}"))
    };
    let (ca_cert, ca_key) = (
        get(testinfra::TEST_CA_CERT_FILE)?,
        get(testinfra::TEST_CA_KEY_FILE)?,
    );
    // This program serves it (`serve-apiserver`): no build of its own here.
    let program = std::env::current_exe().context("finding this program's path")?;
    let at = Instant::now();
    let kubeconfig = run.path().join("cluster-kubeconfig.yaml");
    let out_path = run.path().join("logs").join("apiserver.out");
    let log = run.log_path("apiserver");
    let out = std::fs::File::create(&out_path)
        .with_context(|| format!("creating {}", out_path.display()))?;
    let err = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(&program);
    cmd.args([
        "serve-apiserver".to_owned(),
        "--kubeconfig".to_owned(),
        kubeconfig.display().to_string(),
        "--ca-cert".to_owned(),
        ca_cert,
        "--ca-key".to_owned(),
        ca_key,
    ])
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err);
    // Own process group: Ctrl-C aimed at the test run must not reach the server before the
    // supervisor has run the clean-up against it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    run.register(
        ProcId::of(pid).unwrap_or(ProcId { pid, start_time: 0 }),
        Signal::SIGTERM,
        "apiserver",
    )?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("polling apiserver")? {
            bail!(
                "the standalone apiserver exited during start-up ({status}); see {}",
                log.display()
            );
        }
        if first_line(&out_path).is_some() && kubeconfig.exists() {
            break;
        }
        if start.elapsed() > READY_TIMEOUT {
            bail!(
                "the standalone apiserver was not ready after {READY_TIMEOUT:?}; see {}",
                log.display()
            );
        }
        std::thread::sleep(READY_POLL);
    }
    steps.record("apiserver", at);
    Ok(Target {
        kubeconfig,
        context: None,
    })
}

/// The duration of each step of the start-up, in order, for the ready line.
#[derive(Default)]
struct Steps(Vec<(&'static str, Duration)>);

impl Steps {
    /// Runs `f` as step `name`.
    fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let at = Instant::now();
        let out = f();
        self.record(name, at);
        out
    }

    /// Records step `name` as having started `at`.
    fn record(&mut self, name: &'static str, at: Instant) {
        self.0.push((name, at.elapsed()));
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, took)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name} {:.2} s", took.as_secs_f64())?;
        }
        Ok(())
    }
}

/// The process whose exit ends the run (see ds-bootstrap's `nextest` module).
fn watched_process() -> anyhow::Result<ProcId> {
    if let Ok(pid) = std::env::var(WATCH_PID_VAR) {
        let pid: i32 = pid
            .trim()
            .parse()
            .with_context(|| format!("{WATCH_PID_VAR}={pid:?} is not a process id"))?;
        return ProcId::of(pid).with_context(|| format!("{WATCH_PID_VAR}={pid}: no such process"));
    }
    let me = ProcId::current().pid;
    testinfra::process::find_ancestor(me, NEXTEST_COMM).with_context(|| {
        format!("no cargo-nextest process among the ancestors of pid {me}: {HOW_TO_RUN} (or set {WATCH_PID_VAR})")
    })
}

fn append_exports(env_file: &Path, exports: &[(&str, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (k, v) in exports {
        text.push_str(&format!("{k}={v}\n"));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(env_file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| {
            format!(
                "writing the exported variables to NEXTEST_ENV={}",
                env_file.display()
            )
        })
}

/// The first complete line of a file.
fn first_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_once('\n')
        .map(|(line, _)| line.trim().to_owned())
        .filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_the_names_and_labels_the_fixture_reads() {
        assert_eq!(CLUSTER_KUBECONFIG_VAR, fixtures::CLUSTER_KUBECONFIG_VAR);
        assert_eq!(CLUSTER_CONTEXT_VAR, fixtures::CLUSTER_CONTEXT_VAR);
        assert_eq!(CLUSTER_CLEANUP_VAR, fixtures::CLUSTER_CLEANUP_VAR);
        assert_eq!(
            CLUSTER_FINALIZER_GROUPS_VAR,
            fixtures::CLUSTER_FINALIZER_GROUPS_VAR
        );
        assert_eq!(RUN_LABEL, fixtures::RUN_LABEL);
    }

    #[test]
    fn run_ids_become_label_values() {
        assert_eq!(
            run_selector("0B5E9A3C-1234-4d6e-9f00-aaaaaaaaaaaa"),
            "fixtures.kubernaut.ai/run=0b5e9a3c-1234-4d6e-9f00-aaaaaaaaaaaa"
        );
        assert_eq!(label_value("-x_y-"), "x-y");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn outside_nextest_it_says_how_to_run_it() {
        if std::env::var_os("NEXTEST_ENV").is_none() {
            let err = run().unwrap_err().to_string();
            assert!(err.contains("--profile integration-cluster"), "{err}");
        }
    }
}
