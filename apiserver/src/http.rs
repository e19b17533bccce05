//! Turns HTTP requests into store operations: authentication, path routing, query and body parsing,
//! content types, response encoding and the request log. Response negotiation (`Accept`,
//! PartialObjectMetadata, pretty printing) lives in `negotiate`, server-side printing in `table`.

pub(crate) mod negotiate;
pub(crate) mod table;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::admission::webhook;
use crate::auth::{Attributes, AuthzSnapshot, UserInfo};
use crate::catalog::ResourceInfo;
use crate::faults::{Faults, RequestFacts, WatchFaults, injected_error};
use crate::selector::{FieldSelector, LabelSelector, Selectors};
use crate::status::ApiError;
use crate::store::{
    BodyStrict, DeleteOpts, FieldValidation, Fields, ListQuery, PatchKind, RvMatch, Store, Sub,
    Target, WatchFrom, WriteOpts, Written,
};
use crate::watch::{self, Embed, WatchParams};
use crate::{RequestRecord, discovery, openapi};
use negotiate::{Body as Out, Convert, Output};

/// kube-apiserver's request body limit (3 MiB, `--max-request-bytes` default for JSON bodies).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The response body: a complete buffer or a watch stream.
pub type Body = BoxBody<Bytes, Infallible>;

/// Everything a request handler needs, shared by all connections of one server.
pub struct State {
    pub store: Store,
    pub token: String,
    pub requests: crate::reqlog::RequestLog,
    /// Fault injection rules (test hook).
    pub faults: Faults,
    pub cancel: CancellationToken,
    /// `host:port`, for `/api`'s serverAddressByClientCIDRs.
    pub address: String,
    /// Signs and verifies service-account tokens.
    pub tokens: crate::tokens::Tokens,
    /// The identities accepted besides the server's own token.
    pub authn: crate::auth::Authenticator,
    /// RBAC over the stored roles and bindings.
    pub authz: crate::auth::Authorizer,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// 204 No Content with an empty body (kube's answer for a stream with nothing to send).
pub(crate) fn no_content() -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

pub(crate) fn json_response(code: u16, body: impl Into<Bytes>) -> Response<Body> {
    respond(code, "application/json", body)
}

pub(crate) fn value_response(v: &Value) -> Response<Body> {
    json_response(200, negotiate::serialize(&Output::default(), v))
}

fn error_response(e: &ApiError) -> Response<Body> {
    // Go's json.Encoder ends every body with a newline; kube's Status answers too.
    let mut resp = json_response(
        e.code,
        negotiate::serialize(&Output::default(), &e.to_status()),
    );
    // kube-apiserver mirrors retryAfterSeconds in the Retry-After header, which clients honour.
    if let Some(secs) = e.details.as_ref().and_then(|d| d.retry_after_seconds) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

pub(crate) fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        // The `Warning` header format kube-apiserver uses: code 299, agent "-", quoted text.
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// What a request addressed, for routing and for the request log.
#[derive(Debug, Default, Clone)]
struct Parsed {
    /// The authenticated (or impersonated) user's name, for the request log.
    user: String,
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
}

/// Handles one request; never fails (errors become Status responses).
pub async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut parsed = Parsed::default();
    let ticket = state.requests.begin();
    let resp = match route(&state, req, &mut parsed, &ticket).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    let record = RequestRecord {
        method: method.to_string(),
        path,
        verb: parsed.verb,
        group: parsed.group,
        version: parsed.version,
        resource: parsed.resource,
        subresource: parsed.subresource,
        namespace: parsed.namespace,
        name: parsed.name,
        code: resp.status().as_u16(),
        user: parsed.user,
    };
    // The clusterrole-aggregation-controller reacts to every ClusterRole change.
    if record.group == crate::auth::RBAC_GROUP
        && record.resource == "clusterroles"
        && record.verb != "get"
        && record.verb != "list"
        && record.verb != "watch"
        && resp.status().is_success()
    {
        crate::auth::aggregate_cluster_roles(&state);
    }
    state.requests.finish(ticket, record);
    Ok(resp)
}

/// The verb of a non-resource request: the lowercased HTTP method (HEAD reads as get), as kube's
/// RequestInfo.
fn non_resource_verb(method: &Method) -> String {
    if *method == Method::HEAD {
        "get".to_owned()
    } else {
        method.as_str().to_ascii_lowercase()
    }
}

/// The authorization filter: `Ok` when `user` may do `a`, else kube's 403.
fn authorize(state: &State, user: &UserInfo, a: &Attributes) -> Result<(), ApiError> {
    let (allowed, reason) = state.authz.authorize(&state.store, user, a);
    if allowed {
        Ok(())
    } else {
        Err(a.forbidden(&user.name, &reason))
    }
}

fn query_pairs(req: &Request<Incoming>) -> Result<Vec<(String, String)>, ApiError> {
    match req.uri().query() {
        None => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}"))),
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn truthy(q: &[(String, String)], name: &str) -> bool {
    matches!(param(q, name), Some("1" | "true" | "True"))
}

async fn route(
    state: &Arc<State>,
    mut req: Request<Incoming>,
    parsed: &mut Parsed,
    ticket: &crate::reqlog::Ticket<'_>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_owned();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Health and version are readable without credentials, as kube-apiserver's default RBAC
    // (`system:public-info-viewer`, bound to every authenticated and unauthenticated user) allows
    // them to `system:anonymous`. Credentials that are presented are still checked first: kube's
    // anonymous authenticator stands behind a fail-on-error union, so a bad bearer token is a 401
    // on these paths too.
    if let ["healthz" | "readyz" | "livez", ..] | ["version"] = segs.as_slice() {
        parsed.verb = "get".into();
        if req.headers().contains_key(header::AUTHORIZATION) {
            let user = crate::auth::authenticate(state, req.headers())?;
            parsed.user.clone_from(&user.name);
        }
        return Ok(if segs[0] == "version" {
            value_response(&crate::version_info())
        } else {
            respond(200, "text/plain; charset=utf-8", "ok")
        });
    }
    // kube's filter chain: authentication, impersonation, then authorization.
    let requestor = crate::auth::authenticate(state, req.headers())?;
    let user = crate::auth::impersonate(state, requestor, req.headers())?;
    parsed.user.clone_from(&user.name);
    if matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        // kube's request context: a write's strategies and validating admission see who asked
        // (`write_opts` and `delete_opts` read it). Reads skip the copy: they are the hot path
        // and neither runs for them.
        let user = Arc::new(user.clone());
        // Validating admission's `authorizer` answers from this snapshot (the store is locked then).
        req.extensions_mut()
            .insert(state.authz.snapshot(&state.store, user.clone()));
        req.extensions_mut().insert(user);
    }
    if user.is_master() {
        // Nothing to decide (building the attributes is skipped too: every request of the
        // admin pays this path), but the RBAC mirror reads the change stream on every request.
        state.authz.catch_up(&state.store);
    }
    let non_resource = matches!(
        segs.as_slice(),
        ["debug", ..]
            | ["api"]
            | ["apis"]
            | ["api", _]
            | ["apis", _]
            | ["apis", _, _]
            | ["openapi", ..]
    );
    if non_resource && !user.is_master() {
        authorize(
            state,
            &user,
            &Attributes::non_resource(&non_resource_verb(req.method()), &path),
        )?;
    }
    if let ["debug", "requests"] = segs.as_slice() {
        return Ok(crate::debug::requests(state, ticket, req.uri().query()).await);
    }
    let method = req.method().clone();
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let get_only = |parsed: &mut Parsed| {
        parsed.verb = "get".into();
        if method == Method::GET {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    match segs.as_slice() {
        ["api"] => {
            get_only(parsed)?;
            if discovery::wants_aggregated(&accept) {
                return Ok(respond(
                    200,
                    discovery::AGGREGATED_V2,
                    discovery::aggregated(&state.store.catalog(), true).to_string(),
                ));
            }
            return Ok(value_response(&discovery::api_versions(&state.address)));
        }
        ["apis"] => {
            get_only(parsed)?;
            let catalog = state.store.catalog();
            if discovery::wants_aggregated(&accept) {
                return Ok(respond(
                    200,
                    discovery::AGGREGATED_V2,
                    discovery::aggregated(&catalog, false).to_string(),
                ));
            }
            return Ok(value_response(&discovery::api_group_list(&catalog)));
        }
        ["api", version] => {
            get_only(parsed)?;
            let catalog = state.store.catalog();
            let gv = catalog
                .group("")
                .and_then(|g| g.versions.iter().find(|v| v.version == *version));
            return gv
                .map(|gv| value_response(&discovery::resource_list("", gv)))
                .ok_or_else(ApiError::path_not_found);
        }
        ["apis", group] => {
            get_only(parsed)?;
            let catalog = state.store.catalog();
            return catalog
                .group(group)
                .map(|g| value_response(&discovery::api_group(g)))
                .ok_or_else(ApiError::path_not_found);
        }
        ["apis", group, version] => {
            get_only(parsed)?;
            let catalog = state.store.catalog();
            let gv = catalog
                .group(group)
                .and_then(|g| g.versions.iter().find(|v| v.version == *version));
            return gv
                .map(|gv| value_response(&discovery::resource_list(group, gv)))
                .ok_or_else(ApiError::path_not_found);
        }
        ["openapi", rest @ ..] => {
            get_only(parsed)?;
            let catalog = state.store.catalog();
            return openapi::serve(&catalog, rest, req.uri().query(), req.headers())
                .map(|r| r.map(full));
        }
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let catalog = state.store.catalog();
    let is_namespaced = |plural: &str| {
        catalog
            .get(group, version, plural)
            .is_some_and(|i| i.namespaced)
    };
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if is_namespaced(plural) => (
            *ns,
            *plural,
            tail.first().copied(),
            tail.get(1..).unwrap_or(&[]),
        ),
        [plural, tail @ ..] => (
            "",
            *plural,
            tail.first().copied(),
            tail.get(1..).unwrap_or(&[]),
        ),
        [] => return Err(ApiError::path_not_found()),
    };
    parsed.group = group.to_owned();
    parsed.version = version.to_owned();
    parsed.resource = plural.to_owned();
    parsed.namespace = namespace.to_owned();
    parsed.name = name.unwrap_or("").to_owned();
    let info = catalog
        .get(group, version, plural)
        .cloned()
        .ok_or_else(ApiError::path_not_found)?;
    let mut extra = None;
    let sub = match sub {
        [] => Sub::Main,
        ["status"] if info.status => {
            parsed.subresource = "status".into();
            Sub::Status
        }
        [other] if name.is_some() => match crate::subresources::Extra::of(&info, other) {
            Some(e) => {
                parsed.subresource = (*other).to_owned();
                extra = Some(e);
                Sub::Main
            }
            None => return Err(ApiError::path_not_found()),
        },
        _ => return Err(ApiError::path_not_found()),
    };
    let q = query_pairs(&req)?;
    let t = Target {
        group,
        version,
        plural,
        namespace,
        name: name.unwrap_or(""),
    };
    // Named operations on namespaced resources need the namespace in the path.
    if info.namespaced && namespace.is_empty() && (name.is_some() || method == Method::POST) {
        return Err(ApiError::path_not_found());
    }
    parsed.verb = match (&method, name) {
        _ if extra.is_some() => extra
            .and_then(|e| e.verb(&method))
            .ok_or_else(ApiError::method_not_allowed)?,
        (&Method::GET, _) if truthy(&q, "watch") => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, None) => "create",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed()),
    }
    .to_owned();
    // A namespace is its own namespace to RBAC (kube's RequestInfo).
    let attr_ns = if group.is_empty() && plural == "namespaces" {
        name.unwrap_or("")
    } else {
        namespace
    };
    if !user.is_master() {
        authorize(
            state,
            &user,
            &Attributes::resource(&parsed.verb, group, plural, attr_ns, name.unwrap_or(""))
                .with_subresource(&parsed.subresource),
        )?;
    }
    // The RBAC registry's escalation and bind checks on writes of roles and bindings.
    let writer = &user;
    let rbac_guard =
        (group == crate::auth::RBAC_GROUP && !user.is_master()).then_some(move |obj: &Value| {
            crate::auth::check_rbac_write(state, writer, plural, namespace, obj)
        });
    let rbac_guard = rbac_guard.as_ref();
    let facts = RequestFacts {
        verb: &parsed.verb,
        group,
        resource: plural,
        namespace,
        name: name.unwrap_or(""),
        subresource: &parsed.subresource,
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    };
    let watch_faults = if parsed.verb == "watch" {
        // A malformed resourceVersion is refused later, by the watch itself.
        let resumed = param(&q, "resourceVersion")
            .and_then(|rv| rv.parse::<u64>().ok())
            .filter(|&rv| rv != 0);
        (
            state.faults.watch(&facts, resumed),
            state.faults.cut_marker(&facts),
        )
    } else {
        Default::default()
    };
    if let Some(held) = state.faults.take_hold(&facts) {
        tokio::select! {
            _ = held.released() => {}
            _ = state.cancel.cancelled() => return Err(ApiError::shutting_down()),
        }
    }
    let planned = state.faults.take(&facts);
    if let Some(by) = planned.delay {
        tokio::select! {
            _ = tokio::time::sleep(by) => {}
            _ = state.cancel.cancelled() => return Err(ApiError::shutting_down()),
        }
    }
    if let Some(code) = planned.fail {
        // Read the body first, so the connection stays usable for the client's retry.
        let _ = read_body(req).await;
        return Err(injected_error(
            code,
            info.group_resource(),
            name.unwrap_or(""),
        ));
    }
    if let Some(e) = extra {
        return crate::subresources::serve(state, &info, &t, e, &q, req).await;
    }
    if !info.verbs.contains(&parsed.verb.as_str()) {
        return Err(ApiError::method_not_allowed());
    }
    match (group, plural) {
        ("authentication.k8s.io", "tokenreviews") => {
            return crate::tokens::serve_token_review(state, &q, req).await;
        }
        ("authentication.k8s.io" | "authorization.k8s.io", _) => {
            if let Some(answer) =
                crate::auth::serve_review(state, &user, group, plural, namespace, &q, req).await
            {
                return answer;
            }
            return Err(ApiError::method_not_allowed());
        }
        ("", "componentstatuses") => {
            return crate::componentstatus::serve(state, &info, name, &q);
        }
        ("", "bindings") => {
            return crate::subresources::serve_legacy_binding(state, &t, &q, req).await;
        }
        _ => {}
    }
    // A PUT that will create (`registry::update_policy`) needs the create verb too, as kube's
    // update handler authorizes `createAuthorizerAttributes` on that path.
    if method == Method::PUT
        && let Some(n) = name
        && !user.is_master()
        && sub == Sub::Main
        && crate::registry::update_policy(&info).create_on_update
        && state.store.get(&t).is_err()
    {
        authorize(
            state,
            &user,
            &Attributes::resource("create", group, plural, attr_ns, n),
        )?;
    }
    // Server-side apply through the view takes the generic route (`Store::apply` handles it).
    if crate::events::is_view(&info)
        && matches!(method, Method::POST | Method::PUT | Method::PATCH)
        && !(method == Method::PATCH && content_type(&req) == APPLY_YAML)
    {
        return crate::events::write(state, &info, &t, sub, &q, req).await;
    }
    let out = negotiate::negotiate(
        &accept,
        param(&q, "pretty"),
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        parsed.verb == "watch",
        protobuf_form(&info),
    )?;
    let include = match out.convert {
        Some((Convert::Table, _)) => table::include(param(&q, "includeObject"))?,
        _ => table::Include::default(),
    };
    let reply = Reply {
        out,
        info: &info,
        include,
    };
    match (&method, name) {
        (&Method::GET, None) if truthy(&q, "watch") => {
            parsed.verb = "watch".into();
            watch(state, &info, &t, &q, &out, include, watch_faults).await
        }
        (&Method::GET, None) => {
            parsed.verb = "list".into();
            // kube's watch cache serves a list that asks for at least a resourceVersion (any
            // resourceVersionMatch, or none with a resourceVersion other than "0") once it has
            // reached it; a continued list reads its token's snapshot instead.
            if param(&q, "continue").is_none_or(str::is_empty) {
                wait_until_fresh(state, parse_rv(&q)?.unwrap_or(0)).await?;
            }
            reply
                .answer(state, 200, Out::List(list(state, &info, &t, &q)?))
                .await
        }
        (&Method::GET, Some(n)) if truthy(&q, "watch") => {
            parsed.verb = "watch".into();
            let mut q = q.clone();
            q.push(("fieldSelector".into(), format!("metadata.name={n}")));
            watch(
                state,
                &info,
                &Target { name: "", ..t },
                &q,
                &out,
                include,
                watch_faults,
            )
            .await
        }
        (&Method::GET, Some(_)) => {
            parsed.verb = "get".into();
            // A GET with a resourceVersion is served by kube's watch cache, at least that fresh
            // (`Cacher.Get`, `WaitUntilFreshAndGet`).
            // (A resourceVersion that is no number is ignored, as it always was here.)
            wait_until_fresh(state, parse_rv(&q).ok().flatten().unwrap_or(0)).await?;
            reply
                .answer(state, 200, Out::Object(state.store.get(&t)?))
                .await
        }
        (&Method::POST, None) => {
            parsed.verb = "create".into();
            refuse_protobuf_body(&info, &req)?;
            let mut opts = write_opts(&q, &req, "CreateOptions", Vec::new())?;
            let (body, strict) = read_write_body(req, &info).await?;
            opts.body_strict = strict;
            if let Some(guard) = rbac_guard {
                guard(&body)?;
            }
            let w = admitted(state, &info, opts, body, |b, o| {
                state.store.create(&t, b, o)
            })
            .await?;
            Ok(with_warnings(
                reply.answer(state, w.code, Out::Object(w.body)).await?,
                &w.warnings,
            ))
        }
        (&Method::PUT, Some(_)) => {
            parsed.verb = "update".into();
            refuse_protobuf_body(&info, &req)?;
            let mut opts = write_opts(&q, &req, "UpdateOptions", Vec::new())?;
            let (body, strict) = read_write_body(req, &info).await?;
            opts.body_strict = strict;
            if let Some(guard) = rbac_guard {
                guard(&body)?;
            }
            let w = admitted(state, &info, opts, body, |b, o| {
                state.store.update(&t, sub, b, o)
            })
            .await?;
            Ok(with_warnings(
                reply.answer(state, w.code, Out::Object(w.body)).await?,
                &w.warnings,
            ))
        }
        (&Method::PATCH, Some(_)) => {
            parsed.verb = "patch".into();
            if content_type(&req) == APPLY_YAML {
                return apply(state, &t, sub, &q, req, &reply, rbac_guard).await;
            }
            let kind = patch_kind(&req)?;
            // kube's ValidatePatchOptions: `force` belongs to apply patches only.
            let mut causes = Vec::new();
            if param(&q, "force").is_some() {
                causes.push(crate::status::Cause::new(
                    "FieldValueForbidden",
                    "force",
                    "Forbidden: may not be specified for non-apply patch",
                ));
            }
            let opts = write_opts(&q, &req, "PatchOptions", causes)?;
            if kind == PatchKind::Strategic && info.custom {
                // kube-apiserver serves no strategic merge patch for custom resources (no Go
                // struct tags to take merge keys from); kubectl falls back to a merge patch.
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: {}",
                    openapi::PATCH_TYPES.join(", ")
                )));
            }
            let body = read_body(req).await?;
            if let Some(guard) = rbac_guard {
                // The patched object is known only after patching: a dry run first.
                let dry = WriteOpts {
                    dry_run: true,
                    ..opts.clone()
                };
                let w = state.store.patch(&t, sub, kind, &body, &dry)?;
                guard(&serde_json::from_slice(&w.body).unwrap_or(Value::Null))?;
            }
            let w = admitted(state, &info, opts, body, |b, o| {
                state.store.patch(&t, sub, kind, &b, o)
            })
            .await?;
            Ok(with_warnings(
                reply.answer(state, w.code, Out::Object(w.body)).await?,
                &w.warnings,
            ))
        }
        (&Method::DELETE, Some(n)) => {
            parsed.verb = "delete".into();
            let mut opts = delete_opts(&q, req).await?;
            let d = if state.store.has_webhooks() {
                let pass = Arc::new(webhook::Pass::default());
                opts.webhooks = Some(pass.clone());
                let (mut d, warnings) =
                    webhook::run(&pass, || state.store.delete(&t, &opts)).await?;
                d.written.warnings.extend(warnings);
                d
            } else {
                state.store.delete(&t, &opts)?
            };
            let code = d.written.code;
            let answer = match d.gone {
                // Removed: kube's generic store answers a Status unless the type's REST storage
                // returns the deleted object (`ReturnDeletedObject`).
                Some(uid) if !returns_deleted_object(&info) => {
                    reply.send(code, Out::Status(negotiate::delete_status(&info, n, &uid)))?
                }
                _ => {
                    reply
                        .answer(state, code, Out::Object(d.written.body))
                        .await?
                }
            };
            Ok(with_warnings(answer, &d.written.warnings))
        }
        (&Method::DELETE, None) => {
            parsed.verb = "deletecollection".into();
            let selectors = selectors(&q, &info)?;
            let opts = delete_opts(&q, req).await?;
            if !state.store.has_webhooks() {
                let deleted = state.store.delete_collection(&t, &selectors, &opts)?;
                return reply.answer(state, 200, Out::List(deleted)).await;
            }
            // Admission webhooks see each deletion: kube's `DeleteCollection` lists, then deletes
            // item by item (each through admission), skips those already gone, and stops at the
            // first error, keeping the deletions already made.
            let (rv, keys) = state.store.collection_keys(&t, &selectors)?;
            let mut items = Vec::with_capacity(keys.len());
            let mut warnings = Vec::new();
            for (ns, item) in &keys {
                let one = Target {
                    namespace: ns,
                    name: item,
                    ..t
                };
                let pass = Arc::new(webhook::Pass::default());
                let opts = DeleteOpts {
                    webhooks: Some(pass.clone()),
                    ..opts.clone()
                };
                let deleted = webhook::run(&pass, || {
                    let before = state.store.get(&one)?;
                    state
                        .store
                        .delete(&one, &opts)
                        .map(|d| (before, d.written.warnings))
                })
                .await;
                match deleted {
                    Ok(((before, own), hooks)) => {
                        items.push(before);
                        warnings.extend(own);
                        warnings.extend(hooks);
                    }
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let list = state.store.collection_list(&t, rv, &items)?;
            Ok(with_warnings(
                reply.answer(state, 200, Out::List(list)).await?,
                &warnings,
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Whether a resource's objects have a protobuf form: built-in types whose kind the generated
/// messages cover (custom resources are JSON only, as in kube).
fn protobuf_form(info: &ResourceInfo) -> bool {
    !info.custom && crate::protobuf::has_message(&info.api_version(), &info.kind)
}

/// Types whose REST storage sets `ReturnDeletedObject` in kube (`pkg/registry/*/storage`): a
/// delete that removes one answers with the object instead of a Status.
fn returns_deleted_object(info: &ResourceInfo) -> bool {
    !info.custom
        && matches!(
            (info.group.as_str(), info.plural.as_str()),
            (
                "",
                "pods"
                    | "podtemplates"
                    | "services"
                    | "serviceaccounts"
                    | "namespaces"
                    | "persistentvolumes"
                    | "persistentvolumeclaims"
                    | "resourcequotas"
            ) | ("storage.k8s.io", "storageclasses")
        )
}

/// The negotiated form of a resource request's answers.
struct Reply<'a> {
    out: Output,
    info: &'a ResourceInfo,
    include: table::Include,
}

impl Reply<'_> {
    /// Sends an object or list of the store: first into the request's version when the CRD's
    /// conversion webhook converts it (`crate::conversion`), then as `send`.
    async fn answer(
        &self,
        state: &State,
        code: u16,
        body: Out,
    ) -> Result<Response<Body>, ApiError> {
        let Some(call) = state.store.conversion_call(self.info) else {
            return self.send(code, body);
        };
        let body = match body {
            Out::Object(b) => Out::Object(crate::conversion::respond(&call, self.info, b).await?),
            Out::List(b) => Out::List(crate::conversion::respond(&call, self.info, b).await?),
            status @ Out::Status(_) => status,
        };
        self.send(code, body)
    }

    /// Converts and encodes a response body as negotiated.
    fn send(&self, code: u16, body: Out) -> Result<Response<Body>, ApiError> {
        let (info, include, api_version) = (self.info, self.include, self.out.meta_api_version());
        let (bytes, content_type) = negotiate::encode(&self.out, info, body, &|v| {
            Ok(table::convert(info, v, include, api_version, true))
        })?;
        Ok(respond(code, content_type, bytes))
    }
}

fn selectors(q: &[(String, String)], info: &ResourceInfo) -> Result<Selectors, ApiError> {
    Ok(Selectors {
        labels: LabelSelector::parse(param(q, "labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(
            param(q, "fieldSelector").unwrap_or(""),
            &info.selectable_fields,
            !info.custom,
        )?
        .renamed(|label| crate::events::storage_field(info, label)),
    })
}

fn parse_rv(q: &[(String, String)]) -> Result<Option<u64>, ApiError> {
    match param(q, "resourceVersion") {
        None | Some("") => Ok(None),
        Some(rv) => rv.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: must be a number issued by this server"
            ))
        }),
    }
}

