//! The per-test cost breakdown: where each test process's wall time and CPU go, from exec to
//! exit, and the CPU the run spent outside the test processes.
//!
//! Each test process that touches a fixture writes a phase record at its exit
//! (`fixtures::phases`, under `target/fixtures/phases/<run id>/`): first touch, environment
//! ready, end of the body (its first `Env` dropped) and exit, each with the process's CPU time.
//! nextest's own timing of the test (spawn to exit) gives the whole, so the phases are:
//!
//! - **start-up**: spawn → first touch (exec, the test harness, the test's code before it asks
//!   for its environment), wall = nextest's time − (exit − first touch), which also holds the
//!   kernel's exit and nextest's reaping; CPU = the process's CPU at first touch;
//! - **environment**: first touch → ready (API server, CRDs, manager, watches synced; in the
//!   shared mode the connection to the shared server);
//! - **body**: ready → first `Env` dropped;
//! - **teardown**: that drop (watch check, dumps) → exit (the test's runtime shutting down,
//!   the harness's report).
//!
//! A test without a record (it touched no fixture, e.g. a test that skips itself in the
//! baseline, or a plain client test) counts whole, in its own row. The run's other CPU (the
//! setup script's services: PostgreSQL, Redis, DataStorage and, in the baseline, the shared API
//! server and manager; nextest and cargo; everything else on the machine) comes from `/proc`
//! samples ([`CpuTracker`]).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::events::TestTiming;
use crate::model::RunData;
use crate::procfs::{ProcCpu, ProcFs, USER_HZ};
use crate::stats;

/// A record and a test are matched when the record's first touch falls inside the test's
/// timeline bar, give or take this: the bar's ends carry the pipe delay of nextest's report.
const MATCH_SLACK_S: f64 = 0.05;

/// The CPU series keeps at most one point per this interval: enough to cut a test span of a
/// second or more at its ends, small enough that report.json stays small.
pub const CPU_POINT_EVERY_S: f64 = 0.1;

/// One phase boundary of a test process, timed from the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseMark {
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// The process's CPU time by then, in milliseconds.
    pub cpu_ms: f64,
}

/// One test process's phase record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTime {
    /// The suite it touched first.
    pub suite: String,
    /// The test it ran.
    pub test: Option<String>,
    /// The process.
    pub pid: u32,
    /// Its age at first touch from `/proc/<pid>/stat` (10 ms resolution), a cross-check.
    pub age_at_touch_ms: Option<f64>,
    /// First touch.
    pub touch: PhaseMark,
    /// Environment ready (absent: the build failed).
    pub ready: Option<PhaseMark>,
    /// End of the body (absent: no `Env` was dropped).
    pub body_end: Option<PhaseMark>,
    /// Exit.
    pub exit: PhaseMark,
}

#[derive(Deserialize)]
struct RecordMark {
    unix_us: u128,
    cpu_ms: f64,
}

/// `fixtures::phases::PhaseRecord`, read as data (the matrix stays free of the fixture's
/// dependencies).
#[derive(Deserialize)]
struct RecordFile {
    suite: String,
    test: Option<String>,
    pid: u32,
    age_at_touch_ms: Option<f64>,
    touch: RecordMark,
    ready: Option<RecordMark>,
    body_end: Option<RecordMark>,
    exit: RecordMark,
}

/// The records under `<target>/fixtures/phases/<run id>/`, timed from `run_start_unix_ms`.
/// Files that do not parse are skipped.
pub fn read_phases(target_dir: &Path, run_id: &str, run_start_unix_ms: u128) -> Vec<PhaseTime> {
    let dir = target_dir.join("fixtures").join("phases").join(run_id);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let start_us = run_start_unix_ms as f64 * 1e3;
    let mark = |m: RecordMark| PhaseMark {
        at_s: (m.unix_us as f64 - start_us) / 1e6,
        cpu_ms: m.cpu_ms,
    };
    let mut out: Vec<PhaseTime> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<RecordFile>(&bytes).ok())
        .map(|r| PhaseTime {
            suite: r.suite,
            test: r.test,
            pid: r.pid,
            age_at_touch_ms: r.age_at_touch_ms,
            touch: mark(r.touch),
            ready: r.ready.map(mark),
            body_end: r.body_end.map(mark),
            exit: mark(r.exit),
        })
        .collect();
    out.sort_by(|a, b| a.touch.at_s.total_cmp(&b.touch.at_s));
    out
}

