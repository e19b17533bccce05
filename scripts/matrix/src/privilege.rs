//! The least-privilege check of a run: after each nextest run the matrix (and the soak) runs the
//! fixtures' `least-privilege` report on the records that run's test processes wrote
//! (`<target>/least-privilege/<run id>/`, see `fixtures::privilege`) and keeps its verdict and
//! text in the run's data. A controller that used what it did not declare fails the matrix as a
//! failed test does: in a cluster that request would be a 403.
//!
//! The report is the fixtures crate's binary, not a library call: the matrix stays free of the
//! kube dependency tree, and the verdict is the one a user gets from
//! `cargo run -p fixtures --bin least-privilege`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process;
use crate::procfs::ProcFs;

/// Where the fixtures write the records, under the target directory (`fixtures::privilege::RECORDS_DIR`).
pub const RECORDS_DIR: &str = "least-privilege";
/// The report's binary, under the target directory's `debug/`.
pub const BINARY: &str = "least-privilege";
/// The `cargo build` arguments that make [`BINARY`] (part of the matrix's automatic prebuild).
pub const BUILD_ARGS: &str = "-p fixtures --bin least-privilege";
/// Reading a run's records takes milliseconds; the bound is for a wedged filesystem.
const REPORT_TIMEOUT: Duration = Duration::from_secs(120);

/// What the report said of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Every use was declared.
    Passed { report: String },
    /// Some use was not declared (the report lists it).
    Failed { report: String },
    /// The report could not be made: why, and what to do.
    Unavailable { reason: String },
}

impl Verdict {
    /// The report's first line (its figures), or the reason it is unavailable.
    pub fn summary(&self) -> &str {
        match self {
            Verdict::Passed { report } | Verdict::Failed { report } => report
                .lines()
                .find(|l| l.starts_with("least privilege:"))
                .unwrap_or(report.lines().next().unwrap_or("")),
            Verdict::Unavailable { reason } => reason,
        }
    }

    /// Whether the run used something it did not declare.
    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Failed { .. })
    }
}

/// A run's cell in a report table.
pub fn cell(verdict: Option<&Verdict>) -> &'static str {
    match verdict {
        None => "–",
        Some(Verdict::Passed { .. }) => "passed",
        Some(Verdict::Failed { .. }) => "**FAILED**",
        Some(Verdict::Unavailable { .. }) => "unavailable",
    }
}

/// The reports' Markdown section: each run's figures, and the whole report of a run that
/// failed. Empty when no run wrote records.
pub fn markdown<'a>(runs: impl Iterator<Item = (String, Option<&'a Verdict>)>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (label, verdict) in runs {
        let Some(verdict) = verdict else { continue };
        let _ = writeln!(
            out,
            "- {label}: {} ({})",
            cell(Some(verdict)),
            verdict.summary()
        );
        if let Verdict::Failed { report } = verdict {
            let _ = writeln!(out, "\n```text\n{}```\n", report);
        }
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "## Least privilege\n\nWhat each controller's ServiceAccount used, from the records of the run's test processes, against what it declares (`controllers/rbac/`; `cargo run -p fixtures --bin least-privilege -- --run <run id>` prints a run's report). A use that was not declared fails the run.\n\n{out}\n"
    )
}

/// The records directory of a run.
pub fn records_dir(target: &Path, run_id: &str) -> PathBuf {
    target.join(RECORDS_DIR).join(run_id)
}

