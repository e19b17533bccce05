//! What the setup script needs from nextest: the process to watch (the `cargo-nextest`
//! process running the tests) and the `$NEXTEST_ENV` file format.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use testinfra::ProcId;
use testinfra::process::{cmdline, find_ancestor};

/// Overrides the process to watch: for running the script by hand or from tests, with a
/// stand-in for the nextest process.
pub const WATCH_PID_VAR: &str = "DS_BOOTSTRAP_WATCH_PID";

/// The name (`/proc/<pid>/comm`) of nextest's process.
const NEXTEST_COMM: &str = "cargo-nextest";

/// The process whose exit ends the run: `DS_BOOTSTRAP_WATCH_PID` if set, else the nearest
/// `cargo-nextest` ancestor of this process.
pub fn watched_process() -> anyhow::Result<ProcId> {
    if let Ok(pid) = std::env::var(WATCH_PID_VAR) {
        let pid: i32 = pid
            .trim()
            .parse()
            .with_context(|| format!("{WATCH_PID_VAR}={pid:?} is not a process id"))?;
        return ProcId::of(pid).with_context(|| format!("{WATCH_PID_VAR}={pid}: no such process"));
    }
    let me = ProcId::current().pid;
    let Some(found) = find_ancestor(me, NEXTEST_COMM) else {
        bail!(
            "no cargo-nextest process among the ancestors of ds-bootstrap (pid {me}): this setup script must be run by `cargo nextest run --profile integration` (or set {WATCH_PID_VAR} to the pid whose exit should stop the infrastructure)"
        );
    };
    // comm is only the executable's name: make sure it is nextest running tests.
    let cmd = cmdline(found.pid);
    if !cmd.contains("nextest") {
        bail!(
            "process {} is named {NEXTEST_COMM} but runs `{cmd}`; refusing to watch it",
            found.pid
        );
    }
    Ok(found)
}

/// Renders `KEY=VALUE` lines the way nextest accepts them: no quoting, no blank lines, keys
/// not starting with NEXTEST, values without newlines.
pub fn render_env(pairs: &[(&str, String)]) -> anyhow::Result<String> {
    let mut out = String::new();
    for (key, value) in pairs {
        if key.is_empty()
            || key.starts_with("NEXTEST")
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!(
                "cannot export {key:?}: nextest needs a non-empty [A-Za-z0-9_] key not starting with NEXTEST"
            );
        }
        if value.contains(['\n', '\r']) {
            bail!("cannot export {key}: its value contains a line break");
        }
        let _ = writeln!(out, "{key}={value}");
    }
    Ok(out)
}

/// Appends the lines to the `$NEXTEST_ENV` file.
pub fn write_env(path: &Path, pairs: &[(&str, String)]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let text = render_env(pairs)?;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| {
            format!(
                "could not write the exported variables to NEXTEST_ENV={}",
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_are_plain_and_checked() {
        let text = render_env(&[
            ("DS_URL", "http://127.0.0.1:1".into()),
            ("DS_RUN_DIR", "/a b".into()),
        ])
        .unwrap();
        assert_eq!(text, "DS_URL=http://127.0.0.1:1\nDS_RUN_DIR=/a b\n");
        assert!(render_env(&[("NEXTEST_X", "v".into())]).is_err());
        assert!(render_env(&[("A", "x\ny".into())]).is_err());
        assert!(render_env(&[("A B", "x".into())]).is_err());
        assert!(render_env(&[("", "x".into())]).is_err());
    }

    #[test]
    fn outside_nextest_there_is_no_nextest_ancestor() {
        // Unit tests run under cargo test or nextest; only the override decides here.
        if std::env::var_os(WATCH_PID_VAR).is_none()
            && find_ancestor(ProcId::current().pid, NEXTEST_COMM).is_none()
        {
            let err = watched_process().unwrap_err().to_string();
            assert!(
                err.contains("must be run by `cargo nextest run --profile integration`"),
                "{err}"
            );
        }
    }
}
