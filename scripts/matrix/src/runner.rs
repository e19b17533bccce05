//! Runs one `cargo nextest run` while timing its tests and sampling its memory.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::Error;
use crate::events::Collector;
use crate::model::{MachineCpu, ReadyTime, RunData};
use crate::process;
use crate::procfs::ProcFs;

/// How much of nextest's human-readable output a run keeps (the tail): enough for the
/// failures' summary without making report.json huge.
const LOG_TAIL_BYTES: usize = 256 * 1024;

/// How often the live progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What one run needs to know.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The workspace root (nextest's working directory).
    pub workspace: PathBuf,
    /// The cargo target directory (where the fixture writes its ready records).
    pub target_dir: PathBuf,
    /// The nextest profile.
    pub mode: String,
    /// `-j`.
    pub jobs: u32,
    /// 1-based repeat number.
    pub repeat: u32,
    /// Filters, partition and extra arguments for nextest.
    pub nextest_args: Vec<String>,
    /// How often /proc is sampled.
    pub sample_every: Duration,
    /// A run taking longer is terminated.
    pub timeout: Duration,
    /// How long a terminated run gets before SIGKILL ([`process::TERM_GRACE`]).
    pub term_grace: Duration,
    /// How long the output of an ended run is read before it is given up on
    /// ([`process::DRAIN_TIMEOUT`]).
    pub drain: Duration,
    /// `[i/n]` for the progress line.
    pub label: String,
    /// Extra environment of the nextest run (the warm infrastructure's `DS_REUSE` settings).
    pub env: Vec<(String, String)>,
}

/// The `cargo nextest run` command line of a run.
pub fn nextest_command(spec: &RunSpec) -> Vec<String> {
    let mut args: Vec<String> = ["cargo", "nextest", "run", "--workspace", "--profile"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(spec.mode.clone());
    args.push("-j".into());
    args.push(spec.jobs.to_string());
    args.extend([
        "--message-format".into(),
        "libtest-json-plus".into(),
        "--color".into(),
        "never".into(),
    ]);
    args.extend(spec.nextest_args.iter().cloned());
    args
}

/// The fixture's ready record (fixtures::ReadyRecord), read as data: the matrix stays free of
/// the fixture's dependencies.
#[derive(Deserialize)]
struct ReadyFile {
    suite: String,
    test: Option<String>,
    pid: u32,
    slot: Option<u32>,
    ready_ms: f64,
    ready_at_unix_ms: u128,
    server_url: String,
    server_pid: u32,
}

/// The records under `<target>/fixtures/ready/<run id>/`, timed from `run_start_unix_ms`.
/// Unreadable files are skipped (a process killed mid-write must not break the report).
pub fn read_ready(target_dir: &Path, run_id: &str, run_start_unix_ms: u128) -> Vec<ReadyTime> {
    let dir = target_dir.join("fixtures").join("ready").join(run_id);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<ReadyTime> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<ReadyFile>(&bytes).ok())
        .map(|r| ReadyTime {
            suite: r.suite,
            test: r.test,
            pid: r.pid,
            slot: r.slot,
            ready_ms: r.ready_ms,
            ready_at_s: (r.ready_at_unix_ms as f64 - run_start_unix_ms as f64) / 1e3,
            server_url: r.server_url,
            server_pid: r.server_pid,
        })
        .collect();
    out.sort_by(|a, b| a.ready_at_s.total_cmp(&b.ready_at_s));
    out
}

/// The run directories under `<target>/fixtures/ready/` modified at or after `since`: the
/// fallback when no test process was caught alive to read its `NEXTEST_RUN_ID`.
fn ready_dirs_since(target_dir: &Path, since: SystemTime) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(target_dir.join("fixtures").join("ready")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m >= since)
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

