//! Why a matrix could not run or could not be reported.

use std::path::PathBuf;

/// A failure of the matrix runner.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command could not be started at all.
    #[error(
        "could not start `{command}`: {source} (is cargo-nextest installed? run scripts/install-deps)"
    )]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Building the tests before timing failed.
    #[error("`{command}` failed with {status}: fix the build, then run the matrix again")]
    Build {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// A command ran past its time limit and was stopped.
    #[error(
        "`{command}` still running after {limit:?}; stopped it ({ended:?}): find what hangs it, or raise the limit (--prepare-timeout for builds, --run-timeout for runs)"
    )]
    Timeout {
        /// The command line.
        command: String,
        /// The limit it ran past.
        limit: std::time::Duration,
        /// Whether SIGTERM sufficed or SIGKILL was needed.
        ended: crate::process::Ended,
    },
    /// A report file could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An argument makes no sense.
    #[error("invalid argument: {0}")]
    Usage(String),
    /// Some runs had failing tests (the report was written).
    #[error("{failing} of {total} run(s) had failing tests: see the Runs table of {} and the logs in report.json", report.display())]
    RunsFailed {
        /// Runs with a failure.
        failing: usize,
        /// Runs.
        total: usize,
        /// The Markdown report.
        report: PathBuf,
    },
}