/// The phases of the breakdown, in process order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Phase {
    /// Spawn → first fixture touch.
    StartUp,
    /// First touch → environment ready.
    Environment,
    /// Ready → first `Env` dropped.
    Body,
    /// That drop → exit.
    Teardown,
    /// A whole test that touched no fixture (no record).
    NoFixture,
}

impl Phase {
    /// Every phase, in table order.
    pub const ALL: [Phase; 5] = [
        Phase::StartUp,
        Phase::Environment,
        Phase::Body,
        Phase::Teardown,
        Phase::NoFixture,
    ];

    /// The row label.
    pub fn label(self) -> &'static str {
        match self {
            Phase::StartUp => "start-up (spawn → first fixture touch)",
            Phase::Environment => "environment (touch → ready: API server, CRDs, manager, watches)",
            Phase::Body => "test body (ready → Env dropped)",
            Phase::Teardown => "teardown (Env dropped → exit)",
            Phase::NoFixture => "tests without a fixture (whole process)",
        }
    }
}

/// One test's cost, phase by phase: (wall seconds, CPU seconds if known).
#[derive(Clone, Debug, PartialEq)]
pub struct TestCost {
    /// The test's index in its run's `tests`.
    pub index: usize,
    /// `suite::binary` and name, for matching across modes.
    pub key: String,
    /// Phase → (wall s, CPU s).
    pub phases: Vec<(Phase, f64, Option<f64>)>,
    /// The whole: nextest's wall time of the test, the process's CPU (if recorded).
    pub wall_s: f64,
    /// The process's CPU until its exit handler (absent without a record).
    pub cpu_s: Option<f64>,
}

impl TestCost {
    /// Wall and CPU of one phase (zero when the test had none of it).
    pub fn phase(&self, phase: Phase) -> (f64, Option<f64>) {
        self.phases
            .iter()
            .find(|p| p.0 == phase)
            .map(|p| (p.1, p.2))
            .unwrap_or((0.0, None))
    }
}

/// The record of the process that ran `t`: the same test name, first touch within its bar.
fn record_of<'a>(run: &'a RunData, t: &TestTiming) -> Option<&'a PhaseTime> {
    run.phases.iter().find(|p| {
        p.test.as_deref() == Some(t.name.as_str())
            && p.touch.at_s >= t.start_s - MATCH_SLACK_S
            && p.touch.at_s <= t.end_s + MATCH_SLACK_S
    })
}

/// Every test's cost in `run`. Tests retried by nextest (more than one process) count whole,
/// as tests without a record: their phases are not one process's.
pub fn test_costs(run: &RunData) -> Vec<TestCost> {
    run.tests
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let key = format!("{}${}", t.suite, t.name);
            let wall = t.duration_s();
            let record = record_of(run, t).filter(|_| t.attempts <= 1);
            let Some(r) = record else {
                return TestCost {
                    index,
                    key,
                    phases: vec![(Phase::NoFixture, wall, None)],
                    wall_s: wall,
                    cpu_s: None,
                };
            };
            let cpu = |a: f64, b: f64| Some(((b - a) / 1e3).max(0.0));
            let span = |a: f64, b: f64| (b - a).max(0.0);
            let in_process = span(r.touch.at_s, r.exit.at_s);
            let mut phases = vec![(
                Phase::StartUp,
                (wall - in_process).max(0.0),
                cpu(0.0, r.touch.cpu_ms),
            )];
            // Without a ready mark the build failed: all of it is environment.
            let ready = r.ready.unwrap_or(r.exit);
            phases.push((
                Phase::Environment,
                span(r.touch.at_s, ready.at_s),
                cpu(r.touch.cpu_ms, ready.cpu_ms),
            ));
            if r.ready.is_some() {
                let end = r.body_end.unwrap_or(r.exit);
                phases.push((
                    Phase::Body,
                    span(ready.at_s, end.at_s),
                    cpu(ready.cpu_ms, end.cpu_ms),
                ));
                phases.push((
                    Phase::Teardown,
                    span(end.at_s, r.exit.at_s),
                    cpu(end.cpu_ms, r.exit.cpu_ms),
                ));
            }
            TestCost {
                index,
                key,
                phases,
                wall_s: wall,
                cpu_s: cpu(0.0, r.exit.cpu_ms),
            }
        })
        .collect()
}

