//! Finds the k8s-openapi sources cargo resolved for this workspace (offline), for the drift tests
//! that compare checked-in tables with them; runs helper commands with a deadline.

#![allow(dead_code)] // each test binary uses part of it

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a helper command may take: `cargo metadata` waits for cargo's package-cache lock,
/// which a concurrent build on a shared machine can hold for a while; beyond this, fail, never hang.
const COMMAND_DEADLINE: Duration = Duration::from_secs(300);
/// How often a running helper command is checked for completion.
const POLL: Duration = Duration::from_millis(20);

/// Runs `cmd` to completion within [`COMMAND_DEADLINE`], collecting its output; Err if it cannot start.
pub fn run(mut cmd: Command, what: &str) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on threads so a large output cannot block the child.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            pipe.read_to_end(&mut buf).map(|_| buf)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {COMMAND_DEADLINE:?}");
        }
        std::thread::sleep(POLL);
    };
    Ok(Output {
        status,
        stdout: stdout.join().expect("stdout reader").expect("read stdout"),
        stderr: stderr.join().expect("stderr reader").expect("read stderr"),
    })
}

/// The apiserver crate's directory: at run time from the test runner (nextest points it at the
/// checkout when it runs an archive with `--workspace-remap`), else where it was compiled.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Why the k8s-openapi sources cannot be used.
pub enum Unavailable {
    /// They were never downloaded to this machine: the one reason to skip.
    NotDownloaded(String),
    /// Anything else (cargo missing, a broken manifest): a failure.
    Broken(String),
}

/// Whether `cargo metadata --offline` failed only because something is not in the local
/// registry cache. Cargo says so in one of these ways (checked against cargo 1.95).
pub fn only_not_downloaded(stderr: &str) -> bool {
    [
        "--offline was specified",
        "attempting to make an HTTP request, but --offline",
        "failed to download",
        "no matching package named",
        "you're using offline mode",
    ]
    .iter()
    .any(|m| stderr.contains(m))
}

/// `cargo metadata --offline` of this workspace, or why cargo cannot give it on this machine.
fn metadata() -> Result<Value, Unavailable> {
    // The cargo that runs the tests (cargo sets CARGO for `cargo nextest`/`cargo test`), else the
    // one that compiled them, else the one on PATH.
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "metadata",
        "--offline",
        "--format-version",
        "1",
        "--manifest-path",
    ])
    .arg(manifest_dir().join("Cargo.toml"));
    let out = run(cmd, &format!("`{cargo} metadata`"))
        .map_err(|e| Unavailable::Broken(format!("cannot run `{cargo} metadata`: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let why = format!("`cargo metadata --offline` failed: {stderr}");
        return Err(if only_not_downloaded(&stderr) {
            Unavailable::NotDownloaded(why)
        } else {
            Unavailable::Broken(why)
        });
    }
    Ok(serde_json::from_slice(&out.stdout).expect("cargo metadata JSON"))
}

/// The k8s-openapi source directory of the API version module this workspace enables
/// (`.../k8s-openapi-0.29.0/src/v1_37`), or why cargo cannot name it offline on this machine.
pub fn k8s_openapi_version_module() -> Result<PathBuf, Unavailable> {
    let meta = metadata()?;
    let package = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "k8s-openapi")
        .expect("k8s-openapi is a dependency");
    let id = &package["id"];
    let features = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .find(|n| &n["id"] == id)
        .and_then(|n| n["features"].as_array())
        .expect("k8s-openapi's resolved features");
    let version_features: Vec<&str> = features
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| f.starts_with("v1_"))
        .collect();
    assert_eq!(
        version_features.len(),
        1,
        "k8s-openapi needs exactly one API version feature: {version_features:?}"
    );
    let manifest = Path::new(package["manifest_path"].as_str().expect("manifest path"));
    Ok(manifest
        .parent()
        .expect("package dir")
        .join("src")
        .join(version_features[0]))
}
