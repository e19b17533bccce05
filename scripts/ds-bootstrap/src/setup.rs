//! The setup script proper: leftovers of dead runs removed, a run directory keyed by
//! `NEXTEST_RUN_ID`, a supervisor watching nextest, PostgreSQL + Redis from the chosen
//! provider, DataStorage (and the HolmesGPT-API mock) as a daemon, readiness with deadlines,
//! and the exported variables.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::Signal;
use testinfra::{
    DS_POSTGRES_URL_FILE, DS_REDIS_URL_FILE, DS_RUN_DIR, DS_TOKEN_FILE, DS_URL, Infra, ProcId,
    Provider, RunDir,
};

use crate::{nextest, reuse};

/// Migrations and pool set-up take well under a second; the slack covers a machine loaded by
/// parallel builds.
const DATASTORAGE_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the daemon's readiness is probed.
const READY_POLL: Duration = Duration::from_millis(10);

/// A probe that does not answer within this is retried at the next poll.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Lines of the DataStorage log quoted in an error.
const TAIL_LINES: usize = 10;

/// The tests' temporary directory inside the run directory (see [`run_tmp`]).
const RUN_TMP_DIR: &str = "tmp";
/// The variable `std::env::temp_dir()` and `tempfile` read.
const TMPDIR: &str = "TMPDIR";

const HOW_TO_RUN: &str = "ds-bootstrap is a nextest setup script: run the integration tests with `cargo nextest run --profile integration` (or `scripts/test-integration`), which runs it and passes its variables to the tests";

pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let env_file = std::env::var_os("NEXTEST_ENV")
        .map(PathBuf::from)
        .with_context(|| format!("NEXTEST_ENV is not set: {HOW_TO_RUN}"))?;
    let run_id = std::env::var("NEXTEST_RUN_ID")
        .with_context(|| format!("NEXTEST_RUN_ID is not set: {HOW_TO_RUN}"))?;
    let provider = Provider::from_env()?;
    let root = testinfra::infra_root()?;
    testinfra::remove_leftovers(&root);

    if reuse::requested()? {
        let exports = reuse::run(&root, &provider)?;
        nextest::write_env(&env_file, &exports)?;
        report(&exports, started);
        return Ok(());
    }

    let watched = nextest::watched_process()?;
    let run = RunDir::create(&root, &run_id)?;
    // The supervisor first: whatever fails below, what was started stops when the run ends.
    run.supervise(watched)?;
    let started_all = start_all(&run, &provider);
    // nextest may have died while we started things: its supervisor then stopped what existed
    // (which may be why start-up failed) and finished before the rest existed. Clean up now
    // rather than leave it to the next run.
    if !watched.is_alive() {
        testinfra::remove_leftovers(&root);
        let what = format!(
            "the watched process (pid {}) exited during set-up; everything started was stopped again",
            watched.pid
        );
        return Err(match started_all {
            Ok(_) => anyhow::anyhow!(what),
            Err(e) => e.context(what),
        });
    }
    let mut exports = started_all?;
    exports.push(run_tmp(&run)?);
    nextest::write_env(&env_file, &exports)?;
    report(&exports, started);
    Ok(())
}

/// The directory exported as the tests' `TMPDIR`, inside the run directory and registered for
/// the supervisor to remove: what tests make with `tempfile` or `std::env::temp_dir()` goes with
/// the run however nextest ends (Ctrl-C and kill -9 included), where a killed test would leave it
/// in `/tmp`. Not for a warm set (`DS_REUSE`), whose run directory outlives the runs.
fn run_tmp(run: &RunDir) -> anyhow::Result<(&'static str, String)> {
    let tmp = run.path().join(RUN_TMP_DIR);
    std::fs::create_dir_all(&tmp)
        .with_context(|| format!("could not create the tests' TMPDIR {}", tmp.display()))?;
    run.register_cleanup(&tmp)?;
    Ok((TMPDIR, tmp.display().to_string()))
}

/// `ds-bootstrap stop-warm`.
pub fn stop_warm() -> anyhow::Result<()> {
    reuse::stop(&testinfra::infra_root()?, &Provider::from_env()?)
}

