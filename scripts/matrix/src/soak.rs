//! Owns the stress soak: a nextest profile run N times at one `-j` while `stress-ng` keeps every
//! core busy, and the soak report: failures, retries, and for each test its slowest attempt
//! against the profile's slow-timeout (the closest call is the test nearest being killed).
//!
//! ```text
//! cargo run -q -p matrix -- soak --runs 10 -j 12 --stress 2x
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::events::Outcome;
use crate::filterset::{Filter, TestId};
use crate::model::RunData;
use crate::procfs::ProcFs;
use crate::{process, runner};

/// nextest's own default slow-timeout period when no profile sets one (nextest's docs: 60 s,
/// and no terminate-after, so a test is never killed).
const NEXTEST_DEFAULT_SLOW_PERIOD_S: f64 = 60.0;

/// How many closest calls the report lists: enough to see which suites crowd the limit.
const CLOSEST_CALLS_SHOWN: usize = 15;

/// Runs a profile N times under CPU stress and reports what failed and what came close.
#[derive(Clone, Debug, Parser)]
#[command(name = "matrix soak", about)]
pub struct SoakArgs {
    /// How many runs.
    #[arg(long, default_value_t = 10)]
    pub runs: u32,
    /// nextest's `-j`.
    #[arg(short = 'j', long = "jobs", default_value_t = 12)]
    pub jobs: u32,
    /// CPU oversubscription by stress-ng: `2x` starts 2 × cores busy-looping workers (so the
    /// tests compete with twice the machine's worth of CPU load); `0` or `none` runs unstressed.
    #[arg(long, default_value = "2x")]
    pub stress: String,
    /// The nextest profile.
    #[arg(long, default_value = "integration")]
    pub profile: String,
    /// A nextest filterset (`-E`), repeatable.
    #[arg(short = 'E', long = "filterset")]
    pub filtersets: Vec<String>,
    /// Where the report goes (default: `<target dir>/soak`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The workspace root.
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Do not build before the first run.
    #[arg(long)]
    pub no_build: bool,
    /// Seconds after which one run is terminated.
    #[arg(long, default_value_t = 1800)]
    pub run_timeout: u64,
    /// Seconds after which the build before the runs is stopped.
    #[arg(long, default_value_t = 3600)]
    pub prepare_timeout: u64,
    /// Further nextest arguments, after `--`.
    #[arg(last = true)]
    pub nextest_args: Vec<String>,
}

impl SoakArgs {
    /// The number of stress-ng CPU workers for `cores` online cores.
    pub fn stress_workers(&self, cores: u32) -> Result<u32, Error> {
        let s = self.stress.trim().to_ascii_lowercase();
        if s == "0" || s == "none" || s == "0x" {
            return Ok(0);
        }
        let factor: f64 = s
            .strip_suffix('x')
            .and_then(|f| f.parse().ok())
            .filter(|f: &f64| f.is_finite() && *f > 0.0)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--stress {:?}: expected a factor of the cores such as 2x (or 0 for none)",
                    self.stress
                ))
            })?;
        Ok((factor * f64::from(cores)).round().max(1.0) as u32)
    }

    fn nextest_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for f in &self.filtersets {
            args.extend(["-E".to_owned(), f.clone()]);
        }
        args.extend(self.nextest_args.iter().cloned());
        args
    }
}

/// A profile's slow-timeout: a test is "slow" after `period_s` and killed after
/// `period_s × terminate_after`, per attempt.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowTimeout {
    /// Seconds of one period.
    pub period_s: f64,
    /// Periods after which the test is killed (`None`: never).
    pub terminate_after: Option<u32>,
}

impl SlowTimeout {
    /// Seconds after which an attempt is killed, if ever.
    pub fn kill_after_s(&self) -> Option<f64> {
        self.terminate_after.map(|n| self.period_s * f64::from(n))
    }
}

