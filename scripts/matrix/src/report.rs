//! Writes a matrix as `report.md` (tables), `report.html` (tables and an SVG timeline per run)
//! and `report.json` (the raw data).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::events::{Outcome, TestTiming};
use crate::model::{LevelSummary, MatrixData, RunData};
use crate::stats;

/// Suite colours (Tableau 10 without its red, which marks failures).
const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
    "#bab0ac",
];
/// Failed tests are filled with this, whatever their suite.
const FAILED_COLOUR: &str = "#d62728";
/// Outline of a flaky test.
const FLAKY_COLOUR: &str = "#ff7f0e";

/// Timeline geometry, in SVG pixels: the plot is as wide as a laptop screen shows without
/// scrolling, and a lane is tall enough for a 10 px label.
const SVG_WIDTH: f64 = 1200.0;
const LABEL_WIDTH: f64 = 64.0;
const RIGHT_MARGIN: f64 = 16.0;
const LANE_HEIGHT: f64 = 18.0;
const LANE_GAP: f64 = 3.0;
const TOP_MARGIN: f64 = 8.0;
const AXIS_HEIGHT: f64 = 30.0;
/// At most this many axis ticks, so their labels never collide.
const MAX_TICKS: f64 = 12.0;

/// The files a report was written to.
#[derive(Clone, Debug)]
pub struct Written {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
}

/// Writes the three report files into `dir` (created if missing).
pub fn write_all(data: &MatrixData, dir: &Path) -> Result<Written, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })?;
    let written = Written {
        markdown: dir.join("report.md"),
        html: dir.join("report.html"),
        json: dir.join("report.json"),
    };
    let json = serde_json::to_string_pretty(data).map_err(|e| Error::Write {
        path: written.json.clone(),
        source: std::io::Error::other(e),
    })?;
    for (path, text) in [
        (&written.markdown, markdown(data)),
        (&written.html, html(data)),
        (&written.json, json),
    ] {
        std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(written)
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn times(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}×")).unwrap_or_else(|| "–".into())
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into())
}

fn mib(bytes: u64) -> String {
    if bytes == 0 {
        "–".into()
    } else {
        format!("{:.0} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}

const LEVEL_HEADER: [&str; 13] = [
    "-j",
    "runs",
    "wall (s)",
    "test span (s)",
    "utilization",
    "util. of test span",
    "speedup vs -j 1 (wall / span)",
    "speedup vs baseline (wall / span)",
    "pass rate (failed/flaky)",
    "peak memory",
    "env-ready median / p95 (ms)",
    "CPU busy (CPU-s, share of cores)",
    "speedup ceiling vs baseline (wall)",
];

fn level_row(l: &LevelSummary) -> [String; 13] {
    [
        l.jobs.to_string(),
        l.runs.to_string(),
        format!("{:.2}", l.wall_s),
        format!("{:.2}", l.test_span_s),
        pct(l.utilization),
        pct(l.utilization_span),
        format!(
            "{} / {}",
            times(l.speedup_vs_j1),
            times(l.span_speedup_vs_j1)
        ),
        format!(
            "{} / {}",
            times(l.speedup_vs_baseline),
            times(l.span_speedup_vs_baseline)
        ),
        format!(
            "{} ({}/{}) of {}",
            pct(l.pass_rate),
            l.failed,
            l.flaky,
            l.tests
        ),
        mib(l.peak_rss_bytes),
        format!("{} / {}", ms(l.ready_median_ms), ms(l.ready_p95_ms)),
        match (l.cpu_busy_s, l.cores) {
            (Some(s), Some(cores)) => format!("{s:.2} s, {} of {cores}", pct(l.cpu_busy)),
            _ => "–".into(),
        },
        times(l.speedup_ceiling_vs_baseline),
    ]
}

fn mode_title(data: &MatrixData, mode: &str) -> String {
    if data.baseline.as_deref() == Some(mode) {
        format!("`{mode}` (baseline)")
    } else if mode == crate::CLUSTER_MODE {
        format!("`{mode}` (cluster: one shared API server, a controller per process)")
    } else {
        format!("`{mode}`")
    }
}

/// The Markdown report.
pub fn markdown(data: &MatrixData) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Test matrix\n");
    let _ = writeln!(
        out,
        "Started {} UTC; nextest arguments: `{}`.\n",
        iso_utc(data.started_at_unix_ms),
        data.common_args.join(" ")
    );
    let _ = writeln!(
        out,
        "Utilization = Σ test durations ÷ (wall × j); the test-span variant leaves out nextest's start-up and the setup script. \
         Peak memory = the largest Σ RSS of the test processes at one instant (sampled from /proc; shared infrastructure excluded). \
         CPU busy = the whole machine's CPU time over the run (from /proc/stat, shared infrastructure included: measure on a quiet machine). \
         Speedup ceiling = the baseline's wall ÷ (this run's CPU-seconds ÷ cores): the most this mode could beat the baseline's wall time by on this machine \
         if its work were spread perfectly over every core (it bounds the wall speedup, not the test-span one). A wall speedup near its ceiling is CPU-bound: \
         only more cores, or less CPU per test, raise it.\n"
    );
    let levels = data.levels();
    for mode in data.modes() {
        let _ = writeln!(out, "## Mode {}\n", mode_title(data, &mode));
        let _ = writeln!(out, "| {} |", LEVEL_HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(LEVEL_HEADER.len()));
        for l in levels.iter().filter(|l| l.mode == mode) {
            let _ = writeln!(out, "| {} |", level_row(l).join(" | "));
        }
        let shared: usize = levels
            .iter()
            .filter(|l| l.mode == mode)
            .map(|l| l.shared_servers)
            .sum();
        if shared > 0 {
            let _ = writeln!(
                out,
                "\n{shared} process(es) used an API server owned by another process."
            );
        }
        let _ = writeln!(out);
    }
    out.push_str(&crate::report_costs::markdown(data));
    let _ = writeln!(out, "## Runs\n");
    let _ = writeln!(
        out,
        "| mode | -j | repeat | run id | exit | wall (s) | tests | passed | failed | flaky | utilization | peak memory | peak processes | least privilege |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in &data.runs {
        let s = r.summary();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.mode,
            r.jobs,
            r.repeat,
            r.run_id.as_deref().unwrap_or("–"),
            r.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            r.wall_s,
            r.tests.len(),
            s.passed,
            s.failed,
            s.flaky,
            pct(s.utilization),
            mib(r.peak_rss_bytes),
            r.peak_processes,
            crate::privilege::cell(r.privilege.as_ref())
        );
    }
    let _ = writeln!(out);
    out.push_str(&crate::privilege::markdown(data.runs.iter().map(|r| {
        (
            format!("{} -j {} repeat {}", r.mode, r.jobs, r.repeat),
            r.privilege.as_ref(),
        )
    })));
    out
}

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Suite → colour, in order of first appearance over the whole matrix (stable across runs).
fn suite_colours(data: &MatrixData) -> HashMap<String, &'static str> {
    let mut colours = HashMap::new();
    for t in data.runs.iter().flat_map(|r| &r.tests) {
        let n = colours.len();
        colours
            .entry(t.suite.clone())
            .or_insert(PALETTE[n % PALETTE.len()]);
    }
    colours
}