fn unix_ms(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

enum Line {
    Out(Instant, String),
    Closed,
}

/// Runs one nextest run and measures it.
pub fn run(spec: &RunSpec, procfs: &ProcFs) -> Result<RunData, Error> {
    run_argv(spec, &nextest_command(spec), procfs)
}

/// [`run`] with the command line given: the bounds (timeout, SIGKILL fallback, pipe drains)
/// are tested with stand-in commands.
pub fn run_argv(spec: &RunSpec, argv: &[String], procfs: &ProcFs) -> Result<RunData, Error> {
    let command_text = argv.join(" ");
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("an empty nextest command line".into()));
    };
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let cpu_before = procfs.cpu_ticks();
    let mut child = process::spawn_in_group(
        Command::new(program)
            .args(args)
            .current_dir(&spec.workspace)
            .env("NEXTEST_EXPERIMENTAL_LIBTEST_JSON", "1")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(|source| Error::Spawn {
        command: command_text.clone(),
        source,
    })?;
    let root_pid = child.id();

    // stdout: events, stamped on arrival by a reader thread.
    let (tx, rx) = mpsc::channel::<Line>();
    let stdout = child.stdout.take();
    // Never joined: after the run, lines are drained from the channel with a deadline, since a
    // leftover grandchild can keep the pipe (and so this thread) open for ever.
    std::thread::spawn(move || {
        if let Some(stdout) = stdout {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(Line::Out(Instant::now(), line)).is_err() {
                    break;
                }
            }
        }
        let _ = tx.send(Line::Closed);
    });
    // stderr: nextest's human output, kept for the report (tail only).
    let stderr = process::Drain::start(child.stderr.take());

    let mut collector = Collector::default();
    let mut cpu_tracker = crate::costs::CpuTracker::default();
    let mut verdicts = HashMap::new();
    let (mut peak_rss, mut peak_procs, mut samples) = (0u64, 0usize, 0u64);
    let mut run_id: Option<String> = None;
    let (mut done, mut running) = (0usize, 0i64);
    let mut last_progress = Instant::now();
    let live = std::io::stderr().is_terminal();
    let mut stopped: Option<process::Ended> = None;
    let mut closed = false;
    let status = loop {
        loop {
            match rx.try_recv() {
                Ok(Line::Out(at, line)) => {
                    if line.contains(r#""event":"started""#) && line.contains(r#""type":"test""#) {
                        running += 1;
                    } else if line.contains(r#""type":"test""#) {
                        running -= 1;
                        done += 1;
                    }
                    collector.line(at.duration_since(started).as_secs_f64(), &line);
                }
                Ok(Line::Closed) => closed = true,
                Err(_) => break,
            }
        }
        let table = procfs.cpu_table();
        let sample = procfs.sample_in(&table, root_pid, &mut verdicts);
        samples += 1;
        if sample.rss_bytes > peak_rss {
            peak_rss = sample.rss_bytes;
        }
        peak_procs = peak_procs.max(sample.pids.len());
        if run_id.is_none() {
            run_id = sample
                .pids
                .iter()
                .find_map(|&pid| procfs.environ_var(pid, "NEXTEST_RUN_ID"));
        }
        cpu_tracker.sample(
            procfs,
            &table,
            started.elapsed().as_secs_f64(),
            root_pid,
            &sample.pids,
            run_id.as_deref(),
        );
        if live && last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            eprint!(
                "\r{} {} -j {} (repeat {}): {:.0} s, {done} done, {} running, {:.0} MiB   ",
                spec.label,
                spec.mode,
                spec.jobs,
                spec.repeat,
                started.elapsed().as_secs_f64(),
                running.max(0),
                sample.rss_bytes as f64 / f64::from(1u32 << 20)
            );
            let _ = std::io::stderr().flush();
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if started.elapsed() > spec.timeout {
            // nextest stops its tests when it is terminated; cargo alone would leave it
            // running, hence the whole tree; one that ignores SIGTERM is killed after the grace.
            let (status, ended) = process::stop(&mut child, procfs, spec.term_grace);
            stopped = Some(ended);
            break status;
        }
        std::thread::sleep(spec.sample_every);
    };
    let wall_s = started.elapsed().as_secs_f64();
    cpu_tracker.finish(procfs, wall_s);
    let cpu = cpu_before
        .zip(procfs.cpu_ticks())
        .and_then(|(before, after)| {
            Some(MachineCpu {
                busy: after.busy_since(&before)?,
                cores: after.cores,
            })
        });
    // The last lines, until the pipe closes or the drain deadline passes.
    let drain_deadline = Instant::now() + spec.drain;
    while !closed {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Line::Out(at, line)) => {
                collector.line(at.duration_since(started).as_secs_f64(), &line)
            }
            Ok(Line::Closed) => closed = true,
            Err(_) => break,
        }
    }
    let (text, stderr_closed) =
        stderr.finish(drain_deadline.saturating_duration_since(Instant::now()));
    let start = text.len().saturating_sub(LOG_TAIL_BYTES);
    let mut log = String::from_utf8_lossy(&text[start..]).into_owned();
    match stopped {
        None => {}
        Some(process::Ended::Killed) => log.push_str(&format!(
            "\nmatrix: the run took longer than {:?}; it ignored SIGTERM for {:?} and was killed with SIGKILL\n",
            spec.timeout, spec.term_grace
        )),
        Some(_) => log.push_str(&format!(
            "\nmatrix: the run took longer than {:?} and was terminated\n",
            spec.timeout
        )),
    }
    if !(closed && stderr_closed) {
        // Something the run started outlived it and holds its output: stop it, so it cannot
        // disturb the next run either.
        process::signal_tree(procfs, root_pid, nix::sys::signal::Signal::SIGKILL);
        log.push_str(&format!(
            "\nmatrix: the run's output was still open {:?} after it ended (a leftover process held it); gave up reading and killed the run's process group\n",
            spec.drain
        ));
    }
    if live {
        eprint!("\r{}\r", " ".repeat(100));
    }
    let run_start_ms = unix_ms(started_wall);
    let run_id = run_id.or_else(|| {
        let dirs = ready_dirs_since(&spec.target_dir, started_wall);
        (dirs.len() == 1).then(|| dirs[0].clone())
    });
    let ready = run_id
        .as_deref()
        .map(|id| read_ready(&spec.target_dir, id, run_start_ms))
        .unwrap_or_default();
    let phases = run_id
        .as_deref()
        .map(|id| crate::costs::read_phases(&spec.target_dir, id, run_start_ms))
        .unwrap_or_default();
    let privilege = run_id
        .as_deref()
        .and_then(|id| crate::privilege::check(&spec.workspace, &spec.target_dir, id, procfs));
    Ok(RunData {
        mode: spec.mode.clone(),
        jobs: spec.jobs,
        repeat: spec.repeat,
        run_id,
        wall_s,
        exit_code: status.and_then(|s| s.code()),
        tests: collector.finish(wall_s),
        ready,
        peak_rss_bytes: peak_rss,
        peak_processes: peak_procs,
        samples,
        cpu,
        log,
        privilege,
        phases,
        cpu_series: cpu_tracker.series,
        cores_allowed: cores_allowed(procfs),
    })
}