fn list(
    state: &State,
    info: &ResourceInfo,
    t: &Target<'_>,
    q: &[(String, String)],
) -> Result<Bytes, ApiError> {
    let limit = match param(q, "limit") {
        None | Some("") => None,
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid limit {l:?}: must be a non-negative integer"
            ))
        })?),
    };
    let rv_match = match param(q, "resourceVersionMatch") {
        None | Some("") => None,
        Some("Exact") => Some(RvMatch::Exact),
        Some("NotOlderThan") => Some(RvMatch::NotOlderThan),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid resourceVersionMatch {other:?}: supported values are \"Exact\" and \"NotOlderThan\""
            )));
        }
    };
    let query = ListQuery {
        selectors: selectors(q, info)?,
        limit,
        continue_token: param(q, "continue")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        resource_version: parse_rv(q)?,
        rv_match,
    };
    state.store.list(t, &query)
}

/// How long a read waits for the store to reach the resourceVersion it asks for: kube's watch
/// cache `blockTimeout` (watch_cache.go), after which the read is a 504.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

/// Waits, without holding the store, until the store has reached `rv` (kube's watch cache
/// `waitUntilFreshAndBlock`): `Ok` at once when it has, after the commit that reaches it when
/// one comes within [`FRESHNESS_WAIT`], else kube's 504 `Too large resource version` with
/// retryAfterSeconds 1. A client that goes away drops this future with its request.
async fn wait_until_fresh(state: &State, rv: u64) -> Result<(), ApiError> {
    use tokio::sync::broadcast::error::RecvError;
    // The common read (no resourceVersion, or one reached) costs one look at the store.
    if rv == 0 || state.store.resource_version() >= rv {
        return Ok(());
    }
    // Subscribed before the resourceVersion is read again: a commit in between is not missed.
    let mut commits = state.store.subscribe();
    let deadline = tokio::time::Instant::now() + FRESHNESS_WAIT;
    loop {
        let current = state.store.resource_version();
        if current >= rv {
            return Ok(());
        }
        tokio::select! {
            _ = state.cancel.cancelled() => return Err(crate::store::too_large(rv, current)),
            received = tokio::time::timeout_at(deadline, commits.recv()) => match received {
                Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
                Ok(Err(RecvError::Closed)) | Err(_) => {
                    return Err(crate::store::too_large(rv, state.store.resource_version()));
                }
            },
        }
    }
}

