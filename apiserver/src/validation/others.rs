//! Smaller types' validation: coordination Lease, policy PodDisruptionBudget, networking
//! Ingress and NetworkPolicy basics.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use super::selector;
use crate::status::Cause;

/// NetworkPolicy policyTypes, in kube's order.
pub const POLICY_TYPES: [&str; 2] = ["Ingress", "Egress"];
/// Ingress pathType values, in kube's order.
pub const PATH_TYPES: [&str; 3] = ["Exact", "ImplementationSpecific", "Prefix"];

/// `ValidateLeaseSpec`.
pub fn validate_lease(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(v) = obj.pointer("/spec/leaseDurationSeconds")
        && v.as_i64().is_some_and(|n| n <= 0)
    {
        causes.push(field::invalid(
            "spec.leaseDurationSeconds",
            v,
            "must be greater than 0",
        ));
    }
    if let Some(v) = obj.pointer("/spec/leaseTransitions") {
        causes.extend(field::non_negative("spec.leaseTransitions", v));
    }
    causes
}

/// `ValidatePodDisruptionBudgetSpec`.
pub fn validate_pdb(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    let set = |f: &str| spec.get(f).filter(|v| !v.is_null());
    if let (Some(min), Some(_)) = (set("minAvailable"), set("maxUnavailable")) {
        causes.push(field::invalid(
            "spec.minAvailable",
            min,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for f in ["minAvailable", "maxUnavailable"] {
        if let Some(v) = set(f) {
            let at = child("spec", f);
            match v {
                Value::Number(_) => causes.extend(field::non_negative(&at, v)),
                Value::String(s) => match s.strip_suffix('%').map(str::parse::<i64>) {
                    Some(Ok(p)) if (0..=100).contains(&p) => {}
                    Some(Ok(_)) => causes.push(field::invalid(&at, v, "must not be greater than 100%")),
                    _ => causes.push(field::invalid(
                        &at,
                        v,
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    )),
                },
                _ => {}
            }
        }
    }
    if let Some(s) = spec.get("selector").filter(|s| !s.is_null()) {
        causes.extend(selector::validate(s, "spec.selector"));
    }
    causes
}

/// NetworkPolicy basics: podSelector, peer selectors, ports and policyTypes.
pub fn validate_network_policy(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    if let Some(s) = spec.get("podSelector") {
        causes.extend(selector::validate(s, "spec.podSelector"));
    }
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr_of(spec, dir).iter().enumerate() {
            let at = index(&child("spec", dir), i);
            for (j, port) in arr_of(rule, "ports").iter().enumerate() {
                let pat = index(&child(&at, "ports"), j);
                if let Some(proto) = port.get("protocol").filter(|v| !v.is_null())
                    && !proto
                        .as_str()
                        .is_some_and(|s| super::core::pod::PROTOCOLS.contains(&s))
                {
                    causes.push(field::not_supported(
                        &child(&pat, "protocol"),
                        proto,
                        &super::core::pod::PROTOCOLS,
                    ));
                }
                match port.get("port") {
                    Some(v @ Value::Number(_)) => {
                        causes.extend(field::port_number(&child(&pat, "port"), v))
                    }
                    Some(Value::String(s)) => {
                        causes.extend(field::each(&child(&pat, "port"), s, field::port_name(s)));
                    }
                    _ => {}
                }
            }
            for (j, peer) in arr_of(rule, peers).iter().enumerate() {
                let pat = index(&child(&at, peers), j);
                let set = ["podSelector", "namespaceSelector", "ipBlock"]
                    .iter()
                    .filter(|f| peer.get(**f).is_some_and(|v| !v.is_null()))
                    .count();
                if set == 0 {
                    causes.push(field::required(&pat, "must specify a peer"));
                }
                for f in ["podSelector", "namespaceSelector"] {
                    if let Some(s) = peer.get(f).filter(|v| !v.is_null()) {
                        causes.extend(selector::validate(s, &child(&pat, f)));
                    }
                }
            }
        }
    }
    for (i, t) in arr_of(spec, "policyTypes").iter().enumerate() {
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

/// Ingress basics: every path's pathType and backend.
pub fn validate_ingress(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut causes = Vec::new();
    for (i, rule) in arr_of(spec, "rules").iter().enumerate() {
        let at = index("spec.rules", i);
        let host = str_of(rule, "host");
        if !host.is_empty() {
            let checked = host.strip_prefix("*.").unwrap_or(host);
            causes.extend(field::each(
                &child(&at, "host"),
                host,
                field::dns1123_subdomain(checked),
            ));
        }
        for (j, path) in arr_of(rule.get("http").unwrap_or(&null), "paths")
            .iter()
            .enumerate()
        {
            let pat = index(&child(&at, "http.paths"), j);
            match path.get("pathType").filter(|v| !v.is_null()) {
                None => causes.push(field::required(
                    &child(&pat, "pathType"),
                    "pathType must be specified",
                )),
                Some(t) if !t.as_str().is_some_and(|s| PATH_TYPES.contains(&s)) => {
                    causes.push(field::not_supported(
                        &child(&pat, "pathType"),
                        t,
                        &PATH_TYPES,
                    ));
                }
                Some(t) => {
                    let p = str_of(path, "path");
                    if t.as_str() != Some("ImplementationSpecific") && !p.starts_with('/') {
                        causes.push(field::invalid_str(
                            &child(&pat, "path"),
                            p,
                            "must be an absolute path",
                        ));
                    }
                }
            }
        }
    }
    causes
}
