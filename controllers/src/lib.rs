//! The kubernaut CRD API types and controllers on kube-runtime, with metrics on a
//! caller-supplied registry.

pub mod aianalysis;
pub mod api;
pub mod clock;
pub mod conditions;
pub mod notification;
pub mod rbac;
pub mod remediationorchestrator;
pub mod requeue;
pub mod signalprocessing;
pub mod workflowexecution;
