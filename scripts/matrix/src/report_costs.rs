//! The report's sections on where the time goes: the per-test cost breakdown per mode and
//! `-j` with the difference to the baseline, and the projection to other core counts
//! (a simulation, validated against runs measured on different core counts).

use std::fmt::Write as _;

use crate::costs::{self, Breakdown, Phase};
use crate::model::{MatrixData, RunData};
use crate::report::escape;
use crate::sim;
use crate::stats;

/// The `-j` of the projection and the core counts it is projected to (the question:
/// what the suites do on bigger machines than the 2-core one measured).
pub const PROJECT_JOBS: u32 = 12;
/// See [`PROJECT_JOBS`].
pub const PROJECT_CORES: [u32; 3] = [4, 8, 16];

/// A titled table, written as Markdown or HTML.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// The heading above it.
    pub title: String,
    /// A sentence under the heading.
    pub note: String,
    /// Column names.
    pub header: Vec<String>,
    /// Cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "### {}\n", self.title);
        if !self.note.is_empty() {
            let _ = writeln!(out, "{}\n", self.note);
        }
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        let _ = writeln!(out);
    }

    fn html(&self, out: &mut String) {
        let _ = write!(out, "<h3>{}</h3>", escape(&self.title));
        if !self.note.is_empty() {
            let _ = write!(out, "<p class=\"note\">{}</p>", escape(&self.note));
        }
        out.push_str("<table><tr>");
        for h in &self.header {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr>");
        for r in &self.rows {
            out.push_str("<tr>");
            for c in r {
                let _ = write!(out, "<td>{}</td>", escape(c));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>\n");
    }
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn opt_s(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into())
}

fn signed(v: f64, digits: usize) -> String {
    format!("{v:+.digits$}")
}

const BREAKDOWN_HEADER: [&str; 6] = [
    "phase",
    "tests per run",
    "wall median (ms)",
    "wall Σ per run (s)",
    "CPU median (ms)",
    "CPU Σ per run (s)",
];

fn breakdown_table(b: &Breakdown, title: String) -> Table {
    let mut rows: Vec<Vec<String>> = b
        .rows
        .iter()
        .map(|r| {
            vec![
                r.phase.label().to_owned(),
                format!("{:.1}", r.tests),
                opt_ms(r.wall_median_ms),
                format!("{:.2}", r.wall_sum_s),
                opt_ms(r.cpu_median_ms),
                opt_s(r.cpu_sum_s),
            ]
        })
        .collect();
    rows.push(vec![
        "**all test processes**".into(),
        String::new(),
        String::new(),
        format!("{:.2}", b.total_wall_s),
        String::new(),
        opt_s(b.total_cpu_s),
    ]);
    if let Some(o) = b.outside {
        for (label, v) in [
            (
                "services (setup script, PostgreSQL, Redis, DataStorage; baseline: shared API server and manager)",
                o.services_s,
            ),
            ("runner (nextest, cargo)", o.runner_s),
            ("rest of the machine (other users, this matrix)", o.others_s),
        ] {
            rows.push(vec![
                format!("CPU outside the tests: {label}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{v:.2}"),
            ]);
        }
    }
    Table {
        title,
        note: format!(
            "{} run(s). Wall Σ is slot time (tests overlap at -j > 1); CPU is each process's own (every thread), from its phase record; tests without a record have no CPU figure.",
            b.runs
        ),
        header: BREAKDOWN_HEADER.iter().map(|s| s.to_string()).collect(),
        rows,
    }
}

/// `this − baseline` per phase: the gap, line by line.
fn difference_table(this: &Breakdown, base: &Breakdown) -> Table {
    let row_of = |b: &Breakdown, p: Phase| b.rows.iter().find(|r| r.phase == p).cloned();
    let mut rows = Vec::new();
    for phase in Phase::ALL {
        let (a, z) = (row_of(this, phase), row_of(base, phase));
        if a.is_none() && z.is_none() {
            continue;
        }
        let get = |r: &Option<costs::PhaseRow>, f: fn(&costs::PhaseRow) -> Option<f64>| {
            r.as_ref().and_then(f).unwrap_or(0.0)
        };
        rows.push(vec![
            phase.label().to_owned(),
            signed(get(&a, |r| Some(r.tests)) - get(&z, |r| Some(r.tests)), 1),
            signed(
                get(&a, |r| r.wall_median_ms) - get(&z, |r| r.wall_median_ms),
                1,
            ),
            signed(
                get(&a, |r| Some(r.wall_sum_s)) - get(&z, |r| Some(r.wall_sum_s)),
                2,
            ),
            signed(
                get(&a, |r| r.cpu_median_ms) - get(&z, |r| r.cpu_median_ms),
                1,
            ),
            signed(get(&a, |r| r.cpu_sum_s) - get(&z, |r| r.cpu_sum_s), 2),
        ]);
    }
    rows.push(vec![
        "**all test processes**".into(),
        String::new(),
        String::new(),
        signed(this.total_wall_s - base.total_wall_s, 2),
        String::new(),
        signed(
            this.total_cpu_s.unwrap_or(0.0) - base.total_cpu_s.unwrap_or(0.0),
            2,
        ),
    ]);
    if let (Some(a), Some(z)) = (this.outside, base.outside) {
        rows.push(vec![
            "CPU outside the tests: services".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            signed(a.services_s - z.services_s, 2),
        ]);
        rows.push(vec![
            "CPU outside the tests: runner".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            signed(a.runner_s - z.runner_s, 2),
        ]);
        let total = |b: &Breakdown, o: costs::OutsideCpu| {
            b.total_cpu_s.unwrap_or(0.0) + o.services_s + o.runner_s
        };
        rows.push(vec![
            "**CPU of the run (tests + services + runner)**".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            signed(total(this, a) - total(base, z), 2),
        ]);
    }
    Table {
        title: format!(
            "-j {}: `{}` minus `{}` (baseline)",
            this.jobs, this.mode, base.mode
        ),
        note: "Positive: the mode pays more than the baseline in that phase. The baseline's API server and controllers run in its shared services, so its test processes' CPU leaves their work out; the services row puts it back.".into(),
        header: BREAKDOWN_HEADER.iter().map(|s| s.to_string()).collect(),
        rows,
    }
}

/// The breakdown tables: per -j, one per mode, then the difference of each mode to the
/// baseline.
pub fn breakdown_tables(data: &MatrixData) -> Vec<Table> {
    let all = costs::breakdowns(&data.runs);
    let mut tables = Vec::new();
    for b in &all {
        tables.push(breakdown_table(b, format!("-j {}: `{}`", b.jobs, b.mode)));
    }
    if let Some(base) = &data.baseline {
        for b in all.iter().filter(|b| &b.mode != base) {
            if let Some(z) = all.iter().find(|z| &z.mode == base && z.jobs == b.jobs) {
                tables.push(difference_table(b, z));
            }
            if let Some(l) = costs::like_for_like(&data.runs, &b.mode, base, b.jobs) {
                tables.push(like_for_like_table(&l));
            }
        }
    }
    tables
}

fn like_for_like_table(l: &costs::LikeForLike) -> Table {
    let ratio = |(a, b): (f64, f64)| {
        if b > 0.0 {
            format!("{:.2}×", a / b)
        } else {
            "–".into()
        }
    };
    let per_test = |v: f64| format!("{:.1}", v * 1e3 / l.tests as f64);
    let row = |label: &str, v: (f64, f64)| {
        vec![
            label.to_owned(),
            format!("{:.2}", v.0),
            format!("{:.2}", v.1),
            per_test(v.0),
            per_test(v.1),
            ratio(v),
        ]
    };
    let cpu_with_shared = (l.cpu_s.0, l.cpu_s.1 + l.shared_cpu_s);
    Table {
        title: format!(
            "-j {}: like for like, `{}` against `{}` ({} tests that built an environment in both)",
            l.jobs, l.mode, l.baseline, l.tests
        ),
        note: "Only the tests that did their work in both modes (a test that skips itself in the baseline would count its whole run as overhead). Each figure is the sum over these tests of each one's median over the runs. The baseline's own CPU leaves out its shared API server and manager; the last row adds their CPU (its services' CPU minus this mode's, spread evenly over the baseline's tests).".into(),
        header: [
            "per test",
            "mode Σ (s)",
            "baseline Σ (s)",
            "mode per test (ms)",
            "baseline per test (ms)",
            "mode ÷ baseline",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: vec![
            row("wall (nextest: spawn → exit)", l.wall_s),
            row("environment (touch → ready)", l.environment_s),
            row("body (ready → Env dropped)", l.body_s),
            row("CPU of the test process", l.cpu_s),
            row(
                "CPU with the baseline's shared server and manager",
                cpu_with_shared,
            ),
        ],
    }
}

/// Runs of one (mode, -j, cores).
type Group<'a> = ((String, u32, u32), Vec<&'a RunData>);

/// Runs grouped by (mode, -j, cores).
fn groups(runs: &[RunData]) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for r in runs {
        let Some(cores) = r.cores_allowed.or(r.cpu.map(|c| c.cores)) else {
            continue;
        };
        let key = (r.mode.clone(), r.jobs, cores);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => out.push((key, vec![r])),
        }
    }
    out
}

