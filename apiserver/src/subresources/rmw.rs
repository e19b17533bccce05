//! Owns the read-modify-write cycle the view subresources share: read the parent object, let the
//! client's PUT or PATCH change the view, write the parent back with the read resourceVersion as a
//! precondition, and retry a PATCH that lost a race (kube's patcher retries the same way).
//! [`serve`] is that cycle for GET, PUT and PATCH; each subresource supplies only its [`View`].

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::Value;

use crate::admission::webhook;
use crate::http::{self as h, Body, State};
use crate::meta::meta_str;
use crate::status::ApiError;
use crate::store::{PatchKind, Store, Target, WriteOpts, Written};

/// What a view subresource shows of its parent object and how it writes a changed view back.
pub trait View {
    /// The subresource as kube names it in messages, e.g. `pods/ephemeralcontainers`.
    fn name(&self) -> &str;

    /// The view of `parent` that GET answers and a PATCH applies to.
    fn show(&self, parent: &Value) -> Value;

    /// Writes the view `sent` (a PUT body or a patched view) into the stored `parent`, with the
    /// view's resourceVersion (or the read one) as the precondition; answers the new view and
    /// the write's warnings.
    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        parent: &Value,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError>;
}

/// Serves GET, PUT and PATCH of the view subresource `view` of the object `t`.
pub async fn serve(
    view: &impl View,
    state: &State,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    // A write is made in passes, which call admission webhooks and the conversion webhook of the
    // parent's CRD (`crate::conversion`) with the store unlocked, when either may be called.
    let converted = state
        .store
        .catalog()
        .get(t.group, t.version, t.plural)
        .is_some_and(|i| i.conversion.is_some());
    let pass = (converted || state.store.has_webhooks())
        .then(|| std::sync::Arc::new(webhook::Pass::default()));
    let in_passes = |opts: WriteOpts| WriteOpts {
        webhooks: pass.clone(),
        ..opts
    };
    match *req.method() {
        Method::GET => {
            let opts = in_passes(WriteOpts::default());
            let (parent, _) = passes(pass.as_deref(), || read_in(&state.store, t, &opts)).await?;
            Ok(h::value_response(&view.show(&parent)))
        }
        Method::PUT => {
            let opts = in_passes(h::write_opts(q, &req, "UpdateOptions", Vec::new())?);
            let body = h::read_object(req).await?;
            let ((answer, mut warnings), hooks) = passes(pass.as_deref(), || {
                let parent = read_in(&state.store, t, &opts)?;
                view.write(state, t, &body, &parent, &opts)
            })
            .await?;
            warnings.extend(hooks);
            Ok(h::with_warnings(h::value_response(&answer), &warnings))
        }
        Method::PATCH => {
            if h::content_type(&req) == h::APPLY_YAML {
                return Err(ApiError::unsupported_media_type(format!(
                    "server-side apply of {} is not supported by this server: send a merge, JSON or strategic merge patch",
                    view.name()
                )));
            }
            let kind = h::patch_kind(&req)?;
            let opts = in_passes(h::write_opts(q, &req, "PatchOptions", Vec::new())?);
            let body = h::read_body(req).await?;
            let ((answer, mut warnings), hooks) = passes(pass.as_deref(), || {
                retry_conflicts(|| {
                    let parent = read_in(&state.store, t, &opts)?;
                    let patched = patch_view(&view.show(&parent), kind, &body)?;
                    // A resourceVersion the patch itself set is the client's precondition: its
                    // conflict is the client's answer, not a race to retry.
                    let named = meta_str(&patched, "resourceVersion")
                        != meta_str(&parent, "resourceVersion");
                    view.write(state, t, &patched, &parent, &opts)
                        .map_err(|e| Failed::of_write(e, named))
                })
            })
            .await?;
            warnings.extend(hooks);
            Ok(h::with_warnings(h::value_response(&answer), &warnings))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Checks that `sent`, a whole-object view of `kind`, is an object of the URL's name, and answers
/// the stored `parent` carrying the resourceVersion to write with: the client's, else the read one.
pub fn parent_to_write(
    sent: &Value,
    kind: &str,
    t: &Target<'_>,
    parent: &Value,
) -> Result<Value, ApiError> {
    if !sent.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): the body is not a JSON object"
        )));
    }
    let body_name = meta_str(sent, "name");
    if !body_name.is_empty() && body_name != t.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            t.name
        )));
    }
    let mut new = parent.clone();
    let rv = match meta_str(sent, "resourceVersion") {
        "" => meta_str(parent, "resourceVersion").to_owned(),
        rv => rv.to_owned(),
    };
    new["metadata"]["resourceVersion"] = rv.into();
    Ok(new)
}

