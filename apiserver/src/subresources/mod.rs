//! Routes the subresources other than `/status`: `scale`, `pods/ephemeralcontainers`,
//! `pods/resize`,
//! `pods/eviction`, `pods/binding` (and the legacy `bindings` resource),
//! `certificatesigningrequests/approval`, `namespaces/finalize` and `serviceaccounts/token`. Each is a view of (or an
//! action on) its parent object, implemented on top of the store's operations with
//! resourceVersion preconditions (a binding on `Store::bind_pod`, kube's storage-level write). The
//! kubelet-backed pod subresources (`log`, `exec`, `attach`, `portforward`) are answered as kube
//! answers them when no kubelet can serve them (`kubelet.rs`).

mod approval;
mod binding;
mod ephemeral;
mod eviction;
mod finalize;
mod kubelet;
mod resize;
pub(crate) mod rmw;
pub(crate) mod scale;

use std::sync::Arc;

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::http::{self as h, Body, State};
use crate::meta;
use crate::status::ApiError;
use crate::store::{Target, WriteOpts};

pub use binding::serve_legacy as serve_legacy_binding;
pub use scale::{ScalePaths, builtin_scale, custom_scale};

/// A subresource served by this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    Scale,
    EphemeralContainers,
    Resize,
    Eviction,
    Binding,
    Approval,
    Finalize,
    Token,
    /// `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward`.
    Kubelet(kubelet::Stream),
}

/// How discovery lists one subresource.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// The verbs of the read-modify-write subresources (kube's `Getter`, `Updater`, `Patcher`).
const GET_UPDATE_PATCH: &[&str] = &["get", "patch", "update"];
/// The verb of an update-only subresource (kube's `Updater` without a `Getter`).
const UPDATE: &[&str] = &["update"];
/// The verb of the action subresources (kube's `NamedCreater`).
const CREATE: &[&str] = &["create"];
/// The verb of `pods/log` (kube's `LogREST` is a `Getter`).
const GET: &[&str] = &["get"];
/// The verbs of the streaming subresources (kube's `Connecter` on GET and POST).
const CONNECT: &[&str] = &["create", "get"];

impl Extra {
    /// The subresource `name` of `info`, if this module serves it.
    pub fn of(info: &ResourceInfo, name: &str) -> Option<Self> {
        let core = info.group.is_empty();
        match name {
            "scale" if info.scale.is_some() => Some(Self::Scale),
            "ephemeralcontainers" if core && info.plural == "pods" => {
                Some(Self::EphemeralContainers)
            }
            "resize" if core && info.plural == "pods" => Some(Self::Resize),
            "eviction" if core && info.plural == "pods" => Some(Self::Eviction),
            "binding" if core && info.plural == "pods" => Some(Self::Binding),
            "token" if core && info.plural == "serviceaccounts" => Some(Self::Token),
            "finalize" if core && info.plural == "namespaces" => Some(Self::Finalize),
            "log" if core && info.plural == "pods" => Some(Self::Kubelet(kubelet::Stream::Log)),
            "exec" if core && info.plural == "pods" => Some(Self::Kubelet(kubelet::Stream::Exec)),
            "attach" if core && info.plural == "pods" => {
                Some(Self::Kubelet(kubelet::Stream::Attach))
            }
            "portforward" if core && info.plural == "pods" => {
                Some(Self::Kubelet(kubelet::Stream::PortForward))
            }
            "approval"
                if info.group == "certificates.k8s.io"
                    && info.plural == "certificatesigningrequests" =>
            {
                Some(Self::Approval)
            }
            _ => None,
        }
    }

