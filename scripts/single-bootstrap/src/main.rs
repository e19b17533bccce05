//! `single-bootstrap`: the setup script of the `integration-single` nextest profile — the
//! single-controller baseline (the seed's Pattern B), kept only to measure the per-process
//! design against.
//!
//! It runs `ds-bootstrap` (PostgreSQL, Redis, DataStorage; its variables land in the same
//! `$NEXTEST_ENV`), then starts ONE `apiserver` and ONE `kubernaut-manager` for the whole run as
//! daemons (own process group, stdio to log files under `target/infra/<run id>-single/logs/`),
//! registered with a testinfra supervisor that stops them when nextest exits, and exports the
//! fixture's shared-mode variables (paths and URLs, never secrets).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::Signal;
use testinfra::{ProcId, RunDir};

/// Both daemons start in milliseconds; the slack covers a machine loaded by parallel builds.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a daemon's readiness is probed.
const READY_POLL: Duration = Duration::from_millis(10);
/// The name (`/proc/<pid>/comm`) of nextest's process, whose exit ends the run.
const NEXTEST_COMM: &str = "cargo-nextest";
/// Overrides the process to watch (running the script by hand), as ds-bootstrap does.
const WATCH_PID_VAR: &str = "DS_BOOTSTRAP_WATCH_PID";

/// The WorkflowExecution settings of the suite in `controllers/tests/workflowexecution/env.rs`
/// (`config()`, main suite): the shared manager must behave as each process's own would.
const WFE_FLAGS: &[&str] = &[
    "--wfe-execution-namespace=kubernaut-workflows",
    "--wfe-cooldown-ms=300",
    "--wfe-phase-requeue-ms=10",
    "--wfe-error-backoff-base-ms=10",
    "--wfe-error-backoff-cap-ms=200",
];

/// The SignalProcessing settings of the main suite in `controllers/tests/signalprocessing/env.rs`
/// (`config()`; the policies are the shipped ones, compiled in).
const SP_FLAGS: &[&str] = &[
    "--sp-phase-requeue-ms=1",
    "--sp-error-backoff-base-ms=10",
    "--sp-error-backoff-cap-ms=200",
];

/// The AIAnalysis settings of the main suite in `controllers/tests/aianalysis/env.rs`
/// (`config()`); `--hapi-url` comes from ds-bootstrap's `HAPI_URL`.
const AIA_FLAGS: &[&str] = &[
    "--aianalysis-poll-interval-ms=20",
    "--aianalysis-retry-backoff-base-ms=10",
    "--aianalysis-retry-backoff-cap-ms=80",
    "--aianalysis-phase-requeue-ms=1",
    "--aianalysis-error-backoff-base-ms=10",
    "--aianalysis-error-backoff-cap-ms=200",
];

/// The variable ds-bootstrap exports the HolmesGPT-API mock's URL in (`hapi_mock::HAPI_URL_VAR`;
/// spelled out to keep the mock's HTTP stack out of this binary).
const HAPI_URL_VAR: &str = "HAPI_URL";

/// The fixture's shared-mode variables (`fixtures::SHARED_*_VAR`; a test checks they match).
const SHARED_KUBECONFIG_VAR: &str = "FIXTURES_SHARED_KUBECONFIG";
const SHARED_METRICS_URL_VAR: &str = "FIXTURES_SHARED_METRICS_URL";
const SHARED_SERVER_PID_VAR: &str = "FIXTURES_SHARED_SERVER_PID";
const SHARED_MANAGER_PID_VAR: &str = "FIXTURES_SHARED_MANAGER_PID";

const HOW_TO_RUN: &str = "single-bootstrap is a nextest setup script: run `cargo nextest run --profile integration-single`";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("single-bootstrap: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
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

    // The shared infrastructure first, exactly as the integration profile starts it.
    let status = testinfra::built::run_built(&workspace, "ds-bootstrap")
        .status()
        .context("could not run ds-bootstrap through scripts/run-built")?;
    if !status.success() {
        bail!("ds-bootstrap failed ({status}); its error is above");
    }
    let exported = std::fs::read_to_string(&env_file)
        .with_context(|| format!("reading {}", env_file.display()))?;
    let get = |key: &str| {
        exported
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(str::to_owned)
            .with_context(|| format!("ds-bootstrap exported no {key}"))
    };
    let (ds_url, ds_token_file) = (get(testinfra::DS_URL)?, get(testinfra::DS_TOKEN_FILE)?);
    let hapi_url = get(HAPI_URL_VAR)?;
    // The shared server is signed by the run's CA, like every per-process server of the run.
    let (ca_cert, ca_key) = (
        get(testinfra::TEST_CA_CERT_FILE)?,
        get(testinfra::TEST_CA_KEY_FILE)?,
    );

    let binaries = build(&workspace)?;
    let watched = watched_process()?;
    let root = testinfra::infra_root()
        .or_else(|_| Ok::<_, anyhow::Error>(workspace.join("target").join("infra")))?;
    let run = RunDir::create(&root, &format!("{run_id}-single"))?;
    // The supervisor first: whatever fails below, what was started stops when the run ends.
    run.supervise(watched)?;

    let kubeconfig = run.path().join("shared-kubeconfig.yaml");
    let crds = workspace.join("crds");
    let (mut server, server_log) = spawn(
        &run,
        "apiserver",
        &binaries.apiserver,
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--crds".into(),
            crds.display().to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--ca-cert".into(),
            ca_cert,
            "--ca-key".into(),
            ca_key,
        ],
    )?;
    let url = wait_for("apiserver", &mut server, &server_log.0, || {
        first_line(&server_log.0).filter(|_| kubeconfig.exists())
    })?;

    let metrics_addr_file = run.path().join("manager-metrics.addr");
    let mut args: Vec<String> = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--datastorage-url={ds_url}"),
        format!("--datastorage-token-file={ds_token_file}"),
        format!("--metrics-addr-file={}", metrics_addr_file.display()),
    ];
    args.extend(WFE_FLAGS.iter().map(|f| f.to_string()));
    args.push(format!("--hapi-url={hapi_url}"));
    args.extend(AIA_FLAGS.iter().map(|f| f.to_string()));
    args.extend(SP_FLAGS.iter().map(|f| f.to_string()));
    let (mut manager, manager_log) = spawn(&run, "kubernaut-manager", &binaries.manager, &args)?;
    let metrics_addr = wait_for("kubernaut-manager", &mut manager, &manager_log.1, || {
        std::fs::read_to_string(&metrics_addr_file)
            .ok()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
    })?;

    let exports = [
        (SHARED_KUBECONFIG_VAR, kubeconfig.display().to_string()),
        (
            SHARED_METRICS_URL_VAR,
            format!("http://{metrics_addr}/metrics"),
        ),
        (SHARED_SERVER_PID_VAR, server.id().to_string()),
        (SHARED_MANAGER_PID_VAR, manager.id().to_string()),
    ];
    let mut text = String::new();
    for (k, v) in &exports {
        text.push_str(&format!("{k}={v}\n"));
    }
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&env_file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| {
            format!(
                "writing the exported variables to NEXTEST_ENV={}",
                env_file.display()
            )
        })?;
    eprintln!(
        "single-bootstrap: shared API server {url} (pid {}) and kubernaut-manager (pid {}) ready after {} ms (logs: {}/logs)",
        server.id(),
        manager.id(),
        started.elapsed().as_millis(),
        run.path().display()
    );
    Ok(())
}

