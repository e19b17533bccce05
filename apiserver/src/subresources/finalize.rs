//! Serves `namespaces/finalize`, kube's `FinalizeREST`: an update only (no GET, no PATCH), of
//! the whole Namespace, through which `spec.finalizers` change (the namespace controller takes
//! `kubernetes` off this way once a namespace is empty; a user takes off a finalizer no
//! controller will). The store's finalize path keeps the stored `status`
//! (`namespaceFinalizeStrategy`, `crate::registry`), the validation stage applies
//! `ValidateNamespaceFinalizeUpdate`, and a terminating namespace left with no finalizer is
//! deleted, as the namespace controller deletes it in kube.

use serde_json::Value;

use super::rmw;
use crate::http::State;
use crate::meta::meta_str;
use crate::status::ApiError;
use crate::store::{Sub, Target, WriteOpts};

/// The `finalize` view: the whole Namespace, written as sent but for its status.
pub(super) struct Finalize;

impl rmw::View for Finalize {
    fn name(&self) -> &str {
        "namespaces/finalize"
    }

    fn show(&self, parent: &Value) -> Value {
        parent.clone()
    }

    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        old: &Value,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError> {
        // Checks the body's name; the rest of the body is the update (an empty resourceVersion
        // is an unconditional update, which Namespaces allow).
        let checked = rmw::parent_to_write(sent, "Namespace", t, old)?;
        let mut new = sent.clone();
        // Metadata that is not an object is left for the update's decoding to refuse (400).
        if meta_str(&new, "resourceVersion").is_empty()
            && let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.insert(
                "resourceVersion".into(),
                checked["metadata"]["resourceVersion"].clone(),
            );
        }
        let w = state.store.update(t, Sub::Finalize, new, opts)?;
        Ok((rmw::written(&w)?, w.warnings))
    }
}
