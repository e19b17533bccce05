//! Defines the errors the manager reports: readiness, controller exits and shutdown.

use std::fmt;
use std::time::Duration;

/// A boxed error from a controller's run future.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A watch that had not synced when the readiness deadline passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWatch {
    /// The controller that registered the watch.
    pub controller: String,
    /// What is watched (the API path, e.g. `/apis/batch/v1/namespaces/x/jobs`).
    pub resource: String,
    /// The last error the controller's watches reported, if any.
    pub last_error: Option<String>,
}

impl fmt::Display for PendingWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in controller {}", self.resource, self.controller)?;
        match &self.last_error {
            Some(e) => write!(f, " (last watch error: {e})"),
            None => write!(f, " (no watch error reported)"),
        }
    }
}

/// Why one controller stopped.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// Its run future returned an error.
    #[error("its run future failed: {0}")]
    Failed(#[source] BoxError),
    /// Its run future returned before shutdown was requested.
    #[error(
        "it stopped before shutdown was requested; the future given to Manager::add must run until the shutdown token is cancelled"
    )]
    StoppedEarly,
    /// Its run future panicked.
    #[error("it panicked: {0}")]
    Panicked(String),
}

/// One controller and why it stopped.
#[derive(Debug, thiserror::Error)]
#[error("controller {controller}: {error}")]
pub struct ControllerFailure {
    /// The controller's name.
    pub controller: String,
    /// What happened.
    #[source]
    pub error: ControllerError,
}

/// Errors of [`crate::RunningManager`].
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// Some watches had not synced by the deadline.
    #[error(
        "controllers not ready after {timeout:?}; watches not synced: {}; check that the CRDs are installed and the API server answers list and watch for them",
        join(pending)
    )]
    NotReady {
        /// The readiness timeout.
        timeout: Duration,
        /// The watches that had not synced.
        pending: Vec<PendingWatch>,
    },
    /// A controller registered no watch, so readiness could not cover it.
    #[error(
        "controller {controller} registered no watch; build it with ControllerContext::controller (in the closure, before returning its future) so readiness covers it"
    )]
    NoWatches {
        /// The controller's name.
        controller: String,
    },
    /// A controller stopped before the manager was ready.
    #[error("controller {} stopped before the manager was ready: {}", .0.controller, .0.error)]
    ControllerExited(#[source] ControllerFailure),
    /// Controllers did not finish within the shutdown deadline (they were aborted).
    #[error(
        "controllers did not stop within {timeout:?} of shutdown and were aborted: {}; a reconcile is probably blocked on something that ignores cancellation",
        controllers.join(", ")
    )]
    ShutdownTimeout {
        /// The shutdown timeout.
        timeout: Duration,
        /// The controllers still running.
        controllers: Vec<String>,
    },
    /// Controllers failed while running.
    #[error("{} controller(s) failed: {}", failures.len(), join(failures))]
    ControllersFailed {
        /// Every failure, in the order the controllers stopped.
        failures: Vec<ControllerFailure>,
    },
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
