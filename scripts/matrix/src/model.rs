//! The raw data of a matrix (written as `report.json`) and the figures derived from it.

use serde::{Deserialize, Serialize};

use crate::events::{Outcome, TestTiming};
use crate::stats;

/// Everything one `matrix` invocation measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MatrixData {
    /// When the matrix started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u128,
    /// The mode that is the single-controller baseline, if any.
    pub baseline: Option<String>,
    /// The nextest arguments every run shared (filters, partition).
    pub common_args: Vec<String>,
    /// The runs, in the order they ran.
    pub runs: Vec<RunData>,
}

/// One `cargo nextest run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// The nextest profile, e.g. `integration` (per-process) or `integration-single`.
    pub mode: String,
    /// `-j`.
    pub jobs: u32,
    /// 1-based repeat number.
    pub repeat: u32,
    /// nextest's run id, when one of the run's test processes was seen.
    pub run_id: Option<String>,
    /// The run's wall time: nextest started to nextest exited.
    pub wall_s: f64,
    /// nextest's exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// Every test, timed from the start of the run.
    pub tests: Vec<TestTiming>,
    /// The per-process environment-ready records the fixture wrote during the run.
    pub ready: Vec<ReadyTime>,
    /// The largest Σ RSS over the test processes at one instant, in bytes.
    pub peak_rss_bytes: u64,
    /// The most test processes seen at one instant.
    pub peak_processes: usize,
    /// How many /proc samples were taken.
    pub samples: u64,
    /// The machine's CPU use over the run (absent in reports from before it was measured).
    #[serde(default)]
    pub cpu: Option<MachineCpu>,
    /// The phase record of every test process that touched a fixture (absent in reports
    /// from before they were written).
    #[serde(default)]
    pub phases: Vec<crate::costs::PhaseTime>,
    /// The cumulative CPU of the run's processes, sampled (see [`crate::costs::CpuTracker`]).
    #[serde(default)]
    pub cpu_series: Vec<crate::costs::CpuPoint>,
    /// The CPUs the run was allowed to use (its affinity, e.g. 1 under `taskset -c 0`).
    #[serde(default)]
    pub cores_allowed: Option<u32>,
    /// The least-privilege report on the records the run's test processes wrote (`None`: they
    /// wrote none; absent in reports from before it was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege: Option<crate::privilege::Verdict>,
    /// nextest's human-readable output.
    pub log: String,
}

/// The whole machine's CPU use over one run, from `/proc/stat`: every process counts, the
/// shared infrastructure and the baseline's shared server and manager included, so measure on
/// an otherwise quiet machine.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineCpu {
    /// Busy share of all cores, 0 to 1.
    pub busy: f64,
    /// Online cores.
    pub cores: u32,
}

impl MachineCpu {
    /// CPU-seconds spent during a run of `wall_s` seconds.
    pub fn busy_s(&self, wall_s: f64) -> f64 {
        self.busy * f64::from(self.cores) * wall_s
    }
}

/// One process's "first touch → environment ready" time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadyTime {
    /// The suite the fixture built.
    pub suite: String,
    /// The test that built it.
    pub test: Option<String>,
    /// The process.
    pub pid: u32,
    /// nextest's slot.
    pub slot: Option<u32>,
    /// Milliseconds from first touch to ready.
    pub ready_ms: f64,
    /// When it became ready, in seconds from the start of the run.
    pub ready_at_s: f64,
    /// The process's API server.
    pub server_url: String,
    /// The pid owning that API server.
    pub server_pid: u32,
}

/// The figures of one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    /// Tests that passed at the first attempt.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that passed only on a retry.
    pub flaky: usize,
    /// First test start to last test end.
    pub test_span_s: f64,
    /// Σ test durations ÷ (wall × j).
    pub utilization: Option<f64>,
    /// Σ test durations ÷ (test span × j): without nextest's and the setup script's own time.
    pub utilization_span: Option<f64>,
    /// Median environment-ready time.
    pub ready_median_ms: Option<f64>,
    /// 95th percentile environment-ready time.
    pub ready_p95_ms: Option<f64>,
    /// Processes whose API server belongs to another process (0 in the per-process pattern).
    pub shared_servers: usize,
}