    /// The discovery entry of this subresource of `info`.
    pub fn listed(self) -> Listed {
        match self {
            Self::Scale => Listed {
                name: "scale",
                group: "autoscaling",
                version: "v1",
                kind: "Scale",
                verbs: GET_UPDATE_PATCH,
            },
            Self::EphemeralContainers => Listed {
                name: "ephemeralcontainers",
                group: "",
                version: "v1",
                kind: "Pod",
                verbs: GET_UPDATE_PATCH,
            },
            Self::Resize => Listed {
                name: "resize",
                group: "",
                version: "v1",
                kind: "Pod",
                verbs: GET_UPDATE_PATCH,
            },
            Self::Eviction => Listed {
                name: "eviction",
                group: "policy",
                version: "v1",
                kind: "Eviction",
                verbs: CREATE,
            },
            Self::Binding => Listed {
                name: "binding",
                group: "",
                version: "v1",
                kind: "Binding",
                verbs: CREATE,
            },
            Self::Approval => Listed {
                name: "approval",
                group: "certificates.k8s.io",
                version: "v1",
                kind: "CertificateSigningRequest",
                verbs: GET_UPDATE_PATCH,
            },
            Self::Finalize => Listed {
                name: "finalize",
                group: "",
                version: "v1",
                kind: "Namespace",
                verbs: UPDATE,
            },
            Self::Token => Listed {
                name: "token",
                group: "authentication.k8s.io",
                version: "v1",
                kind: "TokenRequest",
                verbs: CREATE,
            },
            Self::Kubelet(stream) => {
                let (name, kind, verbs) = match stream {
                    kubelet::Stream::Log => ("log", "Pod", GET),
                    kubelet::Stream::Exec => ("exec", "PodExecOptions", CONNECT),
                    kubelet::Stream::Attach => ("attach", "PodAttachOptions", CONNECT),
                    kubelet::Stream::PortForward => {
                        ("portforward", "PodPortForwardOptions", CONNECT)
                    }
                };
                Listed {
                    name,
                    group: "",
                    version: "v1",
                    kind,
                    verbs,
                }
            }
        }
    }

    /// The Kubernetes verb of `method` on this subresource (None: not allowed).
    pub fn verb(self, method: &Method) -> Option<&'static str> {
        if let Self::Kubelet(stream) = self {
            return match *method {
                Method::GET => Some("get"),
                Method::POST if stream != kubelet::Stream::Log => Some("create"),
                _ => None,
            };
        }
        if self == Self::Finalize {
            return (*method == Method::PUT).then_some("update");
        }
        let action = matches!(self, Self::Eviction | Self::Binding | Self::Token);
        match *method {
            Method::POST if action => Some("create"),
            Method::GET if !action => Some("get"),
            Method::PUT if !action => Some("update"),
            Method::PATCH if !action => Some("patch"),
            _ => None,
        }
    }
}

/// Every subresource of `info` this module serves, for discovery.
pub fn listed(info: &ResourceInfo) -> Vec<Listed> {
    [
        Extra::Scale,
        Extra::Binding,
        Extra::EphemeralContainers,
        Extra::Eviction,
        Extra::Approval,
        Extra::Finalize,
        Extra::Token,
        Extra::Kubelet(kubelet::Stream::Attach),
        Extra::Kubelet(kubelet::Stream::Exec),
        Extra::Kubelet(kubelet::Stream::Log),
        Extra::Kubelet(kubelet::Stream::PortForward),
        Extra::Resize,
    ]
    .into_iter()
    .filter_map(|e| {
        let l = e.listed();
        Extra::of(info, l.name).map(|_| l)
    })
    .collect()
}

/// Serves one request to a subresource of this module.
pub async fn serve(
    state: &State,
    info: &Arc<ResourceInfo>,
    t: &Target<'_>,
    extra: Extra,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    match extra {
        Extra::Scale => scale::serve(state, info, t, q, req).await,
        Extra::EphemeralContainers => {
            rmw::serve(&ephemeral::EphemeralContainers, state, t, q, req).await
        }
        Extra::Resize => rmw::serve(&resize::Resize, state, t, q, req).await,
        Extra::Eviction => eviction::serve(state, t, q, req).await,
        Extra::Binding => binding::serve(state, t, q, req).await,
        Extra::Approval => rmw::serve(&approval::Approval, state, t, q, req).await,
        // `verb` lets only PUT through: kube's FinalizeREST is an Updater alone.
        Extra::Finalize => rmw::serve(&finalize::Finalize, state, t, q, req).await,
        Extra::Token => crate::tokens::serve_token_request(state, t, q, req).await,
        Extra::Kubelet(stream) => kubelet::serve(state, t, stream, q, req).await,
    }
}

