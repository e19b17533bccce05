//! Measures how a test suite scales with nextest's `-j`: runs a profile at several levels
//! (and, for comparison, the single-controller baseline profile), records every test's start
//! and end, the fixture's environment-ready times and the test processes' peak memory, and
//! writes `report.md`, `report.html` (SVG timelines) and `report.json`.
//!
//! ```text
//! cargo run -q -p matrix -- -j 1,2,4,12 --repeat 3 --modes integration,integration-single \
//!     -E 'package(fixtures) | binary(workflowexecution)'
//! ```
//!
//! `matrix soak` runs one profile many times under CPU stress instead (see [`soak`]).

pub mod costs;
pub mod error;
pub mod events;
pub mod filterset;
pub mod model;
pub mod privilege;
pub mod process;
pub mod procfs;
pub mod report;
pub mod report_costs;
pub mod runner;
pub mod sim;
pub mod soak;
pub mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;

pub use error::Error;
pub use model::{MatrixData, RunData};

/// The cluster mode's profile: one shared API server (the standalone `apiserver` its setup
/// script starts, or `FIXTURES_KUBECONFIG`'s cluster), a controller manager per test process.
pub const CLUSTER_MODE: &str = "integration-cluster";

/// Sampling /proc every 20 ms catches a test process that lives 40 ms at least once, and costs
/// well under a percent of a core for a few hundred processes.
pub(crate) const DEFAULT_SAMPLE_MS: u64 = 20;

/// nextest kills a hung test after 2 minutes (integration profile); a whole run that takes
/// more than half an hour is stuck somewhere else (the setup script, a build lock).
const DEFAULT_RUN_TIMEOUT_S: u64 = 1800;

/// A cold build of the whole workspace's tests takes about 15 minutes on the 2-core machine
/// when nothing else runs; one shared with other builds (the build lock is waited for inside
/// this time) can take several times that. A build still going after an hour is stuck.
const DEFAULT_PREPARE_TIMEOUT_S: u64 = 3600;

/// Runs an integration profile at several `-j` levels and reports how it scales.
#[derive(Clone, Debug, Parser)]
#[command(name = "matrix", version, about)]
pub struct Args {
    /// The `-j` levels, comma-separated.
    #[arg(
        short = 'j',
        long = "jobs",
        value_delimiter = ',',
        default_value = "1,2,4,12"
    )]
    pub jobs: Vec<u32>,
    /// How many times each (mode, -j) runs.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// The nextest profiles to run ("modes"), comma-separated: `integration` is the
    /// per-process pattern, `integration-cluster` one shared API server with a controller per
    /// process, `integration-single` the single-controller baseline.
    #[arg(long, value_delimiter = ',', default_value = "integration")]
    pub modes: Vec<String>,
    /// The mode the others are compared with at the same -j.
    #[arg(long, default_value = "integration-single")]
    pub baseline: String,
    /// Run one partition only, e.g. `hash:1/3` (passed to nextest).
    #[arg(long)]
    pub partition: Option<String>,
    /// A nextest filterset (`-E`), repeatable; passed to nextest.
    #[arg(short = 'E', long = "filterset")]
    pub filtersets: Vec<String>,
    /// Where the report goes (default: `<target dir>/matrix`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The workspace root (default: the current directory).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// What to `cargo build -q` before timing, comma-separated, each a space-separated
    /// argument list (e.g. `-p ds-bootstrap`): the setup scripts' binaries, which nextest would
    /// otherwise build inside the first timed run. `auto`: this workspace's setup scripts for
    /// the modes selected.
    #[arg(
        long = "prebuild",
        value_delimiter = ',',
        default_value = "auto",
        allow_hyphen_values = true
    )]
    pub prebuild: Vec<String>,
    /// Do not build anything before each run.
    #[arg(long)]
    pub no_build: bool,
    /// Start the shared infrastructure (PostgreSQL with its initdb, Redis, DataStorage) cold in
    /// every run, as CI does. By default the matrix keeps it warm between its own runs
    /// (`DS_REUSE=1` under a key of its own, see scripts/ds-bootstrap) and stops it at the end,
    /// so each run's fixed cost is what an edit-test cycle with `DS_REUSE=1` pays; a `DS_REUSE`
    /// set in the matrix's environment is left to decide.
    #[arg(long)]
    pub cold: bool,
    /// Milliseconds between two /proc samples.
    #[arg(long, default_value_t = DEFAULT_SAMPLE_MS)]
    pub sample_ms: u64,
    /// Seconds after which a run is terminated (and killed if it ignores SIGTERM).
    #[arg(long, default_value_t = DEFAULT_RUN_TIMEOUT_S)]
    pub run_timeout: u64,
    /// Seconds after which a build step before a run is stopped, failing the matrix.
    #[arg(long, default_value_t = DEFAULT_PREPARE_TIMEOUT_S)]
    pub prepare_timeout: u64,
    /// Do not run anything: write the report again from this `report.json` (e.g. after a
    /// change to the report's layout). Several, comma-separated, are merged into one report:
    /// e.g. a matrix run under `taskset -c 0` and one on two cores, whose report then checks
    /// the projection of each from the other.
    #[arg(long, value_name = "REPORT_JSON", value_delimiter = ',')]
    pub render: Vec<PathBuf>,
    /// Further nextest arguments, after `--`.
    #[arg(last = true)]
    pub nextest_args: Vec<String>,
}