/// Attempts of a PATCH that keeps losing races to other writers; kube's patch handler gives up
/// after as many (`maxRetryWhenPatchConflicts`).
pub const MAX_PATCH_ATTEMPTS: usize = 5;

/// The stored object `t` names.
pub fn read(store: &Store, t: &Target<'_>) -> Result<Value, ApiError> {
    let bytes = store.get(t)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("a stored object is not JSON: {e}")))
}

/// The object written by a store operation.
pub fn written(w: &Written) -> Result<Value, ApiError> {
    serde_json::from_slice(&w.body)
        .map_err(|e| ApiError::internal(format!("a written object is not JSON: {e}")))
}

/// Runs `op` in the passes of `pass` (webhook calls between them), or once; answers its result
/// and the admission webhooks' warnings.
pub(crate) async fn passes<T>(
    pass: Option<&webhook::Pass>,
    op: impl FnMut() -> Result<T, ApiError>,
) -> Result<(T, Vec<String>), ApiError> {
    match pass {
        Some(pass) => webhook::run(pass, op).await,
        None => {
            let mut op = op;
            op().map(|v| (v, Vec::new()))
        }
    }
}

/// The stored object `t` names, in `t`'s version (converted by the CRD's conversion webhook in
/// the write's passes, when `opts` runs in passes).
pub fn read_in(store: &Store, t: &Target<'_>, opts: &WriteOpts) -> Result<Value, ApiError> {
    let stored = read(store, t)?;
    match opts.webhooks.as_deref() {
        Some(pass) => store.in_request_version(t, &stored, pass),
        None => Ok(stored),
    }
}

/// The object a store operation wrote, in `t`'s version (see [`read_in`]).
pub fn written_in(
    store: &Store,
    t: &Target<'_>,
    w: &Written,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    let stored = written(w)?;
    match opts.webhooks.as_deref() {
        Some(pass) => store.in_request_version(t, &stored, pass),
        None => Ok(stored),
    }
}

/// Applies a PATCH body of `kind` to `doc`, the view the client sees.
pub fn patch_view(doc: &Value, kind: PatchKind, body: &[u8]) -> Result<Value, ApiError> {
    let decode = |body: &[u8]| -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let mut doc = doc.clone();
    match kind {
        PatchKind::Merge => {
            let p = decode(body)?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            json_patch::merge(&mut doc, &p);
        }
        PatchKind::Strategic => {
            let p = decode(body)?;
            let ty = crate::smp::root_type(
                doc.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
                doc.get("kind").and_then(Value::as_str).unwrap_or(""),
            )
            .unwrap_or("");
            doc = crate::smp::apply(&doc, &p, ty)?;
        }
        PatchKind::Json => {
            let p: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            // A scratch copy, dropped on error: no rollback needed (see Store::patch).
            json_patch::patch_unsafe(&mut doc, &p.0)
                .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        }
    }
    Ok(doc)
}

/// How one PATCH attempt failed.
pub enum Failed {
    /// The answer to give the client.
    Final(ApiError),
    /// The parent changed between read and write: read again and retry.
    Raced(ApiError),
}

impl Failed {
    /// Classifies a write error: a 409 Conflict is a lost race unless the client's own patch named
    /// the resourceVersion (then the conflict is the client's answer).
    pub fn of_write(e: ApiError, client_named_rv: bool) -> Self {
        if e.code == 409 && e.reason == "Conflict" && !client_named_rv {
            Self::Raced(e)
        } else {
            Self::Final(e)
        }
    }
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        Self::Final(e)
    }
}

/// Runs PATCH attempts while they lose races, at most [`MAX_PATCH_ATTEMPTS`] times.
pub fn retry_conflicts<T>(mut attempt: impl FnMut() -> Result<T, Failed>) -> Result<T, ApiError> {
    let mut last = None;
    for _ in 0..MAX_PATCH_ATTEMPTS {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(Failed::Raced(e)) => last = Some(e),
            Err(Failed::Final(e)) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::internal("patch retries exhausted")))
}
