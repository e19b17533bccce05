//! Owns a run directory, `target/infra/<run id>/`: the logs, data and 0600 secret files of one
//! test run, the list of daemons its supervisor must stop, and the removal of leftovers that a
//! dead earlier run could not clean up.
//!
//! Layout:
//! ```text
//! <run>/supervisor   "<pid> <start time>" of the supervisor (present = the run is supervised)
//! <run>/pids         "<pid> <start time> <signal> <name>" per daemon, appended as they start
//! <run>/containers   docker container ids (docker provider)
//! <run>/cleanup      extra directories to remove at the end, one per line
//! <run>/finalizers/  one `sh` script per clean-up command (e.g. deleting a run's namespaces on
//!                    a shared cluster), run by the supervisor BEFORE it stops the daemons
//! <run>/finished     written by the supervisor when it has cleaned up
//! <run>/lease        for runs kept warm: when to stop, in seconds since the epoch
//! <run>/logs/        one log file per daemon
//! <run>/data/        daemon data directories
//! <run>/secrets/     0600 files with passwords, tokens, URLs that contain passwords
//! ```

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;

use crate::error::{Error, Result};
use crate::process::ProcId;
use crate::secret;
use crate::supervisor;

/// File holding the supervisor's identity.
pub(crate) const SUPERVISOR_FILE: &str = "supervisor";
const PIDS_FILE: &str = "pids";
const CONTAINERS_FILE: &str = "containers";
const CLEANUP_FILE: &str = "cleanup";
const FINISHED_FILE: &str = "finished";
/// Directory of finalizer scripts (see [`RunDir::register_finalizer`]).
pub(crate) const FINALIZERS_DIR: &str = "finalizers";

/// How long one finalizer may run, here and in the supervisor script (`timeout 60`): a
/// clean-up call to an unreachable cluster must not keep the run's daemons alive forever. A
/// namespace deletion on a healthy cluster answers in milliseconds.
pub const FINALIZER_TIMEOUT: Duration = Duration::from_secs(60);

/// A run directory that has no supervisor yet is being created right now by a concurrent run
/// (it starts its supervisor before any daemon); only older ones are abandoned.
const UNSUPERVISED_GRACE: Duration = Duration::from_secs(600);

/// How long a leftover daemon gets after its polite signal before SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(5);

/// Only the owner may enter the secrets directory.
const SECRETS_DIR_MODE: u32 = 0o700;

/// One run's directory; see the module docs for its layout.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    key: String,
}

/// `<cargo target dir>/infra`, the parent of every run directory (see [`target_dir`]).
pub fn infra_root() -> Result<PathBuf> {
    Ok(target_dir()?.join(INFRA_DIR))
}

/// The cargo target directory of this run: `CARGO_TARGET_DIR` when set (a relative one taken from
/// the current directory), else the target directory the running executable was built into
/// (`target/<profile>/x`, `target/<profile>/deps/x`, `target/<triple>/<profile>/...`), else
/// `<workspace>/target` of the nearest ancestor of the current directory holding a `Cargo.lock`.
///
/// The last case is a doc test: rustdoc builds it into a temporary directory and runs it from its
/// crate's directory, so neither the executable's place nor a relative `target` names the
/// workspace's target (a relative one made `fixtures/target` appear beside the sources).
pub fn target_dir() -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::NoTargetDir {
        reason: format!("current directory unknown: {e}"),
    })?;
    let exe = std::env::current_exe().ok();
    resolve_target_dir(
        std::env::var_os("CARGO_TARGET_DIR"),
        exe.as_deref(),
        &cwd,
    )
    .ok_or_else(|| Error::NoTargetDir {
        reason: format!(
            "{} is not inside a cargo target directory and no ancestor of {} holds a Cargo.lock",
            exe.as_deref().unwrap_or(Path::new("the executable")).display(),
            cwd.display()
        ),
    })
}

/// The file cargo writes at the top of every target directory (marks it as a cache for backup
/// tools); it tells a target directory from any other ancestor of the executable.
const TARGET_DIR_TAG: &str = "CACHEDIR.TAG";
/// How many levels above the executable's directory the target directory can be: `deps/` or
/// `examples/`, the profile, and a `--target` triple.
const TARGET_DIR_MAX_DEPTH: usize = 3;

