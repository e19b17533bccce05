//! Runs kube-runtime controllers together: one client, shared shutdown, readiness when every
//! watch has synced, atomic status writes, and jittered backoff for requeues.

mod context;
mod error;
mod manager;
mod scope;

pub mod backoff;
pub mod status;

pub use backoff::Backoff;
pub use context::ControllerContext;
pub use error::{BoxError, ControllerError, ControllerFailure, ManagerError, PendingWatch};
pub use manager::{Manager, RunningManager};
pub use scope::NamespaceScope;
pub use status::{StatusError, StatusUpdate, WritePolicy, update_status, update_status_with};
