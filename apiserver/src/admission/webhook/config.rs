//! Holds the stored MutatingWebhookConfigurations and ValidatingWebhookConfigurations compiled
//! for the admission stage: each webhook's match rules, match conditions (CEL, parsed once),
//! client (a URL or a Service) and the TLS client trusting its `caBundle`, kept per
//! configuration uid until the configuration's resourceVersion changes.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use crate::admission::cache::ByVersion;
use crate::admission::policy::{Expression, FailurePolicy, MatchResources, rules};
use crate::meta::{meta_str, strings};

/// Store keys of the two configuration kinds.
pub const MUTATING_KEY: &str = "admissionregistration.k8s.io/mutatingwebhookconfigurations";
pub const VALIDATING_KEY: &str = "admissionregistration.k8s.io/validatingwebhookconfigurations";

/// Which admission phase a webhook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Mutating,
    Validating,
}

impl Phase {
    pub fn store_key(self) -> &'static str {
        match self {
            Phase::Mutating => MUTATING_KEY,
            Phase::Validating => VALIDATING_KEY,
        }
    }
}

/// Where a webhook is served (`clientConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `clientConfig.url` (validation made it `https://host[:port]/path`).
    Url(String),
    /// `clientConfig.service`, resolved to an endpoint of the Service when called.
    Service {
        namespace: String,
        name: String,
        path: String,
        port: u16,
    },
}