/// An override of the profile that sets a slow-timeout: tests its filter selects get it (the
/// first matching override wins, as in nextest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeoutOverride {
    /// The override's filterset, as written.
    pub filter: String,
    /// Its slow-timeout.
    pub timeout: SlowTimeout,
}

/// Reads `profile`'s slow-timeout from a `.config/nextest.toml` text: the profile's own, else
/// `profile.default`'s, else nextest's default; and the profile's overrides that set one, in
/// order.
pub fn slow_timeout(
    config: &str,
    profile: &str,
) -> Result<(SlowTimeout, Vec<TimeoutOverride>), Error> {
    let doc: toml_edit::DocumentMut = config
        .parse()
        .map_err(|e| Error::Usage(format!("nextest config is not valid TOML: {e}")))?;
    let profiles = doc.get("profile");
    let of = |name: &str| profiles.and_then(|p| p.get(name));
    let mut overrides = Vec::new();
    for table in crate::filterset::profile_overrides(&doc, profile) {
        let (Some(filter), Some(item)) = (
            table.get("filter").and_then(|f| f.as_str()),
            table.get("slow-timeout"),
        ) else {
            continue;
        };
        overrides.push(TimeoutOverride {
            filter: filter.to_owned(),
            timeout: parse_slow_timeout(item, profile)?,
        });
    }
    let item = of(profile)
        .and_then(|p| p.get("slow-timeout"))
        .or_else(|| of("default").and_then(|p| p.get("slow-timeout")));
    let Some(item) = item else {
        return Ok((
            SlowTimeout {
                period_s: NEXTEST_DEFAULT_SLOW_PERIOD_S,
                terminate_after: None,
            },
            overrides,
        ));
    };
    Ok((parse_slow_timeout(item, profile)?, overrides))
}

/// One `slow-timeout` value: `"30s"` or `{ period = "30s", terminate-after = 4 }`.
fn parse_slow_timeout(item: &toml_edit::Item, profile: &str) -> Result<SlowTimeout, Error> {
    let bad = |what: &str| {
        Error::Usage(format!(
            "profile {profile:?}: slow-timeout {what}; expected \"30s\" or {{ period = \"30s\", terminate-after = 4 }}"
        ))
    };
    let (period, terminate_after) = if let Some(text) = item.as_str() {
        (text.to_owned(), None)
    } else {
        let period = item
            .get("period")
            .and_then(|p| p.as_str())
            .ok_or_else(|| bad("has no period"))?;
        let after = match item.get("terminate-after") {
            None => None,
            Some(n) => Some(
                n.as_integer()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("has a terminate-after that is not a count"))?,
            ),
        };
        (period.to_owned(), after)
    };
    let period_s = duration_s(&period).ok_or_else(|| bad(&format!("period {period:?}")))?;
    Ok(SlowTimeout {
        period_s,
        terminate_after,
    })
}

/// `"30s"`, `"2m"`, `"500ms"`, `"1h"`, `"1m 30s"` → seconds.
pub fn duration_s(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut any = false;
    for part in text.split_whitespace() {
        let split = part.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (number, unit) = part.split_at(split);
        let n: f64 = number.parse().ok()?;
        total += n * match unit {
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        any = true;
    }
    any.then_some(total)
}

/// Everything a soak measured (`soak.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SoakData {
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u128,
    /// The profile.
    pub profile: String,
    /// `-j`.
    pub jobs: u32,
    /// stress-ng CPU workers (0: none).
    pub stress_workers: u32,
    /// Online cores.
    pub cores: u32,
    /// The nextest arguments every run shared (filters).
    pub nextest_args: Vec<String>,
    /// The profile's slow-timeout.
    pub slow_timeout: Option<SlowTimeout>,
    /// The profile's overrides that set a slow-timeout, in order.
    #[serde(default)]
    pub timeout_overrides: Vec<TimeoutOverride>,
    /// The runs, in order.
    pub runs: Vec<RunData>,
}

