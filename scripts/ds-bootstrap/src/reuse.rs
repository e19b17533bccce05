//! `DS_REUSE=1`: keeps the infrastructure warm after the run and hands it to the next run
//! whose configuration hash matches, so an edit-test cycle skips the cold start.
//!
//! The warm run lives in `target/infra/reuse-<hash>/` under a supervisor that stops it when
//! its lease expires (`DS_REUSE_TTL` seconds after the last run that used it). The hash covers
//! everything that would make the old infrastructure wrong for this run: this binary (it
//! contains DataStorage and its migrations), the provider and its URLs, the server binaries,
//! and `DS_REUSE_KEY` (to keep separate warm sets apart, e.g. for tests). Runs reusing one set
//! share its database: tests must not assume an empty one (they already may not, running in
//! parallel).

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use testinfra::{DS_URL, Provider, RunDir};

use crate::setup;

/// Set to 1 to keep the infrastructure warm and reuse it.
pub const REUSE_VAR: &str = "DS_REUSE";
/// Lease length in seconds.
pub const TTL_VAR: &str = "DS_REUSE_TTL";
/// Extra input to the configuration hash.
pub const KEY_VAR: &str = "DS_REUSE_KEY";

/// Long enough to span an edit-compile-test cycle, short enough that a forgotten warm set does
/// not hold memory and ports for the rest of the day.
const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);

/// The exported variables of a warm run, as `KEY=VALUE` lines.
const EXPORTS_FILE: &str = "exports";

/// Whether `DS_REUSE` asks for reuse.
pub fn requested() -> anyhow::Result<bool> {
    match std::env::var(REUSE_VAR).as_deref() {
        Err(_) | Ok("") | Ok("0") => Ok(false),
        Ok("1") => Ok(true),
        Ok(other) => bail!(
            "{REUSE_VAR}={other:?} is not valid: use 1 to keep the infrastructure warm for the next run, 0 or unset not to"
        ),
    }
}

fn ttl() -> anyhow::Result<Duration> {
    match std::env::var(TTL_VAR) {
        Err(_) => Ok(DEFAULT_TTL),
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .with_context(|| format!("{TTL_VAR}={s:?} is not a number of seconds")),
    }
}

/// Reuses the warm set matching this configuration, or starts one; returns the exports.
pub fn run(root: &Path, provider: &Provider) -> anyhow::Result<Vec<(&'static str, String)>> {
    let ttl = ttl()?;
    let key = format!("reuse-{:016x}", config_hash(provider)?);
    std::fs::create_dir_all(root)
        .with_context(|| format!("could not create {}", root.display()))?;
    // One run at a time per warm set: a second concurrent run waits, then reuses.
    let lock_path = root.join(format!("{key}.lock"));
    let lock = File::create(&lock_path)
        .with_context(|| format!("could not create {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("could not lock {}", lock_path.display()))?;

    let dir = root.join(&key);
    if let Some(exports) = warm(&dir) {
        testinfra::extend_lease(&dir, ttl)?;
        eprintln!(
            "ds-bootstrap: reusing warm infrastructure in {}",
            dir.display()
        );
        return Ok(exports);
    }
    let run = RunDir::create(root, &key)?;
    run.supervise_lease(ttl)?;
    let exports = setup::start_all(&run, provider)?;
    let text = crate::nextest::render_env(&exports)?;
    let path = run.path().join(EXPORTS_FILE);
    std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    Ok(exports)
}

/// How long `stop-warm` waits for the warm set's supervisor to finish: it notices the lease
/// within a second and gives daemons 5 s before SIGKILL.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// Ends the warm set this configuration would reuse (`ds-bootstrap stop-warm`) and waits
/// until its processes are gone.
pub fn stop(root: &Path, provider: &Provider) -> anyhow::Result<()> {
    let key = format!("reuse-{:016x}", config_hash(provider)?);
    let dir = root.join(&key);
    let supervisor = std::fs::read_to_string(dir.join("supervisor"))
        .ok()
        .and_then(|t| testinfra::ProcId::parse(&t));
    let Some(supervisor) = supervisor.filter(|s| s.is_alive()) else {
        eprintln!(
            "ds-bootstrap: no warm infrastructure for this configuration ({})",
            dir.display()
        );
        return Ok(());
    };
    testinfra::extend_lease(&dir, Duration::ZERO)?;
    if !supervisor.wait_gone(STOP_DEADLINE) {
        bail!(
            "the warm infrastructure in {} did not stop within {STOP_DEADLINE:?}; see {}/logs/supervisor.log",
            dir.display(),
            dir.display()
        );
    }
    eprintln!(
        "ds-bootstrap: stopped the warm infrastructure in {}",
        dir.display()
    );
    Ok(())
}

/// The exports of a warm set that still answers, if any.
fn warm(dir: &Path) -> Option<Vec<(&'static str, String)>> {
    let supervisor =
        testinfra::ProcId::parse(&std::fs::read_to_string(dir.join("supervisor")).ok()?)?;
    if !supervisor.is_alive() || dir.join("finished").exists() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(EXPORTS_FILE)).ok()?;
    let mut exports = Vec::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=')?;
        let key = [
            DS_URL,
            testinfra::DS_TOKEN_FILE,
            testinfra::DS_POSTGRES_URL_FILE,
            testinfra::DS_REDIS_URL_FILE,
            testinfra::DS_RUN_DIR,
            testinfra::TEST_CA_CERT_FILE,
            testinfra::TEST_CA_KEY_FILE,
            hapi_mock::HAPI_URL_VAR,
        ]
        .into_iter()
        .find(|known| *known == k)?;
        exports.push((key, v.to_string()));
    }
    let url = exports.iter().find(|(k, _)| *k == DS_URL)?.1.clone();
    let addr = url.strip_prefix("http://")?.parse().ok()?;
    // /readyz checks PostgreSQL and Redis too.
    setup::readyz(addr).then_some(exports)
}

fn config_hash(provider: &Provider) -> anyhow::Result<u64> {
    let mut h = DefaultHasher::new();
    let exe = std::env::current_exe().context("could not find the ds-bootstrap executable")?;
    let meta =
        std::fs::metadata(&exe).with_context(|| format!("could not read {}", exe.display()))?;
    exe.hash(&mut h);
    meta.len().hash(&mut h);
    meta.modified().ok().hash(&mut h);
    format!("{provider:?}").hash(&mut h);
    if *provider == Provider::Local {
        testinfra::binaries::postgres()?.postgres.hash(&mut h);
        testinfra::binaries::redis()?.hash(&mut h);
    }
    std::env::var(KEY_VAR).unwrap_or_default().hash(&mut h);
    Ok(h.finish())
}
