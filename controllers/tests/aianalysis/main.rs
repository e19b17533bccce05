//! The AIAnalysis integration suite: every test process has its own API server running the
//! AIAnalysis controller, its own metrics registry and audit buffer; DataStorage and the
//! HolmesGPT-API mock are shared by the run (the setup script starts both; under plain
//! `cargo test` the process starts its own).
//!
//! Tests choose the mock's behaviour through the signal name (see the `hapi-mock` crate docs)
//! and give every AIAnalysis a remediation id of its own, so tests sharing one mock never see
//! each other's calls; retries are counted exactly through the mock's `/mock/requests`.

mod approval;
mod env;
mod hapi;
mod lifecycle;
mod mock;
mod observability;
mod timeouts;
