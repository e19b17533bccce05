//! Keeps `target/` from filling up with the directories of finished test runs: the run
//! directories under `target/infra/` (logs) and the fixtures' per-run directories under
//! `target/fixtures/` (a kubeconfig per test process, about 170 per run, and failure dumps) and
//! `target/fixtures/ready/`. The newest [`DEFAULT_KEEP_RUNS`] of each kind are kept
//! ([`KEEP_RUNS_VAR`] to change it), and never one that may still be in use.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::process::ProcId;

/// How many finished runs of each kind keep their directories (their logs, kubeconfigs and
/// dumps).
pub const KEEP_RUNS_VAR: &str = "TESTINFRA_KEEP_RUNS";

/// Enough for a post-mortem of the last few runs; each run's logs and kubeconfigs are a few
/// megabytes, and a plain `cargo test` of the workspace makes dozens of per-process ones.
pub const DEFAULT_KEEP_RUNS: usize = 5;

/// A run changed (or finished) this recently is never removed, whatever the count: a fixtures
/// directory with no supervised infrastructure run of the same id (a nextest run of suites that
/// need no DataStorage) is in use while its processes write kubeconfigs into it, and a test or a
/// human may still read the logs of a run that just finished while parallel processes prune.
pub(crate) const RECENT: Duration = Duration::from_secs(600);

/// The run id plain `cargo test` processes use: `cargo-test-<pid>` (fixtures' `Identity`).
const CARGO_TEST_PREFIX: &str = "cargo-test-";

/// The number of runs to keep, from [`KEEP_RUNS_VAR`] (default [`DEFAULT_KEEP_RUNS`]).
pub fn keep_runs() -> Result<usize> {
    parse_keep_runs(std::env::var(KEEP_RUNS_VAR).ok())
}

fn parse_keep_runs(value: Option<String>) -> Result<usize> {
    match value {
        None => Ok(DEFAULT_KEEP_RUNS),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| Error::BadKeepRuns { value }),
    }
}

/// [`keep_runs`], or the default with a warning naming the variable when it is not a number:
/// for the clean-up paths, which must not fail a run over a retention setting.
pub(crate) fn keep_runs_or_default() -> usize {
    keep_runs().unwrap_or_else(|e| {
        eprintln!("testinfra: {e}; keeping {DEFAULT_KEEP_RUNS}");
        DEFAULT_KEEP_RUNS
    })
}

/// Removes the fixtures' directories of finished runs under `target_dir` (`fixtures/<run id>/`
/// and `fixtures/ready/<run id>/`), keeping the newest `keep` of each and every run that may
/// still be in use: a `cargo-test-<pid>` run whose process lives; a run whose infrastructure
/// run directory (`infra/<run id>`) has a live supervisor; any run changed within [`RECENT`].
/// Returns what it removed.
pub fn prune_fixture_runs(target_dir: &Path, keep: usize) -> Vec<PathBuf> {
    let infra = target_dir.join("infra");
    let fixtures = target_dir.join("fixtures");
    let mut removed = prune_runs(&fixtures, keep, &["ready"], &|run| {
        fixture_run_in_use(&infra, run)
    });
    removed.extend(prune_runs(&fixtures.join("ready"), keep, &[], &|run| {
        fixture_run_in_use(&infra, run)
    }));
    removed
}

/// Whether the fixtures directory `run` (named after its run id) may still be in use.
fn fixture_run_in_use(infra: &Path, run: &Path) -> bool {
    let name = run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(pid) = name.strip_prefix(CARGO_TEST_PREFIX) {
        // The process of a plain `cargo test` run; a pid reused since is at worst a run kept
        // until the next clean-up.
        return pid
            .parse()
            .ok()
            .and_then(ProcId::of)
            .is_some_and(|p| p.is_alive());
    }
    crate::run_dir::supervisor_alive(&infra.join(&name))
}

