//! Builds field errors worded as k8s.io/apimachinery's `field.Error`, and the name and key
//! checks of `k8s.io/apimachinery/pkg/util/validation` they quote.

use serde_json::Value;

use crate::status::Cause;

/// DNS-1123 subdomains are at most this long (RFC 1123).
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// DNS labels (RFC 1123 and RFC 1035) are at most this long.
pub const DNS_LABEL_MAX: usize = 63;
/// Label values and the name part of qualified names are at most this long.
const QUALIFIED_NAME_MAX: usize = 63;
/// IANA service names (named ports) are at most this long.
const PORT_NAME_MAX: usize = 15;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_CASELESS_MSG: &str = "an RFC 1123 subdomain must consist of alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const WILDCARD_DNS1123_SUBDOMAIN_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";
/// The characters of an HTTP path (`validation.httpPathFmt`).
const HTTP_PATH_FMT: &str = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+";
const RELAXED_ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

/// `validation.RegexError`: the message, examples and the regex, exactly as Go joins them.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// `validation.MaxLenError`.
pub fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// A JSON value as `field.Error` prints a bad value: strings quoted, numbers and bools bare.
pub fn render(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Null => "null".into(),
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        other => go_json(other),
    }
}

/// Go's `json.Marshal` of a value, which kube uses to print a composite bad value since 1.34
/// (apimachinery c58e197e, "Nicer value rendering in API errors"). Go escapes `<`, `>`, `&`,
/// U+2028 and U+2029 inside strings (its HTML-safe default); serde_json does not. Those
/// characters can only occur inside JSON strings, so replacing them in the output is exact.
pub fn go_json(v: &Value) -> String {
    let out = v.to_string();
    if !out.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return out;
    }
    let mut escaped = String::with_capacity(out.len());
    for c in out.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The zero value of a Go string field, for [`go_struct`].
pub const GO_EMPTY_STRING: Value = Value::String(String::new());

/// Go's `json.Marshal` of one of kube's internal structs (`pkg/apis/core`), as a bad value of
/// type struct prints: the internal types carry no JSON tags, so every field appears under its
/// Go name, in declaration order, with its zero value when unset. `fields` lists
/// `(Go name, JSON name of the versioned field, zero value)`.
pub fn go_struct(v: &Value, fields: &[(&str, &str, Value)]) -> String {
    let mut out = serde_json::Map::new();
    for (go, json, zero) in fields {
        let value = v.get(*json).filter(|x| !x.is_null()).unwrap_or(zero);
        out.insert((*go).to_owned(), value.clone());
    }
    go_json(&Value::Object(out))
}

/// A `metav1.Time` (`micro` false) or `metav1.MicroTime` as a bad value prints: Go's
/// `json.Marshal` of it (both are json.Marshalers, so `ErrorBody` takes its JSON branch): the
/// quoted RFC 3339 time in UTC, to the second or with six fractional digits, and `null` for the
/// zero time. Unparsable text is printed quoted as it is (the decoder refuses it before
/// validation).
pub fn go_time(text: Option<&str>, micro: bool) -> String {
    let Some(text) = text else {
        return "null".into();
    };
    let Ok(ts) = text.parse::<jiff::Timestamp>() else {
        return quote(text);
    };
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    quote(&ts.strftime(format).to_string())
}

/// Go's `%q` of a string (JSON escaping is the same for the printable ASCII kube names use).
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `field.Invalid` of a `resource.Quantity`: a json.Marshaler, so its quoted canonical form
/// (`"1500m"`, `"1536Mi"`); a value that does not parse as a quantity prints as its JSON.
pub fn invalid_quantity(path: &str, q: &Value, detail: &str) -> Cause {
    match crate::validation::quantity::Quantity::parse(q) {
        Some(parsed) => invalid_str(path, &parsed.canonical(), detail),
        None => invalid(path, q, detail),
    }
}

/// `field.Invalid`.
pub fn invalid(path: &str, value: &Value, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {}: {detail}", render(value)),
    )
}

/// `field.Invalid` of a string value.
pub fn invalid_str(path: &str, value: &str, detail: &str) -> Cause {
    invalid(path, &Value::String(value.to_owned()), detail)
}

