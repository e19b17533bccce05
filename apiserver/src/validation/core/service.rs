//! Service validation (kube's `ValidateService`, `ValidateServiceUpdate`): ports (names, numbers,
//! protocols, target ports, node ports in the default range), selector, type, externalName,
//! and a clusterIP that may not change once set; and the load-balancer status of its `/status`
//! writes (`ValidateServiceStatusUpdate`).

use std::collections::HashSet;

use serde_json::Value;

use crate::status::Cause;
use crate::validation::core::pod::PROTOCOLS;
use crate::validation::field::{self, arr_of, child, index, str_of};
use crate::validation::objectmeta;

/// `LoadBalancerIngress.ipMode` values (sorted, as kube lists them).
pub const LOAD_BALANCER_IP_MODES: [&str; 2] = ["Proxy", "VIP"];

/// Service types (sorted, as kube lists them).
pub const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

pub fn validate(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    let ty = spec.get("type").filter(|v| !v.is_null());
    if let Some(t) = ty
        && !t.as_str().is_some_and(|s| SERVICE_TYPES.contains(&s))
    {
        causes.push(field::not_supported("spec.type", t, &SERVICE_TYPES));
    }
    let external = ty.and_then(Value::as_str) == Some("ExternalName");
    if external && str_of(spec, "externalName").is_empty() {
        causes.push(field::required("spec.externalName", ""));
    }
    let ports = arr_of(spec, "ports");
    if ports.is_empty() && str_of(spec, "clusterIP") != "None" && !external {
        causes.push(field::required("spec.ports", ""));
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let at = index("spec.ports", i);
        let name = str_of(p, "name");
        if ports.len() > 1 && name.is_empty() {
            causes.push(field::required(&child(&at, "name"), ""));
        } else if !name.is_empty() {
            let errs = field::dns1123_label(name);
            if errs.is_empty() && !names.insert(name.to_owned()) {
                causes.push(field::duplicate(
                    &child(&at, "name"),
                    &Value::String(name.into()),
                ));
            }
            causes.extend(field::each(&child(&at, "name"), name, errs));
        }
        match p.get("port") {
            None | Some(Value::Null) => {
                causes.extend(field::port_number(&child(&at, "port"), &Value::from(0)))
            }
            Some(v) => causes.extend(field::port_number(&child(&at, "port"), v)),
        }
        if let Some(proto) = p.get("protocol").filter(|v| !v.is_null())
            && !proto.as_str().is_some_and(|s| PROTOCOLS.contains(&s))
        {
            causes.push(field::not_supported(
                &child(&at, "protocol"),
                proto,
                &PROTOCOLS,
            ));
        }
        match p.get("targetPort") {
            Some(Value::String(s)) => {
                causes.extend(field::each(
                    &child(&at, "targetPort"),
                    s,
                    field::port_name(s),
                ));
            }
            Some(v @ Value::Number(n)) if n.as_i64() != Some(0) => {
                causes.extend(field::port_number(&child(&at, "targetPort"), v));
            }
            _ => {}
        }
        // Whether a node port is in the server's range is the allocator's to say
        // (`crate::registry::ipalloc`, with the configured range), as in kube.
        if p.get("nodePort")
            .is_some_and(|v| v.as_i64().is_some_and(|n| n != 0))
            && ty.and_then(Value::as_str).is_none_or(|t| t == "ClusterIP")
        {
            causes.push(field::forbidden(
                &child(&at, "nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
    }
    causes.extend(objectmeta::labels(spec.get("selector"), "spec.selector"));
    causes
}

pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate(new);
    let ip = |v: &Value| {
        v.pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (n, o) = (ip(new), ip(old));
    let ty = |v: &Value| {
        v.pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    // kube keeps an allocated clusterIP unless the service becomes an ExternalName.
    if !o.is_empty() && !n.is_empty() && n != o && ty(new) != "ExternalName" {
        causes.push(field::invalid_str(
            "spec.clusterIPs[0]",
            &n,
            "may not change once set",
        ));
    }
    causes
}

/// `ValidateServiceStatusUpdate` after ObjectMeta: `ValidateLoadBalancerStatus` of
/// `status.loadBalancer`. Ingress points only for LoadBalancer Services
/// (AllowServiceLBStatusOnNonLB is off in 1.37); each one's IP valid, an `ipMode` exactly when
/// there is an IP (LoadBalancerIPMode is GA; defaulting sets `VIP` for LoadBalancer Services),
/// and its hostname a DNS name.
pub fn validate_status_update(new: &Value) -> Vec<Cause> {
    let path = "status.loadBalancer.ingress";
    let ingress = new
        .pointer("/status/loadBalancer")
        .map_or(&[][..], |lb| arr_of(lb, "ingress"));
    let ty = new.pointer("/spec/type").and_then(Value::as_str);
    if ty != Some("LoadBalancer") && !ingress.is_empty() {
        return vec![field::forbidden(
            path,
            "may only be used when `spec.type` is 'LoadBalancer'",
        )];
    }
    let mut causes = Vec::new();
    for (i, point) in ingress.iter().enumerate() {
        let at = index(path, i);
        let ip = str_of(point, "ip");
        if !ip.is_empty() {
            causes.extend(field::legacy_ip(&child(&at, "ip"), ip));
        }
        let mode = point.get("ipMode").filter(|m| !m.is_null());
        match mode {
            None if !ip.is_empty() => causes.push(field::required(
                &child(&at, "ipMode"),
                "must be specified when `ip` is set",
            )),
            Some(_) if ip.is_empty() => causes.push(field::forbidden(
                &child(&at, "ipMode"),
                "may not be specified when `ip` is not set",
            )),
            Some(m)
                if !m
                    .as_str()
                    .is_some_and(|m| LOAD_BALANCER_IP_MODES.contains(&m)) =>
            {
                causes.push(field::not_supported(
                    &child(&at, "ipMode"),
                    m,
                    &LOAD_BALANCER_IP_MODES,
                ));
            }
            _ => {}
        }
        causes.extend(load_balancer_hostname(point, &at));
    }
    causes
}

/// The hostname of a load-balancer ingress point at `at`, a Service's or an Ingress's: a DNS
/// subdomain that is not an IP address.
pub fn load_balancer_hostname(point: &Value, at: &str) -> Vec<Cause> {
    let host = str_of(point, "hostname");
    if host.is_empty() {
        return Vec::new();
    }
    let at = child(at, "hostname");
    let mut causes = field::each(&at, host, field::dns1123_subdomain(host));
    if field::parse_ip(host).is_some() {
        causes.push(field::invalid_str(
            &at,
            host,
            "must be a DNS name, not an IP address",
        ));
    }
    causes
}
