//! Finds the workspace's own binaries that cargo has already built, for setup scripts that
//! start others (cluster-bootstrap, single-bootstrap): through `scripts/run-built`, which never
//! builds and refuses a binary that is missing or older than its sources, naming the build
//! command. A setup script must not compile: nextest shows it only as "SETUP SLOW".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// `scripts/run-built`, relative to the workspace root.
const RUN_BUILT: &str = "scripts/run-built";

/// A command running the built binary `binary` of the workspace at `workspace` (the nextest
/// setup script's `NEXTEST_WORKSPACE_ROOT`); add its arguments. When the binary is missing or
/// stale the command fails with the build command on its stderr.
pub fn run_built(workspace: &Path, binary: &str) -> Command {
    let mut command = Command::new(workspace.join(RUN_BUILT));
    command.arg(binary).current_dir(workspace);
    command
}

/// The path of the built binary `binary` of package `package`, checked against its sources.
pub fn built_binary(workspace: &Path, package: &str, binary: &str) -> Result<PathBuf> {
    let script = workspace.join(RUN_BUILT);
    let out = Command::new(&script)
        .args(["--path", "-p", package, binary])
        .current_dir(workspace)
        .stdin(Stdio::null())
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
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_that_is_not_built_is_an_error_naming_the_build_command() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let err = built_binary(&workspace, "testinfra", "no-such-binary").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("`cargo build -p testinfra --bin no-such-binary`"),
            "{message}"
        );
        assert!(
            message.starts_with("no-such-binary is not ready"),
            "{message}"
        );
    }

    #[test]
    fn a_workspace_without_the_script_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = built_binary(dir.path(), "p", "b").unwrap_err();
        assert!(err.to_string().contains("scripts/run-built"), "{err}");
    }
}