/// `field.Required`.
pub fn required(path: &str, detail: &str) -> Cause {
    let message = if detail.is_empty() {
        "Required value".to_owned()
    } else {
        format!("Required value: {detail}")
    };
    Cause::new("FieldValueRequired", path, message)
}

/// `field.Forbidden`.
pub fn forbidden(path: &str, detail: &str) -> Cause {
    Cause::new("FieldValueForbidden", path, format!("Forbidden: {detail}"))
}

/// `field.InternalError(path, err)`: `Internal error: <err>`.
pub fn internal(path: &str, detail: &str) -> Cause {
    Cause::new("InternalError", path, format!("Internal error: {detail}"))
}

/// `field.Duplicate`.
pub fn duplicate(path: &str, value: &Value) -> Cause {
    Cause::new(
        "FieldValueDuplicate",
        path,
        format!("Duplicate value: {}", render(value)),
    )
}

/// `field.NotSupported` with its list of supported values.
pub fn not_supported(path: &str, value: &Value, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    Cause::new(
        "FieldValueNotSupported",
        path,
        format!(
            "Unsupported value: {}: supported values: {}",
            render(value),
            list.join(", ")
        ),
    )
}

/// `field.NotSupported` of a bad value the caller has rendered as kube prints it (a Go struct
/// marshalled with its Go field names, for instance).
pub fn not_supported_go(path: &str, go_value: &str, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    Cause::new(
        "FieldValueNotSupported",
        path,
        format!(
            "Unsupported value: {go_value}: supported values: {}",
            list.join(", ")
        ),
    )
}

/// `field.TooMany(path, actual, max)`: `Too many: 65: must have at most 64 items`.
pub fn too_many(path: &str, actual: usize, max: usize) -> Cause {
    let items = if max == 1 { "item" } else { "items" };
    Cause::new(
        "FieldValueTooMany",
        path,
        format!("Too many: {actual}: must have at most {max} {items}"),
    )
}

/// `field.TooLong` (the value is omitted, as kube does).
pub fn too_long(path: &str, max: usize) -> Cause {
    Cause::new(
        "FieldValueTooLong",
        path,
        format!("Too long: may not be more than {max} bytes"),
    )
}

/// `field.TooLongCharacters` (declarative validation's `maxLength`, which counts characters).
pub fn too_long_chars(path: &str, max: usize) -> Cause {
    let unit = if max == 1 { "character" } else { "characters" };
    Cause::new(
        "FieldValueTooLong",
        path,
        format!("Too long: may not be more than {max} {unit}"),
    )
}

/// `field.Invalid(path, value, "must be greater than or equal to 0")` for a negative number.
pub fn non_negative(path: &str, value: &Value) -> Option<Cause> {
    value
        .as_i64()
        .filter(|n| *n < 0)
        .map(|_| invalid(path, value, IS_NEGATIVE))
}

/// `status.<f>` non-negative for each of `fields`, Go's zero when unset (the replica and
/// disruption counts of the apps, autoscaling and policy status validations).
pub fn non_negative_counts(status: &Value, fields: &[&str], causes: &mut Vec<Cause>) {
    for f in fields {
        let n = status.get(*f).and_then(Value::as_i64).unwrap_or(0);
        causes.extend(non_negative(&format!("status.{f}"), &Value::from(n)));
    }
}

