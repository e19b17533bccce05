//! Owns the store's side of CRD conversion webhooks (`crate::conversion`): the stored object a
//! write starts from, seen in the request's version, and the object it commits, in the storage
//! version. Each conversion is a webhook call, made between passes of the write (the lock is
//! released, as for admission webhooks: `admission::webhook::run`).

use serde_json::Value;

use crate::admission::webhook::{self, Interrupt, Pass};
use crate::catalog::ResourceInfo;
use crate::conversion::{Call, Webhook};
use crate::status::ApiError;

use super::{Inner, Store};

impl Inner {
    /// A conversion webhook call with its endpoint resolved now (a Service's address is read
    /// from the store).
    fn conversion_call(&self, hook: &std::sync::Arc<Webhook>) -> Call {
        let snapshot = crate::admission::Snapshot {
            objects: &self.objects,
            catalog: &self.catalog,
            service_routes: &self.service_routes,
        };
        Call {
            hook: hook.clone(),
            endpoint: webhook::resolve(&snapshot, &hook.target),
        }
    }

    /// `obj` in the apiVersion `desired`: as it is when it is in that version already or the
    /// CRD has no conversion webhook; else the webhook's answer for it in this write's pass, or
    /// the pass stops so the webhook can be called.
    fn converted(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        desired: &str,
        pass: Option<&Pass>,
    ) -> Result<Value, ApiError> {
        let Some(hook) = &info.conversion else {
            return Ok(obj.clone());
        };
        if obj.get("apiVersion").and_then(Value::as_str) == Some(desired) {
            return Ok(obj.clone());
        }
        let Some(pass) = pass else {
            // Only the server's own writes run without a pass, and they write the stored form.
            return Err(ApiError::internal(format!(
                "the {} write needs the conversion webhook of {}/{}, which only a client's request can call",
                info.kind, info.group, info.plural
            )));
        };
        if let Some(out) = pass.converted(obj, desired) {
            return Ok(out);
        }
        Err(pass.interrupt(Interrupt::Convert {
            call: self.conversion_call(hook),
            object: obj.clone(),
            desired: desired.to_owned(),
        }))
    }

    /// The stored `obj` as the request's version serves it (its `apiVersion` set to that
    /// version under the `None` strategy, converted by the webhook under `Webhook`).
    pub(super) fn as_requested(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        pass: Option<&Pass>,
    ) -> Result<Value, ApiError> {
        let desired = info.api_version();
        let mut v = self.converted(info, obj, &desired, pass)?;
        v["apiVersion"] = desired.into();
        Ok(v)
    }

    /// The object a write commits, in the storage version, when a webhook converts the CRD's
    /// versions; None when `obj` is committed as it is (under the `None` strategy objects keep
    /// the version they were written in, which differs from it only in `apiVersion`).
    pub(super) fn to_storage(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        pass: Option<&Pass>,
    ) -> Result<Option<Value>, ApiError> {
        match &info.conversion {
            Some(hook) => self
                .converted(info, obj, &hook.storage_api_version, pass)
                .map(Some),
            None => Ok(None),
        }
    }
}

impl Store {
    /// `obj`, an object of `t`'s resource as stored, in `t`'s version: converted by the CRD's
    /// conversion webhook in the passes of `pass` (the subresources' read-modify-write).
    pub fn in_request_version(
        &self,
        t: &super::Target<'_>,
        obj: &Value,
        pass: &Pass,
    ) -> Result<Value, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        g.as_requested(&info, obj, Some(pass))
    }

    /// The conversion webhook call that serves `info`'s answers in its version, if its CRD has
    /// one (`crate::conversion::respond`).
    pub fn conversion_call(&self, info: &ResourceInfo) -> Option<Call> {
        let hook = info.conversion.as_ref()?;
        Some(self.lock().conversion_call(hook))
    }
}
