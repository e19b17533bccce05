//! The SignalProcessing controller: enriches a signal with its Kubernetes context, classifies
//! its environment, assigns its priority and categorizes it for the business, with Rego
//! policies (regorus) loaded from files.

pub mod controller;
pub mod enrich;
pub mod metrics;
pub mod policy;
pub mod rbac;

pub use controller::{CONTROLLER_NAME, Config, Context, Error, error_policy, reconcile, register};
pub use metrics::Metrics;
pub use policy::{Policies, PolicyError};
