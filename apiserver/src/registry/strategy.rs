//! The `Strategy` trait (kube's `RESTCreateStrategy`, `RESTUpdateStrategy`,
//! `RESTDeleteStrategy` and `RESTGracefulDeleteStrategy` in one) and the generic strategy that
//! serves every type without rules of its own.
//!
//! The store calls, on create: `decode` → defaulting → field tracking → `prepare_for_create` →
//! `canonicalize` → `validate` → `allocate` → validating admission → commit; on update, patch and
//! apply: `decode` (main resource) → defaulting → `prepare_for_update` → `canonicalize` →
//! `validate_update` → field tracking → `allocate` → validating admission → commit; on delete:
//! preconditions → validating admission → `graceful_delete`. Validating admission
//! (`crate::admission`) is a stage of its own, not part of any strategy.

use serde_json::{Value, json};

use super::ipalloc::Allocations;
use crate::auth::UserInfo;
use crate::status::Cause;
use crate::store::Sub;

/// Why `Strategy::allocate` refused a write, answered as kube's Service REST storage answers it
/// (`pkg/registry/core/service/storage/alloc.go`).
#[derive(Debug, PartialEq, Eq)]
pub enum AllocFailure {
    /// An address the object names cannot be had (taken, out of range, IPv6, ...): 422 Invalid
    /// with these causes.
    Invalid(Vec<Cause>),
    /// No address is left to pick (`range is full`), or a health check node port cannot be
    /// had: kube answers 500 InternalError with this message ("not a field-level validation
    /// failure", as alloc.go's comment says).
    Internal(String),
}

/// What a strategy may consult while preparing a write: the service address allocations.
pub struct Ctx<'a> {
    pub allocations: &'a Allocations,
    /// The object's namespace and name (its allocation owner).
    pub namespace: &'a str,
    pub name: &'a str,
    /// Seeds the random choice of free addresses, so a write that runs again (admission webhook
    /// passes) picks the same ones when nothing changed; None: any.
    pub seed: Option<u64>,
}

/// The write rules of one resource type. Every method has the generic behaviour as its default.
pub trait Strategy: Sync {
    /// Whether `metadata.generation` is kept (1 on create, +1 when anything outside metadata and
    /// a status subresource's status changes). kube sets it only for types whose strategy does.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Conversions kube makes while decoding a body (e.g. Secret `stringData` into `data`), before
    /// defaulting; main-resource writes only.
    fn decode(&self, _obj: &mut Value) {}

    /// `status` of a newly created object of a type with a status subresource (what is written is
    /// dropped first). None: no status.
    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        Some(json!({}))
    }

    /// Type-specific preparation of a new object (`PrepareForCreate`), after the generic one.
    /// `user` is who asked (kube's `request.UserFrom(ctx)`); None for the server's own writes.
    /// Answers the `Warning` headers the preparation gives (kube's `warning.AddWarning` on the
    /// request's context), which come before `warnings_on_create`'s.
    fn prepare_for_create(&self, _obj: &mut Value, _user: Option<&UserInfo>) -> Vec<String> {
        Vec::new()
    }

    /// Type-specific preparation of an update (`PrepareForUpdate`), after the generic status
    /// handling (a main write keeps the stored status; a status write keeps the stored spec and
    /// the metadata `registry::status_reset` names).
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value, _sub: Sub) {}

    /// Normalisation after preparation (`Canonicalize`).
    fn canonicalize(&self, _obj: &mut Value) {}

    /// Validation of a new object: the hook `crate::validation` fills; None here.
    fn validate(&self, _obj: &Value) -> Vec<Cause> {
        Vec::new()
    }

    /// Validation of an update against the stored object.
    fn validate_update(&self, _new: &Value, _old: &Value, _sub: Sub) -> Vec<Cause> {
        Vec::new()
    }

    /// `Warning` headers for a create (`WarningsOnCreate`).
    fn warnings_on_create(&self, _obj: &Value) -> Vec<String> {
        Vec::new()
    }

    /// `Warning` headers for an update (`WarningsOnUpdate`) of the object or of the subresource
    /// `sub` (kube's status strategies have warnings of their own).
    fn warnings_on_update(&self, _new: &Value, _old: &Value, _sub: Sub) -> Vec<String> {
        Vec::new()
    }

    /// Picks or checks the addresses and ports `new` needs (Services), against the stored
    /// object `old` on an update. The store records them when the write commits.
    fn allocate(
        &self,
        _new: &mut Value,
        _old: Option<&Value>,
        _ctx: &Ctx<'_>,
    ) -> Result<(), AllocFailure> {
        Ok(())
    }

    /// `CheckGracefulDelete`: the grace period in seconds a delete of `obj` waits for (the
    /// object stays, marked, until a delete with 0); 0 (the default) deletes at once.
    /// `requested` is `DeleteOptions.gracePeriodSeconds`.
    fn graceful_delete(&self, _obj: &Value, _requested: Option<i64>) -> i64 {
        0
    }
}

/// The strategy of types without rules of their own: optionally keeps the generation and sets a
/// fixed initial status (the JSON of Go's zero status struct, e.g. `{"replicas": 0}`).
pub struct Generic {
    pub generation: bool,
    pub status: fn() -> Option<Value>,
}

impl Strategy for Generic {
    fn tracks_generation(&self) -> bool {
        self.generation
    }

    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        (self.status)()
    }
}

/// `{}`: Go's zero status struct whose fields are all omitted when empty.
pub fn empty_status() -> Option<Value> {
    Some(json!({}))
}

/// Custom resources: generation kept, a written status dropped on create.
pub static CUSTOM: Generic = Generic {
    generation: true,
    status: || None,
};