/// Removes the subdirectories of `dir` (but `skip`) that are not among the `keep` newest, not
/// changed within [`RECENT`] and not `in_use`. Newest by modification time: a directory's entries are written while its run
/// goes on.
pub(crate) fn prune_runs(
    dir: &Path,
    keep: usize,
    skip: &[&str],
    in_use: &dyn Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut runs: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !skip.iter().any(|s| e.file_name() == *s))
        .map(|e| {
            let path = e.path();
            (modified(&path), path)
        })
        .collect();
    runs.sort_by_key(|run| std::cmp::Reverse(run.0));
    let mut removed = Vec::new();
    for (_, run) in runs.into_iter().skip(keep) {
        if age(&run) >= RECENT && !in_use(&run) && fs::remove_dir_all(&run).is_ok() {
            removed.push(run);
        }
    }
    removed
}

fn modified(path: &Path) -> SystemTime {
    path.metadata()
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub(crate) fn age(path: &Path) -> Duration {
    SystemTime::now()
        .duration_since(modified(path))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn run_dir(root: &Path, name: &str, ago: Duration) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("kubeconfig-x.yaml"), "").unwrap();
        set_age(&dir, ago);
        dir
    }

    fn set_age(dir: &Path, ago: Duration) {
        File::open(dir)
            .unwrap()
            .set_modified(SystemTime::now() - ago)
            .unwrap();
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn the_newest_runs_are_kept_and_older_finished_ones_removed() {
        let target = tempfile::tempdir().unwrap();
        let fixtures = target.path().join("fixtures");
        let ready = fixtures.join("ready");
        fs::create_dir_all(&ready).unwrap();
        let old: Vec<PathBuf> = (0..4)
            .map(|i| run_dir(&fixtures, &format!("run-{i}"), HOUR * (10 + i)))
            .collect();
        let new: Vec<PathBuf> = (0..2)
            .map(|i| run_dir(&fixtures, &format!("new-{i}"), HOUR * (1 + i)))
            .collect();
        let old_ready = run_dir(&ready, "run-0", HOUR * 10);
        let new_ready = [
            run_dir(&ready, "new-0", HOUR),
            run_dir(&ready, "new-1", HOUR * 2),
        ];
        set_age(&ready, HOUR * 100);

        let mut removed = prune_fixture_runs(target.path(), 2);
        removed.sort();
        let mut expected = old.clone();
        expected.push(ready.join("run-0"));
        expected.sort();
        assert_eq!(removed, expected);
        assert!(new.iter().all(|d| d.exists()));
        assert!(new_ready.iter().all(|d| d.exists()) && !old_ready.exists());
        assert!(ready.exists(), "the ready/ parent is not a run");
    }

    #[test]
    fn runs_in_use_are_never_removed() {
        let target = tempfile::tempdir().unwrap();
        let fixtures = target.path().join("fixtures");
        // A plain `cargo test` run of this (live) process.
        let mine = run_dir(
            &fixtures,
            &format!("cargo-test-{}", std::process::id()),
            HOUR * 20,
        );
        // A nextest run whose infrastructure supervisor (here: this process) lives.
        let supervised = run_dir(&fixtures, "run-live", HOUR * 20);
        let infra = target.path().join("infra").join("run-live");
        fs::create_dir_all(&infra).unwrap();
        fs::write(
            infra.join(crate::run_dir::SUPERVISOR_FILE),
            ProcId::current().to_line(),
        )
        .unwrap();
        // A run without infrastructure that changed a minute ago.
        let recent = run_dir(&fixtures, "run-recent", Duration::from_secs(60));
        // Finished: a dead cargo-test process (pid 0 is never a test), an unsupervised old run.
        let dead = run_dir(&fixtures, "cargo-test-0", HOUR * 20);
        let stale = run_dir(&fixtures, "run-stale", HOUR * 20);

        let mut removed = prune_fixture_runs(target.path(), 0);
        removed.sort();
        assert_eq!(removed, vec![dead, stale]);
        assert!(mine.exists() && supervised.exists() && recent.exists());
    }

    #[test]
    fn the_number_kept_comes_from_the_variable_and_a_bad_value_names_it() {
        assert_eq!(parse_keep_runs(None).unwrap(), DEFAULT_KEEP_RUNS);
        assert_eq!(parse_keep_runs(Some(" 12 ".into())).unwrap(), 12);
        assert_eq!(parse_keep_runs(Some("0".into())).unwrap(), 0);
        let err = parse_keep_runs(Some("lots".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{KEEP_RUNS_VAR}=\"lots\" is not a number")),
            "{err}"
        );
        assert!(parse_keep_runs(Some("-1".into())).is_err());
    }
}