/// A mode against the baseline on the same work: only the tests that built an environment in
/// both (a record with a ready mark and a body, one attempt). A test that skips itself in the
/// baseline (it needs a per-process server or manager) does its work in one mode only, and its
/// whole run would count as the mode's overhead; here it is left out, so what differs is what
/// the mode costs per test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LikeForLike {
    /// The mode.
    pub mode: String,
    /// The baseline.
    pub baseline: String,
    /// `-j`.
    pub jobs: u32,
    /// Tests in the comparison.
    pub tests: usize,
    /// Σ over the tests of each one's median over the runs, (mode, baseline): nextest's wall
    /// time of the test (spawn to exit).
    pub wall_s: (f64, f64),
    /// The same for the environment phase (touch → ready).
    pub environment_s: (f64, f64),
    /// The same for the body (ready → `Env` dropped).
    pub body_s: (f64, f64),
    /// The same for the processes' own CPU (every thread, until exit).
    pub cpu_s: (f64, f64),
    /// The CPU the baseline's shared API server and manager spent for these tests: its
    /// services' CPU minus the mode's (both run PostgreSQL, Redis and DataStorage), per run,
    /// spread evenly over the baseline's tests with a record.
    pub shared_cpu_s: f64,
}

/// Each test that built an environment, by key: its costs over the runs.
fn with_environment<'a>(
    runs: impl Iterator<Item = &'a RunData>,
) -> (BTreeMap<String, Vec<TestCost>>, usize) {
    let mut by_key: BTreeMap<String, Vec<TestCost>> = BTreeMap::new();
    let mut runs_seen = 0;
    for run in runs {
        runs_seen += 1;
        for c in test_costs(run) {
            if c.phases.iter().any(|p| p.0 == Phase::Body) {
                by_key.entry(c.key.clone()).or_default().push(c);
            }
        }
    }
    (by_key, runs_seen)
}

/// [`LikeForLike`] of `mode` against `baseline` at `-j jobs`; None when either has no run
/// there or no test built an environment in both.
pub fn like_for_like(
    runs: &[RunData],
    mode: &str,
    baseline: &str,
    jobs: u32,
) -> Option<LikeForLike> {
    fn of<'a>(runs: &'a [RunData], m: &'a str, jobs: u32) -> impl Iterator<Item = &'a RunData> {
        runs.iter().filter(move |r| r.mode == m && r.jobs == jobs)
    }
    let (this, this_runs) = with_environment(of(runs, mode, jobs));
    let (base, base_runs) = with_environment(of(runs, baseline, jobs));
    if this_runs == 0 || base_runs == 0 {
        return None;
    }
    let common: Vec<&String> = this.keys().filter(|k| base.contains_key(*k)).collect();
    if common.is_empty() {
        return None;
    }
    let sum = |side: &BTreeMap<String, Vec<TestCost>>, f: &dyn Fn(&TestCost) -> Option<f64>| {
        common
            .iter()
            .map(|k| {
                let values: Vec<f64> = side[*k].iter().filter_map(f).collect();
                stats::percentile(&values, 50.0).unwrap_or(0.0)
            })
            .sum::<f64>()
    };
    let both = |f: &dyn Fn(&TestCost) -> Option<f64>| (sum(&this, f), sum(&base, f));
    let services = |m: &str| {
        let v: Vec<f64> = of(runs, m, jobs)
            .filter_map(outside_cpu)
            .map(|o| o.services_s)
            .collect();
        crate::stats::mean(&v)
    };
    // The baseline's tests with a record per run, over which its shared server's CPU is spread.
    let base_tests_per_run = base.values().map(Vec::len).sum::<usize>() as f64 / base_runs as f64;
    let shared_cpu_s = match (services(baseline), services(mode)) {
        (Some(b), Some(m)) if base_tests_per_run > 0.0 => {
            (b - m).max(0.0) * common.len() as f64 / base_tests_per_run
        }
        _ => 0.0,
    };
    Some(LikeForLike {
        mode: mode.to_owned(),
        baseline: baseline.to_owned(),
        jobs,
        tests: common.len(),
        wall_s: both(&|c| Some(c.wall_s)),
        environment_s: both(&|c| Some(c.phase(Phase::Environment).0)),
        body_s: both(&|c| Some(c.phase(Phase::Body).0)),
        cpu_s: both(&|c| c.cpu_s),
        shared_cpu_s,
    })
}

