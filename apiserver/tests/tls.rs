//! HTTPS by default: the server's certificate chains to its CA (the process's or a given one), the
//! kubeconfig carries the CA and keeps the token out of the URL, clients that do not trust the CA
//! are refused, plain HTTP only when asked for, and bearer tokens are the only credentials.

mod common;

use std::process::Stdio;
use std::sync::Arc;

use base64::Engine;
use common::{WAIT, raw, raw_with};
use k8s_openapi::api::core::v1::Namespace;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

async fn namespaces(client: kube::Client) -> usize {
    kube::Api::<Namespace>::all(client)
        .list(&Default::default())
        .await
        .expect("list namespaces")
        .items
        .len()
}

#[tokio::test]
async fn the_default_server_serves_https_signed_by_the_process_ca() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    assert!(s.url().starts_with("https://127.0.0.1:"), "{}", s.url());
    let ca = s.ca().expect("a CA");
    assert!(Arc::ptr_eq(
        ca,
        &apiserver::Ca::process().expect("process CA")
    ));
    // kube-rs trusts the CA through kube_config().
    assert_eq!(namespaces(s.client().expect("client")).await, 4);
    // A hand-made client over TLS.
    assert_eq!(
        raw(&s, "GET", "/api/v1/namespaces/default", None, "")
            .await
            .code,
        200
    );
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let other = apiserver::Ca::generate().expect("another CA");
    let mut config = s.kube_config();
    config.root_cert = Some(vec![other.cert_der().to_vec()]);
    let client = kube::Client::try_from(config).expect("client");
    let err = kube::Api::<Namespace>::all(client)
        .list(&Default::default())
        .await
        .expect_err("an unknown issuer must fail the handshake");
    let text = format!("{err:?}");
    // Both CAs carry the same name, so rustls finds the issuer by name and the signature fails.
    assert!(text.contains("InvalidCertificate"), "{text}");
}

#[tokio::test]
async fn plain_http_on_the_https_port_gets_no_answer() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let mut stream = tokio::net::TcpStream::connect(s.addr())
        .await
        .expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = Vec::new();
    // The TLS acceptor rejects the bytes and closes (possibly with a TLS alert, never HTTP).
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("closed in time");
    assert!(
        !out.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn a_given_ca_signs_every_server_and_one_trust_covers_them() {
    let ca = Arc::new(apiserver::Ca::generate().expect("CA"));
    let a = apiserver::ApiServer::builder()
        .ca(ca.clone())
        .start()
        .await
        .expect("start");
    let b = apiserver::ApiServer::builder()
        .ca(ca.clone())
        .start()
        .await
        .expect("start");
    for s in [&a, &b] {
        let mut config = kube::Config::new(s.url().parse().expect("uri"));
        config.auth_info.token = Some(s.token().to_owned().into());
        config.root_cert = Some(vec![ca.cert_der().to_vec()]);
        assert_eq!(
            namespaces(kube::Client::try_from(config).expect("client")).await,
            4
        );
    }
}

#[tokio::test]
async fn the_kubeconfig_carries_the_ca_and_the_token_only_in_the_user_entry() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kc");
    s.write_kubeconfig(&path).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    let kc = kube::config::Kubeconfig::read_from(&path).expect("parse");
    let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
    assert_eq!(cluster.server.as_deref(), Some(s.url()));
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            cluster
                .certificate_authority_data
                .as_deref()
                .expect("CA data"),
        )
        .expect("base64");
    assert_eq!(ca, s.ca().expect("CA").cert_pem().as_bytes());
    assert_eq!(
        text.matches(s.token()).count(),
        1,
        "the token appears once, in users[].user.token: {text}"
    );
    assert!(
        !text.contains('@'),
        "no user info in the server URL: {text}"
    );
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    assert_eq!(
        namespaces(kube::Client::try_from(config).expect("client")).await,
        4
    );
}

#[tokio::test]
async fn plain_http_only_when_asked_for() {
    let s = apiserver::ApiServer::builder()
        .plain_http()
        .start()
        .await
        .expect("start");
    assert!(s.url().starts_with("http://127.0.0.1:"), "{}", s.url());
    assert!(s.ca().is_none());
    assert!(s.kube_config().root_cert.is_none());
    assert_eq!(namespaces(s.client().expect("client")).await, 4);
    let text = written_kubeconfig(&s);
    assert!(!text.contains("certificate-authority"), "{text}");
}

/// The kubeconfig `s` writes, as text.
fn written_kubeconfig(s: &apiserver::ApiServer) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    s.write_kubeconfig(dir.path().join("kc")).expect("write");
    std::fs::read_to_string(dir.path().join("kc")).expect("read")
}

