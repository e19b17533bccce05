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
use crate::reqlog::Ticket;

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
    user: &'a str,
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
            user: &r.user,
        }
    }
}

/// `GET /debug/requests[?namespace=NS]`: the request log, oldest first, as a JSON array, once
/// every request that arrived before this one has been logged (see [`crate::reqlog`]).
pub(crate) async fn requests(
    state: &State,
    own: &Ticket<'_>,
    query: Option<&str>,
) -> Response<Body> {
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
        .settled(Some(own), |r| namespace.is_none_or(|ns| r.namespace == ns))
        .await;
    let wire: Vec<Wire<'_>> = records.iter().map(Wire::from).collect();
    let body = serde_json::to_vec(&wire).unwrap_or_else(|_| b"[]".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, PostParams};

    use crate::ApiServer;

    async fn get(client: &kube::Client, uri: &str) -> Vec<serde_json::Value> {
        let req = http::Request::get(uri).body(Vec::new()).unwrap();
        serde_json::from_str(&client.request_text(req).await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn serves_the_request_log_filtered_by_namespace() {
        let server = ApiServer::builder().start().await.unwrap();
        let client = server.client().unwrap();
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "c"}})).unwrap();
        Api::<ConfigMap>::namespaced(client.clone(), "default")
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
        let all = get(&client, "/debug/requests").await;
        assert!(!all.is_empty(), "{all:?}");
        let mine = get(&client, "/debug/requests?namespace=default").await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        let r = &mine[0];
        // A create's URL names no object, so neither does its record.
        assert_eq!(
            (
                r["verb"].as_str(),
                r["resource"].as_str(),
                r["name"].as_str()
            ),
            (Some("create"), Some("configmaps"), Some(""))
        );
        assert_eq!(
            (r["method"].as_str(), r["code"].as_u64()),
            (Some("POST"), Some(201))
        );
        assert!(
            get(&client, "/debug/requests?namespace=other")
                .await
                .is_empty()
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_request_log_needs_the_token() {
        // Plain HTTP: this checks authentication, which is the same over TLS.
        let server = ApiServer::builder().plain_http().start().await.unwrap();
        let addr = server.url().trim_start_matches("http://").to_owned();
        let head = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            write!(
                s,
                "GET /debug/requests HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        // No token: `system:anonymous`, whom RBAC gives no debug path.
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        assert!(
            head.contains(r#"User \"system:anonymous\" cannot get path \"/debug/requests\""#),
            "{head}"
        );
        server.shutdown().await;
    }
}