/// One row of a breakdown table: a phase over every run of a mode at one `-j`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseRow {
    /// The phase.
    pub phase: Phase,
    /// Tests that had it, per run (mean over the runs).
    pub tests: f64,
    /// Median wall over every test that had it, in milliseconds.
    pub wall_median_ms: Option<f64>,
    /// Σ wall per run (mean over the runs), in seconds.
    pub wall_sum_s: f64,
    /// Median CPU, in milliseconds.
    pub cpu_median_ms: Option<f64>,
    /// Σ CPU per run (mean over the runs), in seconds.
    pub cpu_sum_s: Option<f64>,
}

/// The breakdown of a mode at one `-j`: a row per phase, and the CPU outside the tests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breakdown {
    /// The mode.
    pub mode: String,
    /// `-j`.
    pub jobs: u32,
    /// Runs aggregated.
    pub runs: usize,
    /// A row per phase that occurred.
    pub rows: Vec<PhaseRow>,
    /// Σ over every phase (per run, mean over runs): wall and CPU of the test processes.
    pub total_wall_s: f64,
    /// Σ CPU of the test processes with a record.
    pub total_cpu_s: Option<f64>,
    /// CPU of the run's other processes during the run (per run, mean): services, runner and
    /// the rest of the machine.
    pub outside: Option<OutsideCpu>,
}

/// CPU-seconds a run spent outside its test processes, over the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutsideCpu {
    /// The setup script and what it started (PostgreSQL, Redis, DataStorage; in the baseline
    /// the shared API server and manager).
    pub services_s: f64,
    /// nextest and cargo.
    pub runner_s: f64,
    /// The rest of the machine (other users, this matrix process): busy CPU not accounted to
    /// the run's processes.
    pub others_s: f64,
}

/// The breakdown of every (mode, -j) of `runs`.
pub fn breakdowns(runs: &[RunData]) -> Vec<Breakdown> {
    let mut keys: Vec<(String, u32)> = Vec::new();
    for r in runs {
        if !keys.contains(&(r.mode.clone(), r.jobs)) {
            keys.push((r.mode.clone(), r.jobs));
        }
    }
    keys.sort_by_key(|k| k.1);
    keys.into_iter()
        .filter_map(|(mode, jobs)| {
            let group: Vec<&RunData> = runs
                .iter()
                .filter(|r| r.mode == mode && r.jobs == jobs)
                .collect();
            breakdown(&mode, jobs, &group)
        })
        .collect()
}

fn breakdown(mode: &str, jobs: u32, runs: &[&RunData]) -> Option<Breakdown> {
    if runs.is_empty() || runs.iter().all(|r| r.phases.is_empty()) {
        return None;
    }
    let n = runs.len() as f64;
    let costs: Vec<Vec<TestCost>> = runs.iter().map(|r| test_costs(r)).collect();
    let mut rows = Vec::new();
    for phase in Phase::ALL {
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        for c in costs.iter().flatten() {
            if let Some(p) = c.phases.iter().find(|p| p.0 == phase) {
                walls.push(p.1);
                if let Some(cpu) = p.2 {
                    cpus.push(cpu);
                }
            }
        }
        if walls.is_empty() {
            continue;
        }
        rows.push(PhaseRow {
            phase,
            tests: walls.len() as f64 / n,
            wall_median_ms: stats::percentile(&walls, 50.0).map(|s| s * 1e3),
            wall_sum_s: walls.iter().sum::<f64>() / n,
            cpu_median_ms: stats::percentile(&cpus, 50.0).map(|s| s * 1e3),
            cpu_sum_s: (!cpus.is_empty()).then(|| cpus.iter().sum::<f64>() / n),
        });
    }
    let total_wall_s = rows.iter().map(|r| r.wall_sum_s).sum();
    let cpu_rows: Vec<f64> = rows.iter().filter_map(|r| r.cpu_sum_s).collect();
    let outside: Vec<OutsideCpu> = runs.iter().filter_map(|r| outside_cpu(r)).collect();
    let outside = (!outside.is_empty()).then(|| {
        let k = outside.len() as f64;
        OutsideCpu {
            services_s: outside.iter().map(|o| o.services_s).sum::<f64>() / k,
            runner_s: outside.iter().map(|o| o.runner_s).sum::<f64>() / k,
            others_s: outside.iter().map(|o| o.others_s).sum::<f64>() / k,
        }
    });
    Some(Breakdown {
        mode: mode.to_owned(),
        jobs,
        runs: runs.len(),
        rows,
        total_wall_s,
        total_cpu_s: (!cpu_rows.is_empty()).then(|| cpu_rows.iter().sum()),
        outside,
    })
}