/// Runs the report on the run's records. `None` when the run wrote none (no test of it ran a
/// controller under its own identity: other suites, cluster mode, the baseline).
pub fn check(workspace: &Path, target: &Path, run_id: &str, procfs: &ProcFs) -> Option<Verdict> {
    if !records_dir(target, run_id).is_dir() {
        return None;
    }
    let binary = target.join("debug").join(BINARY);
    if !binary.is_file() {
        return Some(Verdict::Unavailable {
            reason: format!(
                "{} is missing: build it with `cargo build {BUILD_ARGS}` (the matrix's `--prebuild auto` does)",
                binary.display()
            ),
        });
    }
    let argv: Vec<String> = vec![
        binary.display().to_string(),
        "--run".into(),
        run_id.into(),
        "--target".into(),
        target.display().to_string(),
    ];
    let out = match process::output_within(workspace, &argv, REPORT_TIMEOUT, procfs) {
        Ok(out) => out,
        Err(e) => {
            return Some(Verdict::Unavailable {
                reason: format!("{BINARY} did not run: {e}"),
            });
        }
    };
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(match out.status.code() {
        Some(0) => Verdict::Passed { report },
        Some(1) => Verdict::Failed { report },
        code => Verdict::Unavailable {
            reason: format!(
                "{BINARY} exited {}: {}",
                code.map_or_else(|| "by a signal".to_owned(), |c| c.to_string()),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_binary(target: &Path, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = target.join("debug").join(BINARY);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn a_run_without_records_has_no_verdict() {
        let dir = tempfile::tempdir().unwrap();
        fake_binary(dir.path(), "exit 1");
        assert_eq!(
            check(dir.path(), dir.path(), "run-1", &ProcFs::system()),
            None
        );
    }

    #[test]
    fn the_binarys_exit_code_is_the_verdict() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(records_dir(dir.path(), "run-1")).unwrap();
        let procfs = ProcFs::system();
        fake_binary(
            dir.path(),
            "echo records: x; echo \"least privilege: 1 test process(es), args $*\"; exit 0",
        );
        let passed = check(dir.path(), dir.path(), "run-1", &procfs).unwrap();
        assert!(!passed.failed());
        assert_eq!(
            passed.summary(),
            format!(
                "least privilege: 1 test process(es), args --run run-1 --target {}",
                dir.path().display()
            )
        );
        fake_binary(
            dir.path(),
            "echo 'least privilege: 1 used but not declared'; echo 'USED BUT NOT DECLARED'; exit 1",
        );
        let failed = check(dir.path(), dir.path(), "run-1", &procfs).unwrap();
        assert!(failed.failed());
        assert_eq!(failed.summary(), "least privilege: 1 used but not declared");
        fake_binary(dir.path(), "echo 'no records' >&2; exit 2");
        let broken = check(dir.path(), dir.path(), "run-1", &procfs).unwrap();
        assert!(!broken.failed());
        assert_eq!(broken.summary(), "least-privilege exited 2: no records");
    }

    #[test]
    fn the_section_lists_runs_with_records_and_shows_a_failed_report_whole() {
        let passed = Verdict::Passed {
            report: "records: x\nleast privilege: 3 test process(es)\n".into(),
        };
        let failed = Verdict::Failed {
            report: "least privilege: 1 used but not declared\nUSED BUT NOT DECLARED\n  wfe: get core/pods\n".into(),
        };
        let md = markdown(
            [
                ("run 1".to_owned(), Some(&passed)),
                ("run 2".to_owned(), None),
                ("run 3".to_owned(), Some(&failed)),
            ]
            .into_iter(),
        );
        assert!(md.starts_with("## Least privilege\n"), "{md}");
        assert!(
            md.contains("- run 1: passed (least privilege: 3 test process(es))"),
            "{md}"
        );
        assert!(!md.contains("run 2"), "{md}");
        assert!(
            md.contains("- run 3: **FAILED** (least privilege: 1 used but not declared)"),
            "{md}"
        );
        assert!(md.contains("  wfe: get core/pods\n```"), "{md}");
        assert_eq!(markdown([("run 1".to_owned(), None)].into_iter()), "");
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(records_dir(dir.path(), "run-1")).unwrap();
        let verdict = check(dir.path(), dir.path(), "run-1", &ProcFs::system()).unwrap();
        assert!(
            verdict
                .summary()
                .contains("build it with `cargo build -p fixtures --bin least-privilege`"),
            "{verdict:?}"
        );
    }
}
