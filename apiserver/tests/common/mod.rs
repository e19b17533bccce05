//! Helpers shared by the integration tests: raw HTTP requests with full Status bodies, CRD fixtures, polling.
#![allow(dead_code)]

pub mod https_hook;
pub mod kubectl;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Upper bound for anything a test waits for; generous because CI machines are shared.
pub const WAIT: Duration = Duration::from_secs(20);

/// A raw answer: status code, parsed JSON body (Null if not JSON) and headers.
pub struct Raw {
    pub code: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

/// Opens one HTTP/1.1 connection to the server, over TLS trusting the server's CA unless it serves
/// plain HTTP; returns the sender and the `host` header value.
pub async fn connect<B>(server: &apiserver::ApiServer) -> (SendRequest<B>, String)
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let addr = server.addr();
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the API server");
    let sender = match server.ca() {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
        Some(ca) => {
            let connector =
                tokio_rustls::TlsConnector::from(ca.client_config().expect("client TLS config"));
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = tokio::time::timeout(WAIT, connector.connect(name, stream))
                .await
                .expect("TLS handshake in time")
                .expect("TLS handshake");
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
    };
    (sender, addr.to_string())
}

/// Sends one HTTP/1.1 request to the server, with or without the bearer token.
pub async fn raw_with(
    server: &apiserver::ApiServer,
    token: Option<&str>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> Raw {
    let (mut sender, addr) = connect(server).await;
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(Full::new(body.into())).expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("answer in time")
        .expect("response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Raw {
        code,
        body,
        headers,
    }
}

/// An authenticated raw request.
pub async fn raw(
    server: &apiserver::ApiServer,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> Raw {
    raw_with(
        server,
        Some(server.token()),
        method,
        path,
        content_type,
        body,
    )
    .await
}

/// An authenticated JSON request.
pub async fn send(server: &apiserver::ApiServer, method: &str, path: &str, body: &Value) -> Raw {
    let bytes = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let ct = match method {
        "PATCH" => "application/merge-patch+json",
        _ => "application/json",
    };
    raw(server, method, path, Some(ct), bytes).await
}

/// An `apps/v1` Deployment `name` of `replicas` pods labelled `app: <name>`.
pub fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        },
    })
}

/// A namespaced CRD `widgets.example.com` with a status subresource, an immutable spec, defaults and bounds.
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"type": "integer", "minimum": 0, "maximum": 10},
                                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                                "note": {"type": "string", "maxLength": 5}
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "phase": {"type": "string"},
                                "observedGeneration": {"type": "integer"}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

/// A CRD `gizmos.example.com` whose version declares `subresources.scale`.
pub fn gizmo_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.count",
                    "statusReplicasPath": ".status.count",
                    "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"count": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {
                        "count": {"type": "integer"}, "selector": {"type": "string"}}}}}},
            }],
        },
    })
}

/// Polls `check` until it returns Some, or panics after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A raw watch response read line by line.
pub struct WatchLines {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
    pub code: u16,
}

impl WatchLines {
    /// The next event, None at the end of the stream; panics if nothing arrives within [`WAIT`].
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(serde_json::from_slice(&line).expect("each watch line is JSON"));
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("watch event in time");
            match frame {
                None => return None,
                Some(f) => {
                    if let Ok(data) = f.expect("frame").into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// Whether the stream ends, cleanly or by its connection closing, within `limit`.
    pub async fn ends_within(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            // Ok(Some) is a frame; the stream is over at None or a broken connection (Err).
            while let Some(Ok(_)) = self.body.frame().await {}
        })
        .await
        .is_ok()
    }

