//! The one error type of the crate: every message names the component, the cause and what to do.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while starting, stopping or finding the test infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A server binary is not installed.
    #[error(
        "{component} server binaries not found: run scripts/install-deps (looked for `{binary}` on PATH{extra})"
    )]
    BinaryNotFound {
        /// "PostgreSQL" or "Redis".
        component: &'static str,
        /// The binary that was missing.
        binary: &'static str,
        /// Where else we looked, already formatted (", and in /usr/lib/postgresql/*/bin").
        extra: &'static str,
    },

    /// PostgreSQL refuses to run as root and there is no account to run it as.
    #[error(
        "PostgreSQL refuses to run as root and there is no `{user}` account to run it as: run scripts/install-deps (the postgresql package creates it) or run the tests as a normal user"
    )]
    NoUnprivilegedUser {
        /// The account name we looked up.
        user: &'static str,
    },

    /// The run's certificate authority could not be made.
    #[error("run CA: could not make the test run's certificate authority: {message}")]
    Ca {
        /// What failed, and rcgen's error.
        message: String,
    },

    /// A finalizer was registered without a command.
    #[error("run directory: finalizer {name:?} has no command: pass the program and its arguments")]
    EmptyFinalizer {
        /// The finalizer's name.
        name: String,
    },

    /// A filesystem operation failed.
    #[error("{component}: could not {action} {}: {source}", path.display())]
    Io {
        /// Which part of the infrastructure was being prepared.
        component: &'static str,
        /// What we tried to do, as a verb phrase ("create directory").
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A process could not be started at all.
    #[error("{component}: could not start `{}`: {source}", program.display())]
    Spawn {
        /// Which part of the infrastructure.
        component: &'static str,
        /// The program we tried to run.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The retention setting is not a number.
    #[error(
        "{}={value:?} is not a number of runs: set it to how many finished runs keep their logs and kubeconfigs (default {})",
        crate::prune::KEEP_RUNS_VAR,
        crate::prune::DEFAULT_KEEP_RUNS
    )]
    BadKeepRuns {
        /// The value found.
        value: String,
    },

    /// A workspace binary a setup script starts is missing or stale and could not be built.
    #[error(
        "{binary} is not ready to run: scripts/run-built failed ({status}); its message and cargo's are above"
    )]
    NotBuilt {
        /// The binary.
        binary: String,
        /// How scripts/run-built exited.
        status: String,
    },

    /// A preparation step (e.g. initdb) ran but failed.
    #[error("{component}: `{step}` failed ({status}); see {}{}", log.display(), tail_suffix(tail))]
    StepFailed {
        /// Which part of the infrastructure.
        component: &'static str,
        /// The command that failed.
        step: &'static str,
        /// Its exit status, formatted.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        tail: String,
    },

    /// The daemon's port was taken by another process between choosing and binding it.
    #[error("{component}: port {port} on 127.0.0.1 is already in use; see {}", log.display())]
    PortTaken {
        /// Which daemon.
        component: &'static str,
        /// The port it could not bind.
        port: u16,
        /// Its log file.
        log: PathBuf,
    },

    /// The daemon exited while we waited for it to become ready.
    #[error("{component} exited during start-up ({status}); see {}{}", log.display(), tail_suffix(tail))]
    Exited {
        /// Which daemon.
        component: &'static str,
        /// Its exit status, formatted.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        tail: String,
    },

    /// The daemon did not become ready before the deadline.
    #[error("{component} was not ready after {after:?}; see {}{}", log.display(), tail_suffix(tail))]
    NotReady {
        /// Which daemon.
        component: &'static str,
        /// How long we waited.
        after: Duration,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        tail: String,
    },

    /// A required environment variable is not set.
    #[error("{var} is not set: {hint}")]
    MissingEnv {
        /// The variable.
        var: &'static str,
        /// What to do about it.
        hint: &'static str,
    },

    /// A leak scan would read more than its byte limit (`leaks::MAX_SCAN_TOTAL`).
    #[error(
        "leak check: the files under {dir} exceed {limit} bytes: scan only a run's own outputs (logs, kubeconfigs, JUnit), not build artefacts or daemon data"
    )]
    ScanTooLarge {
        /// The directory being scanned.
        dir: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// An environment variable has a value we cannot use.
    #[error("{var}={value:?} is not valid: {reason}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it is unusable and what would be accepted.
        reason: String,
    },

    /// A file named by an environment variable could not be read.
    #[error("{var} names {}, which could not be read: {source}", path.display())]
    EnvFile {
        /// The variable.
        var: &'static str,
        /// The file it names.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The container provider failed.
    #[error("{component} (docker provider): {message}")]
    Docker {
        /// Which container.
        component: &'static str,
        /// What the container runtime said.
        message: String,
    },

    /// No target directory could be found to hold run directories.
    #[error("could not find the cargo target directory (set CARGO_TARGET_DIR): {reason}")]
    NoTargetDir {
        /// Why the search failed.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last lines:\n{tail}")
    }
}

impl Error {
    pub(crate) fn io(
        component: &'static str,
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            component,
            action,
            path,
            source,
        }
    }
}