/// [`target_dir`] from its inputs (`env`: `CARGO_TARGET_DIR`; `exe`: the running executable).
fn resolve_target_dir(env: Option<OsString>, exe: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    if let Some(dir) = env.filter(|d| !d.is_empty()) {
        return Some(cwd.join(dir));
    }
    if let Some(exe_dir) = exe.and_then(Path::parent) {
        let found = exe_dir
            .ancestors()
            .skip(1)
            .take(TARGET_DIR_MAX_DEPTH)
            .find(|d| d.join(TARGET_DIR_TAG).is_file());
        if let Some(target) = found {
            return Some(target.to_path_buf());
        }
    }
    cwd.ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .map(|ws| ws.join("target"))
}

/// The directory under the cargo target directory that holds the run directories.
const INFRA_DIR: &str = "infra";

/// Keeps a run id usable as one path component.
fn sanitize(run_id: &str) -> String {
    let key: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "run".into() } else { key }
}

impl RunDir {
    /// Creates `<infra_root>/<run id>/` (fresh: an existing directory of the same id is removed
    /// after stopping whatever it still runs).
    pub fn create(infra_root: &Path, run_id: &str) -> Result<RunDir> {
        let key = sanitize(run_id);
        let path = infra_root.join(&key);
        if path.exists() {
            reap(&path);
            fs::remove_dir_all(&path).map_err(Error::io("run directory", "remove stale", &path))?;
        }
        for sub in ["logs", "data"] {
            let dir = path.join(sub);
            fs::create_dir_all(&dir).map_err(Error::io("run directory", "create", &dir))?;
        }
        let secrets = path.join("secrets");
        fs::DirBuilder::new()
            .mode(SECRETS_DIR_MODE)
            .create(&secrets)
            .map_err(Error::io("run directory", "create", &secrets))?;
        Ok(RunDir { path, key })
    }

    /// A run directory for the calling process alone (`<infra_root>/proc-<pid>-<random>`),
    /// supervised so that every daemon started in it stops when this process exits, however
    /// it exits. This is what test code uses when no setup script started the infrastructure.
    pub fn for_process() -> Result<RunDir> {
        let root = infra_root()?;
        remove_leftovers(&root);
        let suffix: String = secret::random_secret()
            .chars()
            .take(PROCESS_KEY_RANDOM)
            .collect();
        let run = RunDir::create(&root, &format!("proc-{}-{suffix}", std::process::id()))?;
        run.supervise(ProcId::current())?;
        Ok(run)
    }

    /// Starts the supervisor that stops this run's daemons when `watched` exits.
    pub fn supervise(&self, watched: ProcId) -> Result<ProcId> {
        supervisor::spawn(self, supervisor::Until::Exit(watched))
    }

    /// Starts a supervisor that keeps this run's daemons until its lease expires (see
    /// [`RunDir::extend_lease`]): infrastructure kept warm for later runs.
    pub fn supervise_lease(&self, ttl: Duration) -> Result<ProcId> {
        self.extend_lease(ttl)?;
        supervisor::spawn(self, supervisor::Until::Lease)
    }

    /// Moves the lease's end to `ttl` from now (zero ends it within a second).
    pub fn extend_lease(&self, ttl: Duration) -> Result<()> {
        extend_lease(&self.path, ttl)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sanitized run id, unique among concurrent runs; used to name things.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `logs/<name>.log`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path.join("logs").join(format!("{name}.log"))
    }