/// The mean projected span of `runs` (each calibrated on its own) at `jobs` on `cores`, and
/// the mean calibration residual.
fn projected(
    runs: &[&RunData],
    groups: &sim::TestGroups,
    jobs: u32,
    cores: u32,
    contention: sim::Contention,
) -> Option<(f64, f64)> {
    let cal: Vec<sim::Calibrated> = runs
        .iter()
        .filter_map(|r| sim::calibrate_run(r, groups))
        .collect();
    let spans: Vec<f64> = cal
        .iter()
        .map(|c| sim::project(c, jobs, cores, contention))
        .collect();
    let residuals: Vec<f64> = cal.iter().map(|c| c.residual_s).collect();
    Some((stats::mean(&spans)?, stats::mean(&residuals)?))
}

/// The mean span of every target run replayed with every source run's calibrated waits and the
/// target's own CPU and load ([`sim::replay_with_measured_cpu`]): where a projection's error
/// comes from.
fn attributed(sources: &[&RunData], targets: &[&RunData], groups: &sim::TestGroups) -> Option<f64> {
    let cal: Vec<sim::Calibrated> = sources
        .iter()
        .filter_map(|r| sim::calibrate_run(r, groups))
        .collect();
    let spans: Vec<f64> = cal
        .iter()
        .flat_map(|c| {
            targets
                .iter()
                .filter_map(|t| sim::replay_with_measured_cpu(c, t, groups))
        })
        .collect();
    stats::mean(&spans)
}