/// One test's slowest attempt over every run, against the timeout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CloseCall {
    /// `crate::binary`.
    pub suite: String,
    /// The test.
    pub name: String,
    /// Its slowest attempt, in seconds.
    pub slowest_s: f64,
    /// The run (1-based) it was in.
    pub run: usize,
    /// slowest ÷ kill-after (or ÷ the slow period when nothing kills), 0 to 1 and beyond.
    pub share: f64,
    /// The timeout compared with, in seconds (kill-after, else the slow period).
    pub limit_s: Option<f64>,
    /// Where it comes from: the filter of the override that set it, `None` for the profile's.
    pub by_override: Option<String>,
    /// An override before the one used could not be evaluated (see [`crate::filterset`]): the
    /// test may have another timeout.
    pub uncertain: bool,
}

/// A test that did not pass at its first attempt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trouble {
    /// The run (1-based).
    pub run: usize,
    /// `crate::binary`.
    pub suite: String,
    /// The test.
    pub name: String,
    /// Failed or flaky.
    pub outcome: Outcome,
    /// Attempts it took.
    pub attempts: u32,
}

/// The figures of a soak.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SoakSummary {
    /// Test runs over every run.
    pub tests: usize,
    /// Passed at the first attempt.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Passed on a retry.
    pub flaky: usize,
    /// Attempts beyond the first, over every test and run.
    pub retries: u32,
    /// Runs whose nextest did not exit 0 or whose least-privilege report failed.
    pub failing_runs: usize,
    /// Every failure and flaky pass.
    pub trouble: Vec<Trouble>,
    /// Tests by slowest attempt relative to the timeout, closest first.
    pub closest: Vec<CloseCall>,
}