impl Args {
    /// The arguments every nextest invocation of the matrix shares.
    pub fn common_nextest_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(p) = &self.partition {
            args.extend(["--partition".to_owned(), p.clone()]);
        }
        for f in &self.filtersets {
            args.extend(["-E".to_owned(), f.clone()]);
        }
        args.extend(self.nextest_args.iter().cloned());
        args
    }

    /// The `cargo build` argument lists of `--prebuild`, `auto` expanded.
    pub fn prebuild_commands(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut push = |args: &str| {
            let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
            if !args.is_empty() && !out.contains(&args) {
                out.push(args);
            }
        };
        for entry in &self.prebuild {
            if entry.trim() != "auto" {
                push(entry);
                continue;
            }
            for mode in &self.modes {
                // The setup scripts of .config/nextest.toml: ds-bootstrap for every
                // integration profile; the baseline's also builds its two daemons; cluster
                // mode's script serves the standalone apiserver itself.
                push("-p ds-bootstrap");
                if mode == "integration" {
                    // Per-process runs write least-privilege records; the report reads them.
                    push(privilege::BUILD_ARGS);
                }
                if mode == "integration-single" {
                    push("-p single-bootstrap");
                    push("-p apiserver --bin apiserver -p controllers --bin kubernaut-manager");
                }
                if mode == CLUSTER_MODE {
                    push("-p cluster-bootstrap");
                }
            }
        }
        out
    }

    fn validate(&self) -> Result<(), Error> {
        if self.jobs.is_empty() || self.jobs.contains(&0) {
            return Err(Error::Usage(
                "-j needs one or more levels ≥ 1, e.g. -j 1,2,4,12".into(),
            ));
        }
        if self.repeat == 0 {
            return Err(Error::Usage("--repeat must be at least 1".into()));
        }
        if self.modes.is_empty() {
            return Err(Error::Usage(
                "--modes needs at least one nextest profile".into(),
            ));
        }
        if self.run_timeout == 0 || self.prepare_timeout == 0 {
            return Err(Error::Usage(
                "--run-timeout and --prepare-timeout must be at least 1 (seconds)".into(),
            ));
        }
        if self.sample_ms == 0 {
            return Err(Error::Usage("--sample-ms must be at least 1".into()));
        }
        Ok(())
    }
}

