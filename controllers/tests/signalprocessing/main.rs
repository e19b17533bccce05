//! The SignalProcessing integration suite: every test process has its own API server running
//! the SignalProcessing controller, its own metrics registry and audit buffer; DataStorage is
//! shared. Tests create the workloads enrichment looks up (Deployments, ReplicaSets, Pods,
//! Nodes) themselves, each in namespaces of its own, so tests also pass when they share one
//! process (plain `cargo test`).
//!
//! The main suite also runs in the single-controller baseline (`--profile integration-single`:
//! one shared API server and manager, these tests serialized), where the shared manager runs
//! the controller with the main suite's configuration. The suites with a controller of their
//! own (injected faults, a movable clock, broken policies, a registry read for exact values)
//! are per-process only and skip themselves there.

mod classification;
mod enrichment;
mod env;
mod failures;
mod lifecycle;
mod observability;
mod validation;
