//! Serves `pods/binding` (POST a `v1` `Binding`) and the legacy create-only `bindings`
//! resource, as kube's `BindingREST` and `LegacyBindingREST`: the Binding is admitted as a
//! CREATE (of `pods/binding`, or of `bindings`), then `BindingREST.Create` checks the name
//! (between mutating and validating admission) and `ValidatePodBinding`, and binds the pod with
//! a storage-level write (`Store::bind_pod`). The answer is a `Status` Success with code 201.
//!
//! `pods/binding`'s REST storage keeps the Binding's uid and resourceVersion as preconditions on
//! the pod (`SubresourceObjectMetaPreserver`); kube's create handler asks that only of a
//! subresource, so through `bindings` the uid is wiped like any create's and only a
//! resourceVersion remains a precondition.

use std::sync::Arc;

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::Value;

use super::rmw;
use crate::admission::webhook;
use crate::catalog::ResourceInfo;
use crate::http::{self as h, Body, State};
use crate::meta::meta_str;
use crate::status::ApiError;
use crate::store::{Bind, Target};
use crate::validation::core::binding as validation;

/// The type of the object a binding creates, for its decoding and admission.
fn binding_type() -> ResourceInfo {
    ResourceInfo::subresource_kind("", "v1", "Binding")
}

/// POST `pods/{name}/binding`.
pub(super) async fn serve(
    state: &State,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    bind(state, t, Some(t.name), q, req).await
}

/// POST `namespaces/{ns}/bindings` (the route allows nothing else: `bindings` is create-only).
pub async fn serve_legacy(
    state: &State,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    bind(state, t, None, q, req).await
}

/// Binds the pod a Binding names. `url_name` is the pod's name in a `pods/binding` URL; None for
/// the legacy resource, whose name comes from the Binding (kube's `LegacyBindingREST` reads it
/// after admission).
async fn bind(
    state: &State,
    t: &Target<'_>,
    url_name: Option<&str>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    // Admission webhooks are called between passes of the admission (kube's create handler
    // admits the Binding before `BindingREST.Create` acts on it).
    let pass = state
        .store
        .has_webhooks()
        .then(|| Arc::new(webhook::Pass::default()));
    let create = crate::store::WriteOpts {
        webhooks: pass.clone(),
        ..h::write_opts(q, &req, "CreateOptions", Vec::new())?
    };
    let ty = binding_type();
    let (binding, mut warnings) = super::decode_created(
        h::read_object(req).await?,
        &ty,
        &[],
        t.namespace,
        &create,
        url_name.is_none(),
        super::BodyKind {
            catalog: &state.store.catalog(),
            // kube prints the decoded object with Go's `%#v`; its fields are not reproduced.
            not_a: |kind| format!("not a Binding object: &core.{kind}{{...}}"),
        },
    )?;
    // Admission names the pod of the URL, or (a create of the collection) the Binding's name.
    let name = url_name.unwrap_or_else(|| meta_str(&binding, "name"));
    let (subresource, admitted_t) = match url_name {
        Some(_) => ("binding", *t),
        None => ("", Target { name, ..*t }),
    };
    let ty = Arc::new(ty);
    // `BindingREST.Create`'s own checks, before validating admission.
    let check = |b: &Value| {
        if url_name.is_some_and(|n| n != meta_str(b, "name")) {
            return Err(ApiError::bad_request(
                "name in URL does not match name in Binding object",
            ));
        }
        validation::check(b)
    };
    let ((binding, admitted), hooks) = rmw::passes(pass.as_deref(), || {
        state.store.admit_create(
            &admitted_t,
            subresource,
            &ty,
            binding.clone(),
            check,
            &create,
        )
    })
    .await?;
    warnings.extend(admitted);
    warnings.extend(hooks);
    let pod_name = meta_str(&binding, "name");
    if pod_name.is_empty() {
        // The pod store's key function refuses an empty name.
        return Err(ApiError::bad_request("Name parameter required."));
    }
    let pod = Target {
        group: "",
        version: "v1",
        plural: "pods",
        namespace: t.namespace,
        name: pod_name,
    };
    let map = |field: &str| {
        binding
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
    };
    state.store.bind_pod(
        &pod,
        &Bind {
            uid: meta_str(&binding, "uid"),
            resource_version: meta_str(&binding, "resourceVersion"),
            node: binding
                .pointer("/target/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
            annotations: map("annotations"),
            labels: map("labels"),
            dry_run: create.dry_run,
        },
    )?;
    super::created(&warnings)
}