impl RunData {
    /// Whether the run failed: nextest did not exit 0, a test failed, or a controller used
    /// what it did not declare (the least-privilege report).
    pub fn failed(&self) -> bool {
        self.exit_code != Some(0)
            || self.summary().failed > 0
            || self.privilege.as_ref().is_some_and(|p| p.failed())
    }

    /// The run's figures.
    pub fn summary(&self) -> RunSummary {
        let count = |o: Outcome| self.tests.iter().filter(|t| t.outcome == o).count();
        let ready: Vec<f64> = self.ready.iter().map(|r| r.ready_ms).collect();
        let span = stats::test_span_s(&self.tests);
        RunSummary {
            passed: count(Outcome::Passed),
            failed: count(Outcome::Failed),
            flaky: count(Outcome::Flaky),
            test_span_s: span,
            utilization: stats::utilization(&self.tests, self.wall_s, self.jobs),
            utilization_span: stats::utilization(&self.tests, span, self.jobs),
            ready_median_ms: stats::percentile(&ready, 50.0),
            ready_p95_ms: stats::percentile(&ready, 95.0),
            shared_servers: self.ready.iter().filter(|r| r.server_pid != r.pid).count(),
        }
    }
}

/// The figures of every run of one mode at one `-j`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelSummary {
    /// The mode.
    pub mode: String,
    /// `-j`.
    pub jobs: u32,
    /// How many runs.
    pub runs: usize,
    /// Mean wall time.
    pub wall_s: f64,
    /// Mean utilization (of wall time).
    pub utilization: Option<f64>,
    /// Mean utilization of the test span.
    pub utilization_span: Option<f64>,
    /// Mean test span (first test start to last test end).
    pub test_span_s: f64,
    /// Mean wall at `-j 1` of this mode ÷ mean wall here.
    pub speedup_vs_j1: Option<f64>,
    /// The same with test spans: without nextest's start-up, builds and the setup script,
    /// which on a busy shared machine can dwarf a short suite.
    pub span_speedup_vs_j1: Option<f64>,
    /// Mean wall of the baseline mode at this `-j` ÷ mean wall here (modes other than the
    /// baseline, when the baseline ran at this `-j`).
    pub speedup_vs_baseline: Option<f64>,
    /// The same with test spans.
    pub span_speedup_vs_baseline: Option<f64>,
    /// Passed ÷ tests, over every run.
    pub pass_rate: Option<f64>,
    /// Tests over every run, and how many failed / were flaky.
    pub tests: usize,
    /// Failed tests over every run.
    pub failed: usize,
    /// Flaky tests over every run.
    pub flaky: usize,
    /// The largest peak Σ RSS of the runs.
    pub peak_rss_bytes: u64,
    /// Environment-ready median over every record of these runs.
    pub ready_median_ms: Option<f64>,
    /// Environment-ready 95th percentile over every record of these runs.
    pub ready_p95_ms: Option<f64>,
    /// Processes that used another process's API server.
    pub shared_servers: usize,
    /// Mean CPU-seconds the machine spent per run.
    pub cpu_busy_s: Option<f64>,
    /// Mean busy share of all cores.
    pub cpu_busy: Option<f64>,
    /// Online cores.
    pub cores: Option<u32>,
    /// The most this mode could beat the baseline's wall at this `-j` on this machine if its
    /// CPU work were spread perfectly over every core: baseline wall ÷ (CPU-seconds ÷ cores).
    /// A measured speedup near it means the run is CPU-bound, and only more cores (or less work
    /// per test) can raise it.
    pub speedup_ceiling_vs_baseline: Option<f64>,
}

