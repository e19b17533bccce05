//! The SignalProcessing integration suite: every test process has its own API server running
//! the SignalProcessing controller, its own metrics registry and audit buffer; DataStorage is
//! shared. Tests create the workloads enrichment looks up (Deployments, ReplicaSets, Pods,
//! Nodes) themselves, each in namespaces of its own, so tests also pass when they share one
//! process (plain `cargo test`).
//!
//! The suite is per-process only: its tests inject faults into their own API server, move the
//! controller's clock, load broken policies and read exact metric values, none of which a
//! shared single-controller baseline can offer.

mod classification;
mod enrichment;
mod env;
mod failures;
mod lifecycle;
mod observability;
mod validation;
