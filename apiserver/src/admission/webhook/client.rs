//! Posts one AdmissionReview to a webhook over HTTPS (HTTP/1.1, the server's certificate checked
//! against the webhook's `caBundle` and name) within the webhook's timeout, and words failures
//! as kube's REST client and Go's `net/http` do, since they reach the client in the 500 a
//! failing webhook causes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;

use super::select::Endpoint;

/// The largest answer read from a webhook (kube's REST client reads any size; a bound keeps a
/// broken webhook from filling the memory of a test process).
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Posts `body` and returns the decoded JSON answer of a 2xx response, or why not (the text
/// after kube's `failed to call webhook: `).
pub async fn post(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Value, String> {
    let bytes = post_bytes(endpoint, tls, body, timeout).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "received invalid webhook response: couldn't decode the response as an AdmissionReview: {e}"
        )
    })
}

/// Posts `body` and returns the body of a 2xx response, or why not, worded as kube's REST
/// client words it (shared by admission and CRD conversion webhooks, which decode differently).
pub async fn post_bytes(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Bytes, String> {
    let url = endpoint.display(timeout.as_secs());
    match tokio::time::timeout(timeout, exchange(endpoint, tls, body, timeout)).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(Failure::Transport(why))) => Err(format!("Post {url:?}: {why}")),
        Ok(Err(Failure::Answer(why))) => Err(why),
        Err(_) => Err(format!("Post {url:?}: context deadline exceeded")),
    }
}

enum Failure {
    /// The request did not complete: Go's `*url.Error` (`Post "<url>": <why>`).
    Transport(String),
    /// The webhook answered, but not with a 2xx status.
    Answer(String),
}

async fn exchange(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Bytes, Failure> {
    let addr = format!("{}:{}", endpoint.host, endpoint.port);
    let dial = |e: std::io::Error| {
        let why = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_owned(),
            _ => e.to_string(),
        };
        Failure::Transport(format!("dial tcp {addr}: {why}"))
    };
    let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(dial)?;
    let name = ServerName::try_from(endpoint.server_name.clone())
        .map_err(|e| Failure::Transport(format!("tls: invalid server name: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| Failure::Transport(tls_error(&e, &endpoint.server_name)))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Transport(e.to_string()))?;
    tokio::spawn(async move {
        // The connection ends with the exchange; its error, if any, is the request's.
        let _ = conn.await;
    });
    let path = format!("{}?timeout={}s", endpoint.path, timeout.as_secs());
    let host = if endpoint.port == 443 {
        endpoint.server_name.clone()
    } else {
        format!("{}:{}", endpoint.server_name, endpoint.port)
    };
    let request = http::Request::post(path)
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, */*")
        .header(http::header::USER_AGENT, "kube-apiserver-admission")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| Failure::Transport(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Failure::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| Failure::Transport(e.to_string()))?
        .to_bytes();
    if !(200..300).contains(&status) {
        return Err(Failure::Answer(status_error(status, &bytes)));
    }
    Ok(bytes)
}

/// Go's words for a failed TLS handshake where the cause is the certificate.
fn tls_error(e: &std::io::Error, server_name: &str) -> String {
    use rustls::CertificateError as C;
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature)) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                .to_owned()
        }
        Some(rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        )) => format!(
            "tls: failed to verify certificate: x509: certificate is not valid for {server_name}"
        ),
        Some(rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        )) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
                .to_owned()
        }
        Some(other) => format!("tls: {other}"),
        None => e.to_string(),
    }
}

/// kube's REST client's error for a non-2xx answer: the message of a Status body, else the
/// generic text for the code (`newUnstructuredResponseError`).
fn status_error(code: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && v.get("kind").and_then(Value::as_str) == Some("Status")
        && let Some(m) = v.get("message").and_then(Value::as_str)
    {
        return m.to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match code {
        400 => "the server rejected our request for an unknown reason".to_owned(),
        404 => "the server could not find the requested resource".to_owned(),
        500 if !text.is_empty() => {
            format!("an error on the server ({text:?}) has prevented the request from succeeding")
        }
        500 => "an error on the server (\"unknown\") has prevented the request from succeeding"
            .to_owned(),
        _ => format!(
            "the server responded with the status code {code} but did not return more information"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_2xx_answers_are_worded_as_kubes_rest_client_words_them() {
        assert_eq!(
            status_error(404, b"nope"),
            "the server could not find the requested resource"
        );
        assert_eq!(
            status_error(500, b"boom\n"),
            "an error on the server (\"boom\") has prevented the request from succeeding"
        );
        assert_eq!(
            status_error(503, b""),
            "the server responded with the status code 503 but did not return more information"
        );
        assert_eq!(
            status_error(
                403,
                br#"{"kind":"Status","apiVersion":"v1","message":"go away"}"#
            ),
            "go away"
        );
    }
}