/// The run's CPU outside its test processes, from its CPU series (first to last point). The
/// test processes' own CPU is taken from their phase records where they have more than the
/// `/proc` samples saw, so "others" is what neither accounts for.
///
/// The samples miss what a test process computes after its last sample (up to a sampling
/// interval each, all of a process shorter than one): 1.2 to 1.7 CPU-s per run of 158 tests,
/// measured, which counted as the machine's other load until the records were taken too, and
/// which the projection then took away from the cores a second time.
pub fn outside_cpu(run: &RunData) -> Option<OutsideCpu> {
    let (first, last) = (run.cpu_series.first()?, run.cpu_series.last()?);
    let d = |f: fn(&CpuPoint) -> f64| (f(last) - f(first)).max(0.0);
    let services_s = d(|p| p.services_s);
    let runner_s = d(|p| p.runner_s);
    let recorded_s: f64 = run.phases.iter().map(|p| p.exit.cpu_ms / 1e3).sum();
    let tests_s = d(|p| p.tests_s).max(recorded_s);
    let machine_s = d(|p| p.machine_s);
    Some(OutsideCpu {
        services_s,
        runner_s,
        others_s: (machine_s - services_s - runner_s - tests_s).max(0.0),
    })
}

/// The cumulative CPU of a run's processes at one instant, in CPU-seconds since the run began.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuPoint {
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// The test processes (their last sampled CPU: a process's final few milliseconds after
    /// its last sample are missed).
    pub tests_s: f64,
    /// The setup script and the services it started.
    pub services_s: f64,
    /// nextest and cargo.
    pub runner_s: f64,
    /// The whole machine's busy CPU.
    pub machine_s: f64,
}

/// What a process is to the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A test process.
    Test,
    /// The setup script or something it started.
    Service,
    /// nextest, cargo, or a build they started.
    Runner,
    /// Not the run's.
    Other,
}

/// Follows the CPU of a run's processes from `/proc` samples: every process under the nextest
/// command, and every process carrying the run's `NEXTEST_RUN_ID` wherever it was re-parented
/// (the setup script's daemons outlive the script).
#[derive(Debug, Default)]
pub struct CpuTracker {
    roles: HashMap<u32, Role>,
    last_ticks: HashMap<u32, u64>,
    machine_start: Option<u64>,
    /// The series so far.
    pub series: Vec<CpuPoint>,
}

/// Names of the runner's own processes: what nextest needs to run, not what the tests do.
const RUNNER_COMMS: &[&str] = &["cargo", "cargo-nextest", "rustc"];