/// The cargo target directory of the workspace at `root`.
fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Builds the tests and the setup scripts (untimed), so that a run's wall time is test time.
/// Done before every run: on a machine where sources change between runs, the timed run then
/// finds everything fresh instead of compiling.
fn build(
    args: &Args,
    workspace: &std::path::Path,
    common: &[String],
    procfs: &procfs::ProcFs,
) -> Result<(), Error> {
    let limit = Duration::from_secs(args.prepare_timeout);
    let mut build: Vec<String> = [
        "cargo",
        "nextest",
        "run",
        "--workspace",
        "--no-run",
        "--profile",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    build.push(args.modes[0].clone());
    build.extend(common.iter().cloned());
    runner::prepare(workspace, &build, limit, procfs)?;
    for build_args in args.prebuild_commands() {
        let mut argv: Vec<String> = vec!["cargo".into(), "build".into(), "-q".into()];
        argv.extend(build_args);
        runner::prepare(workspace, &argv, limit, procfs)?;
    }
    Ok(())
}

/// Runs the matrix and writes the report. Fails when a run could not start, or (after the
/// report is written) when a test failed in any run.
pub fn run(args: &Args) -> Result<(), Error> {
    args.validate()?;
    if let Some(first) = args.render.first() {
        let mut data: Option<MatrixData> = None;
        for json in &args.render {
            let text = std::fs::read(json)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", json.display())))?;
            let more: MatrixData = serde_json::from_slice(&text).map_err(|e| {
                Error::Usage(format!(
                    "{} is not a matrix report.json: {e}",
                    json.display()
                ))
            })?;
            match &mut data {
                None => data = Some(more),
                Some(d) => {
                    d.runs.extend(more.runs);
                    if d.common_args != more.common_args {
                        eprintln!(
                            "matrix: warning: {} ran with other nextest arguments ({}) than the first report ({}): its runs are not the same tests",
                            json.display(),
                            more.common_args.join(" "),
                            d.common_args.join(" ")
                        );
                    }
                }
            }
        }
        let data = data.unwrap_or_default();
        if args.render.len() > 1 && args.out.is_none() {
            return Err(Error::Usage(
                "merging several report.json files needs --out <dir> for the merged report".into(),
            ));
        }
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| first.parent().map(PathBuf::from).unwrap_or_default());
        let written = report::write_all(&data, &out)?;
        eprintln!(
            "matrix: wrote {} and {}",
            written.markdown.display(),
            written.html.display()
        );
        return Ok(());
    }
    let workspace = std::fs::canonicalize(&args.workspace)
        .map_err(|e| Error::Usage(format!("workspace {}: {e}", args.workspace.display())))?;
    let target = target_dir(&workspace);
    let out = args.out.clone().unwrap_or_else(|| target.join("matrix"));
    let common = args.common_nextest_args();

    let mut data = MatrixData {
        started_at_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        baseline: Some(args.baseline.clone()),
        common_args: common.clone(),
        runs: Vec::new(),
    };
    let warm = warm_env(
        args.cold,
        std::env::var_os(REUSE_VAR).is_some(),
        std::process::id(),
    );
    let result = run_all(args, &workspace, &target, &out, &common, &warm, &mut data);
    if !warm.is_empty() {
        stop_warm(&target, &warm);
    }
    result?;
    let written = report::write_all(&data, &out)?;
    eprintln!(
        "matrix: wrote {}, {} and {}",
        written.markdown.display(),
        written.html.display(),
        written.json.display()
    );
    let failing = data.runs.iter().filter(|r| r.failed()).count();
    if failing > 0 {
        return Err(Error::RunsFailed {
            failing,
            total: data.runs.len(),
            report: written.markdown,
        });
    }
    Ok(())
}