async fn watch(
    state: &State,
    info: &ResourceInfo,
    t: &Target<'_>,
    q: &[(String, String)],
    out: &Output,
    include: table::Include,
    (faults, cut_marker): (WatchFaults, Option<crate::faults::CutMarker>),
) -> Result<Response<Body>, ApiError> {
    let send_initial_events = truthy(q, "sendInitialEvents");
    let bookmarks = truthy(q, "allowWatchBookmarks");
    if send_initial_events && param(q, "resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::invalid(
            "ListOptions.meta.k8s.io",
            "meta.k8s.io",
            "ListOptions",
            "",
            vec![crate::status::Cause::new(
                "FieldValueForbidden",
                "resourceVersionMatch",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )],
        ));
    }
    let rv = parse_rv(q)?;
    // A watch list (`sendInitialEvents`) waits for its resourceVersion as a list does, and
    // reports the 504 as its ERROR event (`Cacher.Watch`,
    // `waitUntilWatchCacheFreshAndForceAllEvents`, then `newErrWatcher`). An ordinary watch from
    // a resourceVersion the store has not reached starts at once and sends only the events after
    // it (`getAllEventsSinceLocked`, `cacheWatcher.process`).
    let stale = match rv {
        Some(rv) if send_initial_events => wait_until_fresh(state, rv).await.err(),
        _ => None,
    };
    let from = match rv {
        _ if send_initial_events => WatchFrom::Current,
        None | Some(0) => WatchFrom::Current,
        Some(rv) => WatchFrom::After(rv),
    };
    let timeout = match param(q, "timeoutSeconds") {
        None | Some("") => None,
        Some(s) => Some(Duration::from_secs(s.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid timeoutSeconds {s:?}: must be a non-negative integer"
            ))
        })?)),
    };
    let params = WatchParams {
        namespace: if info.namespaced {
            t.namespace.to_owned()
        } else {
            String::new()
        },
        selectors: selectors(q, info)?,
        bookmarks,
        send_initial_events,
        timeout: faults.timeout(timeout),
        // Only a cut that comes before the client's own timeout is the server's doing.
        cut_marker: match (faults.cut_after, timeout) {
            (Some(cut), client) if client.is_none_or(|c| cut < c) => cut_marker,
            _ => None,
        },
        // kube converts each event's object; a list conversion cannot apply to one object, so
        // kube's embedded encoder falls back to the object itself.
        embed: match out.convert {
            Some((Convert::PartialObjectMetadata, _)) => Embed::Partial(out.meta_api_version()),
            Some((Convert::Table, _)) => Embed::Table {
                include,
                api_version: out.meta_api_version(),
                headers_sent: false,
            },
            Some((Convert::PartialObjectMetadataList, _)) | None => Embed::Object,
        },
        protobuf: out.format == negotiate::Format::Protobuf,
        conversion: state.store.conversion_call(info),
    };
    let resumed = matches!(from, WatchFrom::After(_));
    let mut start = state.store.watch(t, from)?;
    if stale.is_some() {
        start.expired = stale;
    }
    if faults.expire && resumed && start.expired.is_none() {
        start.expired = Some(crate::faults::injected_expiry(rv.unwrap_or(0), start.rv));
        state.faults.count_expiry();
    }
    let rx = watch::spawn(start, params, state.cancel.clone());
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if out.format == negotiate::Format::Protobuf {
            crate::protobuf::WATCH_MEDIA_TYPE
        } else {
            "application/json"
        }),
    );
    Ok(resp)
}

