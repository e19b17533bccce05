//! Defaults built-in objects as kube-apiserver's generated defaulters do after decoding a body
//! (`pkg/apis/*/v1/defaults.go` and the `+default=` markers of `k8s.io/api`), on every write
//! (create, update, patch, apply) and before field ownership is computed.
//!
//! One source of truth: each API group's file holds a table of rules per Go type
//! ([`TypeRules`]); [`walk`] applies them wherever the type occurs (so a Deployment's pod template
//! gets the same container defaults as a Pod), following the type graph of `smp::schema`.

mod admission;
mod apps;
mod autoscaling;
mod batch;
mod core;
mod exempt;
mod networking;
mod other;
mod rbac;
pub(crate) mod rules;
mod storage;
mod walk;

pub use exempt::NOT_DEFAULTED;
use rules::TypeRules;
pub use walk::{apply, declared, served_types};

/// Every group's table, in no particular order (a type appears in at most one table).
pub(crate) const TABLES: &[&[TypeRules]] = &[
    core::RULES,
    apps::RULES,
    batch::RULES,
    networking::RULES,
    autoscaling::RULES,
    rbac::RULES,
    storage::RULES,
    admission::RULES,
    other::RULES,
];