impl SoakData {
    /// The soak's figures.
    pub fn summary(&self) -> SoakSummary {
        let limit_of = |t: &SlowTimeout| t.kill_after_s().unwrap_or(t.period_s);
        let overrides: Vec<(&TimeoutOverride, Option<Filter>)> = self
            .timeout_overrides
            .iter()
            .map(|o| (o, Filter::parse(&o.filter).ok()))
            .collect();
        // The slow-timeout nextest gave a test: the first override whose filter selects it, else
        // the profile's.
        let effective = |suite: &str, name: &str| -> (Option<f64>, Option<String>, bool) {
            let id = TestId::from_suite(suite, name);
            let mut uncertain = false;
            for (o, filter) in &overrides {
                match filter {
                    Some(f) if f.matches(&id) => {
                        return (
                            Some(limit_of(&o.timeout)),
                            Some(o.filter.clone()),
                            uncertain,
                        );
                    }
                    Some(_) => {}
                    None => uncertain = true,
                }
            }
            (self.slow_timeout.as_ref().map(limit_of), None, uncertain)
        };
        let mut worst: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
        let mut trouble = Vec::new();
        let (mut tests, mut passed, mut failed, mut flaky, mut retries) = (0, 0, 0, 0, 0u32);
        for (i, run) in self.runs.iter().enumerate() {
            for t in &run.tests {
                tests += 1;
                match t.outcome {
                    Outcome::Passed => passed += 1,
                    Outcome::Failed => failed += 1,
                    Outcome::Flaky => flaky += 1,
                }
                retries += t.attempts.saturating_sub(1);
                if t.outcome != Outcome::Passed {
                    trouble.push(Trouble {
                        run: i + 1,
                        suite: t.suite.clone(),
                        name: t.name.clone(),
                        outcome: t.outcome,
                        attempts: t.attempts,
                    });
                }
                // Reports from before attempts were timed: the whole span is the best guess.
                let slowest = if t.attempts == 0 {
                    t.duration_s()
                } else {
                    t.slowest_attempt_s
                };
                let entry = worst
                    .entry((t.suite.clone(), t.name.clone()))
                    .or_insert((slowest, i + 1));
                if slowest > entry.0 {
                    *entry = (slowest, i + 1);
                }
            }
        }
        let mut closest: Vec<CloseCall> = worst
            .into_iter()
            .map(|((suite, name), (slowest_s, run))| {
                let (limit_s, by_override, uncertain) = effective(&suite, &name);
                CloseCall {
                    suite,
                    name,
                    slowest_s,
                    run,
                    share: limit_s.map(|l| slowest_s / l).unwrap_or(0.0),
                    limit_s,
                    by_override,
                    uncertain,
                }
            })
            .collect();
        // Closest to its own timeout first.
        closest.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| b.slowest_s.total_cmp(&a.slowest_s))
                .then_with(|| a.name.cmp(&b.name))
        });
        SoakSummary {
            tests,
            passed,
            failed,
            flaky,
            retries,
            failing_runs: self.runs.iter().filter(|r| r.failed()).count(),
            trouble,
            closest,
        }
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let s = self.summary();
        let mut out = String::new();
        out.push_str(&format!(
            "# Soak: profile `{}`, {} run(s) at -j {}, {}\n\n",
            self.profile,
            self.runs.len(),
            self.jobs,
            if self.stress_workers == 0 {
                "no CPU stress".to_owned()
            } else {
                format!(
                    "stress-ng --cpu {} on {} cores ({:.1}× oversubscription by the stress alone)",
                    self.stress_workers,
                    self.cores,
                    f64::from(self.stress_workers) / f64::from(self.cores.max(1))
                )
            }
        ));
        if !self.nextest_args.is_empty() {
            out.push_str(&format!(
                "nextest arguments: `{}`\n\n",
                self.nextest_args.join(" ")
            ));
        }
        out.push_str(&format!(
            "Tests: {} over every run; **{} passed, {} failed, {} flaky**; retries: {}; failing runs (nextest's exit or the least-privilege report): {}.\n\n",
            s.tests, s.passed, s.failed, s.flaky, s.retries, s.failing_runs
        ));
        out.push_str("| run | tests | passed | failed | flaky | wall (s) | machine CPU busy | nextest exit | least privilege |\n|---|---|---|---|---|---|---|---|---|\n");
        for (i, r) in self.runs.iter().enumerate() {
            let rs = r.summary();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.1} | {} | {} | {} |\n",
                i + 1,
                r.tests.len(),
                rs.passed,
                rs.failed,
                rs.flaky,
                r.wall_s,
                r.cpu
                    .map(|c| format!("{:.0}%", c.busy * 100.0))
                    .unwrap_or_else(|| "–".into()),
                r.exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "killed".into()),
                crate::privilege::cell(r.privilege.as_ref()),
            ));
        }
        let privilege = crate::privilege::markdown(
            self.runs
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("run {}", i + 1), r.privilege.as_ref())),
        );
        if !privilege.is_empty() {
            out.push('\n');
            out.push_str(&privilege);
        }
        out.push_str("\n## Failures and retries\n\n");
        if s.trouble.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| run | test | outcome | attempts |\n|---|---|---|---|\n");
            for t in &s.trouble {
                out.push_str(&format!(
                    "| {} | `{}` `{}` | {:?} | {} |\n",
                    t.run, t.suite, t.name, t.outcome, t.attempts
                ));
            }
            out.push_str("\nEach run's nextest output (the failures' messages) is in soak.json, `runs[i].log`.\n");
        }
        out.push_str("\n## Closest calls\n\n");
        match self.slow_timeout {
            Some(t) => {
                out.push_str(&format!(
                    "The profile's slow-timeout: slow after {:.0} s, {}.",
                    t.period_s,
                    match t.kill_after_s() {
                        Some(k) => format!("killed after {k:.0} s (per attempt)"),
                        None => "never killed (share is of the slow period)".into(),
                    }
                ));
                if !self.timeout_overrides.is_empty() {
                    out.push_str(&format!(
                        " {} override(s) of this profile set slow-timeouts of their own: each test is compared with the timeout nextest gave it (the first override whose filter selects it).",
                        self.timeout_overrides.len()
                    ));
                }
                out.push_str("\n\n");
            }
            None => out.push_str("The profile's slow-timeout is unknown.\n\n"),
        }
        out.push_str(
            "| test | slowest attempt (s) | in run | its timeout (s) | share of the timeout |\n|---|---|---|---|---|\n",
        );
        for c in s.closest.iter().take(CLOSEST_CALLS_SHOWN) {
            out.push_str(&format!(
                "| `{}` `{}` | {:.2} | {} | {}{}{} | {:.1}% |\n",
                c.suite,
                c.name,
                c.slowest_s,
                c.run,
                c.limit_s
                    .map(|l| format!("{l:.0}"))
                    .unwrap_or_else(|| "–".into()),
                if c.by_override.is_some() {
                    " (override)"
                } else {
                    ""
                },
                if c.uncertain {
                    " (an override could not be evaluated)"
                } else {
                    ""
                },
                c.share * 100.0
            ));
        }
        out
    }
}