/// The content type of server-side apply patches.
pub(crate) const APPLY_YAML: &str = "application/apply-patch+yaml";

/// PATCH with [`APPLY_YAML`]: server-side apply.
async fn apply(
    state: &State,
    t: &Target<'_>,
    sub: Sub,
    q: &[(String, String)],
    req: Request<Incoming>,
    reply: &Reply<'_>,
    guard: Option<&impl Fn(&Value) -> Result<(), ApiError>>,
) -> Result<Response<Body>, ApiError> {
    let mut causes = Vec::new();
    let manager = param(q, "fieldManager").unwrap_or("").to_owned();
    if manager.is_empty() {
        // kube-apiserver: kubectl defaults it, but controllers must set it explicitly.
        causes.push(crate::status::Cause::new(
            "FieldValueRequired",
            "fieldManager",
            "Required value: is required for apply patch",
        ));
    }
    let opts = write_opts(q, &req, "PatchOptions", causes)?;
    let force = match param(q, "force") {
        None | Some("" | "false" | "False" | "0") => false,
        Some("true" | "True" | "1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid force {other:?}: must be true or false"
            )));
        }
    };
    let body = read_body(req).await?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "error decoding patch: the YAML body is not UTF-8: {e}"
        ))
    })?;
    let (config, duplicates) = decode_apply_yaml(text)?;
    let mut strict_warnings = Vec::new();
    if let Some(e) = duplicates {
        // kube decodes leniently first, then strictly for Strict (400) and Warn (a warning).
        match opts.field_validation {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "error strict decoding patch: {e}"
                )));
            }
            FieldValidation::Warn => strict_warnings.push(e),
            FieldValidation::Ignore => {}
        }
    }
    if let Some(guard) = guard {
        let dry = WriteOpts {
            dry_run: true,
            ..opts.clone()
        };
        let w = state
            .store
            .apply(t, sub, config.clone(), &manager, force, &dry)?;
        guard(&serde_json::from_slice(&w.body).unwrap_or(Value::Null))?;
    }
    let mut w = admitted(state, reply.info, opts, config, |c, o| {
        state.store.apply(t, sub, c, &manager, force, o)
    })
    .await?;
    strict_warnings.append(&mut w.warnings);
    Ok(with_warnings(
        reply.answer(state, w.code, Out::Object(w.body)).await?,
        &strict_warnings,
    ))
}