/// The answer to a successful action (an eviction, a binding): the `Status` kube's create
/// handler writes for a REST storage answering `StatusSuccess`, with the create code, and the
/// warnings of its admission.
fn created(warnings: &[String]) -> Result<hyper::Response<Body>, ApiError> {
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(h::with_warnings(
        h::json_response(201, status.to_string()),
        warnings,
    ))
}

/// What decides the kinds an action's create body may name: the served catalogue (which kinds
/// the scheme decodes in a version) and the REST storage's refusal of a decoded object of
/// another kind (`BindingREST.Create`: `not a Binding object: %#v`; `EvictionREST.Create`:
/// `not a Eviction object: %T`), given the kind.
pub(super) struct BodyKind<'a> {
    pub catalog: &'a crate::catalog::Catalog,
    pub not_a: fn(&str) -> String,
}

/// kube-apiserver's scheme, as its decoding errors name it.
const LEGACY_SCHEME: &str = "pkg/api/legacyscheme/scheme.go:30";

impl BodyKind<'_> {
    fn check(&self, obj: &Value, ty: &ResourceInfo, api_version: &str) -> Result<(), ApiError> {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() || kind == ty.kind {
            return Ok(());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        // The scheme has every served built-in kind and its list in each version it serves.
        let registered = |k: &str| {
            self.catalog
                .by_kind(group, version, k)
                .is_some_and(|info| !info.custom)
        };
        if registered(kind) || kind.strip_suffix("List").is_some_and(registered) {
            return Err(ApiError::bad_request((self.not_a)(kind)));
        }
        Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {}: no kind {kind:?} is registered for version {api_version:?} in scheme {LEGACY_SCHEME:?}",
            ty.kind
        )))
    }
}

/// Metadata kube's create handler clears on the object of a create
/// (`rest.WipeObjectMetaSystemFields`).
const SYSTEM_FIELDS: &[&str] = &[
    "creationTimestamp",
    "uid",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The object of an action's create as kube's create handler decodes it: in `ty`'s version
/// (`older` versions are accepted too and read as it), unknown fields handled by
/// `fieldValidation`, in the request's namespace, and without system metadata when `wipe`
/// (everything but the REST storages that keep it as preconditions, `SubresourceObjectMetaPreserver`).
/// Answers it and the decoding's warnings.
///
/// A body of another kind ([`BodyKind`]) is refused as kube refuses it: a kind its scheme has
/// in that version decodes as that kind and the REST storage's type check refuses it
/// (`not_a`, given the kind); any other kind fails to decode.
fn decode_created(
    mut obj: Value,
    ty: &ResourceInfo,
    older: &[&str],
    namespace: &str,
    opts: &WriteOpts,
    wipe: bool,
    kinds: BodyKind<'_>,
) -> Result<(Value, Vec<String>), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            ty.kind
        )));
    }
    let expected = ty.api_version();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    // Decoding comes first in kube's create handler: the kind, then the version check.
    kinds.check(
        &obj,
        ty,
        if api_version.is_empty() {
            &expected
        } else {
            api_version
        },
    )?;
    if !api_version.is_empty() && api_version != expected && !older.contains(&api_version) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    obj["apiVersion"] = expected.into();
    obj["kind"] = ty.kind.clone().into();
    let warnings = crate::validation::decode_body(
        ty,
        &mut obj,
        opts.field_validation,
        opts.body_strict.as_deref(),
    )?;
    let m = meta::meta_mut(&mut obj);
    match m.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            m.insert("namespace".into(), namespace.into());
        }
        Some(ns) if ns != namespace => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        Some(_) => {}
    }
    if wipe {
        for field in SYSTEM_FIELDS {
            m.remove(*field);
        }
    }
    Ok((obj, warnings))
}
