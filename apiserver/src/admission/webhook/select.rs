//! Decides, under the store's lock, which webhooks a write calls (kube's `ShouldCallHook`:
//! namespace selector, object selector, rules with `matchPolicy`, then match conditions) and
//! resolves where each is served, so the calls themselves can be made after the lock is released.

use std::sync::Arc;

use serde_json::{Value, json};

use super::config::{Cache, Hook, Phase, Target};
use crate::admission::dispatch::{Snapshot, as_version};
use crate::admission::evaluate::{self, Inputs};
use crate::admission::matching::{self, Matched};
use crate::admission::policy::FailurePolicy;
use crate::admission::request::Attributes;
use crate::catalog::ResourceInfo;
use crate::status::ApiError;
use crd_schema::expr::{self, CelValue};

/// Resources no webhook is called for, so a bad webhook cannot lock its own fix out (kube's
/// `IsExemptAdmissionConfigurationResource` and the admission policy resources).
const EXEMPT: &[&str] = &[
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
];

/// Where a webhook is called: an address to connect to and the name its certificate must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// The TLS server name: the URL's host, or `<service>.<namespace>.svc`.
    pub server_name: String,
    /// The path (starting with `/`).
    pub path: String,
}

impl Endpoint {
    /// The URL as kube's REST client prints it in errors (with the `timeout` parameter).
    pub fn display(&self, timeout_secs: u64) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "https://{host}:{}{}?timeout={timeout_secs}s",
            self.port, self.path
        )
    }
}

/// One webhook to call for a write.
#[derive(Debug)]
pub struct Invocation {
    pub hook: Arc<Hook>,
    /// The resolved endpoint, or why it could not be resolved (a call failure, subject to the
    /// webhook's failure policy).
    pub endpoint: Result<Endpoint, String>,
    /// kube's `AdmissionRequest` without `uid`, `object` and `oldObject`.
    pub request: Value,
    /// The apiVersion the webhook sees objects in (another served version under
    /// `matchPolicy: Equivalent`; the subresource's own, e.g. `autoscaling/v1` for a Scale).
    pub api_version: String,
}

/// The webhooks of `phase` that `a` calls, in kube's order (configurations by name, webhooks in
/// their order). Errors are the refusals kube's matching makes itself (a namespace it cannot
/// read, a match condition that fails under `failurePolicy: Fail`).
pub fn select(
    snapshot: &Snapshot<'_>,
    cache: &mut Cache,
    phase: Phase,
    a: &Attributes<'_>,
) -> Result<Vec<Invocation>, ApiError> {
    // The common case, no configuration of this phase, costs one map lookup.
    let Some(configs) = snapshot.all(phase.store_key()) else {
        return Ok(Vec::new());
    };
    if a.info.group == "admissionregistration.k8s.io" && EXEMPT.contains(&a.info.plural.as_str()) {
        return Ok(Vec::new());
    }
    // Forget compiled configurations that were deleted.
    cache.sweep(configs);
    let namespace = snapshot.namespace_of(a);
    let mut out = Vec::new();
    // Stored cluster-scoped objects are keyed ("", name): the map's order is kube's by-name order.
    for stored in configs.values() {
        for hook in cache.hooks(stored.value(), phase).iter() {
            // A webhook without rules is called for nothing (kube's `ShouldCallHook` looks for a
            // matching rule; the policy matcher's "no rules: everything" does not apply).
            if hook.matcher.resource_rules.is_empty() {
                continue;
            }
            let matched = match matching::matches(&hook.matcher, a, namespace, snapshot.catalog) {
                Ok(Matched::No) => continue,
                Ok(Matched::Yes(eq)) => eq,
                Err(e) => return Err(ApiError::internal(e)),
            };
            let matched_info: &ResourceInfo = matched.as_deref().unwrap_or(a.info);
            let request = a.request_value(matched_info);
            if !hook.match_conditions.is_empty() {
                let inputs = Inputs {
                    object: as_version(a.object, a.object_type_for(matched_info)),
                    old_object: as_version(a.old_object, a.object_type_for(matched_info)),
                    params: CelValue::Null,
                    request: expr::from_json(&request),
                    namespace_object: CelValue::Null,
                    authorizer: a.authorizer(),
                };
                match evaluate::match_conditions(&hook.match_conditions, &[], &inputs) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) if hook.failure_policy == FailurePolicy::Ignore => continue,
                    Err(e) => {
                        return Err(ApiError::forbidden(
                            a.info.group_resource(),
                            &a.name_for_errors(),
                            &e,
                        ));
                    }
                }
            }
            out.push(Invocation {
                hook: hook.clone(),
                endpoint: resolve(snapshot, &hook.target),
                request,
                api_version: a.object_type_for(matched_info).api_version(),
            });
        }
    }
    Ok(out)
}