/// How many CPUs this process may run on (its affinity, which the runs inherit): the
/// `Cpus_allowed_list` of `/proc/self/status`, e.g. `0` under `taskset -c 0`, `0-1` on two cores.
fn cores_allowed(procfs: &ProcFs) -> Option<u32> {
    let status = procfs.read_self("status")?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    count_cpu_list(list.trim())
}

/// The number of CPUs in a kernel CPU list (`0-3,6,8-9` → 7).
pub fn count_cpu_list(list: &str) -> Option<u32> {
    let mut n = 0u32;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// Runs a preparatory command (a build) in `dir`, stopped with an error after `limit`; its
/// output is shown only when it fails.
pub fn prepare(dir: &Path, argv: &[String], limit: Duration, procfs: &ProcFs) -> Result<(), Error> {
    let command = argv.join(" ");
    let out = process::output_within(dir, argv, limit, procfs)?;
    if out.status.success() {
        return Ok(());
    }
    // Quiet when it works (it runs before every run); everything when it does not.
    eprintln!(
        "matrix: {command}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Err(Error::Build {
        command,
        status: out.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runs_ready_records_relative_to_its_start() {
        let target = tempfile::tempdir().unwrap();
        let dir = target.path().join("fixtures/ready/run-1");
        std::fs::create_dir_all(&dir).unwrap();
        let record = |pid: u32, at: u128| {
            format!(
                r#"{{"suite":"wfe","run_id":"run-1","test":"a::b","pid":{pid},"slot":1,"ready_ms":12.5,"ready_at_unix_ms":{at},"server_url":"http://127.0.0.1:9","server_pid":{pid}}}"#
            )
        };
        std::fs::write(dir.join("a.json"), record(7, 10_500)).unwrap();
        std::fs::write(dir.join("b.json"), record(8, 10_250)).unwrap();
        std::fs::write(dir.join("torn.json"), "{\"suite\":").unwrap();
        let ready = read_ready(target.path(), "run-1", 10_000);
        assert_eq!(ready.len(), 2);
        assert_eq!((ready[0].pid, ready[0].ready_at_s), (8, 0.25));
        assert_eq!((ready[1].pid, ready[1].ready_ms), (7, 12.5));
        assert!(read_ready(target.path(), "no-such-run", 0).is_empty());
        let since = SystemTime::now() - Duration::from_secs(60);
        assert_eq!(
            ready_dirs_since(target.path(), since),
            vec!["run-1".to_owned()]
        );
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("0-1"), Some(2));
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("x"), None);
        assert!(cores_allowed(&ProcFs::system()).is_some());
    }

    #[test]
    fn the_command_asks_for_json_events() {
        let spec = RunSpec {
            workspace: ".".into(),
            target_dir: "target".into(),
            mode: "integration".into(),
            jobs: 4,
            repeat: 1,
            nextest_args: vec!["--partition".into(), "hash:1/2".into()],
            sample_every: Duration::from_millis(20),
            timeout: Duration::from_secs(1),
            term_grace: process::TERM_GRACE,
            drain: process::DRAIN_TIMEOUT,
            label: "[1/1]".into(),
            env: Vec::new(),
        };
        let argv = nextest_command(&spec).join(" ");
        assert_eq!(
            argv,
            "cargo nextest run --workspace --profile integration -j 4 --message-format libtest-json-plus --color never --partition hash:1/2"
        );
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let err = prepare(
            Path::new("."),
            &["matrix-no-such-program-xyz".to_owned()],
            Duration::from_secs(60),
            &ProcFs::system(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("could not start `matrix-no-such-program-xyz`"),
            "{err}"
        );
    }

    fn spec_with(timeout: Duration, term_grace: Duration, drain: Duration) -> RunSpec {
        RunSpec {
            workspace: ".".into(),
            target_dir: std::env::temp_dir(),
            mode: "fake".into(),
            jobs: 1,
            repeat: 1,
            nextest_args: Vec::new(),
            sample_every: Duration::from_millis(20),
            timeout,
            term_grace,
            drain,
            label: "[1/1]".into(),
            env: Vec::new(),
        }
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn a_run_that_ignores_sigterm_is_killed_after_the_grace() {
        let spec = spec_with(
            Duration::from_millis(300),
            Duration::from_millis(300),
            Duration::from_secs(5),
        );
        let started = Instant::now();
        let run = run_argv(
            &spec,
            &sh(r#"trap '' TERM; echo '{"type":"test","event":"started","name":"k::t$hangs"}'; sleep 600"#),
            &ProcFs::system(),
        )
        .unwrap();
        // Without the SIGKILL fallback this waits for the sleep: 10 minutes.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(run.exit_code, None, "killed by a signal");
        assert!(run.log.contains("was killed with SIGKILL"), "{}", run.log);
        assert_eq!(run.tests.len(), 1);
        assert_eq!(run.tests[0].outcome, crate::events::Outcome::Failed);
    }

    #[test]
    fn a_run_whose_output_a_leftover_holds_open_still_ends() {
        let spec = spec_with(
            Duration::from_secs(120),
            process::TERM_GRACE,
            Duration::from_millis(500),
        );
        let started = Instant::now();
        // The shell exits at once; the background sleep keeps stdout and stderr open.
        let run = run_argv(
            &spec,
            &sh(r#"sleep 600 & echo '{"type":"test","event":"ok","name":"k::t$a","exec_time":0.1}'"#),
            &ProcFs::system(),
        )
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(
            run.tests.len(),
            1,
            "the line written before the exit is kept"
        );
        assert!(run.log.contains("gave up reading"), "{}", run.log);
    }

    #[test]
    fn a_build_past_its_limit_fails_naming_it() {
        let err = prepare(
            Path::new("."),
            &sh("sleep 600"),
            Duration::from_millis(200),
            &ProcFs::system(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
    }
}
