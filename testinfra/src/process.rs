//! Identifies processes by pid *and* start time, so that a recycled pid is never mistaken for
//! (and never killed as) one of ours; walks up the process tree through `/proc`.

use std::fs;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A process as `pid` plus its start time (clock ticks since boot, field 22 of
/// `/proc/<pid>/stat`). Two processes never share both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId {
    /// The process id.
    pub pid: i32,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
}

/// How often liveness is polled while waiting for a process to exit; short because callers
/// wait for exits that normally take a few milliseconds.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone)]
pub struct Stat {
    /// The executable name, truncated by the kernel to 15 bytes.
    pub comm: String,
    /// The parent's pid.
    pub ppid: i32,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when there is no such process.
pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm is in parentheses and may itself contain spaces and parentheses: split at the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    let ppid = rest.get(1)?.parse().ok()?;
    let start_time = rest.get(19)?.parse().ok()?;
    Some(Stat {
        comm,
        ppid,
        start_time,
    })
}

/// The command line of `pid`, arguments joined by spaces; empty when unreadable.
pub fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

impl ProcId {
    /// The identity of a running process, `None` when it does not exist.
    pub fn of(pid: i32) -> Option<ProcId> {
        stat(pid).map(|s| ProcId {
            pid,
            start_time: s.start_time,
        })
    }

    /// The identity of the calling process.
    pub fn current() -> ProcId {
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        // Our own /proc entry always exists; fall back to start time 0 only on a kernel
        // without procfs, where nothing else here works either.
        ProcId::of(pid).unwrap_or(ProcId { pid, start_time: 0 })
    }

    /// Parses the `"<pid> <start time>"` form written by [`ProcId::to_line`].
    pub fn parse(text: &str) -> Option<ProcId> {
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse().ok()?;
        let start_time = parts.next()?.parse().ok()?;
        Some(ProcId { pid, start_time })
    }

    /// `"<pid> <start time>"`.
    pub fn to_line(self) -> String {
        format!("{} {}", self.pid, self.start_time)
    }

    /// Whether this very process still runs (a zombie counts as gone).
    pub fn is_alive(self) -> bool {
        match fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(text) => {
                let state = text.rfind(')').and_then(|i| text.get(i + 2..i + 3));
                state != Some("Z")
                    && stat(self.pid).is_some_and(|s| s.start_time == self.start_time)
            }
            Err(_) => false,
        }
    }

    /// Sends `signal` if this very process still runs; returns whether it was sent.
    pub fn signal(self, signal: Signal) -> bool {
        self.is_alive() && kill(Pid::from_raw(self.pid), signal).is_ok()
    }

    /// Waits until the process is gone; returns false if it still runs at the deadline.
    pub fn wait_gone(self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.is_alive() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(EXIT_POLL);
        }
        true
    }

    /// Sends `signal`, waits up to `grace`, then SIGKILL; true when the process is gone.
    pub fn terminate(self, signal: Signal, grace: Duration) -> bool {
        if !self.signal(signal) {
            return !self.is_alive();
        }
        if self.wait_gone(grace) {
            return true;
        }
        self.signal(Signal::SIGKILL);
        self.wait_gone(grace)
    }
}

/// The nearest ancestor of `start` (exclusive) whose executable name is `comm`.
pub fn find_ancestor(start: i32, comm: &str) -> Option<ProcId> {
    let mut pid = stat(start)?.ppid;
    // pid 1 and 0 end the walk; the depth bound guards against a corrupt /proc loop.
    for _ in 0..MAX_ANCESTRY_DEPTH {
        if pid <= 1 {
            return None;
        }
        let s = stat(pid)?;
        if s.comm == comm {
            return Some(ProcId {
                pid,
                start_time: s.start_time,
            });
        }
        pid = s.ppid;
    }
    None
}

/// Deeper process trees than this do not occur between a test run and its setup script.
const MAX_ANCESTRY_DEPTH: usize = 64;

/// The pids of the running children of `parent`.
pub fn children(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|s| s.ppid == parent))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive_and_recycled_identity_is_not() {
        let me = ProcId::current();
        assert!(me.is_alive());
        let other = ProcId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(
            !other.is_alive(),
            "same pid, different start time must count as gone"
        );
        assert!(
            !other.signal(Signal::SIGTERM),
            "must never signal a recycled pid"
        );
    }

    #[test]
    fn line_round_trip_and_garbage() {
        let id = ProcId {
            pid: 42,
            start_time: 7,
        };
        assert_eq!(ProcId::parse(&id.to_line()), Some(id));
        assert_eq!(ProcId::parse("x y"), None);
        assert_eq!(ProcId::parse(""), None);
    }

    #[test]
    fn no_ancestor_with_an_unknown_name() {
        assert_eq!(
            find_ancestor(ProcId::current().pid, "no-such-comm-xx"),
            None
        );
    }
}
