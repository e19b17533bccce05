//! The WorkflowExecution controller: runs a remediation workflow as a Job in the execution
//! namespace under a per-target lock (the seed's reference implementation).

pub mod controller;
pub mod job;
pub mod metrics;
pub mod rbac;

pub use controller::{CONTROLLER_NAME, Config, Context, Error, error_policy, reconcile, register};
pub use metrics::Metrics;

#[cfg(test)]
mod tests;