/// Every run of the matrix, each added to `data` (and the report rewritten) as it ends.
fn run_all(
    args: &Args,
    workspace: &Path,
    target: &Path,
    out: &Path,
    common: &[String],
    warm: &[(String, String)],
    data: &mut MatrixData,
) -> Result<(), Error> {
    let total = args.repeat as usize * args.modes.len() * args.jobs.len();
    let procfs = procfs::ProcFs::system();
    let mut index = 0;
    // Repeats are the outer loop: a slow phase of the machine then spreads over every level
    // instead of hitting one.
    for repeat in 1..=args.repeat {
        for mode in &args.modes {
            for &jobs in &args.jobs {
                index += 1;
                if !args.no_build {
                    build(args, workspace, common, &procfs)?;
                }
                let spec = runner::RunSpec {
                    workspace: workspace.to_owned(),
                    target_dir: target.to_owned(),
                    mode: mode.clone(),
                    jobs,
                    repeat,
                    nextest_args: common.to_vec(),
                    sample_every: Duration::from_millis(args.sample_ms),
                    timeout: Duration::from_secs(args.run_timeout),
                    term_grace: process::TERM_GRACE,
                    drain: process::DRAIN_TIMEOUT,
                    label: format!("[{index}/{total}]"),
                    env: warm.to_vec(),
                };
                let run = runner::run(&spec, &procfs)?;
                let s = run.summary();
                eprintln!(
                    "{} {mode} -j {jobs} (repeat {repeat}): {} tests, {} passed, {} failed, {} flaky; wall {:.1} s, utilization {}, peak {:.0} MiB, env-ready p50 {} ms{}",
                    spec.label,
                    run.tests.len(),
                    s.passed,
                    s.failed,
                    s.flaky,
                    run.wall_s,
                    s.utilization
                        .map(|u| format!("{:.0}%", u * 100.0))
                        .unwrap_or_else(|| "–".into()),
                    run.peak_rss_bytes as f64 / f64::from(1u32 << 20),
                    s.ready_median_ms
                        .map(|m| format!("{m:.0}"))
                        .unwrap_or_else(|| "–".into()),
                    match run.exit_code {
                        Some(0) => String::new(),
                        Some(c) => format!(" (nextest exited {c})"),
                        None => " (nextest killed)".into(),
                    }
                );
                if let Some(verdict) = &run.privilege {
                    eprintln!("{} {}", spec.label, verdict.summary());
                }
                data.runs.push(run);
                // Write after every run: an interrupted matrix still leaves a report.
                report::write_all(data, out)?;
            }
        }
    }
    Ok(())
}

/// `DS_REUSE` as the setup script reads it (scripts/ds-bootstrap/src/reuse.rs).
const REUSE_VAR: &str = "DS_REUSE";

/// The environment that keeps the shared infrastructure warm between this matrix's runs: reuse
/// under a key of this matrix process (another matrix, or the user's own warm set, is never
/// handed over), with a lease of 10 minutes, so a matrix that is killed leaves nothing running
/// for long. Empty when `--cold` asks for cold starts, or when the user's environment sets
/// `DS_REUSE` (their choice then holds).
fn warm_env(cold: bool, user_set: bool, pid: u32) -> Vec<(String, String)> {
    if cold || user_set {
        return Vec::new();
    }
    vec![
        (REUSE_VAR.to_owned(), "1".to_owned()),
        ("DS_REUSE_KEY".to_owned(), format!("matrix-{pid}")),
        ("DS_REUSE_TTL".to_owned(), "600".to_owned()),
    ]
}