/// apimachinery's `IsNegativeErrorMsg`.
pub const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// Appends `field` to `path` (`spec` + `replicas` → `spec.replicas`).
pub fn child(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `path[i]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `path[key]` (field.Path.Key).
pub fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

fn is_dns_label_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label_part)
}

/// `IsDNS1123Label`.
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS_LABEL_MAX {
        errs.push(max_len_error(DNS_LABEL_MAX));
    }
    if !is_dns_label_part(value) {
        if is_subdomain(value) {
            errs.push("must not contain dots".into());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !is_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            &format!("{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*"),
            &["example.com"],
        ));
    }
    errs
}

/// Declarative validation's `IsDNS1123SubdomainCaseless` (`format=k8s-long-name-caseless`): a
/// DNS subdomain in any case, worded without "lowercase".
pub fn dns1123_subdomain_caseless(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !is_subdomain(&value.to_ascii_lowercase()) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_CASELESS_MSG,
            &format!("{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*"),
            &["Example.com"],
        ));
    }
    errs
}

/// `IsWildcardDNS1123Subdomain` (`*.example.com`: Ingress hosts and TLS hosts).
pub fn wildcard_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !value.strip_prefix("*.").is_some_and(is_subdomain) {
        errs.push(regex_error(
            WILDCARD_DNS1123_SUBDOMAIN_MSG,
            &format!("\\*\\.{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*"),
            &["*.example.com"],
        ));
    }
    errs
}

/// `IsDomainPrefixedPath` at `path` (IngressClass `spec.controller`: `example.com/name`).
pub fn domain_prefixed_path(path: &str, value: &str) -> Vec<Cause> {
    if value.is_empty() {
        return vec![required(path, "")];
    }
    let Some((host, rest)) = value
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty())
    else {
        return vec![invalid_str(
            path,
            value,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        )];
    };
    let mut causes = each(path, host, dns1123_subdomain(host));
    let http_path_char = |c: char| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c);
    if !rest.chars().all(http_path_char) {
        causes.push(invalid_str(
            path,
            rest,
            &regex_error("Invalid path", HTTP_PATH_FMT, &[]),
        ));
    }
    causes
}

/// An IP address as Go's `netutils.ParseIPSloppy` reads it (IPv4 parts may have leading zeros).
pub fn parse_ip(value: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = value.parse() {
        return Some(ip);
    }
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(std::net::IpAddr::from(octets))
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/64`) as `netutils.ParseCIDRSloppy` reads it: the address
/// and the prefix length.
pub fn parse_cidr(value: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, bits) = value.split_once('/')?;
    let ip = parse_ip(ip)?;
    if bits.is_empty() || !bits.bytes().all(|c| c.is_ascii_digit()) || bits.len() > 3 {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

/// The network address of `ip/bits` as a 128-bit number (IPv4 mapped into the low bits).
pub fn network(ip: std::net::IpAddr, bits: u8) -> u128 {
    let (value, width) = match ip {
        std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u8),
        std::net::IpAddr::V6(v6) => (u128::from(v6), 128u8),
    };
    let host_bits = u32::from(width - bits);
    if host_bits >= 128 {
        0
    } else {
        value >> host_bits << host_bits
    }
}

/// kube's message for an IP that does not parse (`IsValidIP`, `IsValidIPForLegacyField`).
pub const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// apimachinery's `IsValidIP` as kube 1.37 runs it for the fields that predate strict IP
/// validation (`IsValidIPForLegacyField` with StrictIPCIDRValidation off): an address
/// `netutils.ParseIPSloppy` reads (IPv4 parts may have leading zeros).
pub fn legacy_ip(path: &str, value: &str) -> Option<Cause> {
    parse_ip(value)
        .is_none()
        .then(|| invalid_str(path, value, INVALID_IP))
}

/// kube's message for a CIDR that does not parse (`IsValidCIDRForLegacyField`).
pub const INVALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// An address as Go's `netip.ParseAddr` reads it: no leading zeros in IPv4 parts.
fn parse_ip_strict(value: &str) -> Option<std::net::IpAddr> {
    value.parse().ok()
}

