//! Admission: kube-apiserver's ValidatingAdmissionPolicy plugin, the stage of a write
//! after the type's strategy validation and before the commit (kube's generic store calls its
//! `createValidation`/`updateValidation`/`deleteValidation` there).
//!
//! `policy` compiles stored policies once per resourceVersion, `matching` selects requests,
//! `evaluate` runs one policy's CEL, `dispatch` turns decisions into a refusal, warnings or audit
//! records, and `request` describes the write being admitted. `webhook` calls admission webhooks
//! (mutating before the strategy, validating after the policies), between passes of the write.

mod cache;
mod dispatch;
mod evaluate;
mod matching;
mod policy;
mod request;
pub mod webhook;

pub use dispatch::{Snapshot, admit};
pub use policy::Cache;
pub use request::{Attributes, Operation};