    /// The next event's (type, name).
    pub async fn next_named(&mut self) -> Option<(String, String)> {
        let ev = self.next().await?;
        Some((
            ev["type"].as_str().unwrap_or("").to_owned(),
            ev["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        ))
    }
}

/// Opens a watch (`path` includes `watch=1` and any parameters).
pub async fn watch(server: &apiserver::ApiServer, path: &str) -> WatchLines {
    let (mut sender, addr) = connect(server).await;
    let req = http::Request::builder()
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {}", server.token()))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("in time")
        .expect("response");
    let code = resp.status().as_u16();
    WatchLines {
        body: resp.into_body(),
        buf: Vec::new(),
        code,
    }
}

/// A raw answer with its body bytes exactly as sent (for encoding tests).
pub struct Bytesy {
    pub code: u16,
    pub headers: http::HeaderMap,
    pub bytes: Bytes,
}

impl Bytesy {
    /// The body parsed as JSON (panics, quoting the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// An authenticated request with extra headers (e.g. `accept`, `user-agent`); the body is JSON
/// (`content-type: application/json`) unless a `content-type` header is given.
pub async fn request(
    server: &apiserver::ApiServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Bytesy {
    let (mut sender, addr) = connect::<Full<Bytes>>(server).await;
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {}", server.token()));
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("answer in time")
        .expect("response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = tokio::time::timeout(WAIT, resp.into_body().collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    Bytesy {
        code,
        headers,
        bytes,
    }
}

/// Opens a watch with extra request headers (e.g. an `accept` asking for a conversion).
pub async fn watch_with(
    server: &apiserver::ApiServer,
    path: &str,
    headers: &[(&str, &str)],
) -> WatchLines {
    let (mut sender, addr) = connect::<Full<Bytes>>(server).await;
    let mut req = http::Request::builder()
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {}", server.token()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::new())).expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("in time")
        .expect("response");
    let code = resp.status().as_u16();
    WatchLines {
        body: resp.into_body(),
        buf: Vec::new(),
        code,
    }
}

/// `spec.request` of a CertificateSigningRequest: a real PKCS#10 request for `cn`, signed by a
/// fresh P-256 key, PEM-encoded then base64 (a `[]byte` field in JSON). The API server checks
/// the request's signature, as kube-apiserver does.
pub fn csr_request(cn: &str) -> String {
    use base64::Engine as _;
    let key = rcgen::KeyPair::generate().expect("generate a key");
    let params = rcgen::CertificateParams::new(vec![cn.to_owned()]).expect("certificate params");
    let pem = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .expect("serialize the request");
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// `status.certificate` of a CertificateSigningRequest: a self-signed certificate for `cn` as
/// PEM, base64-encoded.
pub fn csr_certificate(cn: &str) -> String {
    use base64::Engine as _;
    let key = rcgen::KeyPair::generate().expect("generate a key");
    let cert = rcgen::CertificateParams::new(vec![cn.to_owned()])
        .and_then(|p| p.self_signed(&key))
        .expect("self-sign");
    base64::engine::general_purpose::STANDARD.encode(cert.pem())
}

/// Asserts a 422 about `kind` `name` whose causes are `causes` (`(reason, field, message)`), and
/// whose message lists them as kube's `NewInvalid` does.
pub fn assert_invalid(r: &Raw, kind: &str, name: &str, causes: &[(&str, &str, &str)]) {
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["reason"], "Invalid", "{}", r.body);
    let got: Vec<(String, String, String)> = r.body["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |f: &str| c[f].as_str().unwrap_or_default().to_owned();
            (s("reason"), s("field"), s("message"))
        })
        .collect();
    let want: Vec<(String, String, String)> = causes
        .iter()
        .map(|(r, f, m)| ((*r).to_owned(), (*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(got, want, "{}", r.body);
    let mut lines: Vec<String> = Vec::new();
    for (_, f, m) in causes {
        let line = format!("{f}: {m}");
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let list = if lines.len() == 1 {
        lines[0].clone()
    } else {
        format!("[{}]", lines.join(", "))
    };
    assert_eq!(
        r.body["message"],
        format!("{kind} \"{name}\" is invalid: {list}"),
        "{}",
        r.body
    );
}

/// `details.causes[].reason` of kube's field errors.
pub const DUPLICATE: &str = "FieldValueDuplicate";
pub const FORBIDDEN: &str = "FieldValueForbidden";
pub const INVALID: &str = "FieldValueInvalid";
pub const REQUIRED: &str = "FieldValueRequired";
pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";
pub const TOO_LONG: &str = "FieldValueTooLong";
pub const TOO_MANY: &str = "FieldValueTooMany";

/// Creates `obj` at `path`, asserting the 201, and returns the stored object.
pub async fn create(s: &apiserver::ApiServer, path: &str, obj: &Value) -> Value {
    let r = send(s, "POST", path, obj).await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.body
}

/// PUTs `obj` at `path` with the resourceVersion of `stored` (a read of the object).
pub async fn replace(s: &apiserver::ApiServer, path: &str, stored: &Value, mut obj: Value) -> Raw {
    obj["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"].clone();
    send(s, "PUT", path, &obj).await
}

/// The `Warning` headers of an answer, as sent (`299 - "text"`).
pub fn warnings(r: &Raw) -> Vec<String> {
    r.headers
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// A server-side apply of `config` (JSON, which is YAML) by field manager `manager` to `path`;
/// `extra` is more query (`&force=true`).
pub async fn apply(
    server: &apiserver::ApiServer,
    path: &str,
    manager: &str,
    extra: &str,
    config: &Value,
) -> Raw {
    raw(
        server,
        "PATCH",
        &format!("{path}?fieldManager={manager}{extra}"),
        Some("application/apply-patch+yaml"),
        config.to_string(),
    )
    .await
}

/// A server without kube-controller-manager's per-namespace objects (`kube-root-ca.crt`, the
/// `default` ServiceAccount), for tests that count what they created.
pub async fn server_without_namespace_defaults() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .namespace_defaults(false)
        .start()
        .await
        .expect("start")
}
