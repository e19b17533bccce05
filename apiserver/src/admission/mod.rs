//! Admission: kube-apiserver's ValidatingAdmissionPolicy plugin, the stage of a write
//! after the type's strategy validation and before the commit (kube's generic store calls its
//! `createValidation`/`updateValidation`/`deleteValidation` there), and its
//! MutatingAdmissionPolicy plugin, the first mutating stage of a create or update (before the
//! mutating webhooks and the registry strategy).
//!
//! `policy` compiles stored policies once per resourceVersion, `matching` selects requests,
//! `evaluate` runs one policy's CEL, `dispatch` turns decisions into a refusal, warnings or audit
//! records, `mutating` compiles mutating policies and applies one mutation, `mutate` runs the
//! mutating stage, `request` describes the write being admitted, and `versioned` shows its
//! objects in the version a rule matched. `webhook` calls admission webhooks
//! (mutating before the strategy, validating after the policies), between passes of the write.

mod cache;
mod dispatch;
mod evaluate;
mod matching;
mod mutate;
mod mutating;
mod policy;
mod request;
mod versioned;
pub mod webhook;

pub use dispatch::{Snapshot, admit};
pub use mutate::{Reinvocation, mutate};
pub use mutating::MutatingCache;
pub use policy::Cache;
pub use request::{Attributes, Operation};