/// Stops the warm set of [`warm_env`] (`ds-bootstrap stop-warm` with the same key); a failure
/// is reported, not fatal: the lease ends it anyway.
fn stop_warm(target: &Path, warm: &[(String, String)]) {
    let binary = target.join("debug").join("ds-bootstrap");
    let stopped = std::process::Command::new(&binary)
        .arg("stop-warm")
        .envs(warm.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .status();
    match stopped {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!(
            "matrix: {} stop-warm exited with {status}; the warm infrastructure stops when its 10-minute lease ends",
            binary.display()
        ),
        Err(e) => eprintln!(
            "matrix: could not run {} stop-warm ({e}); the warm infrastructure stops when its 10-minute lease ends",
            binary.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_keep_the_infrastructure_warm_unless_told_otherwise() {
        let warm = warm_env(false, false, 42);
        assert!(warm.contains(&("DS_REUSE".into(), "1".into())), "{warm:?}");
        assert!(
            warm.contains(&("DS_REUSE_KEY".into(), "matrix-42".into())),
            "{warm:?}"
        );
        assert!(warm_env(true, false, 42).is_empty(), "--cold");
        assert!(
            warm_env(false, true, 42).is_empty(),
            "the user's DS_REUSE decides"
        );
        let args = Args::try_parse_from(["matrix", "--cold"]).unwrap();
        assert!(args.cold);
        assert!(!Args::try_parse_from(["matrix"]).unwrap().cold);
    }

    #[test]
    fn arguments_parse_and_pass_through() {
        let args = Args::try_parse_from([
            "matrix",
            "-j",
            "1,4",
            "--repeat",
            "3",
            "--partition",
            "hash:1/2",
            "-E",
            "package(fixtures)",
            "--",
            "--no-tests=pass",
        ])
        .unwrap();
        assert_eq!(args.jobs, vec![1, 4]);
        assert_eq!(args.modes, vec!["integration".to_owned()]);
        assert_eq!(
            args.common_nextest_args(),
            vec![
                "--partition",
                "hash:1/2",
                "-E",
                "package(fixtures)",
                "--no-tests=pass"
            ]
        );
        args.validate().unwrap();
        let prebuild: Vec<String> = args
            .prebuild_commands()
            .into_iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            prebuild,
            vec!["-p ds-bootstrap", "-p fixtures --bin least-privilege"]
        );
    }

    #[test]
    fn prebuild_follows_the_modes() {
        let args =
            Args::try_parse_from(["matrix", "--modes", "integration,integration-single"]).unwrap();
        let cmds: Vec<String> = args
            .prebuild_commands()
            .into_iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            cmds,
            vec![
                "-p ds-bootstrap",
                "-p fixtures --bin least-privilege",
                "-p single-bootstrap",
                "-p apiserver --bin apiserver -p controllers --bin kubernaut-manager"
            ]
        );
        let args = Args::try_parse_from(["matrix", "--prebuild", "-p x,auto"]).unwrap();
        assert_eq!(args.prebuild_commands().len(), 3);
        let args = Args::try_parse_from([
            "matrix",
            "--modes",
            "integration,integration-cluster,integration-single",
        ])
        .unwrap();
        let cmds: Vec<String> = args
            .prebuild_commands()
            .into_iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            cmds,
            vec![
                "-p ds-bootstrap",
                "-p fixtures --bin least-privilege",
                "-p cluster-bootstrap",
                "-p single-bootstrap",
                "-p apiserver --bin apiserver -p controllers --bin kubernaut-manager"
            ]
        );
    }

    #[test]
    fn render_rewrites_a_report_from_its_json() {
        let dir = tempfile::tempdir().unwrap();
        let written = report::write_all(&model::tests::sample(), dir.path()).unwrap();
        std::fs::remove_file(&written.html).unwrap();
        let args =
            Args::try_parse_from(["matrix", "--render", written.json.to_str().unwrap()]).unwrap();
        run(&args).unwrap();
        assert!(written.html.is_file());
        std::fs::write(&written.json, "{}").unwrap();
        let err = run(&args).unwrap_err().to_string();
        assert!(err.contains("is not a matrix report.json"), "{err}");
    }

    #[test]
    fn nonsense_levels_are_refused() {
        let args = Args::try_parse_from(["matrix", "-j", "0"]).unwrap();
        assert!(
            args.validate()
                .unwrap_err()
                .to_string()
                .contains("levels ≥ 1")
        );
        let args = Args::try_parse_from(["matrix", "--repeat", "0"]).unwrap();
        assert!(args.validate().is_err());
        assert!(Args::try_parse_from(["matrix", "-j", "x"]).is_err());
    }
}