/// Whether `ip` is an IPv4-mapped IPv6 address (`netip.Addr.Is4In6`).
fn is_4in6(ip: std::net::IpAddr) -> bool {
    matches!(ip, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// apimachinery's `IsValidIP` (`util/validation/ip.go`): parsable, no leading 0s, not
/// IPv4-mapped, and in canonical form. Returns the details only (IPAddress names quote them).
pub fn strict_ip(value: &str) -> Vec<String> {
    let Some(ip) = parse_ip(value) else {
        return vec![INVALID_IP.into()];
    };
    let mut errs = Vec::new();
    let strict = parse_ip_strict(value);
    if strict.is_none() {
        errs.push("must not have leading 0s".into());
    }
    if strict.is_some_and(is_4in6) {
        errs.push("must not be an IPv4-mapped IPv6 address".into());
    }
    if errs.is_empty() && ip.to_string() != value {
        errs.push(format!(
            "must be in canonical form ({})",
            quote(&ip.to_string())
        ));
    }
    errs
}

/// apimachinery's `GetWarningsForIP` (`util/validation/ip.go`) for a field validated with
/// `IsValidIPForLegacyField`: an address with leading 0s or IPv4-mapped will be refused some
/// day (the advice is Go's `net.IP.String()`, the plain IPv4 form of a mapped address); an IPv6
/// address not in RFC 5952 form should be. Nothing for a value that does not parse (the
/// validation reports it).
pub fn ip_warnings(path: &str, value: &str) -> Vec<String> {
    let Some(ip) = parse_ip(value) else {
        return Vec::new();
    };
    let strict = parse_ip_strict(value);
    if strict.is_none_or(is_4in6) {
        let preferred = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        return vec![format!(
            "{path}: non-standard IP address {} will be considered invalid in a future Kubernetes release: use {}",
            quote(value),
            quote(&preferred)
        )];
    }
    if ip.is_ipv6() && ip.to_string() != value {
        return vec![format!(
            "{path}: IPv6 address {} should be in RFC 5952 canonical format ({})",
            quote(value),
            quote(&ip.to_string())
        )];
    }
    Vec::new()
}

/// apimachinery's `GetWarningsForCIDR` (`util/validation/ip.go`) for a field validated with
/// `IsValidCIDRForLegacyField`: bits set past the prefix length (ambiguous: the network or the
/// single address?), leading 0s or an IPv4-mapped address (refused some day; the advice is the
/// network in Go's form), else an IPv6 CIDR not in RFC 5952 form. Nothing for a value that does
/// not parse (the validation reports it).
pub fn cidr_warnings(path: &str, value: &str) -> Vec<String> {
    let Some((ip, bits)) = parse_cidr(value) else {
        return Vec::new();
    };
    // Go's net.IPNet of an IPv4-mapped address is IPv4 (4-byte IP, 32-bit mask).
    let (ip, bits) = match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && bits >= 96 => (
            std::net::IpAddr::V4(
                v6.to_ipv4_mapped()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            ),
            bits - 96,
        ),
        other => (other, bits),
    };
    let net = network(ip, bits);
    let net_ip = match ip {
        std::net::IpAddr::V4(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::from(net as u32)),
        std::net::IpAddr::V6(_) => std::net::IpAddr::V6(std::net::Ipv6Addr::from(net)),
    };
    let ipnet = format!("{net_ip}/{bits}");
    let mut warnings = Vec::new();
    if net_ip != ip {
        let width = if ip.is_ipv4() { 32 } else { 128 };
        warnings.push(format!(
            "{path}: CIDR value {} is ambiguous in this context (should be {} or {}?)",
            quote(value),
            quote(&ipnet),
            quote(&format!("{ip}/{width}"))
        ));
    }
    let strict = value
        .split_once('/')
        .and_then(|(addr, _)| parse_ip_strict(addr));
    if strict.is_none_or(is_4in6) {
        warnings.push(format!(
            "{path}: non-standard CIDR value {} will be considered invalid in a future Kubernetes release: use {}",
            quote(value),
            quote(&ipnet)
        ));
    }
    if warnings.is_empty()
        && let Some(std::net::IpAddr::V6(v6)) = strict
    {
        let canonical = format!("{v6}/{bits}");
        if canonical != value {
            warnings.push(format!(
                "{path}: IPv6 CIDR value {} should be in RFC 5952 canonical format ({})",
                quote(value),
                quote(&canonical)
            ));
        }
    }
    warnings
}

/// apimachinery's `IsValidCIDR` (strict, `subnet/mask` form): parsable, no leading 0s, not
/// IPv4-mapped, no bits past the prefix, and canonical.
pub fn strict_cidr(path: &str, value: &str) -> Vec<Cause> {
    let Some((ip, bits)) = parse_cidr(value) else {
        return vec![invalid_str(path, value, INVALID_CIDR)];
    };
    let (addr, prefix) = value.split_once('/').unwrap_or((value, ""));
    // netip.ParsePrefix refuses leading 0s in the address and in the prefix length.
    let strict = parse_ip_strict(addr).filter(|_| prefix == "0" || !prefix.starts_with('0'));
    let detail = match strict {
        None => Some("must not have leading 0s in IP or prefix length"),
        Some(a) if is_4in6(a) => Some("must not have an IPv4-mapped IPv6 address"),
        Some(a) if network(a, bits) != network(a, if a.is_ipv4() { 32 } else { 128 }) => {
            Some("must not have bits set beyond the prefix length")
        }
        Some(_) => None,
    };
    if let Some(detail) = detail {
        return vec![invalid_str(path, value, detail)];
    }
    let canonical = format!("{ip}/{bits}");
    if canonical != value {
        return vec![invalid_str(
            path,
            value,
            &format!("must be in canonical form ({})", quote(&canonical)),
        )];
    }
    Vec::new()
}

/// The family of a CIDR as `netutils.ParseCIDRSloppy` reads it (IPv4-mapped counts as IPv4).
pub fn cidr_is_ipv4(value: &str) -> Option<bool> {
    parse_cidr(value).map(|(ip, _)| family_is_ipv4(ip))
}

/// The family `netutils` gives an address: IPv4, IPv4-mapped IPv6 included.
pub fn family_is_ipv4(ip: std::net::IpAddr) -> bool {
    ip.is_ipv4() || is_4in6(ip)
}

/// `IsDNS1035Label` (Service names).
pub fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS_LABEL_MAX {
        errs.push(max_len_error(DNS_LABEL_MAX));
    }
    if !(is_dns_label_part(value) && value.as_bytes()[0].is_ascii_lowercase()) {
        errs.push(regex_error(
            DNS1035_LABEL_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `path.IsValidPathSegmentName` (RBAC names and others).
pub fn path_segment_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value == "." || value == ".." {
        return vec![format!("may not be '{value}'")];
    }
    for illegal in ["/", "%"] {
        if value.contains(illegal) {
            errs.push(format!("may not contain '{illegal}'"));
        }
    }
    errs
}

fn is_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// `IsQualifiedName` (label keys, annotation keys, finalizers).
pub fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".into());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !is_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_MSG,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`.
pub fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > QUALIFIED_NAME_MAX {
        errs.push(max_len_error(QUALIFIED_NAME_MAX));
    }
    if !(value.is_empty() || is_label_key_name(value)) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            &format!("({LABEL_KEY_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn chdir_prefix(value: &str) -> Option<String> {
    match value {
        "." => Some("must not be '.'".into()),
        ".." => Some("must not be '..'".into()),
        v if v.starts_with("..") => Some("must not start with '..'".into()),
        _ => None,
    }
}

/// `IsConfigMapKey` (ConfigMap and Secret keys).
pub fn config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !ok {
        errs.push(regex_error(
            CONFIG_KEY_MSG,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(chdir_prefix(value));
    errs
}

/// `IsRelaxedEnvVarName` (RelaxedEnvironmentVariableValidation is GA): printable ASCII but `=`.
pub fn env_var_name(value: &str) -> Vec<String> {
    if value.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        return vec![RELAXED_ENV_NAME_MSG.into()];
    }
    Vec::new()
}

/// `IsValidPortName` (IANA service names).
pub fn port_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > PORT_NAME_MAX {
        errs.push(max_len_error(PORT_NAME_MAX));
    }
    if !value
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !value.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if value.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if value.starts_with('-') || value.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// `IsValidPortNum` for a JSON number.
pub fn port_number(path: &str, value: &Value) -> Option<Cause> {
    let n = value.as_i64().unwrap_or(0);
    (!(1..=65535).contains(&n))
        .then(|| invalid(path, value, "must be between 1 and 65535, inclusive"))
}

/// One `field.Invalid` per message of a string check.
pub fn each(path: &str, value: &str, messages: Vec<String>) -> Vec<Cause> {
    messages
        .into_iter()
        .map(|m| invalid_str(path, value, &m))
        .collect()
}

/// A string field of `v` ("" when absent or not a string).
pub fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

/// An array field of `v` (empty when absent).
pub fn arr_of<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// An object field of `v`, if present.
pub fn obj_of<'a>(v: &'a Value, field: &str) -> Option<&'a serde_json::Map<String, Value>> {
    v.get(field).and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    /// `TestGetWarningsForCIDR` (apimachinery util/validation/ip_test.go).
    #[test]
    fn cidr_warnings_word_as_kube() {
        let p = "spec.loadBalancerSourceRanges[0]";
        assert!(cidr_warnings(p, "192.12.2.0/24").is_empty());
        assert!(cidr_warnings(p, "2001:db8::/64").is_empty());
        assert!(cidr_warnings(p, "not a cidr").is_empty());
        assert_eq!(
            cidr_warnings(p, "192.12.2.8/24"),
            [
                "spec.loadBalancerSourceRanges[0]: CIDR value \"192.12.2.8/24\" is ambiguous in this context (should be \"192.12.2.0/24\" or \"192.12.2.8/32\"?)"
            ]
        );
        assert_eq!(
            cidr_warnings(p, "192.012.2.0/24"),
            [
                "spec.loadBalancerSourceRanges[0]: non-standard CIDR value \"192.012.2.0/24\" will be considered invalid in a future Kubernetes release: use \"192.12.2.0/24\""
            ]
        );
        assert_eq!(
            cidr_warnings(p, "::ffff:192.12.2.0/120"),
            [
                "spec.loadBalancerSourceRanges[0]: non-standard CIDR value \"::ffff:192.12.2.0/120\" will be considered invalid in a future Kubernetes release: use \"192.12.2.0/24\""
            ]
        );
        assert_eq!(
            cidr_warnings(p, "2001:db8:0:0::/64"),
            [
                "spec.loadBalancerSourceRanges[0]: IPv6 CIDR value \"2001:db8:0:0::/64\" should be in RFC 5952 canonical format (\"2001:db8::/64\")"
            ]
        );
        // Both at once: bits past the prefix and leading 0s; no canonical-form warning then.
        assert_eq!(cidr_warnings(p, "192.012.2.8/24").len(), 2);
    }

    /// `TestGetWarningsForIP` (apimachinery util/validation/ip_test.go).
    #[test]
    fn ip_warnings_word_as_kube() {
        let p = "spec.clusterIPs[0]";
        assert!(ip_warnings(p, "192.12.2.2").is_empty());
        assert!(ip_warnings(p, "2001:db8::2").is_empty());
        assert!(ip_warnings(p, "not an ip").is_empty());
        assert_eq!(
            ip_warnings(p, "192.012.2.2"),
            [
                "spec.clusterIPs[0]: non-standard IP address \"192.012.2.2\" will be considered invalid in a future Kubernetes release: use \"192.12.2.2\""
            ]
        );
        assert_eq!(
            ip_warnings(p, "::ffff:192.12.2.2"),
            [
                "spec.clusterIPs[0]: non-standard IP address \"::ffff:192.12.2.2\" will be considered invalid in a future Kubernetes release: use \"192.12.2.2\""
            ]
        );
        assert_eq!(
            ip_warnings("spec.loadBalancerIP", "2001:db8:0:0::2"),
            [
                "spec.loadBalancerIP: IPv6 address \"2001:db8:0:0::2\" should be in RFC 5952 canonical format (\"2001:db8::2\")"
            ]
        );
    }

    use super::*;

    #[test]
    fn config_key_message_is_kubes() {
        assert_eq!(
            config_map_key("a b"),
            vec![
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ]
        );
        assert_eq!(config_map_key("..a"), vec!["must not start with '..'"]);
    }

    #[test]
    fn go_json_escapes_what_go_escapes_in_strings_only() {
        let v = serde_json::json!({"a<b": "x>&y\u{2028}z\u{2029}", "n": [1, true, null]});
        assert_eq!(
            go_json(&v),
            r#"{"a\u003cb":"x\u003e\u0026y\u2028z\u2029","n":[1,true,null]}"#
        );
        assert_eq!(render(&serde_json::json!(["<"])), r#"["\u003c"]"#);
        // Strings alone are Go's %q, not JSON: no HTML escaping.
        assert_eq!(render(&serde_json::json!("<")), r#""<""#);
    }

    #[test]
    fn names() {
        assert!(dns1123_subdomain("a.b-c").is_empty());
        assert_eq!(dns1123_label("a.b"), vec!["must not contain dots"]);
        assert_eq!(dns1035_label("1a").len(), 1);
        assert!(qualified_name("example.com/x_y").is_empty());
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert_eq!(qualified_name("/x"), vec!["prefix part must be non-empty"]);
        assert_eq!(
            path_segment_name("a/b%"),
            vec!["may not contain '/'", "may not contain '%'"]
        );
        assert_eq!(port_name("HTTP").len(), 2);
        assert!(env_var_name("1A").is_empty());
        assert_eq!(env_var_name("A=B").len(), 1);
    }
}