/// Where a webhook is served. A URL is used as written; a Service is resolved to the address a
/// test routed it to (`ApiServer::route_service`), else to one of its ready endpoints (kube's
/// `--enable-aggregator-routing` resolver: this server has no cluster DNS or Service proxy),
/// with `<service>.<namespace>.svc` as the name its certificate must carry.
pub(crate) fn resolve(snapshot: &Snapshot<'_>, target: &Target) -> Result<Endpoint, String> {
    match target {
        Target::Url(url) => parse_url(url),
        Target::Service {
            namespace,
            name,
            path,
            port,
        } => {
            let service = snapshot
                .get("/services", namespace, name)
                .ok_or_else(|| format!("services {name:?} not found"))?;
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path.clone()
            };
            let server_name = format!("{name}.{namespace}.svc");
            if let Some(addr) = snapshot
                .service_routes
                .get(&(namespace.clone(), name.clone()))
            {
                return Ok(Endpoint {
                    host: addr.ip().to_string(),
                    port: addr.port(),
                    server_name,
                    path,
                });
            }
            let ports = service
                .value()
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let service_port = ports
                .iter()
                .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(*port)))
                .ok_or_else(|| format!("no service port {port} found for service {name:?}"))?;
            let (host, target_port) = ready_endpoint(snapshot, namespace, name, service_port)
                .ok_or_else(|| format!("no endpoints available for service {name:?}"))?;
            Ok(Endpoint {
                host,
                port: target_port,
                server_name,
                path,
            })
        }
    }
}

/// `https://host[:port]/path` (validation refused other schemes, user info, queries and
/// fragments when the configuration was written).
fn parse_url(url: &str) -> Result<Endpoint, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("parse {url:?}: invalid URL: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("parse {url:?}: missing host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let path = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    Ok(Endpoint {
        server_name: host.clone(),
        host,
        port: uri.port_u16().unwrap_or(443),
        path,
    })
}

/// A ready address of the Service and the port its `service_port` targets there, from its
/// EndpointSlices, else its Endpoints.
fn ready_endpoint(
    snapshot: &Snapshot<'_>,
    namespace: &str,
    name: &str,
    service_port: &Value,
) -> Option<(String, u16)> {
    let port_name = service_port
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let port_in = |ports: Option<&Value>| -> Option<u16> {
        let ports = ports?.as_array()?;
        let p = ports
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)?;
        p.get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
    };
    let slices = snapshot
        .all("discovery.k8s.io/endpointslices")
        .into_iter()
        .flat_map(|m| m.iter())
        .filter(|((ns, _), s)| {
            ns == namespace
                && s.value()
                    .pointer("/metadata/labels/kubernetes.io~1service-name")
                    .and_then(Value::as_str)
                    == Some(name)
        });
    for (_, slice) in slices {
        let Some(port) = port_in(slice.value().get("ports")) else {
            continue;
        };
        let endpoints = slice.value().get("endpoints").and_then(Value::as_array);
        for e in endpoints.into_iter().flatten() {
            // An endpoint is ready unless its condition says otherwise (kube's "nil means ready").
            if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let Some(ip) = e.pointer("/addresses/0").and_then(Value::as_str) {
                return Some((ip.to_owned(), port));
            }
        }
    }
    let endpoints = snapshot.get("/endpoints", namespace, name)?;
    let subsets = endpoints.value().get("subsets").and_then(Value::as_array)?;
    subsets.iter().find_map(|s| {
        let port = port_in(s.get("ports"))?;
        let ip = s.pointer("/addresses/0/ip").and_then(Value::as_str)?;
        Some((ip.to_owned(), port))
    })
}

/// The AdmissionReview sent to a webhook (`admission.k8s.io/<version>`), kube's
/// `CreateV1AdmissionReview`: the request with a fresh uid and the objects in the webhook's
/// version.
pub fn review(
    inv: &Invocation,
    version: &str,
    uid: &str,
    object: Option<&Value>,
    old_object: Option<&Value>,
) -> Value {
    let in_version = |o: Option<&Value>| {
        o.map_or(Value::Null, |o| {
            crate::admission::versioned::to_version(o, &inv.api_version)
        })
    };
    let mut request = inv.request.clone();
    request["uid"] = uid.into();
    request["object"] = in_version(object);
    request["oldObject"] = in_version(old_object);
    json!({
        "kind": "AdmissionReview",
        "apiVersion": format!("admission.k8s.io/{version}"),
        "request": request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_endpoints_with_their_host_as_the_certificate_name() {
        let e = parse_url("https://127.0.0.1:8443/validate").expect("parses");
        assert_eq!(
            e,
            Endpoint {
                host: "127.0.0.1".into(),
                port: 8443,
                server_name: "127.0.0.1".into(),
                path: "/validate".into()
            }
        );
        assert_eq!(e.display(10), "https://127.0.0.1:8443/validate?timeout=10s");
        let e = parse_url("https://[::1]/").expect("parses");
        assert_eq!((e.host.as_str(), e.port), ("::1", 443));
        assert_eq!(e.display(1), "https://[::1]:443/?timeout=1s");
        assert!(parse_url("not a url at all").is_err());
        assert!(parse_url("").is_err());
    }
}