/// The source of a projection for each (mode, cores): its lowest `-j` measured (best -j 1,
/// where a test's wait shows in full: see [`sim::calibrate`]).
fn sources<'a>(groups: &'a [Group<'a>]) -> Vec<&'a Group<'a>> {
    let mut out: Vec<&Group<'_>> = Vec::new();
    for g in groups {
        let (mode, jobs, cores) = &g.0;
        match out.iter_mut().find(|s| &s.0.0 == mode && &s.0.2 == cores) {
            Some(s) if s.0.1 > *jobs => *s = g,
            Some(_) => {}
            None => out.push(g),
        }
    }
    out
}

fn mean_span(runs: &[&RunData]) -> Option<f64> {
    stats::mean(
        &runs
            .iter()
            .map(|r| stats::test_span_s(&r.tests))
            .collect::<Vec<_>>(),
    )
}

/// The projection tables: the check (every measured level predicted from the lowest -j
/// measured, on the same and on other core counts), and the projection of -j 12 to more
/// cores.
pub fn projection_tables(data: &MatrixData) -> Vec<Table> {
    let config = std::fs::read_to_string(NEXTEST_CONFIG).ok();
    projection_tables_with(data, config.as_deref())
}

/// Where the profiles' test groups are read from, relative to the workspace root the matrix
/// runs in.
const NEXTEST_CONFIG: &str = ".config/nextest.toml";