/// Decodes an apply body (YAML, so JSON too): duplicate keys keep the last value, as Go's YAML
/// decoder does, and are reported separately for `fieldValidation`.
fn decode_apply_yaml(text: &str) -> Result<(Value, Option<String>), ApiError> {
    if text.trim().is_empty() {
        // An empty document decodes to an empty object, which then names no type.
        return Ok((json!({}), None));
    }
    decode_yaml_last_wins(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// The write options of a request; `kind` (`CreateOptions`, `UpdateOptions`, `PatchOptions`)
/// names them in a 422 for an invalid `fieldManager` or the `causes` the caller found.
pub(crate) fn write_opts(
    q: &[(String, String)],
    req: &Request<Incoming>,
    kind: &str,
    mut causes: Vec<crate::status::Cause>,
) -> Result<WriteOpts, ApiError> {
    let manager = param(q, "fieldManager").unwrap_or("");
    causes.extend(crate::managed::validate_manager(manager));
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            &format!("{kind}.meta.k8s.io"),
            "meta.k8s.io",
            kind,
            "",
            causes,
        ));
    }
    // kube's managerOrUserAgent: without fieldManager, the client's User-Agent names the writer.
    let manager = if manager.is_empty() {
        crate::managed::manager_from_user_agent(
            req.headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
    } else {
        manager.to_owned()
    };
    let dry_run = dry_run(q)?;
    let field_validation = match param(q, "fieldValidation") {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid fieldValidation directive {other:?}: must be one of Ignore, Warn or Strict"
            )));
        }
    };
    Ok(WriteOpts {
        dry_run,
        field_validation,
        fields: Fields::Update(manager),
        user: req.extensions().get::<Arc<UserInfo>>().cloned(),
        authorizer: req.extensions().get::<AuthzSnapshot>().cloned(),
        request_version: None,
        webhooks: None,
        body_strict: None,
    })
}