impl CpuTracker {
    /// Takes one sample at `at_s`: `tests` are the test pids of this instant (from
    /// [`ProcFs::sample`]), `root` the nextest command, `run_id` the run's id once known.
    pub fn sample(
        &mut self,
        procfs: &ProcFs,
        table: &HashMap<u32, ProcCpu>,
        at_s: f64,
        root: u32,
        tests: &[u32],
        run_id: Option<&str>,
    ) {
        let parents: HashMap<u32, u32> = table.iter().map(|(&pid, p)| (pid, p.ppid)).collect();
        let under = crate::procfs::descendants(root, &parents);
        for (&pid, p) in table {
            let role = match self.roles.get(&pid) {
                Some(&role) => role,
                None => {
                    let Some(role) = classify(procfs, pid, p, root, &under, tests, run_id) else {
                        continue;
                    };
                    self.roles.insert(pid, role);
                    role
                }
            };
            if role != Role::Other {
                self.last_ticks.insert(pid, p.ticks);
            }
        }
        let machine = procfs.cpu_ticks().map(|c| c.busy);
        if self.machine_start.is_none() {
            self.machine_start = machine;
        }
        let due = self
            .series
            .last()
            .is_none_or(|p| at_s - p.at_s >= CPU_POINT_EVERY_S);
        if due {
            self.push(at_s, machine);
        }
    }

    /// The point at the end of the run (always recorded).
    pub fn finish(&mut self, procfs: &ProcFs, at_s: f64) {
        let machine = procfs.cpu_ticks().map(|c| c.busy);
        self.push(at_s, machine);
    }

    fn push(&mut self, at_s: f64, machine: Option<u64>) {
        let sum = |role: Role| {
            self.last_ticks
                .iter()
                .filter(|(pid, _)| self.roles.get(pid) == Some(&role))
                .map(|(_, &t)| t as f64 / USER_HZ)
                .sum::<f64>()
        };
        let machine_s = match (machine, self.machine_start) {
            (Some(now), Some(start)) => now.saturating_sub(start) as f64 / USER_HZ,
            _ => 0.0,
        };
        self.series.push(CpuPoint {
            at_s,
            tests_s: sum(Role::Test),
            services_s: sum(Role::Service),
            runner_s: sum(Role::Runner),
            machine_s,
        });
    }
}