/// Sends a plain HTTP/1.1 GET of `path` to `addr` with `token` and returns the whole answer.
async fn plain_get(addr: std::net::SocketAddr, path: &str, token: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("answered in time")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn own_clients_may_speak_plain_http_on_the_https_port() {
    let s = apiserver::ApiServer::builder()
        .plain_http_for_own_clients()
        .start()
        .await
        .expect("start");
    // Everyone else sees HTTPS: the URL, the kubeconfig kubectl gets, a TLS client.
    assert!(s.url().starts_with("https://127.0.0.1:"), "{}", s.url());
    let text = written_kubeconfig(&s);
    assert!(text.contains(&format!("server: {}", s.url())), "{text}");
    assert!(text.contains("certificate-authority-data"), "{text}");
    assert_eq!(
        raw(&s, "GET", "/api/v1/namespaces/default", None, "")
            .await
            .code,
        200
    );
    // The process's own clients use plain HTTP to the same port.
    let config = s.kube_config();
    assert_eq!(
        config.cluster_url.to_string(),
        format!("http://{}/", s.addr())
    );
    assert_eq!(namespaces(s.client().expect("client")).await, 4);
    let answer = plain_get(s.addr(), "/api/v1/namespaces/default", s.token()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Plain HTTP is no way around authentication.
    let answer = plain_get(s.addr(), "/api/v1/namespaces/default", "wrong").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // A restart serves both again.
    s.restart().await.expect("restart");
    assert_eq!(namespaces(s.client().expect("client")).await, 4);
    assert_eq!(
        raw(&s, "GET", "/api/v1/namespaces/default", None, "")
            .await
            .code,
        200
    );
    // A client that connects and closes without a byte costs nothing and breaks nothing.
    drop(
        tokio::net::TcpStream::connect(s.addr())
            .await
            .expect("connect"),
    );
    assert_eq!(namespaces(s.client().expect("client")).await, 4);
}

#[tokio::test]
async fn only_bearer_tokens_authenticate() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("token:{}", s.token()));
    let (mut sender, addr) = common::connect(&s).await;
    let req = http::Request::builder()
        .uri("/api/v1/namespaces")
        .header("host", addr)
        .header("authorization", format!("Basic {basic}"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("in time")
        .expect("response");
    // Basic credentials are not a bearer token: as in kube, the request is then anonymous.
    assert_eq!(
        resp.status().as_u16(),
        403,
        "Basic auth is not accepted: the request is system:anonymous"
    );
    let ok = raw_with(&s, Some(s.token()), "GET", "/api/v1/namespaces", None, "").await;
    assert_eq!(ok.code, 200);
}

/// Starts the binary with `args`, returns it and its URL line.
async fn binary(args: &[&str]) -> (tokio::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn apiserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("URL in time")
        .expect("read")
        .expect("a first line");
    (child, url)
}

#[tokio::test]
async fn the_binary_uses_a_given_ca_or_plain_http_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = apiserver::Ca::generate().expect("CA");
    let (cert, key, kc) = (
        dir.path().join("ca.crt"),
        dir.path().join("ca.key"),
        dir.path().join("kc"),
    );
    std::fs::write(&cert, ca.cert_pem()).expect("write cert");
    std::fs::write(&key, ca.key_pem()).expect("write key");
    let (_child, url) = binary(&[
        "--ca-cert",
        cert.to_str().expect("utf-8"),
        "--ca-key",
        key.to_str().expect("utf-8"),
        "--kubeconfig",
        kc.to_str().expect("utf-8"),
    ])
    .await;
    assert!(url.starts_with("https://"), "{url}");
    let parsed = kube::config::Kubeconfig::read_from(&kc).expect("kubeconfig");
    let data = parsed.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone())
        .expect("CA data");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64"),
        ca.cert_pem().as_bytes()
    );
    let config = kube::Config::from_custom_kubeconfig(parsed, &Default::default())
        .await
        .expect("config");
    assert_eq!(
        namespaces(kube::Client::try_from(config).expect("client")).await,
        4
    );

    let (_plain, url) = binary(&["--plain-http"]).await;
    assert!(url.starts_with("http://"), "{url}");
}

#[tokio::test]
async fn the_binary_refuses_an_unreadable_ca_naming_the_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args([
            "--ca-cert",
            "/nonexistent/ca.crt",
            "--ca-key",
            "/nonexistent/ca.key",
        ])
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/ca.crt"), "{stderr}");
    // One of the pair alone is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_apiserver"))
        .args(["--ca-cert", "/nonexistent/ca.crt"])
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ca-key"), "{stderr}");
}

/// A client that closes TLS (`close_notify`) while a watch is streaming gets the server's
/// `close_notify` back before TCP closes, as from Go's `tls.Conn.Close`; after a finished
/// request too. Without it a strict client reports an unexpected EOF.
#[tokio::test]
async fn a_client_closing_tls_mid_watch_gets_the_servers_close_notify() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let config = s
        .ca()
        .expect("a CA")
        .client_config()
        .expect("client config");
    let connector = tokio_rustls::TlsConnector::from(config);
    for path in [
        "/api/v1/namespaces?watch=true&timeoutSeconds=60",
        "/api/v1/namespaces",
    ] {
        let tcp = tokio::net::TcpStream::connect(s.addr())
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let tls = connector.connect(name, tcp).await.expect("handshake");
        let mut tls = BufReader::new(tls);
        tls.get_mut()
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
                    s.token()
                )
                .as_bytes(),
            )
            .await
            .expect("request");
        let mut status = String::new();
        tls.read_line(&mut status).await.expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
        // Sends close_notify (and shuts the client's TCP write side down).
        tls.get_mut().shutdown().await.expect("close_notify");
        let mut rest = Vec::new();
        let end = tokio::time::timeout(WAIT, tls.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("{path}: the server kept the connection open"));
        // tokio-rustls reports a TCP close without close_notify as UnexpectedEof.
        end.unwrap_or_else(|e| panic!("{path}: the server closed without close_notify: {e}"));
    }
    s.shutdown().await;
}
