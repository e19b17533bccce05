//! A webhook server made by a test: HTTPS on 127.0.0.1 with a certificate from its own CA (given
//! to the API server as `caBundle`), answering each JSON review (AdmissionReview,
//! ConversionReview) with what the test's handler returns, and keeping what it was sent.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, Option<Value>> + Send + Sync>;

/// A webhook server: answers each AdmissionReview with what its handler returns (None: never
/// answers) and keeps the reviews it received.
pub struct Webhook {
    pub url: String,
    pub ca_bundle: String,
    pub reviews: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    pub fn reviews(&self) -> Vec<Value> {
        self.reviews.lock().expect("reviews").clone()
    }
}

pub async fn webhook_server(names: &[&str], handler: Handler) -> Webhook {
    let ca = apiserver::Ca::generate().expect("CA");
    let tls = tokio_rustls::TlsAcceptor::from(ca.server_config_for(names).expect("TLS"));
    serve(tls, ca.cert_pem().to_owned(), handler).await
}

/// A webhook server whose certificate is a self-signed CA certificate (`CA:TRUE`, server and
/// client auth) for `names`, given as its own `caBundle`: what kopf's `WebhookServer` serves.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub async fn webhook_server_with_self_signed_ca(names: &[&str], handler: Handler) -> Webhook {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("certificate names");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key DER"),
    )
    .expect("server TLS");
    serve(
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        cert.pem(),
        handler,
    )
    .await
}

async fn serve(tls: tokio_rustls::TlsAcceptor, ca_pem: String, handler: Handler) -> Webhook {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reviews = Arc::new(Mutex::new(Vec::new()));
    let kept = reviews.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (tls, handler, kept) = (tls.clone(), handler.clone(), kept.clone());
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (handler, kept) = (handler.clone(), kept.clone());
                    async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        kept.lock().expect("reviews").push(review.clone());
                        let answer = match handler(review).await {
                            Some(answer) => answer,
                            None => std::future::pending().await,
                        };
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(bytes::Bytes::from(
                            answer.to_string(),
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Webhook {
        url: format!("https://127.0.0.1:{port}/admit"),
        ca_bundle: base64::engine::general_purpose::STANDARD.encode(ca_pem),
        reviews,
    }
}

pub fn handler(f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static) -> Handler {
    Arc::new(move |review| {
        let answer = f(&review);
        Box::pin(async move { answer })
    })
}