/// stress-ng, stopped (with its workers) when dropped.
struct Stress {
    child: Child,
    procfs: ProcFs,
}

impl Stress {
    fn start(workers: u32, limit: Duration) -> Result<Stress, Error> {
        let argv = [
            "stress-ng".to_owned(),
            "--cpu".into(),
            workers.to_string(),
            // Bounded by itself too: if the matrix dies without stopping it, it stops anyway.
            "--timeout".into(),
            format!("{}s", limit.as_secs().max(1)),
            "--quiet".into(),
        ];
        let child = process::spawn_in_group(
            Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::Usage(
                "stress-ng is not installed: run scripts/install-deps (or pass --stress 0)".into(),
            ),
            _ => Error::Spawn {
                command: argv.join(" "),
                source,
            },
        })?;
        Ok(Stress {
            child,
            procfs: ProcFs::system(),
        })
    }
}

impl Drop for Stress {
    fn drop(&mut self) {
        let _ = process::stop(&mut self.child, &self.procfs, process::TERM_GRACE);
    }
}

fn write(path: &Path, text: &[u8]) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes `soak.md` and `soak.json` into `dir`; returns the Markdown file's path.
pub fn write_report(data: &SoakData, dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(data).map_err(|e| Error::Write {
        path: dir.join("soak.json"),
        source: std::io::Error::other(e),
    })?;
    write(&dir.join("soak.json"), &json)?;
    let md = dir.join("soak.md");
    write(&md, data.markdown().as_bytes())?;
    Ok(md)
}

