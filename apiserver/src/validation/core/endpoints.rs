//! Endpoints validation, as kube's `pkg/apis/core/validation/validation.go`
//! (`ValidateEndpointsCreate`, `ValidateEndpointsUpdate`: the same rules on both): each subset
//! has addresses (ready or not); each address is an IP (`IsValidIP`) that a Service may route
//! to (`ValidateNonSpecialIP`: not unspecified, loopback or link-local), with a DNS-label
//! hostname and a DNS-subdomain node name; ports have DNS-label names (required when there are
//! several), numbers, protocols and qualified-name app protocols.
//!
//! Not modelled: the warnings kube adds for IPs in non-canonical forms (`GetWarningsForIP`).

use serde_json::Value;

use crate::status::Cause;
use crate::validation::core::pod::PROTOCOLS;
use crate::validation::discovery::non_special_ip;
use crate::validation::field::{self, arr_of, child, index, str_of};

/// `validateEndpointAddress`.
fn address(a: &Value, path: &str) -> Vec<Cause> {
    let ip_path = child(path, "ip");
    let ip = str_of(a, "ip");
    let parsed = field::parse_ip(ip);
    let mut causes = Vec::new();
    if parsed.is_none() {
        causes.push(field::invalid_str(&ip_path, ip, field::INVALID_IP));
    }
    let host = str_of(a, "hostname");
    if !host.is_empty() {
        causes.extend(field::each(
            &child(path, "hostname"),
            host,
            field::dns1123_label(host),
        ));
    }
    if let Some(node) = a.get("nodeName").and_then(Value::as_str) {
        causes.extend(field::each(
            &child(path, "nodeName"),
            node,
            field::dns1123_subdomain(node),
        ));
    }
    match parsed {
        None => causes.push(field::invalid_str(
            &ip_path,
            ip,
            "must be a valid IP address",
        )),
        Some(parsed) => causes.extend(non_special_ip(parsed, ip, &ip_path)),
    }
    causes
}

/// `validateEndpointPort`.
fn port(p: &Value, require_name: bool, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_of(p, "name");
    if require_name && name.is_empty() {
        causes.push(field::required(&child(path, "name"), ""));
    } else if !name.is_empty() {
        causes.extend(field::each(
            &child(path, "name"),
            name,
            field::dns1123_label(name),
        ));
    }
    let number = p.get("port").filter(|v| !v.is_null()).cloned();
    causes.extend(field::port_number(
        &child(path, "port"),
        &number.unwrap_or(Value::from(0)),
    ));
    match p.get("protocol").and_then(Value::as_str).unwrap_or("") {
        "" => causes.push(field::required(&child(path, "protocol"), "")),
        proto if !PROTOCOLS.contains(&proto) => causes.push(field::not_supported(
            &child(path, "protocol"),
            &Value::String(proto.to_owned()),
            &PROTOCOLS,
        )),
        _ => {}
    }
    if let Some(app) = p.get("appProtocol").and_then(Value::as_str) {
        causes.extend(field::each(
            &child(path, "appProtocol"),
            app,
            field::qualified_name(app),
        ));
    }
    causes
}

/// `ValidateEndpoints` (without ObjectMeta): the subsets.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (i, subset) in arr_of(obj, "subsets").iter().enumerate() {
        let at = index("subsets", i);
        let (ready, not_ready) = (
            arr_of(subset, "addresses"),
            arr_of(subset, "notReadyAddresses"),
        );
        if ready.is_empty() && not_ready.is_empty() {
            causes.push(field::required(
                &at,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (list, items) in [("addresses", ready), ("notReadyAddresses", not_ready)] {
            for (j, a) in items.iter().enumerate() {
                causes.extend(address(a, &index(&child(&at, list), j)));
            }
        }
        let ports = arr_of(subset, "ports");
        for (j, p) in ports.iter().enumerate() {
            causes.extend(port(p, ports.len() > 1, &index(&child(&at, "ports"), j)));
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::test_support::messages;

    #[test]
    fn subsets_addresses_and_ports() {
        let ep = json!({"subsets": [
            {},
            {"addresses": [{"ip": "127.0.0.1", "hostname": "A"}, {"ip": "x"}],
             "ports": [{"port": 0, "protocol": "XTP"}, {"name": "b", "port": 80, "protocol": "TCP"}]}
        ]});
        assert_eq!(
            messages(&validate(&ep)),
            vec![
                "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[1].addresses[0].hostname: Invalid value: \"A\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "subsets[1].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "subsets[1].addresses[1].ip: Invalid value: \"x\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[1].addresses[1].ip: Invalid value: \"x\": must be a valid IP address",
                "subsets[1].ports[0].name: Required value",
                "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "subsets[1].ports[0].protocol: Unsupported value: \"XTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
        assert!(validate(&json!({"subsets": [1, null]})).len() == 2);
    }
}