/// Runs a client's write (`op` on `body`), in webhook passes when admission webhook
/// configurations are stored or the CRD has a conversion webhook; the webhooks' warnings follow
/// the write's own.
pub(crate) async fn admitted<B: Clone>(
    state: &State,
    info: &ResourceInfo,
    opts: WriteOpts,
    body: B,
    op: impl Fn(B, &WriteOpts) -> Result<Written, ApiError>,
) -> Result<Written, ApiError> {
    if info.conversion.is_none() && !state.store.has_webhooks() {
        return op(body, &opts);
    }
    let pass = Arc::new(webhook::Pass::default());
    let opts = WriteOpts {
        webhooks: Some(pass.clone()),
        ..opts
    };
    let (mut w, warnings) = webhook::run(&pass, || op(body.clone(), &opts)).await?;
    w.warnings.extend(warnings);
    Ok(w)
}

pub(crate) fn dry_run(q: &[(String, String)]) -> Result<bool, ApiError> {
    let mut dry = false;
    for (k, v) in q.iter().filter(|(k, _)| k == "dryRun") {
        match v.as_str() {
            "All" => dry = true,
            "" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid {k} value {other:?}: the only supported value is \"All\""
                )));
            }
        }
    }
    Ok(dry)
}

pub(crate) fn content_type(req: &Request<Incoming>) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn patch_kind(req: &Request<Incoming>) -> Result<PatchKind, ApiError> {
    match content_type(req).as_str() {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        _ => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            openapi::PATCH_TYPES.join(", ")
        ))),
    }
}