/// One webhook of a configuration, ready to match and call.
pub struct Hook {
    pub configuration: String,
    pub name: String,
    /// `configuration/index`: identifies the webhook across reinvocation rounds.
    pub id: String,
    pub target: Target,
    /// The TLS client trusting `caBundle`, or why the bundle could not be used.
    pub tls: Result<Arc<rustls::ClientConfig>, String>,
    pub matcher: MatchResources,
    pub match_conditions: Vec<(String, Expression)>,
    pub failure_policy: FailurePolicy,
    /// `sideEffects` ("" when unset, which only an old stored object can be).
    pub side_effects: String,
    pub timeout: Duration,
    pub review_versions: Vec<String>,
    /// `reinvocationPolicy: IfNeeded` (mutating webhooks only).
    pub reinvoke: bool,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("configuration", &self.configuration)
            .field("name", &self.name)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The TLS client for a webhook: trusts the certificates of `caBundle` (PEM, base64 in JSON),
/// checked as Go checks them (`verify::GoVerifier`: a bundle certificate served as the leaf is
/// trusted as it is). kube falls back to the system's roots for an empty bundle; this server has none to offer
/// (it only calls loopback webhooks made by tests), so an empty bundle trusts nothing.
pub(crate) fn tls_client(ca_bundle: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_bundle)
        .map_err(|e| format!("caBundle is not base64: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("unable to load root certificates: {e}"))?;
        roots
            .add(cert.clone())
            .map_err(|e| format!("unable to load root certificates: {e}"))?;
        certs.push(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("choosing TLS versions: {e}"))?;
    if roots.is_empty() {
        // Nothing to verify against: every handshake fails with an unknown authority.
        return Ok(Arc::new(
            builder.with_root_certificates(roots).with_no_client_auth(),
        ));
    }
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("unable to load root certificates: {e}"))?;
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(super::verify::GoVerifier::new(certs, webpki)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

pub(crate) fn target(client: &Value) -> Target {
    match client.get("service").filter(|s| s.is_object()) {
        Some(s) => Target::Service {
            namespace: text(s, "namespace"),
            name: text(s, "name"),
            path: text(s, "path"),
            port: s
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(443),
        },
        None => Target::Url(text(client, "url")),
    }
}

/// Compiles one stored configuration (defaults applied when it was written).
fn compile(config: &Value, phase: Phase) -> Vec<Arc<Hook>> {
    let configuration = meta_str(config, "name").to_owned();
    let webhooks = config
        .get("webhooks")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    webhooks
        .iter()
        .enumerate()
        .map(|(index, w)| {
            let client = w.get("clientConfig").unwrap_or(&Value::Null);
            let match_conditions = w
                .get("matchConditions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|c| (text(c, "name"), Expression::compile(&text(c, "expression"))))
                .collect();
            Arc::new(Hook {
                configuration: configuration.clone(),
                name: text(w, "name"),
                id: format!("{configuration}/{index}"),
                target: target(client),
                tls: tls_client(client.get("caBundle").and_then(Value::as_str).unwrap_or("")),
                matcher: MatchResources {
                    namespace_selector: w
                        .get("namespaceSelector")
                        .filter(|s| !s.is_null())
                        .cloned(),
                    object_selector: w.get("objectSelector").filter(|s| !s.is_null()).cloned(),
                    resource_rules: rules(w.get("rules")),
                    exclude_resource_rules: Vec::new(),
                    exact: w.get("matchPolicy").and_then(Value::as_str) == Some("Exact"),
                },
                match_conditions,
                failure_policy: FailurePolicy::parse(
                    w.get("failurePolicy").and_then(Value::as_str),
                ),
                side_effects: text(w, "sideEffects"),
                timeout: Duration::from_secs(
                    w.get("timeoutSeconds")
                        .and_then(Value::as_u64)
                        .unwrap_or(10),
                ),
                review_versions: strings(w.get("admissionReviewVersions")),
                reinvoke: phase == Phase::Mutating
                    && w.get("reinvocationPolicy").and_then(Value::as_str) == Some("IfNeeded"),
            })
        })
        .collect()
}

/// The webhooks of one configuration, in order.
pub type Hooks = Arc<[Arc<Hook>]>;

/// Compiled configurations by uid (see `ByVersion`).
pub type Cache = ByVersion<Hooks>;

impl Cache {
    /// The webhooks of the stored `config`, compiled when it is new or changed.
    pub fn hooks(&mut self, config: &Value, phase: Phase) -> Hooks {
        self.get_or_compile(config, |c| compile(c, phase).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_configuration_compiles_its_webhooks_once_per_resource_version() {
        let config = |rv: &str| {
            json!({"metadata": {"name": "c", "uid": "u", "resourceVersion": rv}, "webhooks": [
                {"name": "a.example.com", "clientConfig": {"url": "https://127.0.0.1:1/a", "caBundle": "not base64!"},
                 "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                 "namespaceSelector": {}, "objectSelector": {}, "failurePolicy": "Ignore",
                 "sideEffects": "None", "timeoutSeconds": 3, "admissionReviewVersions": ["v1"],
                 "matchConditions": [{"name": "m", "expression": "1 +"}], "reinvocationPolicy": "IfNeeded"},
                {"name": "b.example.com", "clientConfig": {"service": {"namespace": "ns", "name": "svc"}}}
            ]})
        };
        let mut cache = Cache::default();
        let a = cache.hooks(&config("1"), Phase::Mutating);
        assert!(Arc::ptr_eq(&a, &cache.hooks(&config("1"), Phase::Mutating)));
        assert!(!Arc::ptr_eq(
            &a,
            &cache.hooks(&config("2"), Phase::Mutating)
        ));
        assert_eq!(cache.len(), 1);
        let (first, second) = (&a[0], &a[1]);
        assert_eq!(first.id, "c/0");
        assert_eq!(first.failure_policy, FailurePolicy::Ignore);
        assert_eq!(first.timeout, Duration::from_secs(3));
        assert!(first.reinvoke);
        assert!(
            first.match_conditions[0].1.program.is_err(),
            "kept with its error"
        );
        assert!(
            first.tls.as_ref().is_err_and(|e| e.contains("base64")),
            "{:?}",
            first.tls.as_ref().err()
        );
        assert_eq!(first.matcher.resource_rules[0].resources, ["pods"]);
        assert_eq!(
            second.target,
            Target::Service {
                namespace: "ns".into(),
                name: "svc".into(),
                path: String::new(),
                port: 443
            }
        );
        assert_eq!(second.failure_policy, FailurePolicy::Fail, "the default");
        assert!(!second.reinvoke);
        cache.retain(&|_| false);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn odd_configurations_compile_to_no_webhooks_without_panicking() {
        for odd in [
            json!(null),
            json!({"webhooks": 5}),
            json!({"webhooks": [null, 7, "x"]}),
        ] {
            let hooks = compile(&odd, Phase::Validating);
            assert!(hooks.iter().all(|h| h.name.is_empty()));
        }
    }
}
