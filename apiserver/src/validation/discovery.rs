//! Validates EndpointSlices as kube's `pkg/apis/discovery/validation`: the address type (fixed
//! once created), each endpoint's addresses for that type (no unspecified, loopback or
//! link-local IPs) and hostname, and the ports (DNS-label names, unique; protocol; appProtocol).
//!
//! Not modelled: FQDN address format, zone hints, the endpoint, address and port counts.

use serde_json::Value;

use super::field::{self, arr_of, child, index, str_of};
use crate::status::Cause;

/// `addressType` values of new slices, sorted as kube lists them.
pub const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
/// Port protocols, sorted as kube lists them.
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// `ValidateNonSpecialIP` of a parsed address: one a Service may route to (Endpoints use it too).
pub(crate) fn non_special_ip(ip: std::net::IpAddr, text: &str, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (loopback, link_local, link_local_multicast) = match ip {
        std::net::IpAddr::V4(v4) => (
            v4.is_loopback(),
            v4.is_link_local(),
            v4.octets()[..3] == [224, 0, 0],
        ),
        std::net::IpAddr::V6(v6) => {
            let seg = v6.segments();
            (
                v6.is_loopback(),
                seg[0] & 0xffc0 == 0xfe80,
                seg[0] & 0xff0f == 0xff02,
            )
        }
    };
    if ip.is_unspecified() {
        causes.push(field::invalid_str(
            path,
            text,
            &format!("may not be unspecified ({text})"),
        ));
    }
    if loopback {
        causes.push(field::invalid_str(
            path,
            text,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if link_local {
        causes.push(field::invalid_str(
            path,
            text,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if link_local_multicast {
        causes.push(field::invalid_str(
            path,
            text,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    causes
}

/// One address of an IPv4 or IPv6 slice.
fn address(text: &str, v4: bool, path: &str) -> Vec<Cause> {
    match field::parse_ip(text) {
        Some(ip) if ip.is_ipv4() == v4 => non_special_ip(ip, text, path),
        _ => vec![field::invalid_str(
            path,
            text,
            if v4 {
                "must be a valid IPv4 address"
            } else {
                "must be a valid IPv6 address"
            },
        )],
    }
}

/// `ValidateEndpointSlice` (without ObjectMeta).
pub fn validate_endpoint_slice(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ty = str_of(obj, "addressType");
    if ty.is_empty() {
        causes.push(field::required("addressType", ""));
    } else if !ADDRESS_TYPES.contains(&ty) {
        causes.push(field::not_supported(
            "addressType",
            &Value::String(ty.to_owned()),
            &ADDRESS_TYPES,
        ));
    }
    for (i, e) in arr_of(obj, "endpoints").iter().enumerate() {
        let at = index("endpoints", i);
        let addresses_at = child(&at, "addresses");
        let addresses = arr_of(e, "addresses");
        if addresses.is_empty() {
            causes.push(field::required(
                &addresses_at,
                "must contain at least 1 address",
            ));
        }
        if matches!(ty, "IPv4" | "IPv6") {
            for (j, a) in addresses.iter().enumerate() {
                causes.extend(address(
                    a.as_str().unwrap_or_default(),
                    ty == "IPv4",
                    &index(&addresses_at, j),
                ));
            }
        }
        if let Some(host) = e.get("hostname").and_then(Value::as_str) {
            causes.extend(field::each(
                &child(&at, "hostname"),
                host,
                field::dns1123_label(host),
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, p) in arr_of(obj, "ports").iter().enumerate() {
        let at = index("ports", i);
        let name = str_of(p, "name");
        if !name.is_empty() {
            causes.extend(field::each(
                &child(&at, "name"),
                name,
                field::dns1123_label(name),
            ));
        }
        if !names.insert(name) {
            causes.push(field::duplicate(
                &child(&at, "name"),
                &Value::String(name.to_owned()),
            ));
        }
        match p.get("protocol").filter(|v| !v.is_null()) {
            None => causes.push(field::required(&child(&at, "protocol"), "")),
            Some(proto) if !proto.as_str().is_some_and(|s| PROTOCOLS.contains(&s)) => causes.push(
                field::not_supported(&child(&at, "protocol"), proto, &PROTOCOLS),
            ),
            Some(_) => {}
        }
        if let Some(app) = p.get("appProtocol").and_then(Value::as_str) {
            causes.extend(field::each(
                &child(&at, "appProtocol"),
                app,
                field::qualified_name(app),
            ));
        }
    }
    causes
}

/// `ValidateEndpointSliceUpdate`: the create rules and an immutable `addressType`.
pub fn validate_endpoint_slice_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_endpoint_slice(new);
    let ty = str_of(new, "addressType");
    if ty != str_of(old, "addressType") {
        causes.push(field::invalid_str("addressType", ty, "field is immutable"));
    }
    causes
}