    /// `data/<name>` (not created).
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.path.join("data").join(name)
    }

    /// Writes a 0600 `secrets/<name>` file and returns its path.
    pub fn write_secret(&self, name: &str, value: &str) -> Result<PathBuf> {
        let path = self.path.join("secrets").join(name);
        secret::write_secret("run directory", &path, value)?;
        Ok(path)
    }

    /// Records a daemon for the supervisor: `signal` asks it to stop (SIGKILL follows after a
    /// grace period).
    pub fn register(&self, id: ProcId, signal: Signal, name: &str) -> Result<()> {
        let name: String = name
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        let line = format!(
            "{} {} {}\n",
            id.to_line(),
            signal.as_str().trim_start_matches("SIG"),
            name
        );
        self.append(PIDS_FILE, &line)
    }

    /// Records a container for the supervisor to remove.
    pub fn register_container(&self, id: &str) -> Result<()> {
        self.append(CONTAINERS_FILE, &format!("{id}\n"))
    }

    /// Records an extra directory (outside the run directory) for the supervisor to remove.
    pub fn register_cleanup(&self, dir: &Path) -> Result<()> {
        self.append(CLEANUP_FILE, &format!("{}\n", dir.display()))
    }

    /// Records a command for the supervisor to run when the watched process exits, before it
    /// stops the run's daemons (so a daemon the command talks to, such as the run's own API
    /// server, is still up). Finalizers run in name order, each for at most
    /// [`FINALIZER_TIMEOUT`], with their output in the supervisor's log; a failing one is
    /// logged and the rest still run. `name` must be unique within the run (a second
    /// registration under one name replaces the first).
    pub fn register_finalizer(&self, name: &str, argv: &[String]) -> Result<()> {
        if argv.is_empty() {
            return Err(Error::EmptyFinalizer {
                name: name.to_owned(),
            });
        }
        let dir = self.path.join(FINALIZERS_DIR);
        fs::create_dir_all(&dir).map_err(Error::io("run directory", "create", &dir))?;
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(file);
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        let line: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
        // Write then rename: the supervisor never runs a half-written script.
        fs::write(&tmp, format!("exec {}\n", line.join(" ")))
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(Error::io("run directory", "write finalizer", &path))
    }

    /// The daemons registered so far (whether or not they still run).
    pub fn registered(&self) -> Vec<ProcId> {
        registered(&self.path)
    }

    /// The supervisor's identity, if one was started.
    pub fn supervisor(&self) -> Option<ProcId> {
        read_id(&self.path.join(SUPERVISOR_FILE))
    }

    fn append(&self, file: &str, line: &str) -> Result<()> {
        let path = self.path.join(file);
        // One small O_APPEND write per line: concurrent registrations never interleave.
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(Error::io("run directory", "append to", &path))
    }
}

/// Moves the lease of the run directory at `run` (see [`RunDir::extend_lease`]).
pub fn extend_lease(run: &Path, ttl: Duration) -> Result<()> {
    let until = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        + ttl;
    let path = run.join(LEASE_FILE);
    let tmp = run.join("lease.tmp");
    // Write then rename: the supervisor never reads a half-written number.
    fs::write(&tmp, until.as_secs().to_string())
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(Error::io("run directory", "write lease file", &path))
}

/// The lease file of a run kept warm for reuse: its end in seconds since the epoch.
const LEASE_FILE: &str = "lease";

/// Random characters in a per-process run key: several run directories per process differ.
const PROCESS_KEY_RANDOM: usize = 8;

fn read_id(path: &Path) -> Option<ProcId> {
    ProcId::parse(&fs::read_to_string(path).ok()?)
}

