//! Finds the workspace's own binaries for setup scripts that start others (cluster-bootstrap,
//! single-bootstrap): through `scripts/run-built --build-if-needed`, which runs what cargo built
//! and builds only a binary that is missing or older than its sources, saying so, with cargo's
//! output on stderr. A setup script must never compile silently: nextest showed that only as
//! "SETUP SLOW".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// `scripts/run-built`, relative to the workspace root.
const RUN_BUILT: &str = "scripts/run-built";

/// A command running the built binary `binary` of the workspace at `workspace` (the nextest
/// setup script's `NEXTEST_WORKSPACE_ROOT`), built first when needed; add its arguments.
pub fn run_built(workspace: &Path, binary: &str) -> Command {
    let mut command = Command::new(workspace.join(RUN_BUILT));
    command
        .args(["--build-if-needed", binary])
        .current_dir(workspace);
    command
}

/// The path of the built binary `binary` of package `package`, checked against its sources and
/// built first when needed (a line saying why and cargo's output go to this process's stderr).
pub fn built_binary(workspace: &Path, package: &str, binary: &str) -> Result<PathBuf> {
    let script = workspace.join(RUN_BUILT);
    let out = Command::new(&script)
        .args(["--path", "--build-if-needed", "-p", package, binary])
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| Error::Spawn {
            component: "setup script",
            program: script.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().next() {
        Some(path) if out.status.success() && !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(Error::NotBuilt {
            binary: binary.to_owned(),
            status: out.status.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // What scripts/run-built does is tested with the script itself, in ds-bootstrap's
    // tests/run_built.rs.
    #[test]
    fn a_workspace_without_the_script_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = built_binary(dir.path(), "p", "b").unwrap_err();
        assert!(err.to_string().contains("scripts/run-built"), "{err}");
    }
}
