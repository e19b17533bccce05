//! Serves `certificatesigningrequests/approval`: GET answers the CSR; PUT and PATCH write the
//! body's `status` through the store's approval path, where the CSR strategy keeps only
//! `status.conditions` and stamps their times (`csrApprovalStrategy`, `crate::registry`) and the
//! validation stage applies `ValidateCertificateSigningRequestApprovalUpdate`
//! (`crate::validation::certificates`).

use serde_json::Value;

use super::rmw;
use crate::http::State;
use crate::status::ApiError;
use crate::store::{Sub, Target, WriteOpts};

/// The `approval` view: the whole CSR, of which only `status.conditions` is written.
pub(super) struct Approval;

impl rmw::View for Approval {
    fn name(&self) -> &str {
        "certificatesigningrequests/approval"
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
        let mut new = rmw::parent_to_write(sent, "CertificateSigningRequest", t, old)?;
        match sent.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        let w = state.store.update(t, Sub::Approval, new, opts)?;
        Ok((rmw::written(&w)?, w.warnings))
    }
}