struct Binaries {
    apiserver: PathBuf,
    manager: PathBuf,
}

/// Both daemons' executables, built before nextest started (a setup script never compiles; see
/// scripts/run-built).
fn build(workspace: &Path) -> anyhow::Result<Binaries> {
    Ok(Binaries {
        apiserver: testinfra::built::built_binary(workspace, "apiserver", "apiserver")?,
        manager: testinfra::built::built_binary(workspace, "controllers", "kubernaut-manager")?,
    })
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
    testinfra::process::find_ancestor(me, NEXTEST_COMM)
        .with_context(|| format!("no cargo-nextest process among the ancestors of pid {me}: {HOW_TO_RUN} (or set {WATCH_PID_VAR})"))
}

/// Starts `program` detached (own process group, stdout and stderr to `logs/<name>.out` and
/// `.log`), registered with the run's supervisor (SIGTERM, then SIGKILL).
fn spawn(
    run: &RunDir,
    name: &str,
    program: &Path,
    args: &[String],
) -> anyhow::Result<(Child, (PathBuf, PathBuf))> {
    let out_path = run.path().join("logs").join(format!("{name}.out"));
    let log = run.log_path(name);
    let out = std::fs::File::create(&out_path)
        .with_context(|| format!("creating {}", out_path.display()))?;
    let err = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    // Own process group: Ctrl-C aimed at the test run must not reach the daemon before its
    // supervisor stops it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    run.register(
        ProcId::of(pid).unwrap_or(ProcId { pid, start_time: 0 }),
        Signal::SIGTERM,
        name,
    )?;
    Ok((child, (out_path, log)))
}

/// Polls `ready` until it yields, the daemon exits, or [`READY_TIMEOUT`] passes.
fn wait_for(
    name: &str,
    child: &mut Child,
    log: &Path,
    mut ready: impl FnMut() -> Option<String>,
) -> anyhow::Result<String> {
    let start = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("polling {name}"))?
        {
            bail!(
                "{name} exited during start-up ({status}); see {}",
                log.display()
            );
        }
        if let Some(value) = ready() {
            return Ok(value);
        }
        if start.elapsed() > READY_TIMEOUT {
            bail!(
                "{name} was not ready after {READY_TIMEOUT:?}; see {}",
                log.display()
            );
        }
        std::thread::sleep(READY_POLL);
    }
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
    fn exports_the_names_the_fixture_reads() {
        assert_eq!(SHARED_KUBECONFIG_VAR, fixtures::SHARED_KUBECONFIG_VAR);
        assert_eq!(SHARED_METRICS_URL_VAR, fixtures::SHARED_METRICS_URL_VAR);
        assert_eq!(SHARED_SERVER_PID_VAR, fixtures::SHARED_SERVER_PID_VAR);
        assert_eq!(SHARED_MANAGER_PID_VAR, fixtures::SHARED_MANAGER_PID_VAR);
    }

    #[test]
    fn first_line_waits_for_a_complete_line() {
        let dir =
            std::env::temp_dir().join(format!("single-bootstrap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        assert_eq!(first_line(&path), None);
        std::fs::write(&path, "http://127.0.0.1:1").unwrap();
        assert_eq!(
            first_line(&path),
            None,
            "a line without its newline may still be being written"
        );
        std::fs::write(&path, "http://127.0.0.1:1\nmore").unwrap();
        assert_eq!(first_line(&path).as_deref(), Some("http://127.0.0.1:1"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn outside_nextest_it_says_how_to_run_it() {
        if std::env::var_os("NEXTEST_ENV").is_none() {
            let err = run().unwrap_err().to_string();
            assert!(err.contains("--profile integration-single"), "{err}");
        }
    }
}
