//! `scripts/run-built`, through which nextest runs the setup scripts: it runs a binary cargo
//! built, and refuses, naming the build command, one that is missing or older than a source it
//! was built from, so a setup script never compiles behind nextest's "SETUP SLOW".
//!
//! Each test copies the script into a scratch workspace (the script finds the workspace from its
//! own location) with a fake binary and dep-info file; file times are set, never waited for.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The real script, from this checkout.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../run-built");

/// Held while a test writes an executable file or starts a process. A file being written is
/// open for writing, and a process another test thread forks at that moment inherits that
/// descriptor until it execs; executing the file then fails with "Text file busy" (ETXTBSY).
static EXEC: Mutex<()> = Mutex::new(());

fn exec_lock() -> MutexGuard<'static, ()> {
    EXEC.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A scratch workspace: `scripts/run-built`, `src/main.rs` and `target/debug/fake` (a shell
/// script echoing its arguments) with its dep-info file listing `src/main.rs`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let _exec = exec_lock();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("scripts")).unwrap();
        fs::copy(SCRIPT, root.join("scripts/run-built")).unwrap();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::create_dir_all(root.join("target/debug")).unwrap();
        let ws = Workspace { dir };
        fs::write(ws.bin(), "#!/bin/sh\necho \"ran with: $*\"\n").unwrap();
        fs::set_permissions(ws.bin(), fs::Permissions::from_mode(0o755)).unwrap();
        ws.write_depinfo(&[ws.root().join("src/main.rs")]);
        // The binary is newer than its source, as after a build.
        ws.set_age(&ws.root().join("src/main.rs"), Duration::from_secs(60));
        ws.set_age(&ws.bin(), Duration::from_secs(10));
        ws
    }

    fn root(&self) -> PathBuf {
        // Canonical: the script compares dep-info paths with its own `pwd`.
        self.dir.path().canonicalize().unwrap()
    }

    fn bin(&self) -> PathBuf {
        self.root().join("target/debug/fake")
    }

    fn write_depinfo(&self, sources: &[PathBuf]) {
        let list: Vec<String> = sources
            .iter()
            .map(|s| s.display().to_string().replace(' ', "\\ "))
            .collect();
        fs::write(
            self.root().join("target/debug/fake.d"),
            format!("{}: {}\n", self.bin().display(), list.join(" ")),
        )
        .unwrap();
    }

    /// Sets a file's modification time to `ago` before now.
    fn set_age(&self, path: &Path, ago: Duration) {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - ago)
            .unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Runs the script with `vars` set.
    fn run_with(&self, args: &[&str], vars: &[(&str, String)]) -> Output {
        let _exec = exec_lock();
        let mut command = Command::new(self.root().join("scripts/run-built"));
        command
            .args(args)
            .current_dir(self.root())
            .env_remove("CARGO_TARGET_DIR");
        for (k, v) in vars {
            command.env(k, v);
        }
        command.output().unwrap()
    }

    /// A directory holding a fake `cargo` that logs its arguments to `cargo.log` and, when
    /// `builds`, makes the binary current (rewrites it and its dep-info); else fails. Returns a
    /// PATH with it first.
    fn fake_cargo(&self, builds: bool) -> String {
        let _exec = exec_lock();
        let dir = self.root().join("fake-bin");
        fs::create_dir_all(&dir).unwrap();
        let body = if builds {
            format!(
                "echo 'Compiling fake' >&2\nprintf '#!/bin/sh\\necho \"built and ran with: $*\"\\n' > {bin}\nchmod +x {bin}\nprintf '{bin}: {src}\\n' > {bin}.d\n",
                bin = self.bin().display(),
                src = self.root().join("src/main.rs").display()
            )
        } else {
            "echo 'error: could not compile fake' >&2\nexit 101\n".to_owned()
        };
        let script = dir.join("cargo");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> {log}\n{body}",
                log = self.root().join("cargo.log").display()
            ),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_current_binary_runs_with_its_arguments() {
    let ws = Workspace::new();
    let out = ws.run(&["fake", "a", "b c"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran with: a b c\n");

    let out = ws.run(&["--path", "fake"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        ws.bin().display().to_string()
    );
}

#[test]
fn a_missing_binary_is_an_error_naming_the_build_command() {
    let ws = Workspace::new();
    fs::remove_file(ws.bin()).unwrap();
    let out = ws.run(&["fake"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("fake is not built"), "{err}");
    assert!(err.contains("`cargo build -p fake --bin fake`"), "{err}");
    assert!(out.stdout.is_empty());

    let out = ws.run(&["--path", "-p", "pkg", "fake"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`cargo build -p pkg --bin fake`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_binary_older_than_a_source_is_not_run() {
    let ws = Workspace::new();
    ws.set_age(&ws.root().join("src/main.rs"), Duration::ZERO);
    let out = ws.run(&["fake"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("is older than its sources (src/main.rs changed since it was built)"),
        "{err}"
    );
    assert!(err.contains("`cargo build -p fake --bin fake`"), "{err}");
    assert!(out.stdout.is_empty(), "the stale binary ran");
}

#[test]
fn a_removed_source_or_one_of_another_checkout_is_not_trusted() {
    let ws = Workspace::new();
    let spaced = ws.root().join("src/with space.rs");
    fs::write(&spaced, "").unwrap();
    ws.set_age(&spaced, Duration::from_secs(60));
    ws.write_depinfo(&[ws.root().join("src/main.rs"), spaced.clone()]);
    let out = ws.run(&["fake"]);
    assert!(
        out.status.success(),
        "a path with a space: {}",
        stderr(&out)
    );

    fs::remove_file(&spaced).unwrap();
    let out = ws.run(&["fake"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no longer exists"),
        "{}",
        stderr(&out)
    );

    let elsewhere = tempfile::NamedTempFile::new().unwrap();
    ws.write_depinfo(&[elsewhere.path().to_path_buf()]);
    let out = ws.run(&["fake"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was built from another checkout"),
        "{}",
        stderr(&out)
    );

    fs::remove_file(ws.root().join("target/debug/fake.d")).unwrap();
    let out = ws.run(&["fake"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("fake.d is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn build_if_needed_builds_a_stale_binary_visibly_then_runs_it() {
    let ws = Workspace::new();
    let path = ws.fake_cargo(true);
    // Current: runs without building.
    let out = ws.run_with(
        &["--build-if-needed", "fake", "a"],
        &[("PATH", path.clone())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran with: a\n");
    assert!(
        !ws.root().join("cargo.log").exists(),
        "cargo ran for a current binary"
    );

    // Stale: built first, saying why, with cargo's output on stderr; then the new binary runs.
    // The source is dated a few seconds back, not `now`: `set_modified(now)` takes the precise
    // clock, while the fake cargo's rewrite of the binary is stamped by the file system's coarse
    // clock (a jiffy behind), so a rebuild within the same few milliseconds would look older than
    // the source and the script would rightly refuse it (CI saw exactly that once).
    ws.set_age(&ws.root().join("src/main.rs"), Duration::from_secs(5));
    ws.set_age(&ws.bin(), Duration::from_secs(30));
    let out = ws.run_with(&["--build-if-needed", "fake", "b"], &[("PATH", path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("run-built: fake is older than its sources (src/main.rs changed since it was built): building it first with `cargo build -p fake --bin fake`"),
        "{err}"
    );
    assert!(
        err.contains("Compiling fake"),
        "cargo's output is shown: {err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "built and ran with: b\n"
    );
    assert_eq!(
        fs::read_to_string(ws.root().join("cargo.log")).unwrap(),
        "build -p fake --bin fake\n"
    );
}

#[test]
fn build_if_needed_reports_a_failed_build_and_runs_nothing() {
    let ws = Workspace::new();
    fs::remove_file(ws.bin()).unwrap();
    let path = ws.fake_cargo(false);
    let out = ws.run_with(&["--build-if-needed", "fake"], &[("PATH", path)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: could not compile fake"), "{err}");
    assert!(
        err.contains("run-built: `cargo build -p fake --bin fake` failed"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_usage_is_an_error() {
    let ws = Workspace::new();
    for args in [&[][..], &["-p"], &["--path"], &["-p", "pkg"]] {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("usage: scripts/run-built"),
            "{args:?}"
        );
    }
}