fn registered(run: &Path) -> Vec<ProcId> {
    fs::read_to_string(run.join(PIDS_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(ProcId::parse)
        .collect()
}

fn signal_of(line: &str) -> Signal {
    line.split_whitespace()
        .nth(2)
        .and_then(|s| format!("SIG{s}").parse().ok())
        .unwrap_or(Signal::SIGTERM)
}

/// Stops whatever a run directory still runs (without a supervisor to do it) and removes what
/// its supervisor would have removed.
fn reap(run: &Path) {
    // A supervisor still running would act on this directory's next occupant.
    if let Some(sup) = read_id(&run.join(SUPERVISOR_FILE)) {
        sup.terminate(Signal::SIGKILL, LEFTOVER_GRACE);
    }
    // Before the daemons stop, as the supervisor does: a finalizer may need one of them.
    if !run.join(FINISHED_FILE).exists() {
        run_finalizers(run);
    }
    let pids = fs::read_to_string(run.join(PIDS_FILE)).unwrap_or_default();
    let live: Vec<(ProcId, Signal)> = pids
        .lines()
        .filter_map(|l| Some((ProcId::parse(l)?, signal_of(l))))
        .filter(|(id, _)| id.is_alive())
        .collect();
    for (id, signal) in &live {
        id.signal(*signal);
    }
    for (id, _) in &live {
        if !id.wait_gone(LEFTOVER_GRACE) {
            id.terminate(Signal::SIGKILL, LEFTOVER_GRACE);
        }
    }
    for id in fs::read_to_string(run.join(CONTAINERS_FILE))
        .unwrap_or_default()
        .lines()
    {
        // Best effort: without docker there are no containers to remove either.
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", id.trim()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    for dir in fs::read_to_string(run.join(CLEANUP_FILE))
        .unwrap_or_default()
        .lines()
    {
        let _ = fs::remove_dir_all(dir);
    }
    let _ = fs::remove_dir_all(run.join("data"));
    let _ = fs::remove_dir_all(run.join("secrets"));
    let _ = fs::write(run.join(FINISHED_FILE), "");
}

/// `arg` quoted for `sh`: inside single quotes nothing is special but the quote itself.
fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Runs a run's finalizers (see [`RunDir::register_finalizer`]) in name order, each stopped
/// after [`FINALIZER_TIMEOUT`]; for a run whose supervisor died before it could.
fn run_finalizers(run: &Path) {
    let Ok(entries) = fs::read_dir(run.join(FINALIZERS_DIR)) else {
        return;
    };
    let mut scripts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    scripts.sort();
    for script in scripts {
        let Ok(mut child) = std::process::Command::new("/bin/sh")
            .arg(&script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            continue;
        };
        let started = std::time::Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if started.elapsed() > FINALIZER_TIMEOUT {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(FINALIZER_POLL);
        }
        let _ = child.wait();
    }
}

/// How often a leftover run's finalizer is checked for its exit.
const FINALIZER_POLL: Duration = Duration::from_millis(20);

/// Whether the run directory `run` has a supervisor that still runs.
pub(crate) fn supervisor_alive(run: &Path) -> bool {
    read_id(&run.join(SUPERVISOR_FILE)).is_some_and(|sup| sup.is_alive())
}

/// Per-process run directories (plain `cargo test`, tests with private servers) are named
/// `proc-<pid>-<random>`; they are pruned apart from the runs of setup scripts, so that a
/// `cargo test` of the workspace, which makes dozens, never evicts the last nextest runs' logs.
const PROCESS_RUN_PREFIX: &str = "proc-";

/// Cleans up after dead earlier runs under `infra_root`: a run whose supervisor is gone but
/// whose daemons still run (the supervisor was killed too, or the machine slept) has them
/// stopped and its data removed; of the finished runs only the newest
/// [`prune::keep_runs`](crate::prune::keep_runs) keep their directories (logs), counted apart
/// for per-process runs and for the runs of setup scripts; the fixtures' directories of
/// finished runs next to `infra_root` are pruned the same way
/// ([`prune_fixture_runs`](crate::prune::prune_fixture_runs)). Runs with a live supervisor
/// belong to someone else running now and are left alone. Returns the run directories it
/// acted on.
pub fn remove_leftovers(infra_root: &Path) -> Vec<PathBuf> {
    let keep = crate::prune::keep_runs_or_default();
    let mut acted = reap_dead_runs(infra_root, keep);
    // Only in the layout this crate makes (`<target>/infra`): a root elsewhere (a test's scratch
    // directory) says nothing about its parent.
    if infra_root.file_name().is_some_and(|n| n == INFRA_DIR)
        && let Some(target) = infra_root.parent()
    {
        acted.extend(crate::prune::prune_fixture_runs(target, keep));
    }
    acted
}

fn reap_dead_runs(infra_root: &Path, keep: usize) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(infra_root) else {
        return Vec::new();
    };
    let mut acted = Vec::new();
    // Finished runs, by kind (per-process or not), with when they finished.
    let mut finished: [Vec<(SystemTime, PathBuf)>; 2] = [Vec::new(), Vec::new()];
    for entry in entries.flatten() {
        let run = entry.path();
        if !run.is_dir() {
            continue;
        }
        match read_id(&run.join(SUPERVISOR_FILE)) {
            Some(sup) if sup.is_alive() => continue,
            None if crate::prune::age(&run) < UNSUPERVISED_GRACE => continue,
            _ => {}
        }
        // A finished run normally has nothing left running, except daemons registered after its
        // supervisor finished (the watched process died during set-up).
        let live = registered(&run).iter().any(|p| p.is_alive());
        if run.join(FINISHED_FILE).exists() && !live {
            let when = run
                .join(FINISHED_FILE)
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let per_process = entry
                .file_name()
                .to_string_lossy()
                .starts_with(PROCESS_RUN_PREFIX);
            finished[usize::from(per_process)].push((when, run));
            continue;
        }
        tracing::info!(run = %run.display(), "cleaning up after a dead earlier run");
        reap(&run);
        acted.push(run);
    }
    for mut runs in finished {
        runs.sort_by_key(|run| std::cmp::Reverse(run.0));
        for (_, run) in runs.into_iter().skip(keep) {
            if crate::prune::age(&run.join(FINISHED_FILE)) >= crate::prune::RECENT
                && fs::remove_dir_all(&run).is_ok()
            {
                // A warm set's lock file sits next to its directory.
                let _ = fs::remove_file(run.with_extension("lock"));
                acted.push(run);
            }
        }
    }
    acted
}

/// Whether every ancestor of `path` lets other users through (o+x), i.e. whether a daemon
/// running as another user can reach it.
pub(crate) fn world_traversable(path: &Path) -> bool {
    path.ancestors().skip(1).all(|dir| {
        dir.metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory laid out like a workspace: `Cargo.lock`, `fixtures/`, and a target directory
    /// with cargo's tag and a test binary in `debug/deps/`.
    fn workspace() -> (tempfile::TempDir, PathBuf) {
        let ws = tempfile::tempdir().unwrap();
        fs::write(ws.path().join("Cargo.lock"), "").unwrap();
        fs::create_dir_all(ws.path().join("fixtures")).unwrap();
        fs::create_dir_all(ws.path().join("target/debug/deps")).unwrap();
        fs::write(ws.path().join("target").join(TARGET_DIR_TAG), "").unwrap();
        let target = ws.path().join("target");
        (ws, target)
    }

    #[test]
    fn a_test_binary_finds_the_target_directory_it_was_built_into() {
        let (ws, target) = workspace();
        let exe = target.join("debug/deps/suite-0123");
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve_target_dir(None, Some(&exe), elsewhere.path()),
            Some(target.clone())
        );
        let build_script_like = target.join("x86_64-unknown-linux-gnu/debug/deps/suite-0123");
        assert_eq!(
            resolve_target_dir(None, Some(&build_script_like), ws.path()),
            Some(target)
        );
    }

    #[test]
    fn a_doc_test_built_outside_the_target_finds_the_workspace_target() {
        // rustdoc builds a doc test into a temporary directory and runs it from its crate's
        // directory: the answer was that temporary directory's parent (or `fixtures/target`).
        let (ws, target) = workspace();
        let scratch = tempfile::tempdir().unwrap();
        let exe = scratch.path().join("rustdoctestXYZ/rust_out");
        assert_eq!(
            resolve_target_dir(None, Some(&exe), &ws.path().join("fixtures")),
            Some(target)
        );
    }

    #[test]
    fn cargo_target_dir_wins_and_a_relative_one_is_taken_from_the_current_directory() {
        let (ws, target) = workspace();
        let exe = target.join("debug/deps/suite-0123");
        assert_eq!(
            resolve_target_dir(Some("/elsewhere/t".into()), Some(&exe), ws.path()),
            Some(PathBuf::from("/elsewhere/t"))
        );
        assert_eq!(
            resolve_target_dir(Some("out".into()), Some(&exe), ws.path()),
            Some(ws.path().join("out"))
        );
    }

    #[test]
    fn no_target_and_no_workspace_is_none() {
        let scratch = tempfile::tempdir().unwrap();
        let exe = scratch.path().join("bin/tool");
        assert_eq!(resolve_target_dir(None, Some(&exe), scratch.path()), None);
    }

    #[test]
    fn run_ids_become_single_path_components() {
        assert_eq!(sanitize("a/b c"), "a_b_c");
        assert_eq!(sanitize("../.."), "_____");
        assert_eq!(sanitize(""), "run");
        assert_eq!(sanitize("0f3c-uuid_x"), "0f3c-uuid_x");
    }

    #[test]
    fn create_lays_out_the_directory_and_registers() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "r1").unwrap();
        assert!(run.path().join("logs").is_dir());
        assert_eq!(
            fs::metadata(run.path().join("secrets"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let me = ProcId::current();
        run.register(me, Signal::SIGINT, "my name").unwrap();
        assert_eq!(run.registered(), vec![me]);
        assert_eq!(
            signal_of(&fs::read_to_string(run.path().join(PIDS_FILE)).unwrap()),
            Signal::SIGINT
        );
    }

    #[test]
    fn leftovers_of_a_dead_run_are_stopped_and_live_runs_left_alone() {
        let root = tempfile::tempdir().unwrap();
        // A dead run: its supervisor is gone, a daemon still runs.
        let dead = RunDir::create(root.path(), "dead").unwrap();
        let mut daemon = std::process::Command::new("sleep")
            .arg("600")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let daemon_id = ProcId::of(daemon.id() as i32).unwrap();
        dead.register(daemon_id, Signal::SIGTERM, "sleep").unwrap();
        fs::write(
            dead.path().join(SUPERVISOR_FILE),
            ProcId {
                pid: daemon_id.pid,
                start_time: 1,
            }
            .to_line(),
        )
        .unwrap();
        // A live run: its "supervisor" is this test process.
        let live = RunDir::create(root.path(), "live").unwrap();
        fs::write(
            live.path().join(SUPERVISOR_FILE),
            ProcId::current().to_line(),
        )
        .unwrap();
        fs::create_dir_all(live.path().join("data/x")).unwrap();

        let acted = remove_leftovers(root.path());
        assert_eq!(acted, vec![dead.path().to_path_buf()]);
        // Reap the zombie so the identity check sees the process as gone.
        daemon.wait().unwrap();
        assert!(!daemon_id.is_alive());
        assert!(!dead.path().join("data").exists());
        assert!(live.path().join("data/x").exists());
    }

    /// A finished run (no supervisor, `finished` written `ago` before now).
    fn finished_run(root: &Path, name: &str, ago: Duration) -> PathBuf {
        let run = RunDir::create(root, name).unwrap();
        // Its supervisor is gone: this pid with another start time.
        let gone = ProcId {
            pid: ProcId::current().pid,
            start_time: 1,
        };
        fs::write(run.path().join(SUPERVISOR_FILE), gone.to_line()).unwrap();
        let file = run.path().join(FINISHED_FILE);
        fs::write(&file, "").unwrap();
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(SystemTime::now() - ago)
            .unwrap();
        run.path().to_path_buf()
    }

    #[test]
    fn only_the_newest_finished_runs_of_each_kind_are_kept() {
        const HOUR: Duration = Duration::from_secs(3600);
        let root = tempfile::tempdir().unwrap();
        let runs: Vec<PathBuf> = (1..=4)
            .map(|i| finished_run(root.path(), &format!("run-{i}"), HOUR * i))
            .collect();
        let procs: Vec<PathBuf> = (1..=3)
            .map(|i| finished_run(root.path(), &format!("proc-{i}-x"), HOUR * i))
            .collect();
        // Just finished: kept whatever the count (a test may still read its logs).
        let just_now = finished_run(root.path(), "proc-9-x", Duration::ZERO);
        fs::write(root.path().join("run-4.lock"), "").unwrap();

        let mut acted = reap_dead_runs(root.path(), 2);
        acted.sort();
        assert_eq!(
            acted,
            vec![
                procs[1].clone(),
                procs[2].clone(),
                runs[2].clone(),
                runs[3].clone()
            ]
        );
        assert!(runs[0].exists() && runs[1].exists() && procs[0].exists());
        assert!(just_now.exists());
        assert!(!root.path().join("run-4.lock").exists());
    }
}
