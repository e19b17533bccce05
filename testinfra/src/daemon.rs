//! Starts one daemon process the way every daemon here must start — own process group, stdio
//! to its log file, registered with the run's supervisor — and waits for it to become ready,
//! watching for an early exit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::error::{Error, Result};
use crate::logs;
use crate::process::ProcId;
use crate::run_dir::RunDir;

/// How often readiness is probed: short, because start-up takes tens of milliseconds and cold
/// bootstrap time is measured.
const READY_POLL: Duration = Duration::from_millis(10);

/// A running daemon we started.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub child: Child,
    pub id: ProcId,
}

/// What to run.
pub(crate) struct Spec<'a> {
    pub component: &'static str,
    pub program: &'a Path,
    pub args: Vec<String>,
    pub log: PathBuf,
    /// Working directory: one the daemon's user can enter (the caller's may be private).
    pub dir: &'a Path,
    /// Run as this uid/gid (PostgreSQL refuses to run as root).
    pub user: Option<(u32, u32)>,
    pub stop_signal: Signal,
    pub name: String,
}

/// Spawns the daemon and registers it with the run's supervisor.
pub(crate) fn spawn(run: &RunDir, spec: &Spec<'_>) -> Result<Daemon> {
    let (out, err) = logs::stdio(spec.component, &spec.log)?;
    let mut cmd = Command::new(spec.program);
    cmd.args(&spec.args)
        .current_dir(spec.dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    {
        use std::os::unix::process::CommandExt;
        // Own process group: a Ctrl-C aimed at the test run must not reach the daemons before
        // the supervisor stops them in order.
        cmd.process_group(0);
        if let Some((uid, gid)) = spec.user {
            cmd.uid(uid).gid(gid);
        }
    }
    let child = cmd.spawn().map_err(|source| Error::Spawn {
        component: spec.component,
        program: spec.program.to_path_buf(),
        source,
    })?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let mut daemon = Daemon {
        id: ProcId::of(pid).unwrap_or(ProcId { pid, start_time: 0 }),
        child,
    };
    if let Err(e) = run.register(daemon.id, spec.stop_signal, &spec.name) {
        daemon.stop(spec.stop_signal, Duration::from_secs(1));
        return Err(e);
    }
    Ok(daemon)
}

impl Daemon {
    /// Polls `ready` until it says yes, the process exits, or `timeout` passes.
    pub fn wait_ready(
        &mut self,
        component: &'static str,
        log: &Path,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Exited {
                    component,
                    status: status.to_string(),
                    log: log.to_path_buf(),
                    tail: logs::tail(log),
                });
            }
            // The deadline is checked before the probe, so a budget that has run out fails even
            // if the server happens to answer now: the outcome depends on the budget alone, not
            // on how fast a loaded machine got here (a zero budget always fails).
            if start.elapsed() >= timeout {
                return Err(Error::NotReady {
                    component,
                    after: timeout,
                    log: log.to_path_buf(),
                    tail: logs::tail(log),
                });
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(READY_POLL);
        }
    }

    /// Whether the process still runs (it is reaped if it has exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Asks the daemon to stop with `signal`, SIGKILLs it after `grace`, and reaps it.
    pub fn stop(&mut self, signal: Signal, grace: Duration) {
        if let Ok(None) = self.child.try_wait() {
            if !self.id.terminate(signal, grace) {
                // Still there (or its identity unreadable): the handle's own kill cannot miss.
                let _ = self.child.kill();
            }
            // Reap; after SIGKILL this returns at once.
            let _ = self.child.wait();
        }
    }
}
