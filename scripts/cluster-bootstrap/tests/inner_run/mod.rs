//! Starts a `cargo nextest run` of this workspace from inside a test, as a user would start it
//! from a shell: none of the outer run's variables reach it.
//!
//! Two kinds are removed. The outer run's own (`NEXTEST_*`, the setup scripts' exports): the
//! inner run must get its own run id, infrastructure and cluster. And the package variables
//! cargo and nextest give a test process (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...): build
//! scripts track some of them (ring's declares `rerun-if-env-changed=CARGO_MANIFEST_DIR`), so an
//! inner cargo that inherits them sees ring's build script as changed and rebuilds ring, rustls,
//! kube and every workspace crate above them (75 to 100 s measured here), and the next build
//! from a shell rebuilds them all back. That rebuild, not the test, is what made the kill -9
//! test run into nextest's time limit.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prefixes of the variables of the outer run (nextest's, the setup scripts' exports, testinfra's
/// and the fixtures' switches).
const OUTER_RUN_PREFIXES: &[&str] = &[
    "NEXTEST",
    "__NEXTEST",
    "FIXTURES_",
    "DS_",
    "HAPI_",
    "TEST_CA_",
    "TESTINFRA_",
];

/// The variables cargo and nextest set for a test process (cargo's "environment variables Cargo
/// sets for crates", at run time), which a shell does not have.
const TEST_PROCESS_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];
const TEST_PROCESS_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// Whether `key` is a variable of the outer run or of the test process, not of the user's shell.
pub fn inherited_from_the_test(key: &str) -> bool {
    OUTER_RUN_PREFIXES.iter().any(|p| key.starts_with(p))
        || TEST_PROCESS_VARS.contains(&key)
        || TEST_PROCESS_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The workspace root (this package is `scripts/cluster-bootstrap`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `cargo nextest run <args>` in the workspace root with the shell's environment only, in a
/// process group of its own (so that a guard can end all of cargo's side at once).
pub fn cargo_nextest_run(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["nextest", "run"])
        .args(args)
        .current_dir(workspace_root());
    for (key, _) in std::env::vars_os() {
        if inherited_from_the_test(&key.to_string_lossy()) {
            cmd.env_remove(key);
        }
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}