impl MatrixData {
    /// The modes in the order they first ran.
    pub fn modes(&self) -> Vec<String> {
        let mut modes: Vec<String> = Vec::new();
        for r in &self.runs {
            if !modes.contains(&r.mode) {
                modes.push(r.mode.clone());
            }
        }
        modes
    }

    fn mean_wall(&self, mode: &str, jobs: u32) -> Option<f64> {
        let walls: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| r.mode == mode && r.jobs == jobs)
            .map(|r| r.wall_s)
            .collect();
        stats::mean(&walls)
    }

    fn mean_span(&self, mode: &str, jobs: u32) -> Option<f64> {
        let spans: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| r.mode == mode && r.jobs == jobs)
            .map(|r| stats::test_span_s(&r.tests))
            .collect();
        stats::mean(&spans)
    }

    /// One summary per mode and `-j`, modes in run order, `-j` ascending.
    pub fn levels(&self) -> Vec<LevelSummary> {
        let mut out = Vec::new();
        for mode in self.modes() {
            let mut jobs: Vec<u32> = self
                .runs
                .iter()
                .filter(|r| r.mode == mode)
                .map(|r| r.jobs)
                .collect();
            jobs.sort_unstable();
            jobs.dedup();
            for j in jobs {
                let runs: Vec<&RunData> = self
                    .runs
                    .iter()
                    .filter(|r| r.mode == mode && r.jobs == j)
                    .collect();
                let summaries: Vec<RunSummary> = runs.iter().map(|r| r.summary()).collect();
                let wall = self.mean_wall(&mode, j).unwrap_or(0.0);
                let utils: Vec<f64> = summaries.iter().filter_map(|s| s.utilization).collect();
                let utils_span: Vec<f64> = summaries
                    .iter()
                    .filter_map(|s| s.utilization_span)
                    .collect();
                let tests: usize = runs.iter().map(|r| r.tests.len()).sum();
                let passed: usize = summaries.iter().map(|s| s.passed + s.flaky).sum();
                let ready: Vec<f64> = runs
                    .iter()
                    .flat_map(|r| r.ready.iter().map(|x| x.ready_ms))
                    .collect();
                let baseline = self.baseline.as_deref().filter(|b| *b != mode);
                let span = self.mean_span(&mode, j).unwrap_or(0.0);
                let cpu: Vec<(f64, f64, u32)> = runs
                    .iter()
                    .filter_map(|r| r.cpu.map(|c| (c.busy_s(r.wall_s), c.busy, c.cores)))
                    .collect();
                let cpu_busy_s = stats::mean(&cpu.iter().map(|c| c.0).collect::<Vec<_>>());
                let cores = cpu.iter().map(|c| c.2).max();
                out.push(LevelSummary {
                    mode: mode.clone(),
                    jobs: j,
                    runs: runs.len(),
                    wall_s: wall,
                    utilization: stats::mean(&utils),
                    utilization_span: stats::mean(&utils_span),
                    test_span_s: span,
                    speedup_vs_j1: self
                        .mean_wall(&mode, 1)
                        .and_then(|w1| stats::speedup(w1, wall)),
                    span_speedup_vs_j1: self
                        .mean_span(&mode, 1)
                        .and_then(|s1| stats::speedup(s1, span)),
                    speedup_vs_baseline: baseline
                        .and_then(|b| self.mean_wall(b, j))
                        .and_then(|wb| stats::speedup(wb, wall)),
                    span_speedup_vs_baseline: baseline
                        .and_then(|b| self.mean_span(b, j))
                        .and_then(|sb| stats::speedup(sb, span)),
                    pass_rate: (tests > 0).then(|| passed as f64 / tests as f64),
                    tests,
                    failed: summaries.iter().map(|s| s.failed).sum(),
                    flaky: summaries.iter().map(|s| s.flaky).sum(),
                    peak_rss_bytes: runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0),
                    ready_median_ms: stats::percentile(&ready, 50.0),
                    ready_p95_ms: stats::percentile(&ready, 95.0),
                    shared_servers: summaries.iter().map(|s| s.shared_servers).sum(),
                    cpu_busy_s,
                    cpu_busy: stats::mean(&cpu.iter().map(|c| c.1).collect::<Vec<_>>()),
                    cores,
                    speedup_ceiling_vs_baseline: baseline
                        .and_then(|b| self.mean_wall(b, j))
                        .zip(cpu_busy_s.zip(cores))
                        .and_then(|(wb, (busy_s, cores))| {
                            stats::speedup(wb, busy_s / f64::from(cores))
                        }),
                });
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small fixed matrix: two modes, -j 1 and 2, with one failure and a shared server.
    pub(crate) fn sample() -> MatrixData {
        let t = |suite: &str, name: &str, start_s: f64, end_s: f64, outcome: Outcome| TestTiming {
            suite: suite.into(),
            name: name.into(),
            start_s,
            end_s,
            outcome,
            attempts: 1,
            slowest_attempt_s: end_s - start_s,
        };
        let ready = |pid: u32, server_pid: u32, ready_ms: f64| ReadyTime {
            suite: "workflowexecution".into(),
            test: Some(format!("t{pid}")),
            pid,
            slot: Some(0),
            ready_ms,
            ready_at_s: 1.0,
            server_url: "http://127.0.0.1:1".into(),
            server_pid,
        };
        let run =
            |mode: &str, jobs: u32, wall_s: f64, tests: Vec<TestTiming>, ready: Vec<ReadyTime>| {
                RunData {
                    mode: mode.into(),
                    jobs,
                    repeat: 1,
                    run_id: Some(format!("{mode}-{jobs}")),
                    wall_s,
                    exit_code: Some(0),
                    tests,
                    ready,
                    peak_rss_bytes: (u64::from(jobs) * 100) << 20,
                    peak_processes: jobs as usize,
                    samples: 10,
                    // Half of 2 cores busy at -j 1, all of them at -j 2.
                    cpu: Some(MachineCpu {
                        busy: if jobs == 1 { 0.5 } else { 1.0 },
                        cores: 2,
                    }),
                    log: String::new(),
                    privilege: None,
                    phases: Vec::new(),
                    cpu_series: Vec::new(),
                    cores_allowed: Some(2),
                }
            };
        let wfe = "controllers::workflowexecution";
        let fx = "fixtures::fixture";
        let four = |k: f64| {
            vec![
                t(wfe, "lifecycle::completes", 0.5, 0.5 + 2.0, Outcome::Passed),
                t(
                    wfe,
                    "lock::blocks",
                    0.5 + k * 2.0,
                    0.5 + k * 2.0 + 3.0,
                    Outcome::Passed,
                ),
                t(
                    fx,
                    "dump_writes_every_object_as_yaml",
                    0.5 + k * 5.0,
                    0.5 + k * 5.0 + 1.0,
                    Outcome::Failed,
                ),
                t(
                    fx,
                    "kubeconfig",
                    0.5 + k * 6.0,
                    0.5 + k * 6.0 + 1.0,
                    Outcome::Flaky,
                ),
            ]
        };
        MatrixData {
            started_at_unix_ms: 1_700_000_000_000,
            baseline: Some("integration-single".into()),
            common_args: vec!["-E".into(), "package(fixtures)".into()],
            runs: vec![
                run(
                    "integration",
                    1,
                    8.0,
                    four(1.0),
                    vec![ready(1, 1, 40.0), ready(2, 2, 60.0)],
                ),
                run(
                    "integration",
                    2,
                    4.0,
                    vec![
                        t(wfe, "lifecycle::completes", 0.5, 2.5, Outcome::Passed),
                        t(wfe, "lock::blocks", 0.5, 3.5, Outcome::Passed),
                        t(
                            fx,
                            "dump_writes_every_object_as_yaml",
                            2.5,
                            3.5,
                            Outcome::Failed,
                        ),
                        t(fx, "kubeconfig", 3.5, 3.9, Outcome::Flaky),
                    ],
                    vec![ready(3, 3, 50.0)],
                ),
                run(
                    "integration-single",
                    1,
                    9.0,
                    four(1.0),
                    vec![ready(4, 99, 5.0)],
                ),
                run("integration-single", 2, 8.0, four(1.0), vec![]),
            ],
        }
    }

    #[test]
    fn levels_aggregate_per_mode_and_jobs() {
        let levels = sample().levels();
        assert_eq!(levels.len(), 4);
        let (one, two) = (&levels[0], &levels[1]);
        assert_eq!(
            (one.mode.as_str(), one.jobs, two.jobs),
            ("integration", 1, 2)
        );
        assert_eq!(two.speedup_vs_j1, Some(2.0));
        assert_eq!(two.speedup_vs_baseline, Some(2.0));
        // Test spans: 7 s at -j 1 (0.5 → 7.5), 3.4 s at -j 2 (0.5 → 3.9), 7 s in the baseline.
        assert_eq!((one.test_span_s, two.test_span_s), (7.0, 3.4));
        assert_eq!(two.span_speedup_vs_j1, Some(7.0 / 3.4));
        assert_eq!(two.span_speedup_vs_baseline, Some(7.0 / 3.4));
        assert_eq!(one.speedup_vs_baseline, Some(9.0 / 8.0));
        // Σ durations = 2 + 3 + 1 + 1 = 7 s over 8 s × 1 slot.
        assert_eq!(one.utilization, Some(7.0 / 8.0));
        // 3 of 4 passed (the flaky one counts as passed, and is counted as flaky).
        assert_eq!((one.pass_rate, one.failed, one.flaky), (Some(0.75), 1, 1));
        assert_eq!(one.ready_median_ms, Some(50.0));
        assert_eq!(one.shared_servers, 0);
        // The baseline has no speedup against itself, and reports its shared server.
        assert_eq!(levels[2].speedup_vs_baseline, None);
        assert_eq!(levels[2].shared_servers, 1);
        // CPU: -j 2 ran 4 s with both cores busy = 8 CPU-seconds, which 2 cores need at least
        // 4 s for: the baseline's 8 s at -j 2 can be beaten by 2× at most, as it was.
        assert_eq!(
            (two.cpu_busy_s, two.cpu_busy, two.cores),
            (Some(8.0), Some(1.0), Some(2))
        );
        assert_eq!(two.speedup_ceiling_vs_baseline, Some(2.0));
        // -j 1: 8 s at half of 2 cores = 8 CPU-seconds; the baseline's -j 1 took 9 s.
        assert_eq!(one.speedup_ceiling_vs_baseline, Some(9.0 / 4.0));
        assert_eq!(levels[2].speedup_ceiling_vs_baseline, None);
        assert_eq!(levels[3].ready_median_ms, None);
        assert_eq!(levels[3].peak_rss_bytes, 200 << 20);
    }

    #[test]
    fn raw_data_round_trips_through_json() {
        let data = sample();
        let json = serde_json::to_string(&data).unwrap();
        let back: MatrixData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn reports_from_before_cpu_was_measured_still_load() {
        let mut data = sample();
        let mut json: serde_json::Value = serde_json::to_value(&data).unwrap();
        for run in json["runs"].as_array_mut().unwrap() {
            run.as_object_mut().unwrap().remove("cpu");
        }
        let back: MatrixData = serde_json::from_value(json).unwrap();
        for run in &mut data.runs {
            run.cpu = None;
        }
        assert_eq!(back, data);
        assert!(
            back.levels()
                .iter()
                .all(|l| l.cpu_busy_s.is_none() && l.speedup_ceiling_vs_baseline.is_none())
        );
    }
}
