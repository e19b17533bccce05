//! Runs child processes with bounds: every wait has a deadline, a process that ignores SIGTERM
//! is killed with SIGKILL after a grace period, and a pipe held open by a leftover grandchild
//! cannot block the matrix, since pipes are drained on threads that are given up on after a
//! deadline instead of being joined blindly.
//!
//! Children are started in a process group of their own, so that "the child and everything it
//! started" can be signalled at once (cargo's rustc processes, a shell's background jobs); nextest
//! puts each test in a group of its own, which is why the tree found through `/proc` is signalled
//! too.
//!
//! Children get the user's environment without what `cargo run` added for the matrix itself
//! (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...): ring's build script tracks several of those
//! variables, so a `cargo nextest run` that inherited them had a build fingerprint different from
//! every cargo started from a shell, including the inner cargo runs of the project's own tests.
//! Each soak run then rebuilt the workspace from ring upwards (1.5–4 minutes under the stress),
//! and the inner runs rebuilt it back mid-run.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::error::Error;
use crate::procfs::{ProcFs, descendants};

/// How long a terminated nextest gets to stop its tests and print its summary before it and
/// its tree are killed: nextest itself gives a test 10 s after SIGTERM (its default
/// `leak-timeout`-like grace), so a little more than that.
pub const TERM_GRACE: Duration = Duration::from_secs(15);

/// How long the pipes of an exited child are drained before the matrix gives up on them: a
/// child that exited has written everything within milliseconds; what keeps a pipe open longer is
/// a leftover grandchild, which nothing the matrix waits for will ever close.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a bounded wait looks at the child: short next to every bound above, long enough to
/// cost nothing.
const WAIT_POLL: Duration = Duration::from_millis(20);

/// How a bounded wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The child exited by itself.
    Exited,
    /// The child exited after SIGTERM.
    Terminated,
    /// The child ignored SIGTERM for the grace period and was killed with SIGKILL.
    Killed,
}

/// Variables cargo sets for the program it runs (`cargo run`, a test binary, a build script),
/// which a user's shell does not have.
const CARGO_RUN_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];
/// Prefixes of the variables of [`CARGO_RUN_VARS`]' kind.
const CARGO_RUN_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// Whether `key` is a variable cargo set for this program rather than one of the user's.
pub fn set_by_cargo_run(key: &str) -> bool {
    CARGO_RUN_VARS.contains(&key) || CARGO_RUN_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Starts `cmd` in a process group of its own (its pid is the group id), without the variables
/// `cargo run` set for the matrix (see the module doc); what the caller set on `cmd` is kept.
pub fn spawn_in_group(cmd: &mut Command) -> std::io::Result<Child> {
    let explicit: Vec<_> = cmd.get_envs().map(|(k, _)| k.to_owned()).collect();
    for (key, _) in std::env::vars_os() {
        if set_by_cargo_run(&key.to_string_lossy()) && !explicit.contains(&key) {
            cmd.env_remove(&key);
        }
    }
    cmd.process_group(0).spawn()
}

/// Sends `signal` to `root`, `root`'s process group, and every descendant `/proc` showed
/// before. The descendants are found first (once `root` is gone they are re-parented and no
/// longer found through it) but signalled last: `root` first, so that under SIGKILL it cannot
/// see a child die and exit by itself (a shell would exit 137) before its own signal lands.
pub fn signal_tree(procfs: &ProcFs, root: u32, signal: Signal) {
    let tree = descendants(root, &procfs.parents());
    send(root, signal);
    if let Ok(group) = i32::try_from(root) {
        let _ = killpg(Pid::from_raw(group), signal);
    }
    for pid in tree {
        send(pid, signal);
    }
}

fn send(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// Waits for `child` until `deadline`; `None` if it is still running then.
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            // Not our child any more (already reaped): nothing left to wait for.
            Err(_) => return None,
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(WAIT_POLL);
    }
}

/// Stops `child` and its tree: SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns once
/// the child is reaped (after SIGKILL that takes no longer than the kernel needs).
pub fn stop(child: &mut Child, procfs: &ProcFs, grace: Duration) -> (Option<ExitStatus>, Ended) {
    let root = child.id();
    signal_tree(procfs, root, Signal::SIGTERM);
    if let Some(status) = wait_until(child, Instant::now() + grace) {
        return (Some(status), Ended::Terminated);
    }
    signal_tree(procfs, root, Signal::SIGKILL);
    (child.wait().ok(), Ended::Killed)
}

/// Collects what a pipe delivers on a thread of its own; the text read so far can be taken at
/// any time, whether or not the pipe was closed.
pub struct Drain {
    buffer: Arc<Mutex<Vec<u8>>>,
    closed: mpsc::Receiver<()>,
}

impl Drain {
    /// Starts reading `pipe` (nothing to read when `None`).
    pub fn start(pipe: Option<impl std::io::Read + Send + 'static>) -> Drain {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (tx, closed) = mpsc::channel();
        let sink = buffer.clone();
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend_from_slice(&chunk[..n]);
                }
            }
            let _ = tx.send(());
        });
        Drain { buffer, closed }
    }

    /// Waits up to `limit` for the pipe to close; returns what was read and whether it closed.
    /// A pipe that did not close is abandoned: its thread ends when the last writer goes.
    pub fn finish(self, limit: Duration) -> (Vec<u8>, bool) {
        let closed = self.closed.recv_timeout(limit).is_ok();
        let text = std::mem::take(
            &mut *self
                .buffer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        (text, closed)
    }
}