fn report(exports: &[(&'static str, String)], started: Instant) {
    let get = |k: &str| {
        exports
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("?")
    };
    eprintln!(
        "ds-bootstrap: DataStorage ready at {} (HolmesGPT-API mock at {}) after {} ms (logs: {}/logs)",
        get(DS_URL),
        get(hapi_mock::HAPI_URL_VAR),
        started.elapsed().as_millis(),
        get(DS_RUN_DIR)
    );
}

/// Starts PostgreSQL, Redis and DataStorage in `run` (already supervised) and returns the
/// variables to export.
pub fn start_all(run: &RunDir, provider: &Provider) -> anyhow::Result<Vec<(&'static str, String)>> {
    let infra = Infra::start(run, provider)?;
    let token_file = run.write_secret("datastorage-token", &testinfra::secret::random_secret())?;
    let pg_file = run.write_secret("postgres-url", infra.postgres_url())?;
    let redis_file = run.write_secret("redis-url", infra.redis_url())?;
    infra.detach();

    // One CA for the run: every test process's API servers are signed by it (key: 0600 file).
    let ca = testinfra::write_run_ca(run)?;

    let (addr, hapi_addr) = start_datastorage(run, &pg_file, &redis_file, &token_file)?;
    Ok(vec![
        (DS_URL, format!("http://{addr}")),
        (hapi_mock::HAPI_URL_VAR, format!("http://{hapi_addr}")),
        (DS_TOKEN_FILE, token_file.display().to_string()),
        (DS_POSTGRES_URL_FILE, pg_file.display().to_string()),
        (DS_REDIS_URL_FILE, redis_file.display().to_string()),
        (DS_RUN_DIR, run.path().display().to_string()),
        (testinfra::TEST_CA_CERT_FILE, ca.cert.display().to_string()),
        (testinfra::TEST_CA_KEY_FILE, ca.key.display().to_string()),
    ])
}

/// A link to this executable inside the run directory, which the DataStorage daemon runs from.
///
/// `cargo run` (how nextest starts this script) may rebuild and replace `target/debug/ds-bootstrap`
/// while a run is going, e.g. when a developer runs a second cargo command: starting the daemon
/// from that path then fails with "…/ds-bootstrap (deleted)". A hard link keeps this build's
/// inode for the whole run (same filesystem: both live under `target/`); a copy is the fallback.
fn run_local_exe(run: &RunDir) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()
        .context("could not find the ds-bootstrap executable to start DataStorage")?;
    let local = run.path().join("ds-bootstrap");
    if local.exists() {
        return Ok(local);
    }
    if std::fs::hard_link(&exe, &local).is_err() {
        // /proc/self/exe opens this build's file even after its path was replaced.
        std::fs::copy("/proc/self/exe", &local).with_context(|| {
            format!(
                "could not copy {} to {} to start DataStorage",
                exe.display(),
                local.display()
            )
        })?;
    }
    Ok(local)
}

/// Starts `ds-bootstrap datastorage ...` detached (own process group, stdio to its log),
/// registers it with the supervisor and waits until `/readyz` answers 200; returns the
/// addresses of DataStorage and of the HolmesGPT-API mock the same daemon serves.
fn start_datastorage(
    run: &RunDir,
    pg_file: &Path,
    redis_file: &Path,
    token_file: &Path,
) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let exe = run_local_exe(run)?;
    let log = run.log_path("datastorage");
    let addr_file = run.path().join("datastorage.addr");
    let hapi_addr_file = run.path().join("hapi-mock.addr");
    let out = std::fs::File::create(&log)
        .with_context(|| format!("DataStorage: could not create log file {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("DataStorage: could not open log file {}", log.display()))?;
    let mut cmd = Command::new(&exe);
    cmd.arg("datastorage")
        .arg("--listen=127.0.0.1:0")
        .arg("--postgres-url-file")
        .arg(pg_file)
        .arg("--redis-url-file")
        .arg(redis_file)
        .arg("--token-file")
        .arg(token_file)
        .arg("--addr-file")
        .arg(&addr_file)
        .arg("--hapi-addr-file")
        .arg(&hapi_addr_file)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // Own process group: Ctrl-C aimed at the test run must not reach the daemon before its
    // supervisor stops it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("DataStorage: could not start {}", exe.display()))?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let id = ProcId::of(pid).unwrap_or(ProcId { pid, start_time: 0 });
    run.register(id, Signal::SIGTERM, "datastorage")?;
    let addr = wait_ready(&mut child, &addr_file, &log)?;
    // The daemon writes the mock's address before DataStorage's: it is there now.
    let hapi = std::fs::read_to_string(&hapi_addr_file)
        .ok()
        .and_then(|a| a.trim().parse().ok())
        .with_context(|| {
            format!(
                "the daemon is ready but wrote no HolmesGPT-API mock address to {}; see {}{}",
                hapi_addr_file.display(),
                log.display(),
                tail(&log)
            )
        })?;
    Ok((addr, hapi))
}

fn wait_ready(child: &mut Child, addr_file: &Path, log: &Path) -> anyhow::Result<SocketAddr> {
    let start = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .context("DataStorage: could not poll the daemon")?
        {
            bail!(
                "DataStorage exited during start-up ({status}); see {}{}",
                log.display(),
                tail(log)
            );
        }
        if let Some(addr) = std::fs::read_to_string(addr_file)
            .ok()
            .and_then(|a| a.trim().parse().ok())
            && readyz(addr)
        {
            return Ok(addr);
        }
        if start.elapsed() > DATASTORAGE_READY_TIMEOUT {
            bail!(
                "DataStorage was not ready after {DATASTORAGE_READY_TIMEOUT:?} (/readyz never answered 200); see {}{}",
                log.display(),
                tail(log)
            );
        }
        std::thread::sleep(READY_POLL);
    }
}

/// `GET /readyz` over a plain connection: 200 means PostgreSQL and Redis answer too.
pub fn readyz(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = s.set_write_timeout(Some(PROBE_TIMEOUT));
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last lines:\n{tail}")
    }
}
