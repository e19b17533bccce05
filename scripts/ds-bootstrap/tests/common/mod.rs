//! Runs the real `ds-bootstrap` binary the way nextest does — a fresh `$NEXTEST_ENV` file, a
//! unique `NEXTEST_RUN_ID` — with a stand-in process for nextest whose death ends the run.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testinfra::ProcId;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ds-bootstrap");

/// How long the run's processes may take to disappear after the watched process dies: the
/// supervisor polls every 0.2 s and gives daemons 5 s before SIGKILL; the rest is slack for a
/// loaded machine.
pub const GONE_DEADLINE: Duration = Duration::from_secs(20);

/// A stand-in for the nextest process; killed (-9) when dropped, which ends its run.
pub struct Watched {
    child: Child,
    pub id: ProcId,
}

impl Watched {
    pub fn new() -> Watched {
        Watched::spawn(Command::new("sleep").arg("600"))
    }

    pub fn spawn(cmd: &mut Command) -> Watched {
        // No inherited stdio: a stand-in holding the test's output pipes would mark it leaky.
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the watched stand-in");
        let id = ProcId::of(child.id() as i32).expect("watched process exists");
        Watched { child, id }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One run of the setup script.
#[derive(Debug)]
pub struct Boot {
    pub success: bool,
    pub stderr: String,
    pub env_text: String,
    pub env: BTreeMap<String, String>,
    pub elapsed: Duration,
}

impl Boot {
    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} not exported; stderr:\n{}", self.stderr))
    }

    pub fn run_dir(&self) -> PathBuf {
        PathBuf::from(self.var("DS_RUN_DIR"))
    }
}

/// A run id no other test or run uses.
pub fn run_id(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("test-{name}-{}-{nanos}", std::process::id())
}

/// The command nextest would run, with env set up; `watched` is supervised.
pub fn command(run_id: &str, watched: Option<&Watched>, env_file: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    configure(&mut cmd, run_id, watched, env_file);
    cmd
}

/// Sets up `cmd`'s environment as nextest would for the setup script.
pub fn configure(cmd: &mut Command, run_id: &str, watched: Option<&Watched>, env_file: &Path) {
    cmd.env("NEXTEST_ENV", env_file)
        .env("NEXTEST_RUN_ID", run_id)
        // Whatever the surrounding run exported must not leak into the run under test.
        .env_remove("DS_INFRA")
        .env_remove("DS_POSTGRES_URL")
        .env_remove("DS_REDIS_URL")
        .env_remove("DS_REUSE")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    match watched {
        Some(w) => cmd.env("DS_BOOTSTRAP_WATCH_PID", w.id.pid.to_string()),
        None => cmd.env_remove("DS_BOOTSTRAP_WATCH_PID"),
    };
}

/// Runs the script to completion.
pub fn run(mut cmd: Command, env_file: &Path) -> Boot {
    let start = Instant::now();
    let out = cmd.output().expect("run ds-bootstrap");
    let elapsed = start.elapsed();
    let env_text = std::fs::read_to_string(env_file).unwrap_or_default();
    let env = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Boot {
        success: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        env_text,
        env,
        elapsed,
    }
}

/// Bootstraps a run watched by `watched`.
pub fn bootstrap(name: &str, watched: &Watched) -> (tempfile::TempDir, Boot) {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("nextest-env");
    std::fs::write(&env_file, "").unwrap();
    let boot = run(command(&run_id(name), Some(watched), &env_file), &env_file);
    (dir, boot)
}

/// Every process of a run: the registered daemons, the supervisor, and PostgreSQL's children.
pub fn run_processes(run_dir: &Path) -> Vec<ProcId> {
    let mut ids: Vec<ProcId> = std::fs::read_to_string(run_dir.join("pids"))
        .unwrap_or_default()
        .lines()
        .filter_map(ProcId::parse)
        .collect();
    if let Some(sup) = std::fs::read_to_string(run_dir.join("supervisor"))
        .ok()
        .and_then(|t| ProcId::parse(&t))
    {
        ids.push(sup);
    }
    let children: Vec<ProcId> = ids
        .iter()
        .flat_map(|p| testinfra::process::children(p.pid))
        .filter_map(ProcId::of)
        .collect();
    ids.extend(children);
    ids
}

/// How many of `ids` still run.
pub fn alive(ids: &[ProcId]) -> usize {
    ids.iter().filter(|p| p.is_alive()).count()
}

/// Polls `cond` every 20 ms until it holds or `deadline` passes.
pub fn eventually(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