/// Runs the soak and writes its report; fails (after writing it) when a test failed.
pub fn run(args: &SoakArgs) -> Result<(), Error> {
    if args.runs == 0 || args.jobs == 0 {
        return Err(Error::Usage("--runs and -j must be at least 1".into()));
    }
    let workspace = std::fs::canonicalize(&args.workspace)
        .map_err(|e| Error::Usage(format!("workspace {}: {e}", args.workspace.display())))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let out = args.out.clone().unwrap_or_else(|| target.join("soak"));
    let procfs = ProcFs::system();
    let cores = procfs.cpu_ticks().map(|t| t.cores).unwrap_or(1);
    let workers = args.stress_workers(cores)?;
    let config_path = workspace.join(".config").join("nextest.toml");
    let (slow, overrides) = match std::fs::read_to_string(&config_path) {
        Ok(text) => {
            let (t, o) = slow_timeout(&text, &args.profile)?;
            (Some(t), o)
        }
        Err(_) => (None, Vec::new()),
    };
    let common = args.nextest_args();
    if !args.no_build {
        // Built before the stress starts: the soak measures tests, not a starved compiler.
        let limit = Duration::from_secs(args.prepare_timeout);
        let mut build: Vec<String> = ["cargo", "nextest", "run", "--workspace", "--no-run"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        build.extend(["--profile".into(), args.profile.clone()]);
        build.extend(common.iter().cloned());
        runner::prepare(&workspace, &build, limit, &procfs)?;
        let setup: Vec<String> = ["cargo", "build", "-q", "-p", "ds-bootstrap"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        runner::prepare(&workspace, &setup, limit, &procfs)?;
        // The least-privilege report of each run (per-process profiles write its records).
        let mut report: Vec<String> = vec!["cargo".into(), "build".into(), "-q".into()];
        report.extend(
            crate::privilege::BUILD_ARGS
                .split_whitespace()
                .map(str::to_owned),
        );
        runner::prepare(&workspace, &report, limit, &procfs)?;
    }
    let mut data = SoakData {
        started_at_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        profile: args.profile.clone(),
        jobs: args.jobs,
        stress_workers: workers,
        cores,
        nextest_args: common.clone(),
        slow_timeout: slow,
        timeout_overrides: overrides,
        runs: Vec::new(),
    };
    let stress = if workers > 0 {
        let limit = Duration::from_secs(args.run_timeout.saturating_mul(u64::from(args.runs)));
        Some(Stress::start(workers, limit)?)
    } else {
        None
    };
    for i in 1..=args.runs {
        let spec = runner::RunSpec {
            workspace: workspace.clone(),
            target_dir: target.clone(),
            mode: args.profile.clone(),
            jobs: args.jobs,
            repeat: i,
            nextest_args: common.clone(),
            sample_every: Duration::from_millis(crate::DEFAULT_SAMPLE_MS),
            timeout: Duration::from_secs(args.run_timeout),
            term_grace: process::TERM_GRACE,
            drain: process::DRAIN_TIMEOUT,
            label: format!("[soak {i}/{}]", args.runs),
            // Every soak run starts the infrastructure cold: the setup script is under test too.
            env: Vec::new(),
        };
        let run = runner::run(&spec, &procfs)?;
        let rs = run.summary();
        if let Some(verdict) = &run.privilege {
            eprintln!("{} {}", spec.label, verdict.summary());
        }
        eprintln!(
            "{} {} tests: {} passed, {} failed, {} flaky; wall {:.1} s{}",
            spec.label,
            run.tests.len(),
            rs.passed,
            rs.failed,
            rs.flaky,
            run.wall_s,
            match run.exit_code {
                Some(0) => String::new(),
                Some(c) => format!(" (nextest exited {c})"),
                None => " (nextest killed)".into(),
            }
        );
        data.runs.push(run);
        write_report(&data, &out)?;
    }
    drop(stress);
    let md = write_report(&data, &out)?;
    let s = data.summary();
    eprintln!(
        "soak: {} tests over {} runs: {} passed, {} failed, {} flaky, {} retries; closest call: {}; wrote {}",
        s.tests,
        data.runs.len(),
        s.passed,
        s.failed,
        s.flaky,
        s.retries,
        s.closest
            .first()
            .map(|c| format!(
                "{} {} {:.2} s ({:.1}% of the timeout)",
                c.suite,
                c.name,
                c.slowest_s,
                c.share * 100.0
            ))
            .unwrap_or_else(|| "–".into()),
        md.display()
    );
    if s.failed > 0 || s.failing_runs > 0 {
        return Err(Error::RunsFailed {
            failing: data.runs.iter().filter(|r| r.failed()).count(),
            total: data.runs.len(),
            report: md,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::TestTiming;

    fn test(name: &str, slowest: f64, outcome: Outcome, attempts: u32) -> TestTiming {
        TestTiming {
            suite: "controllers::wfe".into(),
            name: name.into(),
            start_s: 0.0,
            end_s: slowest * f64::from(attempts),
            outcome,
            attempts,
            slowest_attempt_s: slowest,
        }
    }

    fn run(tests: Vec<TestTiming>, exit: Option<i32>) -> RunData {
        RunData {
            mode: "integration".into(),
            jobs: 12,
            repeat: 1,
            run_id: None,
            wall_s: 20.0,
            exit_code: exit,
            tests,
            ready: Vec::new(),
            peak_rss_bytes: 0,
            peak_processes: 0,
            samples: 0,
            cpu: None,
            log: String::new(),
            privilege: None,
            phases: Vec::new(),
            cpu_series: Vec::new(),
            cores_allowed: None,
        }
    }

    fn data(runs: Vec<RunData>) -> SoakData {
        SoakData {
            profile: "integration".into(),
            jobs: 12,
            stress_workers: 4,
            cores: 2,
            slow_timeout: Some(SlowTimeout {
                period_s: 30.0,
                terminate_after: Some(4),
            }),
            runs,
            ..SoakData::default()
        }
    }

    /// A test an override gives more time is compared with that time, and the closest call is
    /// the one nearest its own timeout, not the slowest.
    #[test]
    fn each_test_is_compared_with_the_timeout_nextest_gave_it() {
        let mut d = data(vec![run(
            vec![
                test("slow_prop", 200.0, Outcome::Passed, 1),
                test("tight", 90.0, Outcome::Passed, 1),
            ],
            Some(0),
        )]);
        d.timeout_overrides = vec![
            TimeoutOverride {
                filter: "test(/regex/)".into(),
                timeout: SlowTimeout {
                    period_s: 1.0,
                    terminate_after: Some(1),
                },
            },
            TimeoutOverride {
                filter: "package(controllers) & test(slow_prop)".into(),
                timeout: SlowTimeout {
                    period_s: 60.0,
                    terminate_after: Some(8),
                },
            },
        ];
        let s = d.summary();
        // `test()` helper tests are in the suite controllers::wfe.
        assert_eq!(s.closest[0].name, "tight");
        assert_eq!(s.closest[0].limit_s, Some(120.0));
        assert_eq!(s.closest[0].by_override, None);
        assert!((s.closest[0].share - 0.75).abs() < 1e-9);
        assert_eq!(s.closest[1].name, "slow_prop");
        assert_eq!(s.closest[1].limit_s, Some(480.0));
        assert_eq!(
            s.closest[1].by_override.as_deref(),
            Some("package(controllers) & test(slow_prop)")
        );
        assert!(s.closest[1].uncertain, "the regex override came first");
        let md = d.markdown();
        assert!(
            md.contains(
                "| 200.00 | 1 | 480 (override) (an override could not be evaluated) | 41.7% |"
            ),
            "{md}"
        );
    }

    #[test]
    fn the_closest_call_is_the_slowest_attempt_of_any_run_against_the_kill_time() {
        let d = data(vec![
            run(
                vec![
                    test("a", 6.0, Outcome::Passed, 1),
                    test("b", 1.0, Outcome::Passed, 1),
                ],
                Some(0),
            ),
            run(
                vec![
                    test("a", 3.0, Outcome::Passed, 1),
                    // b's second attempt is the slow one: 24 s of a 120 s limit.
                    test("b", 24.0, Outcome::Flaky, 2),
                ],
                Some(0),
            ),
        ]);
        let s = d.summary();
        assert_eq!((s.tests, s.passed, s.failed, s.flaky), (4, 3, 0, 1));
        assert_eq!(s.retries, 1);
        assert_eq!(s.closest[0].name, "b");
        assert_eq!((s.closest[0].slowest_s, s.closest[0].run), (24.0, 2));
        assert!((s.closest[0].share - 0.2).abs() < 1e-9);
        assert_eq!((s.closest[1].name.as_str(), s.closest[1].run), ("a", 1));
        assert_eq!(s.trouble.len(), 1);
        assert_eq!(s.trouble[0].outcome, Outcome::Flaky);
        let md = d.markdown();
        assert!(
            md.contains("**3 passed, 0 failed, 1 flaky**; retries: 1"),
            "{md}"
        );
        assert!(
            md.contains("| `controllers::wfe` `b` | 24.00 | 2 | 120 | 20.0% |"),
            "{md}"
        );
        assert!(md.contains("stress-ng --cpu 4 on 2 cores (2.0×"), "{md}");
    }

    #[test]
    fn failures_and_killed_runs_are_reported() {
        let d = data(vec![run(vec![test("c", 120.0, Outcome::Failed, 1)], None)]);
        let s = d.summary();
        assert_eq!((s.failed, s.failing_runs), (1, 1));
        assert!((s.closest[0].share - 1.0).abs() < 1e-9);
        let md = d.markdown();
        assert!(
            md.contains("| 1 | `controllers::wfe` `c` | Failed | 1 |"),
            "{md}"
        );
        assert!(md.contains("| killed |"), "{md}");
    }

    #[test]
    fn slow_timeouts_are_read_from_the_profile_then_the_default() {
        let config = r#"
[profile.default]
slow-timeout = "45s"
[profile.integration]
slow-timeout = { period = "30s", terminate-after = 4 }
[[profile.integration.overrides]]
filter = "test(x)"
slow-timeout = "1m"
[profile.plain]
retries = 0
"#;
        let (t, overrides) = slow_timeout(config, "integration").unwrap();
        assert_eq!(
            t,
            SlowTimeout {
                period_s: 30.0,
                terminate_after: Some(4)
            }
        );
        assert_eq!(t.kill_after_s(), Some(120.0));
        assert_eq!(
            overrides,
            vec![TimeoutOverride {
                filter: "test(x)".into(),
                timeout: SlowTimeout {
                    period_s: 60.0,
                    terminate_after: None
                }
            }]
        );
        let (t, overrides) = slow_timeout(config, "plain").unwrap();
        assert_eq!(
            (t.period_s, t.terminate_after, overrides.len()),
            (45.0, None, 0)
        );
        let (t, _) = slow_timeout("", "x").unwrap();
        assert_eq!(t.period_s, NEXTEST_DEFAULT_SLOW_PERIOD_S);
        let err = slow_timeout("[profile.x]\nslow-timeout = \"soon\"", "x").unwrap_err();
        assert!(err.to_string().contains("period \"soon\""), "{err}");
        assert!(slow_timeout("[profile", "x").is_err());
    }

    #[test]
    fn the_workspace_config_parses() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.config/nextest.toml"),
        )
        .unwrap();
        let (t, _) = slow_timeout(&text, "integration").unwrap();
        assert!(t.kill_after_s().is_some(), "{t:?}");
        // Every override the soak may meet can be evaluated: no closest call is a guess.
        for profile in [
            "integration",
            "ci",
            "integration-cluster",
            "integration-single",
        ] {
            let (_, overrides) = slow_timeout(&text, profile).unwrap();
            for o in overrides {
                crate::filterset::Filter::parse(&o.filter)
                    .unwrap_or_else(|e| panic!("{profile}: {:?}: {e:?}", o.filter));
            }
        }
    }

    #[test]
    fn durations_and_stress_factors_parse() {
        assert_eq!(duration_s("30s"), Some(30.0));
        assert_eq!(duration_s("2m"), Some(120.0));
        assert_eq!(duration_s("1m 30s"), Some(90.0));
        assert_eq!(duration_s("250ms"), Some(0.25));
        assert_eq!(duration_s("30"), None);
        assert_eq!(duration_s(""), None);
        let args = |s: &str| SoakArgs::try_parse_from(["soak", "--stress", s]).unwrap();
        assert_eq!(args("2x").stress_workers(2).unwrap(), 4);
        assert_eq!(args("0").stress_workers(2).unwrap(), 0);
        assert_eq!(args("0.5x").stress_workers(2).unwrap(), 1);
        let err = args("lots").stress_workers(2).unwrap_err().to_string();
        assert!(err.contains("--stress \"lots\""), "{err}");
    }
}
