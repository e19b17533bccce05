//! Validates the networking.k8s.io types as kube's `pkg/apis/networking/validation`: Ingress
//! (rules, paths, backends, TLS, class), IngressClass (controller, parameters) and NetworkPolicy
//! (selectors, ports and port ranges, peers, IP blocks, policy types), IPAddress (the parent
//! reference, required and immutable; the name rule is `NameRule::Ip`) and ServiceCIDR (one or
//! two canonical CIDRs, one per family, immutable). IPAddress and ServiceCIDR follow
//! `ValidateIPAddress`/`ValidateServiceCIDR` and their updates as of kubernetes 1.33+ (strict
//! `IsValidIP`/`IsValidCIDR` of `k8s.io/apimachinery/pkg/util/validation/ip.go`).

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::selector;
use crate::status::Cause;

/// NetworkPolicy policyTypes, in kube's order.
pub const POLICY_TYPES: [&str; 2] = ["Ingress", "Egress"];
/// Ingress pathType values, in kube's (sorted) order.
pub const PATH_TYPES: [&str; 3] = ["Exact", "ImplementationSpecific", "Prefix"];
/// IngressClass `spec.parameters.scope` values, sorted as kube lists them.
pub const PARAMETER_SCOPES: [&str; 2] = ["Cluster", "Namespace"];
/// The legacy annotation naming an Ingress's class.
const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// `maxLenIngressClassController`: IngressClass `spec.controller` is at most this long.
const MAX_CONTROLLER_LEN: usize = 250;
/// Sequences an Exact or Prefix path may not contain (`invalidPathSequences`).
const INVALID_PATH_SEQUENCES: [&str; 5] = ["//", "/./", "/../", "%2f", "%2F"];
/// Endings an Exact or Prefix path may not have (`invalidPathSuffixes`).
const INVALID_PATH_SUFFIXES: [&str; 2] = ["/..", "/."];

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// A field that is present and not null.
fn set<'a>(v: &'a Value, f: &str) -> Option<&'a Value> {
    v.get(f).filter(|v| !v.is_null())
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy

/// `ValidateNetworkPolicyPort`.
fn network_policy_port(port: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(proto) = set(port, "protocol")
        && !proto
            .as_str()
            .is_some_and(|s| ["TCP", "UDP", "SCTP"].contains(&s))
    {
        causes.push(field::not_supported(
            &child(at, "protocol"),
            proto,
            &["TCP", "UDP", "SCTP"],
        ));
    }
    let end = set(port, "endPort");
    match set(port, "port") {
        Some(v @ Value::Number(_)) => {
            causes.extend(field::port_number(&child(at, "port"), v));
            if let Some(end) = end {
                if end.as_i64() < v.as_i64() {
                    causes.push(field::invalid(
                        &child(at, "endPort"),
                        v,
                        "must be greater than or equal to `port`",
                    ));
                }
                causes.extend(field::port_number(&child(at, "endPort"), end));
            }
        }
        Some(Value::String(s)) => {
            if let Some(end) = end {
                causes.push(field::invalid(
                    &child(at, "endPort"),
                    end,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            causes.extend(field::each(&child(at, "port"), s, field::port_name(s)));
        }
        _ => {
            if let Some(end) = end {
                causes.push(field::invalid(
                    &child(at, "endPort"),
                    end,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    causes
}

/// `ValidateIPBlock`: a CIDR and `except` entries strictly inside it.
fn ip_block(block: &Value, at: &str) -> Vec<Cause> {
    let cidr = str_of(block, "cidr");
    if cidr.is_empty() {
        return vec![field::required(&child(at, "cidr"), "")];
    }
    let Some((ip, bits)) = field::parse_cidr(cidr) else {
        return vec![field::invalid_str(
            &child(at, "cidr"),
            cidr,
            field::INVALID_CIDR,
        )];
    };
    let mut causes = Vec::new();
    for (i, except) in arr_of(block, "except").iter().enumerate() {
        let path = index(&child(at, "except"), i);
        let text = except.as_str().unwrap_or_default();
        let Some((eip, ebits)) = field::parse_cidr(text) else {
            causes.push(field::invalid_str(&path, text, field::INVALID_CIDR));
            continue;
        };
        // Go's `cidr.Contains(except.IP)`: a different family is never contained.
        let inside =
            eip.is_ipv4() == ip.is_ipv4() && field::network(eip, bits) == field::network(ip, bits);
        if !inside || bits >= ebits {
            causes.push(field::invalid_str(
                &path,
                text,
                "must be a strict subset of `cidr`",
            ));
        }
    }
    causes
}

/// `ValidateNetworkPolicyPeer`: exactly one kind of peer when an ipBlock is among them.
fn network_policy_peer(peer: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut peers = 0;
    for f in ["podSelector", "namespaceSelector"] {
        if let Some(s) = set(peer, f) {
            peers += 1;
            causes.extend(selector::validate(s, &child(at, f)));
        }
    }
    let block = set(peer, "ipBlock");
    if let Some(b) = block {
        peers += 1;
        causes.extend(ip_block(b, &child(at, "ipBlock")));
    }
    if peers == 0 {
        causes.push(field::required(at, "must specify a peer"));
    } else if peers > 1 && block.is_some() {
        causes.push(field::forbidden(
            at,
            "may not specify both ipBlock and another peer",
        ));
    }
    causes
}

/// `ValidateNetworkPolicySpec` (create and update alike: the spec is mutable).
pub fn validate_network_policy(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let mut causes = Vec::new();
    if let Some(s) = spec.get("podSelector") {
        causes.extend(selector::validate(s, "spec.podSelector"));
    }
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr_of(spec, dir).iter().enumerate() {
            let at = index(&child("spec", dir), i);
            for (j, port) in arr_of(rule, "ports").iter().enumerate() {
                causes.extend(network_policy_port(port, &index(&child(&at, "ports"), j)));
            }
            for (j, peer) in arr_of(rule, peers).iter().enumerate() {
                causes.extend(network_policy_peer(peer, &index(&child(&at, peers), j)));
            }
        }
    }
    let types = arr_of(spec, "policyTypes");
    if types.len() > POLICY_TYPES.len() {
        let go: Vec<String> = types.iter().map(field::render).collect();
        causes.push(selector::invalid_go(
            "spec.policyTypes",
            &format!("&[]networking.PolicyType{{{}}}", go.join(", ")),
            "may not specify more than two policyTypes",
        ));
        return causes;
    }
    for (i, t) in types.iter().enumerate() {
        if !t.as_str().is_some_and(|s| POLICY_TYPES.contains(&s)) {
            causes.push(field::not_supported(
                &index("spec.policyTypes", i),
                t,
                &POLICY_TYPES,
            ));
        }
    }
    causes
}

// ---------------------------------------------------------------------------------------------
// Ingress

/// What an update may keep of the stored object's invalid data (`IngressValidationOptions`).
#[derive(Clone, Copy, Default)]
struct IngressOptions {
    allow_invalid_secret_name: bool,
    allow_invalid_wildcard_host_rule: bool,
}

/// `validateIngressTypedLocalObjectReference` (backend resources, class parameters).
fn typed_local_reference(r: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(group) = set(r, "apiGroup").and_then(Value::as_str) {
        causes.extend(field::each(
            &child(at, "apiGroup"),
            group,
            field::dns1123_subdomain(group),
        ));
    }
    for (f, missing) in [("kind", "kind is required"), ("name", "name is required")] {
        let v = str_of(r, f);
        if v.is_empty() {
            causes.push(field::required(&child(at, f), missing));
        } else {
            causes.extend(field::each(&child(at, f), v, field::path_segment_name(v)));
        }
    }
    causes
}

/// `validateIngressBackend`: a service (name and port name or number) or a resource.
fn ingress_backend(backend: &Value, at: &str) -> Vec<Cause> {
    let resource = set(backend, "resource");
    let service = set(backend, "service");
    match (resource, service) {
        (Some(_), Some(_)) => vec![field::invalid_str(
            at,
            "",
            "cannot set both resource and service backends",
        )],
        (Some(r), None) => typed_local_reference(r, &child(at, "resource")),
        (None, Some(s)) => {
            let mut causes = Vec::new();
            let name = str_of(s, "name");
            let name_at = child(at, "service.name");
            if name.is_empty() {
                causes.push(field::required(&name_at, ""));
            } else {
                causes.extend(field::each(&name_at, name, field::dns1035_label(name)));
            }
            let null = Value::Null;
            let port = s.get("port").unwrap_or(&null);
            let port_name = str_of(port, "name");
            let number = set(port, "number").filter(|n| n.as_i64() != Some(0));
            match (port_name.is_empty(), number) {
                (false, Some(_)) => causes.push(field::invalid_str(
                    at,
                    "",
                    "cannot set both port name & port number",
                )),
                (false, None) => causes.extend(field::each(
                    &child(at, "service.port.name"),
                    port_name,
                    field::port_name(port_name),
                )),
                (true, Some(n)) => {
                    causes.extend(field::port_number(&child(at, "service.port.number"), n))
                }
                (true, None) => causes.push(field::required(at, "port name or number is required")),
            }
            causes
        }
        (None, None) => vec![field::invalid_str(
            at,
            "",
            "resource or service backend is required",
        )],
    }
}

/// `validateHTTPIngressPath`.
fn http_ingress_path(path: &Value, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(t) = set(path, "pathType") else {
        return vec![field::required(
            &child(at, "pathType"),
            "pathType must be specified",
        )];
    };
    let p = str_of(path, "path");
    let path_at = child(at, "path");
    match t.as_str() {
        Some("Exact" | "Prefix") => {
            if !p.starts_with('/') {
                causes.push(field::invalid_str(&path_at, p, "must be an absolute path"));
            }
            for seq in INVALID_PATH_SEQUENCES {
                if p.contains(seq) {
                    causes.push(field::invalid_str(
                        &path_at,
                        p,
                        &format!("must not contain '{seq}'"),
                    ));
                }
            }
            for suffix in INVALID_PATH_SUFFIXES {
                if p.ends_with(suffix) {
                    causes.push(field::invalid_str(
                        &path_at,
                        p,
                        &format!("cannot end with '{suffix}'"),
                    ));
                }
            }
        }
        Some("ImplementationSpecific") => {
            if !p.is_empty() && !p.starts_with('/') {
                causes.push(field::invalid_str(&path_at, p, "must be an absolute path"));
            }
        }
        _ => causes.push(field::not_supported(&child(at, "pathType"), t, &PATH_TYPES)),
    }
    let null = Value::Null;
    causes.extend(ingress_backend(
        path.get("backend").unwrap_or(&null),
        &child(at, "backend"),
    ));
    causes
}

/// `validateIngressRuleValue`: the paths of a rule's `http`.
fn ingress_rule_value(rule: &Value, at: &str) -> Vec<Cause> {
    let Some(http) = set(rule, "http") else {
        return Vec::new();
    };
    let paths = arr_of(http, "paths");
    let mut causes = Vec::new();
    if paths.is_empty() {
        causes.push(field::required(&child(at, "http.paths"), ""));
    }
    for (j, p) in paths.iter().enumerate() {
        causes.extend(http_ingress_path(p, &index(&child(at, "http.paths"), j)));
    }
    causes
}

/// `validateIngressRules`.
fn ingress_rules(rules: &[Value], opts: IngressOptions) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let at = index("spec.rules", i);
        let host = str_of(rule, "host");
        let mut wildcard = false;
        if !host.is_empty() {
            let host_at = child(&at, "host");
            if field::parse_ip(host).is_some() {
                causes.push(field::invalid_str(
                    &host_at,
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
            if host.contains('*') {
                causes.extend(field::each(
                    &host_at,
                    host,
                    field::wildcard_dns1123_subdomain(host),
                ));
                wildcard = true;
            } else {
                causes.extend(field::each(&host_at, host, field::dns1123_subdomain(host)));
            }
        }
        if !wildcard || !opts.allow_invalid_wildcard_host_rule {
            causes.extend(ingress_rule_value(rule, &at));
        }
    }
    causes
}

/// `validateTLSSecretName`: an empty name is allowed (the controller's default certificate).
fn tls_secret_name(name: &str) -> Vec<String> {
    if name.is_empty() {
        Vec::new()
    } else {
        field::dns1123_subdomain(name)
    }
}

/// `validateIngressTLS`.
fn ingress_tls(tls: &[Value], opts: IngressOptions) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, t) in tls.iter().enumerate() {
        let at = index("spec.tls", i);
        for (j, host) in arr_of(t, "hosts").iter().enumerate() {
            let host = host.as_str().unwrap_or_default();
            let host_at = index(&child(&at, "hosts"), j);
            let messages = if host.contains('*') {
                field::wildcard_dns1123_subdomain(host)
            } else {
                field::dns1123_subdomain(host)
            };
            causes.extend(field::each(&host_at, host, messages));
        }
        if !opts.allow_invalid_secret_name {
            let name = str_of(t, "secretName");
            causes.extend(field::each(
                &child(&at, "secretName"),
                name,
                tls_secret_name(name),
            ));
        }
    }
    causes
}

/// An Ingress's `spec.rules` when there are none, as a bad value prints: Go's `json.Marshal`
/// of the slice, `[]` when empty and `null` when unset.
fn go_no_rules(spec: &Value) -> &'static str {
    if spec.get("rules").is_some_and(Value::is_array) {
        "[]"
    } else {
        "null"
    }
}

/// `ValidateIngressSpec`.
fn ingress_spec(obj: &Value, opts: IngressOptions) -> Vec<Cause> {
    let spec = spec(obj);
    let mut causes = Vec::new();
    let rules = arr_of(spec, "rules");
    let default_backend = set(spec, "defaultBackend");
    if rules.is_empty() && default_backend.is_none() {
        causes.push(selector::invalid_go(
            "spec",
            go_no_rules(spec),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default_backend {
        causes.extend(ingress_backend(b, "spec.defaultBackend"));
    }
    causes.extend(ingress_rules(rules, opts));
    causes.extend(ingress_tls(arr_of(spec, "tls"), opts));
    if let Some(class) = set(spec, "ingressClassName").and_then(Value::as_str) {
        causes.extend(field::each(
            "spec.ingressClassName",
            class,
            field::dns1123_subdomain(class),
        ));
    }
    causes
}

/// `ValidateIngressCreate`: the spec, and the class annotation agreeing with
/// `spec.ingressClassName` when both are set.
pub fn validate_ingress(obj: &Value) -> Vec<Cause> {
    let mut causes = ingress_spec(obj, IngressOptions::default());
    let annotation = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(INGRESS_CLASS_ANNOTATION))
        .and_then(Value::as_str);
    let class = spec(obj).get("ingressClassName").and_then(Value::as_str);
    if let (Some(a), Some(c)) = (annotation, class)
        && a != c
    {
        causes.push(field::invalid_str(
            &child("annotations", INGRESS_CLASS_ANNOTATION),
            a,
            "must match `ingressClassName` when both are specified",
        ));
    }
    causes
}

/// `ValidateIngressUpdate`: the spec rules, relaxed where the stored object already broke them
/// (an invalid TLS secret name, invalid paths under a wildcard host) so it stays updatable.
pub fn validate_ingress_update(new: &Value, old: &Value) -> Vec<Cause> {
    let old_spec = spec(old);
    let opts = IngressOptions {
        allow_invalid_secret_name: arr_of(old_spec, "tls")
            .iter()
            .any(|t| !tls_secret_name(str_of(t, "secretName")).is_empty()),
        allow_invalid_wildcard_host_rule: arr_of(old_spec, "rules")
            .iter()
            .any(|r| str_of(r, "host").contains('*') && !ingress_rule_value(r, "").is_empty()),
    };
    ingress_spec(new, opts)
}

// ---------------------------------------------------------------------------------------------
// IngressClass

/// `validateIngressClassParametersReference`.
fn ingress_class_parameters(params: &Value) -> Vec<Cause> {
    let at = "spec.parameters";
    let mut causes = typed_local_reference(params, at);
    let Some(scope) = set(params, "scope") else {
        causes.push(field::required(&child(at, "scope"), ""));
        return causes;
    };
    let namespace = set(params, "namespace");
    match scope.as_str() {
        Some("Namespace") => match namespace.and_then(Value::as_str) {
            None => causes.push(field::required(
                &child(at, "namespace"),
                "`parameters.scope` is set to 'Namespace'",
            )),
            Some(ns) => causes.extend(field::each(
                &child(at, "namespace"),
                ns,
                field::dns1123_label(ns),
            )),
        },
        Some("Cluster") => {
            if namespace.is_some() {
                causes.push(field::forbidden(
                    &child(at, "namespace"),
                    "`parameters.scope` is set to 'Cluster'",
                ));
            }
        }
        _ => causes.push(field::not_supported(
            &child(at, "scope"),
            scope,
            &PARAMETER_SCOPES,
        )),
    }
    causes
}

/// `ValidateIngressClass` (without ObjectMeta): the controller and the parameters reference.
pub fn validate_ingress_class(obj: &Value) -> Vec<Cause> {
    let spec = spec(obj);
    let controller = str_of(spec, "controller");
    let mut causes = Vec::new();
    if controller.len() > MAX_CONTROLLER_LEN {
        causes.push(field::too_long("spec.controller", MAX_CONTROLLER_LEN));
    }
    causes.extend(field::domain_prefixed_path("spec.controller", controller));
    if let Some(params) = set(spec, "parameters") {
        causes.extend(ingress_class_parameters(params));
    }
    causes
}

/// `ValidateIngressClassUpdate`: `spec.controller` is immutable, then the create rules.
pub fn validate_ingress_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let (nc, oc) = (
        str_of(spec(new), "controller"),
        str_of(spec(old), "controller"),
    );
    let mut causes = Vec::new();
    if nc != oc {
        causes.push(field::invalid_str(
            "spec.controller",
            nc,
            "field is immutable",
        ));
    }
    causes.extend(validate_ingress_class(new));
    causes
}

// ---------------------------------------------------------------------------------------------
// IPAddress and ServiceCIDR

/// Go's `json.Marshal` of the internal `*networking.ParentReference` (no JSON tags: Go names).
fn go_parent_ref(r: Option<&Value>) -> String {
    match r.filter(|r| r.is_object()) {
        None => "null".into(),
        Some(r) => field::go_struct(
            r,
            &[
                ("Group", "group", field::GO_EMPTY_STRING),
                ("Resource", "resource", field::GO_EMPTY_STRING),
                ("Namespace", "namespace", field::GO_EMPTY_STRING),
                ("Name", "name", field::GO_EMPTY_STRING),
            ],
        ),
    }
}

/// `ValidateIPAddress` without ObjectMeta: `validateIPAddressParentReference`.
pub fn validate_ip_address(obj: &Value) -> Vec<Cause> {
    let Some(r) = spec(obj).get("parentRef").filter(|r| r.is_object()) else {
        return vec![field::required("spec.parentRef", "")];
    };
    let at = "spec.parentRef";
    let mut causes = Vec::new();
    // group is required, but the core group (Services) is "", so it cannot be enforced.
    let group = str_of(r, "group");
    if !group.is_empty() {
        causes.extend(field::each(
            &child(at, "group"),
            group,
            field::dns1123_subdomain(group),
        ));
    }
    for (f, required) in [("resource", true), ("name", true), ("namespace", false)] {
        let v = str_of(r, f);
        if v.is_empty() {
            if required {
                causes.push(field::required(&child(at, f), ""));
            }
        } else {
            causes.extend(field::each(&child(at, f), v, field::path_segment_name(v)));
        }
    }
    causes
}

/// `ValidateIPAddressUpdate` without ObjectMeta: the parent reference is immutable (kube checks
/// nothing else on update).
pub fn validate_ip_address_update(new: &Value, old: &Value) -> Vec<Cause> {
    let (n, o) = (spec(new).get("parentRef"), spec(old).get("parentRef"));
    let norm = |r: Option<&Value>| r.filter(|r| !r.is_null()).cloned();
    if norm(n) == norm(o) {
        return Vec::new();
    }
    vec![selector::invalid_go(
        "spec.parentRef",
        &go_parent_ref(n),
        "field is immutable",
    )]
}

/// Go's `json.Marshal` of the internal `networking.ServiceCIDRSpec`.
fn go_cidr_spec(spec: &Value) -> String {
    field::go_struct(spec, &[("CIDRs", "cidrs", Value::Null)])
}

/// `ValidateServiceCIDR` without ObjectMeta.
pub fn validate_service_cidr(obj: &Value) -> Vec<Cause> {
    let at = "spec.cidrs";
    let spec = spec(obj);
    let cidrs = arr_of(spec, "cidrs");
    if cidrs.is_empty() {
        return vec![field::required(at, "at least one CIDR required")];
    }
    if cidrs.len() > 2 {
        return vec![selector::invalid_go(
            at,
            &go_cidr_spec(spec),
            "may only hold up to 2 values",
        )];
    }
    let texts: Vec<&str> = cidrs.iter().map(|c| c.as_str().unwrap_or("")).collect();
    if let [a, b] = texts.as_slice() {
        // netutils.IsDualStackCIDRStrings: both parse, one of each family.
        let dual = matches!(
            (field::cidr_is_ipv4(a), field::cidr_is_ipv4(b)),
            (Some(x), Some(y)) if x != y
        );
        if !dual {
            return vec![selector::invalid_go(
                at,
                &go_cidr_spec(spec),
                "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
            )];
        }
    }
    texts
        .iter()
        .enumerate()
        .flat_map(|(i, c)| field::strict_cidr(&index(at, i), c))
        .collect()
}

/// `ValidateServiceCIDRUpdate` without ObjectMeta: the CIDRs are immutable (nothing else is
/// checked on update).
pub fn validate_service_cidr_update(new: &Value, old: &Value) -> Vec<Cause> {
    let cidrs = |o: &Value| arr_of(spec(o), "cidrs").to_vec();
    if cidrs(new) == cidrs(old) {
        return Vec::new();
    }
    let value = spec(new).get("cidrs").cloned().unwrap_or(Value::Null);
    vec![selector::invalid_go(
        "spec.cidrs",
        &field::go_json(&value),
        "field is immutable",
    )]
}

/// `ValidateIngressStatusUpdate` after ObjectMeta: `ValidateIngressLoadBalancerStatus`, each
/// ingress point's IP valid (`IsValidIPForLegacyField`) and its hostname a DNS name.
pub fn validate_ingress_status_update(new: &Value) -> Vec<Cause> {
    let ingress = new
        .pointer("/status/loadBalancer")
        .map_or(&[][..], |lb| arr_of(lb, "ingress"));
    let mut causes = Vec::new();
    for (i, point) in ingress.iter().enumerate() {
        let at = index("status.loadBalancer.ingress", i);
        let ip = str_of(point, "ip");
        if !ip.is_empty() {
            causes.extend(field::legacy_ip(&child(&at, "ip"), ip));
        }
        causes.extend(crate::validation::core::service::load_balancer_hostname(
            point, &at,
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::validation::test_support::messages;

    #[test]
    fn ip_blocks_need_strict_subsets() {
        let peer = json!({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24", "10.1.0.0/24", "10.0.0.0/16", "x"]}});
        assert_eq!(
            messages(&network_policy_peer(&peer, "p")),
            vec![
                "p.ipBlock.except[1]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`",
                "p.ipBlock.except[2]: Invalid value: \"10.0.0.0/16\": must be a strict subset of `cidr`",
                "p.ipBlock.except[3]: Invalid value: \"x\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ]
        );
        let both = json!({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}});
        assert_eq!(
            messages(&network_policy_peer(&both, "p")),
            vec!["p: Forbidden: may not specify both ipBlock and another peer"]
        );
    }

    #[test]
    fn port_ranges() {
        let port = json!({"port": 80, "endPort": 79});
        assert_eq!(
            messages(&network_policy_port(&port, "p")),
            vec!["p.endPort: Invalid value: 80: must be greater than or equal to `port`"]
        );
        assert_eq!(
            messages(&network_policy_port(&json!({"endPort": 9}), "p")),
            vec!["p.endPort: Invalid value: 9: may not be specified when `port` is not specified"]
        );
    }

    #[test]
    fn wildcard_hosts_and_paths() {
        let ing = json!({"spec": {"rules": [{"host": "a.*.com", "http": {"paths": [
            {"path": "/a//b", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}});
        let got = messages(&validate_ingress(&ing));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("spec.rules[0].host: Invalid value: \"a.*.com\": a wildcard DNS-1123 subdomain must start with '*.'"), "{got:?}");
        assert_eq!(
            got[1],
            "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"
        );
    }
}