/// The role of a process first seen now; `None` when it cannot be told yet (the run id is not
/// known, and it is not under the runner).
fn classify(
    procfs: &ProcFs,
    pid: u32,
    p: &ProcCpu,
    root: u32,
    under: &std::collections::HashSet<u32>,
    tests: &[u32],
    run_id: Option<&str>,
) -> Option<Role> {
    if tests.contains(&pid) {
        return Some(Role::Test);
    }
    if pid == root || under.contains(&pid) {
        // Under the runner: its tools, or the setup script and its services. A test process
        // not yet in `tests` (seen between two samples) is decided at the next sample.
        if RUNNER_COMMS.contains(&p.comm.as_str()) {
            return Some(Role::Runner);
        }
        if procfs.environ_var(pid, "NEXTEST_TEST_NAME").is_some()
            || procfs
                .environ_var(pid, "NEXTEST_TEST_GLOBAL_SLOT")
                .is_some()
        {
            return Some(Role::Test);
        }
        return Some(Role::Service);
    }
    let run_id = run_id?;
    Some(
        if procfs.environ_var(pid, "NEXTEST_RUN_ID").as_deref() == Some(run_id) {
            Role::Service
        } else {
            Role::Other
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::events::Outcome;

    pub(crate) fn timing(name: &str, start_s: f64, end_s: f64) -> TestTiming {
        TestTiming {
            suite: "controllers::wfe".into(),
            name: name.into(),
            start_s,
            end_s,
            outcome: Outcome::Passed,
            attempts: 1,
            slowest_attempt_s: end_s - start_s,
        }
    }

    fn mark(at_s: f64, cpu_ms: f64) -> PhaseMark {
        PhaseMark { at_s, cpu_ms }
    }

    /// A run of mode `mode`: test `a` (1.0 → 2.0 s) with a record, test `b` without one.
    pub(crate) fn run(mode: &str, env_ms: f64) -> RunData {
        let env = env_ms / 1e3;
        RunData {
            mode: mode.into(),
            jobs: 1,
            repeat: 1,
            run_id: Some("r".into()),
            wall_s: 4.0,
            exit_code: Some(0),
            tests: vec![timing("a", 1.0, 2.0), timing("b", 2.0, 2.5)],
            ready: Vec::new(),
            peak_rss_bytes: 0,
            peak_processes: 0,
            samples: 0,
            cpu: None,
            log: String::new(),
            privilege: None,
            phases: vec![PhaseTime {
                suite: "wfe".into(),
                test: Some("a".into()),
                pid: 1,
                age_at_touch_ms: Some(20.0),
                touch: mark(1.1, 30.0),
                ready: Some(mark(1.1 + env, 30.0 + env_ms)),
                body_end: Some(mark(1.8, 200.0)),
                exit: mark(1.95, 230.0),
            }],
            cpu_series: vec![
                CpuPoint {
                    at_s: 0.0,
                    tests_s: 0.0,
                    services_s: 0.0,
                    runner_s: 0.0,
                    machine_s: 0.0,
                },
                CpuPoint {
                    at_s: 4.0,
                    tests_s: 0.3,
                    services_s: 1.0,
                    runner_s: 0.5,
                    machine_s: 2.0,
                },
            ],
            cores_allowed: Some(2),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_test_is_split_into_its_phases() {
        let r = run("integration", 100.0);
        let costs = test_costs(&r);
        let a = &costs[0];
        // Start-up: 1 s of nextest time minus 0.85 s in the process after first touch.
        let (w, c) = a.phase(Phase::StartUp);
        assert!(close(w, 0.15) && close(c.unwrap(), 0.030), "{a:?}");
        let (w, c) = a.phase(Phase::Environment);
        assert!(close(w, 0.1) && close(c.unwrap(), 0.1), "{a:?}");
        let (w, c) = a.phase(Phase::Body);
        assert!(close(w, 0.6) && close(c.unwrap(), 0.07), "{a:?}");
        let (w, c) = a.phase(Phase::Teardown);
        assert!(close(w, 0.15) && close(c.unwrap(), 0.03), "{a:?}");
        assert!(close(a.cpu_s.unwrap(), 0.23));
        // b touched no fixture: whole, no CPU.
        assert_eq!(costs[1].phases, vec![(Phase::NoFixture, 0.5, None)]);
        // A retried test is not one process: whole too.
        let mut retried = r.clone();
        retried.tests[0].attempts = 2;
        assert_eq!(test_costs(&retried)[0].phases[0].0, Phase::NoFixture);
        // A record of another test, or outside the bar, is not this test's.
        let mut other = r.clone();
        other.phases[0].touch.at_s = 3.0;
        assert_eq!(test_costs(&other)[0].phases[0].0, Phase::NoFixture);
    }

    #[test]
    fn a_failed_build_is_all_environment() {
        let mut r = run("integration", 100.0);
        r.phases[0].ready = None;
        let a = &test_costs(&r)[0];
        assert_eq!(a.phases.len(), 2, "{a:?}");
        assert!(close(a.phase(Phase::Environment).0, 0.85));
    }

    #[test]
    fn breakdowns_aggregate_and_split_the_cpu_outside() {
        let b = &breakdowns(&[run("integration", 100.0), run("integration", 300.0)])[0];
        assert_eq!((b.mode.as_str(), b.jobs, b.runs), ("integration", 1, 2));
        let env = b
            .rows
            .iter()
            .find(|r| r.phase == Phase::Environment)
            .unwrap();
        assert!(close(env.wall_median_ms.unwrap(), 200.0));
        assert!(close(env.wall_sum_s, 0.2) && close(env.tests, 1.0));
        let none = b.rows.iter().find(|r| r.phase == Phase::NoFixture).unwrap();
        assert_eq!(none.cpu_sum_s, None);
        // Σ wall of both tests: 1.0 + 0.5 s.
        assert!(close(b.total_wall_s, 1.5), "{b:?}");
        // 2 CPU-s busy: 0.3 tests, 1.0 services, 0.5 runner, the rest others.
        let o = b.outside.unwrap();
        assert!(close(o.services_s, 1.0) && close(o.runner_s, 0.5) && close(o.others_s, 0.2));
        // Samples that missed part of a test process's CPU: its record counts, not the rest of
        // the machine.
        let mut missed = run("integration", 100.0);
        missed.cpu_series[1].tests_s = 0.1;
        let o = outside_cpu(&missed).unwrap();
        assert!(close(o.others_s, 2.0 - 1.0 - 0.5 - 0.23), "{o:?}");
        // Runs without records have no breakdown.
        let mut bare = run("integration", 1.0);
        bare.phases.clear();
        assert!(breakdowns(&[bare]).is_empty());
    }
}
