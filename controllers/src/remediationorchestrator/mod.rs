//! The RemediationOrchestrator: drives a RemediationRequest through its children
//! (SignalProcessing → AIAnalysis → approval → WorkflowExecution → verification), blocks
//! duplicates and repeatedly failing targets, enforces per-phase and global timeouts, and
//! notifies on escalation, approval and completion.

pub mod children;
pub mod config;
pub mod controller;
pub mod metrics;
pub mod rbac;
pub mod routing;

pub use config::{
    APPROVAL_ANNOTATION, APPROVED, APPROVED_BY_ANNOTATION, CONTROLLER_NAME, Config, REJECTED,
};
pub use controller::{Context, Error, error_policy, reconcile, register};
pub use metrics::Metrics;
