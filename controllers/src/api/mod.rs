//! Defines the kubernaut CRD API types (group `kubernaut.ai`, version `v1alpha1`): specs,
//! statuses, phase state machines, chainable test constructors, and the CRD manifests
//! generated from them.
//!
//! These Rust types are the one source of truth: `crdgen` writes `crds/` from them and
//! `tests/crds.rs` fails when the checked-in YAML drifts.

// kube-derive repeats `printcolumn(type_ = ...)` per column; clippy reads the repeats as
// duplicated attributes (a false positive for this macro syntax).
#![allow(clippy::duplicated_attributes)]

pub mod aianalysis;
pub mod common;
pub mod crds;
pub mod notificationrequest;
pub mod phase;
pub mod remediationrequest;
pub mod signalprocessing;
pub mod workflowexecution;

pub use aianalysis::{AIAnalysis, AIAnalysisPhase, AIAnalysisSpec, AIAnalysisStatus};
pub use common::*;
pub use notificationrequest::{
    NotificationPhase, NotificationRequest, NotificationRequestSpec, NotificationRequestStatus,
};
pub use phase::{InvalidTransition, Phase};
pub use remediationrequest::{
    RemediationPhase, RemediationRequest, RemediationRequestSpec, RemediationRequestStatus,
};
pub use signalprocessing::{
    SignalProcessing, SignalProcessingPhase, SignalProcessingSpec, SignalProcessingStatus,
};
pub use workflowexecution::{
    WorkflowExecution, WorkflowExecutionPhase, WorkflowExecutionSpec, WorkflowExecutionStatus,
};

/// API group of every kubernaut CRD.
pub const GROUP: &str = "kubernaut.ai";
/// API version of every kubernaut CRD.
pub const VERSION: &str = "v1alpha1";
/// Finalizer kubernaut controllers put on objects whose deletion needs cleanup.
pub const FINALIZER: &str = "kubernaut.ai/finalizer";
