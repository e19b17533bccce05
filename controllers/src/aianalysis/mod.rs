//! The AIAnalysis controller: asks HolmesGPT-API for a root cause and a workflow, then decides
//! with a Rego approval policy whether the workflow may run unattended.

pub mod controller;
pub mod hapi;
pub mod metrics;
pub mod policy;
pub mod rbac;

pub use controller::{
    CONTROLLER_NAME, Config, Context, DEFAULT_HAPI_URL, DEFAULT_TIMEOUT, Error, error_policy,
    reason, reconcile, register,
};
pub use metrics::Metrics;
pub use policy::{ApprovalPolicy, PolicyError};
