//! The supervisor: a tiny process, in its own process group, that waits for a watched process
//! (the nextest run, or a test process) to exit however it exits — normal exit, Ctrl-C,
//! `kill -9` — and then stops every daemon registered in the run directory and removes their
//! data.
//!
//! It is a POSIX `sh` script rather than a Rust binary so that any process can start one
//! (a test binary has no subcommand to re-exec into); it only uses shell builtins, `sleep`,
//! `rm` and (for containers) `docker`. Processes are identified by pid *and* start time, so a
//! recycled pid is never signalled.

use std::fs;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::logs;
use crate::process::ProcId;
use crate::run_dir::RunDir;

/// The script. Arguments: watched pid, watched start time, run directory.
///
/// Timing: liveness is polled every 0.2 s (an exit is noticed within that, and the poll costs
/// one `sleep` fork); daemons get 5 s (25 × 0.2 s) after their polite signal before SIGKILL —
/// PostgreSQL's fast shutdown and Redis without persistence need well under a second.
const SCRIPT: &str = r#"
trap '' HUP INT
# The caller's PATH may be anything (even empty): `sleep` must be found, or the wait loop spins.
PATH=/usr/bin:/bin:$PATH
watched=$1 watched_start=$2 run=$3
alive() {
  want=$2
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
  set -- ${line##*) }
  [ "$1" != Z ] || return 1
  shift 19
  [ "$1" = "$want" ]
}
each_alive() {
  [ -f "$run/pids" ] || return 0
  while read -r pid start sig name; do
    if alive "$pid" "$start"; then "$@" "$pid" "$sig" "$name"; fi
  done < "$run/pids"
}
note() { echo "$(date -u +%H:%M:%S) supervisor: $*"; }
stop() { note "stopping $3 (pid $1) with SIG$2"; kill -s "$2" "$1"; }
kill9() { note "killing $3 (pid $1)"; kill -s KILL "$1"; }
left() { found=1; }
if [ "$watched" = lease ]; then
  # Kept warm for reuse: runs until the time (epoch seconds) in $run/lease, which each reusing
  # run pushes forward; polled every second.
  note "keeping run $run until its lease expires"
  while :; do
    until=$(cat "$run/lease" 2>/dev/null || echo 0)
    [ "$(date +%s)" -lt "${until:-0}" ] 2>/dev/null || break
    sleep 1
  done
  note "lease expired; stopping the run's daemons"
else
  note "watching pid $watched for run $run"
  while alive "$watched" "$watched_start"; do sleep 0.2; done
  note "pid $watched exited; stopping the run's daemons"
fi
# Finalizers first (e.g. deleting the run's namespaces on a shared cluster): a daemon they
# talk to, such as the run's own API server, must still be up. Each gets 60 s (FINALIZER_TIMEOUT).
for f in "$run"/finalizers/*; do
  [ -f "$f" ] || continue
  note "running finalizer ${f##*/}"
  if command -v timeout >/dev/null 2>&1; then timeout 60 /bin/sh "$f"; else /bin/sh "$f"; fi </dev/null
  rc=$?
  [ $rc = 0 ] || note "finalizer ${f##*/} failed (exit $rc)"
done
each_alive stop
i=0
while [ $i -lt 25 ]; do
  found=0; each_alive left
  [ $found = 0 ] && break
  sleep 0.2; i=$((i + 1))
done
each_alive kill9
if [ -f "$run/containers" ]; then
  while read -r id; do note "removing container $id"; docker rm -f "$id" >/dev/null 2>&1; done < "$run/containers"
fi
if [ -f "$run/cleanup" ]; then
  while read -r dir; do rm -rf "$dir"; done < "$run/cleanup"
fi
rm -rf "$run/data" "$run/secrets"
: > "$run/finished"
note "done"
"#;

/// The shell that runs the script.
const SHELL: &str = "/bin/sh";

/// What ends a supervised run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// The exit of this process.
    Exit(ProcId),
    /// The time in the run's lease file.
    Lease,
}

/// Starts a supervisor for `run` that acts when `until` says, records its identity in the
/// run directory and returns it.
pub(crate) fn spawn(run: &RunDir, until: Until) -> Result<ProcId> {
    let (pid, start) = match until {
        Until::Exit(id) => (id.pid.to_string(), id.start_time.to_string()),
        Until::Lease => ("lease".to_string(), "0".to_string()),
    };
    let log = run.log_path("supervisor");
    let (out, err) = logs::stdio("supervisor", &log)?;
    let child = std::os::unix::process::CommandExt::process_group(
        Command::new(SHELL)
            .arg("-c")
            .arg(SCRIPT)
            .arg("testinfra-supervisor")
            .arg(pid)
            .arg(start)
            .arg(run.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err),
        // Its own process group: Ctrl-C in the terminal signals nextest's group, not this one,
        // so the supervisor survives to clean up after the run it watches.
        0,
    )
    .spawn()
    .map_err(|source| Error::Spawn {
        component: "supervisor",
        program: SHELL.into(),
        source,
    })?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    // The child handle is dropped without waiting: the supervisor outlives its starter on
    // purpose (the setup script exits long before the run it watches).
    let id = ProcId::of(pid).ok_or_else(|| Error::Exited {
        component: "supervisor",
        status: "exited immediately".into(),
        log: log.clone(),
        tail: logs::tail(&log),
    })?;
    let path = run.path().join(crate::run_dir::SUPERVISOR_FILE);
    fs::write(&path, id.to_line()).map_err(Error::io("supervisor", "write", &path))?;
    Ok(id)
}