/// A "nice" tick step (1, 2 or 5 × 10ⁿ seconds) giving at most [`MAX_TICKS`] ticks over `span`.
pub fn tick_step(span_s: f64) -> f64 {
    if span_s <= 0.0 || !span_s.is_finite() {
        return 1.0;
    }
    let raw = span_s / MAX_TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// The SVG timeline of one run: a lane per slot, a bar per test.
pub fn timeline_svg(run: &RunData, colours: &HashMap<String, &'static str>) -> String {
    let (lanes, lane_count) = stats::assign_lanes(&run.tests, run.jobs as usize);
    let lane_count = lane_count.max(run.jobs as usize).max(1);
    let span = run
        .wall_s
        .max(run.tests.iter().map(|t| t.end_s).fold(0.0, f64::max))
        .max(0.001);
    let plot_w = SVG_WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
    let x = |s: f64| LABEL_WIDTH + (s / span) * plot_w;
    let lane_y = |lane: usize| TOP_MARGIN + lane as f64 * (LANE_HEIGHT + LANE_GAP);
    let plot_h = lane_count as f64 * (LANE_HEIGHT + LANE_GAP);
    let height = TOP_MARGIN + plot_h + AXIS_HEIGHT;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{SVG_WIDTH}" height="{height:.0}" viewBox="0 0 {SVG_WIDTH} {height:.0}" font-family="sans-serif" font-size="10">"#
    );
    svg.push_str(r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d62728"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>"##);
    // Lanes: a grey track per slot, so idle time shows as grey.
    for lane in 0..lane_count {
        let y = lane_y(lane);
        let _ = write!(
            svg,
            r##"<rect x="{LABEL_WIDTH}" y="{y:.1}" width="{plot_w:.1}" height="{LANE_HEIGHT}" fill="#eeeeee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">slot {lane}</text>"##,
            LABEL_WIDTH - 6.0,
            y + LANE_HEIGHT * 0.7
        );
    }
    // Axis.
    let axis_y = TOP_MARGIN + plot_h + 2.0;
    let step = tick_step(span);
    let mut tick = 0.0;
    while tick <= span + 1e-9 {
        let tx = x(tick);
        let label = if step < 1.0 {
            format!("{tick:.1}")
        } else {
            format!("{tick:.0}")
        };
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" y1="{TOP_MARGIN}" x2="{tx:.1}" y2="{:.1}" stroke="#ccc" stroke-width="0.5"/><line x1="{tx:.1}" y1="{axis_y:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#333"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{label}</text>"##,
            axis_y - 2.0,
            axis_y + 4.0,
            axis_y + 15.0
        );
        tick += step;
    }
    let _ = write!(
        svg,
        r##"<line x1="{LABEL_WIDTH}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">seconds from the start of the run</text>"##,
        LABEL_WIDTH + plot_w,
        LABEL_WIDTH + plot_w,
        axis_y + 27.0
    );
    // Bars.
    for (t, lane) in run.tests.iter().zip(lanes) {
        let (x0, x1) = (x(t.start_s), x(t.end_s));
        let y = lane_y(lane);
        let w = (x1 - x0).max(1.0);
        let colour = colours.get(&t.suite).copied().unwrap_or(PALETTE[0]);
        let (fill, stroke) = match t.outcome {
            Outcome::Passed => (colour.to_owned(), "#ffffff".to_owned()),
            Outcome::Failed => ("url(#hatch)".to_owned(), FAILED_COLOUR.to_owned()),
            Outcome::Flaky => (colour.to_owned(), FLAKY_COLOUR.to_owned()),
        };
        let stroke_width = if t.outcome == Outcome::Passed {
            0.5
        } else {
            2.0
        };
        let ready = ready_ms_of(run, t);
        let title = format!(
            "{} {} — {:?}, {:.2} s (from {:.2} s to {:.2} s){}",
            t.suite,
            t.name,
            t.outcome,
            t.duration_s(),
            t.start_s,
            t.end_s,
            ready
                .map(|r| format!("; environment ready after {r:.0} ms"))
                .unwrap_or_default()
        );
        let _ = write!(
            svg,
            r#"<g class="test {outcome:?}"><title>{title}</title><rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{LANE_HEIGHT}" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"/>"#,
            outcome = t.outcome,
            title = escape(&title),
        );
        // The environment start-up, as a darker head of the bar.
        if let Some(ready) = ready {
            let rw = ((ready / 1e3) / span * plot_w).min(w);
            let _ = write!(
                svg,
                r##"<rect x="{x0:.1}" y="{y:.1}" width="{rw:.1}" height="{LANE_HEIGHT}" fill="#000" fill-opacity="0.3"/>"##
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// The environment-ready time of the process that ran `t`, when its record names the test and
/// became ready while the test ran.
fn ready_ms_of(run: &RunData, t: &TestTiming) -> Option<f64> {
    const SLACK_S: f64 = 0.05; // the record's clock and the timeline's differ by the pipe delay
    run.ready
        .iter()
        .find(|r| {
            r.test.as_deref() == Some(t.name.as_str())
                && r.ready_at_s >= t.start_s - SLACK_S
                && r.ready_at_s <= t.end_s + SLACK_S
        })
        .map(|r| r.ready_ms)
}

fn legend(colours: &HashMap<String, &'static str>) -> String {
    let mut suites: Vec<(&String, &&str)> = colours.iter().collect();
    suites.sort_by_key(|(s, c)| (PALETTE.iter().position(|p| p == *c), (*s).clone()));
    let mut out = String::from(r#"<div class="legend">"#);
    for (suite, colour) in suites {
        let _ = write!(
            out,
            r#"<span><i style="background:{colour}"></i>{}</span>"#,
            escape(suite)
        );
    }
    let _ = write!(
        out,
        r#"<span><i style="background:repeating-linear-gradient(45deg,{FAILED_COLOUR} 0 3px,#fff 3px 5px);border:2px solid {FAILED_COLOUR}"></i>failed</span><span><i style="background:#aaa;border:2px solid {FLAKY_COLOUR}"></i>flaky (passed on retry)</span><span><i style="background:#4d4d4d"></i>darker head: environment start-up</span><span><i style="background:#eeeeee;border:1px solid #ccc"></i>idle slot</span></div>"#
    );
    out
}

/// The HTML report: the tables of the Markdown report, then a timeline per run.
pub fn html(data: &MatrixData) -> String {
    let colours = suite_colours(data);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Test matrix</title><style>");
    out.push_str(
        "body{font-family:sans-serif;margin:16px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}\
         td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}th{background:#f4f4f4}\
         h1{font-size:22px}h2{font-size:18px;margin-top:20px}h3{font-size:14px;margin:16px 0 4px}\
         .legend span{display:inline-block;margin-right:16px;font-size:12px}\
         .legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;box-sizing:border-box}\
         .note{font-size:12px;color:#555}",
    );
    out.push_str("</style></head><body>\n");
    let _ = writeln!(
        out,
        "<h1>Test matrix</h1><p class=\"note\">Started {} UTC; nextest arguments: <code>{}</code>. Utilization = Σ test durations ÷ (wall × j); peak memory = the largest Σ RSS of the test processes at one instant.</p>",
        iso_utc(data.started_at_unix_ms),
        escape(&data.common_args.join(" "))
    );
    let levels = data.levels();
    for mode in data.modes() {
        let _ = writeln!(
            out,
            "<h2>Mode {}</h2><table><tr>",
            escape(&mode_title(data, &mode).replace('`', ""))
        );
        for h in LEVEL_HEADER {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr>");
        for l in levels.iter().filter(|l| l.mode == mode) {
            out.push_str("<tr>");
            for cell in level_row(l) {
                let _ = write!(out, "<td>{}</td>", escape(&cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>\n");
    }
    out.push_str(&crate::report_costs::html(data));
    let _ = writeln!(out, "<h2>Timelines</h2>{}", legend(&colours));
    for r in &data.runs {
        let s = r.summary();
        let _ = writeln!(
            out,
            "<h3>{} -j {} (repeat {}): wall {:.2} s, {} tests ({} failed, {} flaky), utilization {}, peak memory {}</h3>\n{}",
            escape(&r.mode),
            r.jobs,
            r.repeat,
            r.wall_s,
            r.tests.len(),
            s.failed,
            s.flaky,
            pct(s.utilization),
            mib(r.peak_rss_bytes),
            timeline_svg(r, &colours)
        );
    }
    out.push_str("</body></html>\n");
    out
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn iso_utc(unix_ms: u128) -> String {
    let secs = (unix_ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::sample;

    #[test]
    fn the_cluster_mode_gets_its_own_titled_table_with_the_same_columns() {
        let mut data = sample();
        let mut cluster: Vec<_> = data
            .runs
            .iter()
            .filter(|r| r.mode == "integration")
            .cloned()
            .collect();
        for r in &mut cluster {
            r.mode = crate::CLUSTER_MODE.into();
        }
        data.runs.extend(cluster);
        let md = markdown(&data);
        let title = "## Mode `integration-cluster` (cluster: one shared API server, a controller per process)\n";
        let at = md.find(title).unwrap_or_else(|| panic!("{md}"));
        let header = format!("| {} |", LEVEL_HEADER.join(" | "));
        assert!(md[at..].starts_with(&format!("{title}\n{header}")), "{md}");
        // Compared with the baseline like the per-process mode: the same -j 2 row.
        assert!(
            md[at..].contains("| 2.00× / 2.06× | 2.00× / 2.06× |"),
            "{md}"
        );
    }

    #[test]
    fn markdown_has_a_table_per_mode_and_a_row_per_run() {
        let md = markdown(&sample());
        assert!(md.contains("## Mode `integration`\n"), "{md}");
        assert!(
            md.contains("## Mode `integration-single` (baseline)"),
            "{md}"
        );
        assert!(md.contains("| 2 | 1 | 4.00 | 3.40 | "), "{md}");
        assert!(md.contains("| 2.00× / 2.06× | 2.00× / 2.06× |"), "{md}");
        assert!(md.contains("75.0% (1/1) of 4"), "{md}");
        assert!(md.contains("| 8.00 s, 100.0% of 2 | 2.00× |"), "{md}");
        assert!(
            md.contains("1 process(es) used an API server owned by another process."),
            "{md}"
        );
        // One row per run in the runs' table (the slowest tests' table lists tests, each at
        // a `-j`).
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("| integration") && !l.contains("| -j "))
                .count(),
            4,
            "{md}"
        );
        assert!(md.contains("## Slowest tests"), "{md}");
    }

    #[test]
    fn html_has_a_timeline_per_run_with_a_bar_per_test() {
        let data = sample();
        let page = html(&data);
        assert_eq!(page.matches("<svg").count(), data.runs.len());
        assert_eq!(
            page.matches(r#"<g class="test"#).count(),
            data.runs.iter().map(|r| r.tests.len()).sum::<usize>()
        );
        assert!(page.contains("url(#hatch)") && page.contains(FLAKY_COLOUR));
        assert!(page.contains("controllers::workflowexecution"));
        // -j 2: lanes for two slots even though only the bars decide the lanes.
        assert!(page.contains(">slot 1<") && !page.contains(">slot 2<"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(10.0), 1.0);
        assert_eq!(tick_step(60.0), 5.0);
        assert_eq!(tick_step(1.0), 0.1);
        assert_eq!(tick_step(0.0), 1.0);
        assert!(tick_step(137.0) >= 137.0 / MAX_TICKS);
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(iso_utc(0), "1970-01-01 00:00:00");
        assert_eq!(iso_utc(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn writes_three_files() {
        let dir = tempfile::tempdir().unwrap();
        let w = write_all(&sample(), &dir.path().join("m")).unwrap();
        for p in [&w.markdown, &w.html, &w.json] {
            assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
        }
    }
}