/// [`projection_tables`] with the nextest configuration's text (None: not found).
pub fn projection_tables_with(data: &MatrixData, config: Option<&str>) -> Vec<Table> {
    let groups = groups(&data.runs);
    let sources = sources(&groups);
    // Each mode's test groups, and what the note says about them.
    let mut group_notes: Vec<String> = Vec::new();
    let mut test_groups: Vec<(String, sim::TestGroups)> = Vec::new();
    for ((mode, _, _), _) in &groups {
        if test_groups.iter().any(|(m, _)| m == mode) {
            continue;
        }
        let parsed = match config {
            None => Err(format!("{NEXTEST_CONFIG} not found")),
            Some(text) => sim::TestGroups::from_config(text, mode),
        };
        match parsed {
            Ok(g) => test_groups.push((mode.clone(), g)),
            Err(e) => {
                group_notes.push(format!("`{mode}`: its test groups are not modelled ({e})."));
                test_groups.push((mode.clone(), sim::TestGroups::default()));
            }
        }
    }
    let groups_of = |mode: &str| {
        test_groups
            .iter()
            .find(|(m, _)| m == mode)
            .map(|(_, g)| g.clone())
            .unwrap_or_default()
    };
    let mut tables = Vec::new();
    // Each mode's contention, fitted on the runs of every core count but `cores` (out of
    // sample: what a prediction for `cores` may know) or, when no other core count was
    // measured, on all of them (in sample). Memoised: a fit replays every run many times.
    let mut fits: Vec<(FitKey, Option<Fitted>)> = Vec::new();
    let mut fit_for = |mode: &str, cores: Option<u32>| -> Option<Fitted> {
        if let Some((_, f)) = fits.iter().find(|(k, _)| k.0 == mode && k.1 == cores) {
            return *f;
        }
        let of_mode: Vec<&RunData> = data.runs.iter().filter(|r| r.mode == mode).collect();
        let others: Vec<&RunData> = of_mode
            .iter()
            .copied()
            .filter(|r| cores.is_some() && r.cores_allowed.or(r.cpu.map(|c| c.cores)) != cores)
            .collect();
        let fit = if others.is_empty() {
            sim::fit_contention(&of_mode, &groups_of(mode)).map(|f| (f, cores.is_some()))
        } else {
            sim::fit_contention(&others, &groups_of(mode)).map(|f| (f, false))
        };
        fits.push(((mode.to_owned(), cores), fit));
        fit
    };
    let mut check = Vec::new();
    for ((mode, src_jobs, src_cores), src_runs) in sources.iter().map(|s| (&s.0, &s.1)) {
        for ((m2, jobs, cores), targets) in &groups {
            if m2 != mode || (jobs == src_jobs && cores == src_cores) {
                continue;
            }
            let fit = fit_for(mode, Some(*cores));
            let contention = fit.map(|(f, _)| f.contention).unwrap_or_default();
            let (Some((predicted, residual)), Some(measured)) = (
                projected(src_runs, &groups_of(mode), *jobs, *cores, contention),
                mean_span(targets),
            ) else {
                continue;
            };
            let error = |span: f64| format!("{:+.1}%", (span - measured) / measured * 100.0);
            let uncontended = projected(
                src_runs,
                &groups_of(mode),
                *jobs,
                *cores,
                sim::Contention::default(),
            );
            let replayed = attributed(src_runs, targets, &groups_of(mode));
            let fitted_on = match fit {
                None => "not fitted (no oversubscribed run)".to_owned(),
                Some((f, true)) => format!(
                    "{} (IN SAMPLE: {} runs of this core count, not a check)",
                    contention_text(f.contention),
                    f.runs
                ),
                Some((f, false)) => format!(
                    "{} ({} runs of other core counts)",
                    contention_text(f.contention),
                    f.runs
                ),
            };
            check.push(vec![
                mode.clone(),
                format!("-j {src_jobs} on {src_cores} → -j {jobs} on {cores}"),
                format!("{predicted:.2}"),
                format!("{measured:.2}"),
                error(predicted),
                uncontended.map_or_else(|| "–".to_owned(), |(span, _)| error(span)),
                format!("{:.1}", residual * 1e3),
                replayed.map_or_else(|| "–".to_owned(), error),
                fitted_on,
            ]);
        }
    }
    if !check.is_empty() {
        tables.push(Table {
            title: "Projection check: measured levels predicted by the simulation".into(),
            note: format!(
                "Test span (first test start to last test end), mean over repeats. Each prediction is calibrated on the mode's lowest -j measured on the source core count (runs under `taskset -c 0` count 1 core), with the profile's test groups from {NEXTEST_CONFIG}, and replayed with the mode's contention (a test's CPU and wait grow by the given fractions per unit of oversubscription, running tests ÷ cores − 1; see `matrix`'s sim module) fitted on the runs of the other core counts measured, so that a row whose target core count was measured apart is a prediction, not a fit. The error without the contention model is the same replay with none. Calibration residual: mean |simulated − measured| test duration left on the source run. The error replaying the target's own CPU, an attribution and not a prediction: the target runs replayed with the source's waits but each test's CPU as measured in the target run and the cores its other load left, without contention.{}",
                group_notes.iter().map(|n| format!(" {n}")).collect::<String>()
            ),
            header: [
                "mode",
                "from → to (cores)",
                "span PROJECTED (s)",
                "span measured (s)",
                "error",
                "error without the contention model",
                "calibration residual (ms per test)",
                "error replaying the target's own CPU and load",
                "contention (CPU, wait) and where it was fitted",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: check,
        });
    }
    let mut modes: Vec<String> = Vec::new();
    for s in &sources {
        if !modes.contains(&s.0.0) {
            modes.push(s.0.0.clone());
        }
    }
    let mut projection = Vec::new();
    for ((mode, jobs, cores), runs) in sources.iter().map(|s| (&s.0, &s.1)) {
        let mut row = vec![
            mode.clone(),
            format!("-j {jobs} on {cores} core(s)"),
            opt_s(mean_span(runs)),
        ];
        let spans: Vec<Option<f64>> = PROJECT_CORES
            .iter()
            .map(|&target| {
                let contention = fit_for(mode, None)
                    .map(|(f, _)| f.contention)
                    .unwrap_or_default();
                projected(runs, &groups_of(mode), PROJECT_JOBS, target, contention)
                    .map(|(span, _)| span)
            })
            .collect();
        // Runs without phase records or CPU samples cannot be calibrated: no row.
        if spans.iter().all(Option::is_none) {
            continue;
        }
        row.extend(spans.into_iter().map(opt_s));
        projection.push(row);
    }
    if !projection.is_empty() {
        let mut header: Vec<String> = ["mode", "calibrated on", "its span measured (s)"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(
            PROJECT_CORES
                .iter()
                .map(|c| format!("-j {PROJECT_JOBS} on {c} cores: span PROJECTED (s)")),
        );
        tables.push(Table {
            title: format!("PROJECTED (simulation, not measured): -j {PROJECT_JOBS} on more cores"),
            note: format!("Each test replayed with its calibrated CPU and wait on dedicated cores, with the mode's contention fitted on every run measured ({}; see `matrix`'s sim module); nextest's start-up and the setup script are not in the span.", fitted_modes(&mut fit_for, &modes)),
            header,
            rows: projection,
        });
    }
    tables
}

/// A mode's contention and whether it was fitted on the runs it predicts (in sample).
type Fitted = (sim::ContentionFit, bool);

/// (mode, the core count predicted; None: every run's fit).
type FitKey = (String, Option<u32>);

/// `+18% CPU, +40% wait per unit`: a contention for the report.
fn contention_text(c: sim::Contention) -> String {
    format!(
        "+{:.0}% CPU, +{:.0}% wait",
        c.cpu_growth * 100.0,
        c.wait_growth * 100.0
    )
}

/// Each mode's contention fitted on all its runs, for a table's note.
fn fitted_modes(
    fit_for: &mut impl FnMut(&str, Option<u32>) -> Option<Fitted>,
    modes: &[String],
) -> String {
    modes
        .iter()
        .map(|m| match fit_for(m, None) {
            Some((f, _)) => format!(
                "`{m}`: {} per unit of oversubscription, from {} runs, mean |span error| {:.1}% on them",
                contention_text(f.contention),
                f.runs,
                f.span_error * 100.0
            ),
            None => format!("`{m}`: none fitted (no oversubscribed run)"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How many of a mode's slowest tests the report lists.
const SLOWEST: usize = 8;

/// Each mode's slowest tests at its lowest -j measured (mean duration over those runs), and
/// whether its profile starts them first (nextest's `priority`): a slow test started late ends
/// a parallel run alone. None when no run has tests.
pub fn slowest_table(data: &MatrixData, config: Option<&str>) -> Option<Table> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut modes: Vec<&str> = Vec::new();
    for r in &data.runs {
        if !modes.contains(&r.mode.as_str()) {
            modes.push(&r.mode);
        }
    }
    for mode in modes {
        let Some(jobs) = data
            .runs
            .iter()
            .filter(|r| r.mode == mode)
            .map(|r| r.jobs)
            .min()
        else {
            continue;
        };
        let runs: Vec<&RunData> = data
            .runs
            .iter()
            .filter(|r| r.mode == mode && r.jobs == jobs)
            .collect();
        let mut durations: Vec<((&str, &str), Vec<f64>)> = Vec::new();
        for t in runs.iter().flat_map(|r| &r.tests) {
            let key = (t.suite.as_str(), t.name.as_str());
            match durations.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(t.duration_s()),
                None => durations.push((key, vec![t.duration_s()])),
            }
        }
        let mut means: Vec<((&str, &str), f64)> = durations
            .iter()
            .filter_map(|(k, v)| Some((*k, stats::mean(v)?)))
            .collect();
        means.sort_by(|a, b| b.1.total_cmp(&a.1));
        let priorities = match config {
            None => Err(format!("{NEXTEST_CONFIG} not found")),
            Some(text) => sim::TestPriorities::from_config(text, mode),
        };
        if let Err(e) = &priorities {
            notes.push(format!(" `{mode}`: priorities not read ({e})."));
        }
        for ((suite, name), mean) in means.into_iter().take(SLOWEST) {
            rows.push(vec![
                mode.to_owned(),
                format!("-j {jobs}"),
                format!("{suite} {name}"),
                format!("{mean:.2}"),
                priorities
                    .as_ref()
                    .map_or_else(|_| "?".to_owned(), |p| p.of(suite, name).to_string()),
            ]);
        }
    }
    (!rows.is_empty()).then(|| Table {
        title: "Slowest tests at each mode's lowest -j, and their priority".into(),
        note: format!(
            "Each mode's slowest tests at its lowest -j (mean duration over those runs) and their nextest priority in the mode's profile ({NEXTEST_CONFIG}; higher starts first, 0 is the default). A slow test that starts late runs alone at the end of a parallel run: give it a priority.{}",
            notes.concat()
        ),
        header: ["mode", "at", "test", "duration (s)", "priority"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows,
    })
}

/// The Markdown of both sections (empty when the matrix has no phase records).
pub fn markdown(data: &MatrixData) -> String {
    let mut out = String::new();
    let breakdown = breakdown_tables(data);
    if !breakdown.is_empty() {
        let _ = writeln!(out, "## Per-test cost breakdown\n");
        for t in &breakdown {
            t.markdown(&mut out);
        }
    }
    let projection = projection_tables(data);
    if !projection.is_empty() {
        let _ = writeln!(out, "## Projection to other core counts (simulation)\n");
        for t in &projection {
            t.markdown(&mut out);
        }
    }
    let config = std::fs::read_to_string(NEXTEST_CONFIG).ok();
    if let Some(t) = slowest_table(data, config.as_deref()) {
        let _ = writeln!(out, "## Slowest tests\n");
        t.markdown(&mut out);
    }
    out
}

/// The HTML of both sections.
pub fn html(data: &MatrixData) -> String {
    let mut out = String::new();
    let breakdown = breakdown_tables(data);
    if !breakdown.is_empty() {
        out.push_str("<h2>Per-test cost breakdown</h2>\n");
        for t in &breakdown {
            t.html(&mut out);
        }
    }
    let projection = projection_tables(data);
    if !projection.is_empty() {
        out.push_str("<h2>Projection to other core counts (simulation)</h2>\n");
        for t in &projection {
            t.html(&mut out);
        }
    }
    let config = std::fs::read_to_string(NEXTEST_CONFIG).ok();
    if let Some(t) = slowest_table(data, config.as_deref()) {
        out.push_str("<h2>Slowest tests</h2>\n");
        t.html(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::costs::tests::run;

    #[test]
    fn the_breakdown_has_a_table_per_mode_and_the_difference_to_the_baseline() {
        let data = MatrixData {
            baseline: Some("integration-single".into()),
            runs: vec![run("integration", 100.0), run("integration-single", 10.0)],
            ..MatrixData::default()
        };
        let md = markdown(&data);
        assert!(md.contains("## Per-test cost breakdown"), "{md}");
        assert!(md.contains("### -j 1: `integration`\n"), "{md}");
        assert!(md.contains("### -j 1: `integration-single`\n"), "{md}");
        assert!(
            md.contains("### -j 1: `integration` minus `integration-single` (baseline)"),
            "{md}"
        );
        // Environment: 100 vs 10 ms, wall and CPU.
        assert!(
            md.contains("| environment (touch → ready: API server, CRDs, manager, watches) | +0.0 | +90.0 | +0.09 | +90.0 | +0.09 |"),
            "{md}"
        );
        let page = html(&data);
        assert!(page.contains("<h2>Per-test cost breakdown</h2>"), "{page}");
    }

    #[test]
    fn like_for_like_compares_only_tests_with_an_environment_in_both_modes() {
        let mode = run("integration", 100.0);
        let mut base = run("integration-single", 10.0);
        // A test the baseline skipped (no record there) is left out, however long it ran.
        base.tests
            .push(crate::costs::tests::timing("skipped", 2.5, 2.51));
        let mut with_skip = mode.clone();
        with_skip
            .tests
            .push(crate::costs::tests::timing("skipped", 2.5, 9.5));
        with_skip.phases.push(crate::costs::PhaseTime {
            test: Some("skipped".into()),
            touch: crate::costs::PhaseMark {
                at_s: 2.6,
                cpu_ms: 1.0,
            },
            ready: Some(crate::costs::PhaseMark {
                at_s: 2.7,
                cpu_ms: 2.0,
            }),
            body_end: Some(crate::costs::PhaseMark {
                at_s: 9.0,
                cpu_ms: 3.0,
            }),
            exit: crate::costs::PhaseMark {
                at_s: 9.4,
                cpu_ms: 4.0,
            },
            ..mode.phases[0].clone()
        });
        let data = MatrixData {
            baseline: Some("integration-single".into()),
            runs: vec![with_skip, base],
            ..MatrixData::default()
        };
        let l = costs::like_for_like(&data.runs, "integration", "integration-single", 1).unwrap();
        assert_eq!(l.tests, 1, "{l:?}");
        // Test a: 1 s of wall in both; environment 100 ms against 10 ms.
        assert!(
            (l.wall_s.0 - 1.0).abs() < 1e-9 && (l.wall_s.1 - 1.0).abs() < 1e-9,
            "{l:?}"
        );
        assert!((l.environment_s.0 - 0.1).abs() < 1e-9, "{l:?}");
        assert!((l.environment_s.1 - 0.01).abs() < 1e-9, "{l:?}");
        let md = markdown(&data);
        assert!(
            md.contains("### -j 1: like for like, `integration` against `integration-single` (1 tests that built an environment in both)"),
            "{md}"
        );
        assert!(
            md.contains("| environment (touch → ready) | 0.10 | 0.01 | 100.0 | 10.0 | 10.00× |"),
            "{md}"
        );
    }

    #[test]
    fn the_slowest_tests_are_listed_with_their_priority() {
        let data = MatrixData {
            runs: vec![run("integration", 100.0)],
            ..MatrixData::default()
        };
        let config = "[[profile.default.overrides]]\nfilter = \"test(=a)\"\npriority = 100\n";
        let t = slowest_table(&data, Some(config)).unwrap();
        // `a` took 1 s, `b` 0.5 s: slowest first, with their priorities.
        let cells: Vec<(&str, &str, &str)> = t
            .rows
            .iter()
            .map(|r| (r[2].as_str(), r[3].as_str(), r[4].as_str()))
            .collect();
        assert_eq!(
            cells,
            [
                ("controllers::wfe a", "1.00", "100"),
                ("controllers::wfe b", "0.50", "0")
            ]
        );
        let unreadable = slowest_table(&data, Some("not toml [")).unwrap();
        assert_eq!(unreadable.rows[0][4], "?");
        assert!(
            unreadable.note.contains("priorities not read"),
            "{}",
            unreadable.note
        );
        assert!(slowest_table(&MatrixData::default(), Some(config)).is_none());
    }

    #[test]
    fn the_projection_is_labelled_and_checked_across_core_counts() {
        let mut one = run("integration", 100.0);
        one.cores_allowed = Some(1);
        let mut four = run("integration", 100.0);
        four.jobs = 4;
        let data = MatrixData {
            runs: vec![run("integration", 100.0), one, four],
            ..MatrixData::default()
        };
        let tables = projection_tables(&data);
        assert_eq!(tables.len(), 2, "{tables:?}");
        let check: Vec<String> = tables[0].rows.iter().map(|r| r[1].clone()).collect();
        assert_eq!(
            check,
            vec![
                "-j 1 on 2 → -j 1 on 1",
                "-j 1 on 2 → -j 4 on 2",
                "-j 1 on 1 → -j 1 on 2",
                "-j 1 on 1 → -j 4 on 2"
            ],
            "{tables:?}"
        );
        // Every check row has the error without contention and the attribution replay's error
        // too (same runs: percentages), and says where its contention was fitted. The fixture's
        // two tests never run at once, so no run is oversubscribed and nothing is fitted: the
        // replay is the one without contention.
        for row in &tables[0].rows {
            assert_eq!(row.len(), 9, "{row:?}");
            assert!(row[5].ends_with('%') && row[7].ends_with('%'), "{row:?}");
            assert_eq!(row[4], row[5], "{row:?}");
            assert_eq!(row[8], "not fitted (no oversubscribed run)", "{row:?}");
        }
        assert!(tables[1].title.starts_with("PROJECTED (simulation"));
        // Two sources (2 cores and 1 core, each at -j 1), each projected to 4, 8, 16 cores.
        assert_eq!(tables[1].rows.len(), 2);
        assert_eq!(tables[1].rows[0].len(), 3 + PROJECT_CORES.len());
        assert!(markdown(&data).contains("## Projection to other core counts (simulation)"));
    }
}