/// What [`output_within`] collected.
#[derive(Debug)]
pub struct Output {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything the child wrote to stdout (what arrived before [`DRAIN_TIMEOUT`]).
    pub stdout: Vec<u8>,
    /// The same for stderr.
    pub stderr: Vec<u8>,
}

/// Runs `argv` in `dir` like `Command::output`, but fails with [`Error::Timeout`] (after stopping
/// the child's whole tree) once `limit` passes, and never waits more than [`DRAIN_TIMEOUT`] for
/// pipes that leftover grandchildren keep open.
pub fn output_within(
    dir: &std::path::Path,
    argv: &[String],
    limit: Duration,
    procfs: &ProcFs,
) -> Result<Output, Error> {
    let command = argv.join(" ");
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("an empty command line".into()));
    };
    let mut child = spawn_in_group(
        Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(|source| Error::Spawn {
        command: command.clone(),
        source,
    })?;
    let stdout = Drain::start(child.stdout.take());
    let stderr = Drain::start(child.stderr.take());
    let Some(status) = wait_until(&mut child, Instant::now() + limit) else {
        let (_, ended) = stop(&mut child, procfs, TERM_GRACE);
        return Err(Error::Timeout {
            command,
            limit,
            ended,
        });
    };
    let (stdout, out_closed) = stdout.finish(DRAIN_TIMEOUT);
    let (stderr, err_closed) = stderr.finish(DRAIN_TIMEOUT);
    if !(out_closed && err_closed) {
        // Whatever still holds the pipes was started by the child and outlived it.
        signal_tree(procfs, child.id(), Signal::SIGKILL);
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn children_do_not_inherit_what_cargo_set_for_the_matrix() {
        // cargo and nextest set both for this test process, as `cargo run` does for the matrix.
        for key in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"] {
            assert!(std::env::var_os(key).is_some(), "{key} is set for tests");
        }
        let out = output_within(
            std::path::Path::new("."),
            &sh("echo \"${CARGO_MANIFEST_DIR-unset} ${CARGO_PKG_NAME-unset} ${PATH:+path}\""),
            Duration::from_secs(60),
            &ProcFs::system(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "unset unset path"
        );
        assert!(!set_by_cargo_run("CARGO_HOME"));
        assert!(!set_by_cargo_run("CARGO_TARGET_DIR"));
    }

    #[test]
    fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
        let procfs = ProcFs::system();
        // `trap "" TERM` makes the shell and the sleep it starts ignore SIGTERM.
        let mut child = spawn_in_group(
            Command::new("sh")
                .args(["-c", "trap '' TERM; sleep 600"])
                .stdout(Stdio::null()),
        )
        .unwrap();
        // Give the shell a moment to install its trap: poll until it has started the sleep.
        let deadline = Instant::now() + Duration::from_secs(10);
        while descendants(child.id(), &procfs.parents()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(WAIT_POLL);
        }
        let started = Instant::now();
        let (status, ended) = stop(&mut child, &procfs, Duration::from_millis(300));
        assert_eq!(ended, Ended::Killed);
        assert!(status.is_some_and(|s| !s.success()));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_child_that_honours_sigterm_is_not_killed() {
        let procfs = ProcFs::system();
        let mut child =
            spawn_in_group(Command::new("sleep").arg("600").stdout(Stdio::null())).unwrap();
        let (status, ended) = stop(&mut child, &procfs, Duration::from_secs(30));
        assert_eq!(ended, Ended::Terminated);
        assert!(status.is_some());
    }

    #[test]
    fn a_pipe_held_by_a_grandchild_does_not_block_the_output() {
        let procfs = ProcFs::system();
        // The shell exits at once; its background sleep keeps stdout open for 10 minutes.
        let started = Instant::now();
        let out = output_within(
            std::path::Path::new("."),
            &sh("sleep 600 & echo done"),
            Duration::from_secs(60),
            &procfs,
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"done\n");
        assert!(
            started.elapsed() < DRAIN_TIMEOUT + Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_command_past_its_limit_is_stopped_with_a_clear_error() {
        let procfs = ProcFs::system();
        let err = output_within(
            std::path::Path::new("."),
            &sh("sleep 600"),
            Duration::from_millis(200),
            &procfs,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`sh -c sleep 600` still running after 200ms"),
            "{text}"
        );
        assert!(text.contains("--prepare-timeout"), "{text}");
    }

    #[test]
    fn a_drain_gives_back_what_it_read_even_if_the_pipe_stays_open() {
        let (reader, writer) = std::io::pipe().unwrap();
        let mut writer = writer;
        std::io::Write::write_all(&mut writer, b"partial").unwrap();
        let drain = Drain::start(Some(reader));
        // Read what is there, then give up on the still-open pipe.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if !drain.buffer.lock().unwrap().is_empty() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(WAIT_POLL);
        }
        let (text, closed) = drain.finish(Duration::from_millis(50));
        assert_eq!((text.as_slice(), closed), (&b"partial"[..], false));
        drop(writer);
    }
}
