//! Serves the request log over HTTP (`GET /debug/requests`), so a test in another process — one
//! sharing a standalone server, as the single-controller baseline does — can read what an
//! in-process test reads with `ApiServer::requests()`.
//!
//! Authenticated like every other API path (the route sits after the token check). The optional
//! `namespace` query parameter keeps only that namespace's requests: a shared server's log holds
//! every test's requests, and a test only ever asks about its own namespace.

use bytes::Bytes;
use http::{Response, header};
use http_body_util::{BodyExt, Full};
use serde::Serialize;

use crate::RequestRecord;
use crate::http::{Body, State};

/// The JSON shape of one [`RequestRecord`] (same field names), kept here so the public record
/// type needs no serde derive.
#[derive(Serialize)]
struct Wire<'a> {
    method: &'a str,
    path: &'a str,
    verb: &'a str,
    group: &'a str,
    version: &'a str,
    resource: &'a str,
    subresource: &'a str,
    namespace: &'a str,
    name: &'a str,
    code: u16,
}

impl<'a> From<&'a RequestRecord> for Wire<'a> {
    fn from(r: &'a RequestRecord) -> Self {
        Wire {
            method: &r.method,
            path: &r.path,
            verb: &r.verb,
            group: &r.group,
            version: &r.version,
            resource: &r.resource,
            subresource: &r.subresource,
            namespace: &r.namespace,
            name: &r.name,
            code: r.code,
        }
    }
}

/// `GET /debug/requests[?namespace=NS]`: the request log, oldest first, as a JSON array.
pub(crate) fn requests(state: &State, query: Option<&str>) -> Response<Body> {
    let pairs: Vec<(String, String)> = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let namespace = pairs
        .iter()
        .find(|(k, _)| k == "namespace")
        .map(|(_, v)| v.as_str());
    // Copy under the lock, encode after it: serving a large log must not stall the server.
    let records: Vec<RequestRecord> = state
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|r| namespace.is_none_or(|ns| r.namespace == ns))
        .cloned()
        .collect();
    let wire: Vec<Wire<'_>> = records.iter().map(Wire::from).collect();
    let body = serde_json::to_vec(&wire).unwrap_or_else(|_| b"[]".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