pub(crate) async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(MAX_BODY_BYTES))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "failed to read the request body: {e}"
        ))),
    }
}

/// 415 for a custom resource's body in anything but JSON or YAML, protobuf included (kube decodes
/// custom resources from JSON and YAML only, and names only those).
fn refuse_protobuf_body(info: &ResourceInfo, req: &Request<Incoming>) -> Result<(), ApiError> {
    let ct = content_type(req);
    if info.custom && !matches!(ct.as_str(), "" | "application/json" | "application/yaml") {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({ct}) - accepted media types include: application/json, application/yaml"
        )));
    }
    Ok(())
}

/// Decodes the body of a create or update of `info` by its Content-Type, as [`read_object`],
/// with what kube's strict decoder finds in it beyond the decoded value: repeated keys. A JSON
/// body that repeats one is read again keeping every occurrence (`strict`), to name the paths
/// and, for a built-in type, to merge the occurrences as Go decodes them into the struct
/// (`validation::duplicates`); a custom resource keeps the last (Go's
/// `map[string]interface{}`). A YAML body keeps the last value and reports the YAML decoder's
/// error (kube's `YAMLToJSONStrict` in the strict serializer).
pub(crate) async fn read_write_body(
    req: Request<Incoming>,
    info: &ResourceInfo,
) -> Result<(Value, Option<Arc<BodyStrict>>), ApiError> {
    let ct = content_type(&req);
    if !matches!(ct.as_str(), "" | "application/json" | "application/yaml") {
        return read_object(req).await.map(|v| (v, None));
    }
    let body = read_body(req).await?;
    if ct == "application/yaml" {
        let text = std::str::from_utf8(&body)
            .map_err(|e| ApiError::bad_request(format!("the YAML body is not UTF-8: {e}")))?;
        let (value, duplicates) = decode_yaml_last_wins(text).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as YAML: {e}"
            ))
        })?;
        let strict = duplicates.map(|e| {
            Arc::new(BodyStrict {
                errors: vec![e],
                complete: false,
            })
        });
        return Ok((value, strict));
    }
    let (value, repeated) = crate::strict::parse(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })?;
    if !repeated {
        return Ok((value, None));
    }
    // `parse` accepted the document, so keeping the occurrences cannot fail on it.
    let Ok(raw) = crate::strict::parse_raw(&body) else {
        return Ok((value, None));
    };
    let merged = if info.custom {
        None
    } else {
        crate::validation::duplicates::merge(&info.api_version(), &info.kind, &raw)
    };
    Ok(match merged {
        Some((merged, errors)) => (
            merged,
            Some(Arc::new(BodyStrict {
                errors,
                complete: true,
            })),
        ),
        None => (
            value,
            Some(Arc::new(BodyStrict {
                errors: crate::strict::unstructured_duplicates(&raw),
                complete: false,
            })),
        ),
    })
}

/// Decodes a YAML document keeping the last of repeated keys, as kube's non-strict
/// `YAMLToJSON` does, with the strict decoder's error when a key repeats.
fn decode_yaml_last_wins(text: &str) -> Result<(Value, Option<String>), serde_saphyr::Error> {
    let mut lenient = serde_saphyr::Options::default();
    lenient.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    let value: Value = serde_saphyr::from_str_with_options(text, lenient)?;
    let duplicates = serde_saphyr::from_str::<Value>(text)
        .err()
        .map(|e| e.to_string());
    Ok((value, duplicates))
}

