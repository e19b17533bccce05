//! Serves `pods/resize` (kube's `ResizeREST`): GET answers the Pod; PUT and PATCH write a whole Pod
//! through `podResizeStrategy` (`Sub::Resize`), which keeps only the containers' `resources` and
//! `resizePolicy` and the pod-level `spec.resources` of what is sent, then `ValidatePodResize`,
//! LimitRanger, PodResizeValidator and ResourceQuota judge the result like any pod update's.

use serde_json::Value;

use super::rmw;
use crate::http::State;
use crate::meta::meta_str;
use crate::status::ApiError;
use crate::store::{Sub, Target, WriteOpts};

/// The `resize` view: the whole Pod.
pub(super) struct Resize;

impl rmw::View for Resize {
    fn name(&self) -> &str {
        "pods/resize"
    }

    fn show(&self, parent: &Value) -> Value {
        parent.clone()
    }

    /// Writes the sent Pod; the strategy takes from it what a resize may change.
    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        old: &Value,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError> {
        // Checks the body is a Pod of the URL's name; its resourceVersion is the precondition,
        // else the one read (the write is then made against what the client saw).
        let checked = rmw::parent_to_write(sent, "Pod", t, old)?;
        let mut new = sent.clone();
        new["metadata"]["resourceVersion"] = meta_str(&checked, "resourceVersion").into();
        let w = state.store.update(t, Sub::Resize, new, opts)?;
        Ok((rmw::written(&w)?, w.warnings))
    }
}
