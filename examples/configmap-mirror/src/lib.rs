//! An example operator that is not kubernaut: `ConfigMapMirror` keeps named copies of a
//! ConfigMap in sync within one namespace.
//!
//! It exists to show how a kube-rs operator adopts this workspace's test fixture and embedded API
//! server (see the README and `tests/mirror.rs`): its suite needs nothing but `cargo test`.
//!
//! - [`api`]: the custom resource, the one source of truth for the CRD YAML in `crd/`.
//! - [`controller`]: reconcile, error policy, metrics on a caller-supplied registry.

pub mod api;
pub mod controller;

pub use api::{ConfigMapMirror, ConfigMapMirrorSpec, ConfigMapMirrorStatus};
pub use controller::{Metrics, register};