/// Decodes a request body by its Content-Type: JSON, YAML or (built-in types) protobuf.
pub(crate) async fn read_object(req: Request<Incoming>) -> Result<Value, ApiError> {
    let ct = content_type(&req);
    let body = read_body(req).await?;
    match ct.as_str() {
        crate::protobuf::MEDIA_TYPE => crate::protobuf::decode_object(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as protobuf: {e}"
            ))
        }),
        "" | "application/json" => serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as JSON: {e}"
            ))
        }),
        "application/yaml" => {
            let text = std::str::from_utf8(&body)
                .map_err(|e| ApiError::bad_request(format!("the YAML body is not UTF-8: {e}")))?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!(
                    "the body of the request could not be decoded as YAML: {e}"
                ))
            })
        }
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({other}) - accepted media types include: application/json, application/yaml, {}",
            crate::protobuf::MEDIA_TYPE
        ))),
    }
}

async fn delete_opts(
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<DeleteOpts, ApiError> {
    let protobuf = content_type(&req) == crate::protobuf::MEDIA_TYPE;
    // The requester: validating admission evaluates policies for a client's delete.
    let user = req.extensions().get::<Arc<UserInfo>>().cloned();
    let authorizer = req.extensions().get::<AuthzSnapshot>().cloned();
    let body = read_body(req).await?;
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if protobuf {
        // client-go sends DeleteOptions in the client's content type.
        crate::protobuf::decode_object(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the DeleteOptions body could not be decoded as protobuf: {e}"
            ))
        })?
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the DeleteOptions body could not be decoded as JSON: {e}"
            ))
        })?
    };
    let mut opts = delete_opts_from(q, &v)?;
    opts.user = user;
    opts.authorizer = authorizer;
    Ok(opts)
}

/// DeleteOptions from the query and a decoded body (also an Eviction's `deleteOptions`).
pub(crate) fn delete_opts_from(q: &[(String, String)], v: &Value) -> Result<DeleteOpts, ApiError> {
    let mut opts = DeleteOpts {
        dry_run: dry_run(q)?,
        ..DeleteOpts::default()
    };
    // The body's fields win over query parameters of the same name, as in kube-apiserver.
    let policy = match v.get("propagationPolicy") {
        Some(Value::Null) | None => param(q, "propagationPolicy").map(Value::from),
        Some(p) => Some(p.clone()),
    };
    let orphan = match v.get("orphanDependents") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Null) | None => match param(q, "orphanDependents") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid orphanDependents {other:?}: must be true or false"
                )));
            }
        },
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the DeleteOptions body could not be decoded: orphanDependents must be a boolean, not {other}"
            )));
        }
    };
    opts.propagation = propagation(policy.as_ref(), orphan)?;
    // gracePeriodSeconds: the body's number wins over the query's, as for the other options.
    opts.grace_period = match v.get("gracePeriodSeconds") {
        Some(Value::Null) | None => match param(q, "gracePeriodSeconds") {
            None => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid gracePeriodSeconds {text:?}: must be a whole number of seconds"
                ))
            })?),
        },
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the DeleteOptions body could not be decoded: gracePeriodSeconds must be an integer, not {other}"
            )));
        }
    };
    opts.accepted_when_pending = orphan == Some(false);
    if let Some(p) = v.get("preconditions") {
        opts.uid = p.get("uid").and_then(Value::as_str).map(str::to_owned);
        opts.resource_version = p
            .get("resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if let Some(d) = v.get("dryRun").and_then(Value::as_array) {
        for item in d {
            match item.as_str() {
                Some("All") => opts.dry_run = true,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "invalid dryRun value {}: the only supported value is \"All\"",
                        json!(other)
                    )));
                }
            }
        }
    }
    Ok(opts)
}

/// `DeleteOptions.propagationPolicy` (or the deprecated `orphanDependents`), validated as
/// kube-apiserver's `ValidateDeleteOptions` does.
fn propagation(
    policy: Option<&Value>,
    orphan: Option<bool>,
) -> Result<Option<crate::store::Propagation>, ApiError> {
    use crate::status::Cause;
    use crate::store::Propagation;
    let invalid = |cause: Cause| {
        ApiError::invalid(
            "DeleteOptions.meta.k8s.io",
            "meta.k8s.io",
            "DeleteOptions",
            "",
            vec![cause],
        )
    };
    let policy = match policy {
        None => None,
        Some(Value::String(p)) => Some(match p.as_str() {
            "Background" => Propagation::Background,
            "Foreground" => Propagation::Foreground,
            "Orphan" => Propagation::Orphan,
            other => {
                return Err(invalid(Cause::new(
                    "FieldValueNotSupported",
                    "propagationPolicy",
                    format!(
                        "Unsupported value: {}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
                        json!(other)
                    ),
                )));
            }
        }),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the DeleteOptions body could not be decoded: propagationPolicy must be a string, not {other}"
            )));
        }
    };
    match (policy, orphan) {
        (Some(p), Some(_)) => Err(invalid(Cause::new(
            "FieldValueInvalid",
            "propagationPolicy",
            format!(
                "Invalid value: {}: orphanDependents and deletionPropagation cannot be both set",
                json!(format!("{p:?}"))
            ),
        ))),
        (Some(p), None) => Ok(Some(p)),
        (None, Some(true)) => Ok(Some(Propagation::Orphan)),
        // orphanDependents=false means "not orphaned": the background default, GC finalizers dropped.
        (None, Some(false)) => Ok(Some(Propagation::Background)),
        (None, None) => Ok(None),
    }
}
