//! Checks the string formats kube-apiserver 1.37 validates (go-openapi `strfmt.Default` plus the
//! Kubernetes name formats), by their normalised name (dashes removed, as go-openapi does).
//!
//! Where Go relies on a library parser (net.ParseIP, url.ParseRequestURI, mail.ParseAddress), the
//! Rust standard library or a close regular expression stands in.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use regex::Regex;

// Go's regexp (RE2) gives `\d` and `\s` their ASCII meaning, `[0-9]` and `[\t\n\f\r ]`; Rust's
// are Unicode classes, which would accept other scripts' digits and spaces and cost far more to
// compile (`\d{4}` alone was 2 M instructions, once per test process). The patterns below spell
// the ASCII classes out.
macro_rules! re {
    ($name:ident, $pat:expr) => {
        // Patterns are constants, checked by the unit tests below; compiling once per process is
        // the point of the LazyLock.
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pat).expect("constant pattern compiles"));
    };
}

re!(
    UUID,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID3,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID4,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(
    UUID5,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(
    HOSTNAME,
    r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$"
);
re!(
    TIME_PART,
    r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$"
);
re!(DATE, r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$");
re!(SHORT_NAME, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
re!(
    LONG_NAME,
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
);
re!(HEXCOLOR, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
re!(
    RGBCOLOR,
    r"^rgb\([\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*,[\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*,[\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*\)$"
);
re!(SSN, r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$");
re!(BSON, r"^[0-9a-fA-F]{24}$");
re!(
    MAC,
    r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){2}([0-9A-Fa-f]{4})$|^([0-9A-Fa-f]{4}\.){3}([0-9A-Fa-f]{4})$|^([0-9A-Fa-f]{2}[:-]){19}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){4}([0-9A-Fa-f]{4})$"
);
re!(EMAIL, r"^[^@\t\n\f\r <>]+@[^@\t\n\f\r <>]+$");
re!(NAMED_EMAIL, r"^[^<>]*<[^@\t\n\f\r <>]+@[^@\t\n\f\r <>]+>$");
re!(DURATION_PART, r"(([0-9]+)[\t\n\f\r ]*([A-Za-zµ]+))");
re!(
    BASE64,
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
);
re!(
    GO_DURATION,
    r"^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$"
);
re!(
    CREDIT_CARD,
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$"
);

/// Kubernetes short names (DNS-1123 labels) are at most this long.
const SHORT_NAME_MAX: usize = 63;
/// Kubernetes long names (DNS-1123 subdomains) are at most this long.
const LONG_NAME_MAX: usize = 253;
/// Hostnames are at most this long, each label at most 63 (RFC 1034).
const HOSTNAME_MAX: usize = 255;
const HOSTNAME_LABEL_MAX: usize = 63;

/// Whether `s` is valid for `format`; unknown formats pass (the compiler strips them anyway).
pub(crate) fn check(format: &str, s: &str) -> bool {
    match format.replace('-', "").as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => UUID.is_match(s),
        "uuid3" => UUID3.is_match(s),
        "uuid4" => UUID4.is_match(s),
        "uuid5" => UUID5.is_match(s),
        "hostname" => {
            HOSTNAME.is_match(s)
                && s.len() <= HOSTNAME_MAX
                && s.split('.').all(|p| p.len() <= HOSTNAME_LABEL_MAX)
        }
        "ipv4" => parse_ip_sloppy(s).is_some() && s.contains('.'),
        "ipv6" => s.contains(':') && parse_ip_sloppy(s).is_some(),
        "cidr" => is_cidr(s),
        "mac" => MAC.is_match(s),
        "byte" => BASE64.is_match(s),
        "password" => true,
        "email" => EMAIL.is_match(s) || NAMED_EMAIL.is_match(s),
        "uri" => is_request_uri(s),
        "duration" => GO_DURATION.is_match(s) || is_unit_duration(s),
        "bsonobjectid" => BSON.is_match(s),
        "hexcolor" => HEXCOLOR.is_match(s),
        "rgbcolor" => RGBCOLOR.is_match(s),
        "ssn" => SSN.is_match(s),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "k8sshortname" => s.len() <= SHORT_NAME_MAX && SHORT_NAME.is_match(s),
        "k8slongname" => s.len() <= LONG_NAME_MAX && LONG_NAME.is_match(s),
        _ => true,
    }
}

/// `strfmt.IsDate`: Go's `time.Parse("2006-01-02")`, which checks the day exists.
fn is_date(s: &str) -> bool {
    let Some(c) = DATE.captures(s) else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (c[1].parse::<i16>(), c[2].parse::<i8>(), c[3].parse::<i8>())
    else {
        return false;
    };
    jiff::civil::Date::new(y, m, d).is_ok()
}

/// `strfmt.IsDateTime`: a date, a `t`, and a time with a zone, compared case-insensitively.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(c) = TIME_PART.captures(parts[1]) else {
        return false;
    };
    &c[1] <= "23" && &c[2] <= "59" && &c[3] <= "59"
}

/// `netutils.ParseIPSloppy`: like `net.ParseIP`, but IPv4 octets may have leading zeros
/// (read as decimal, as Go before 1.17 did).
fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() != 4 {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (b, o) in bytes.iter_mut().zip(&octets) {
        if o.is_empty() || o.len() > 3 || !o.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *b = o.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(bytes)))
}

/// `netutils.ParseCIDRSloppy`.
fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match parse_ip_sloppy(ip) {
        Some(IpAddr::V4(_)) => bits <= 32,
        Some(IpAddr::V6(_)) => bits <= 128,
        None => false,
    }
}

/// Units of go-openapi's relaxed durations ("3 days", "1 hour"); the last spelling of each may
/// be followed by more letters ("hours").
const DURATION_UNITS: &[&[&str]] = &[
    &["ns", "nano"],
    &["us", "µs", "micro"],
    &["ms", "milli"],
    &["s", "sec"],
    &["m", "min"],
    &["h", "hr", "hour"],
    &["d", "day"],
    &["w", "wk", "week"],
];

/// `strfmt.ParseDuration` after `time.ParseDuration` failed: any `<digits><unit>` anywhere in
/// the string with a known unit makes it valid.
fn is_unit_duration(s: &str) -> bool {
    DURATION_PART.captures_iter(s).any(|c| {
        let unit = c[3].trim().to_lowercase();
        c[2].parse::<i64>().is_ok()
            && DURATION_UNITS.iter().any(|variants| {
                let last = variants.len() - 1;
                variants
                    .iter()
                    .enumerate()
                    .any(|(i, v)| (i == last && unit.starts_with(v)) || unit == *v)
            })
    })
}

/// `url.ParseRequestURI`: an absolute URI with a scheme, or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if s.starts_with('/') {
        return true;
    }
    match s.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn digits_only(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

fn is_isbn10(s: &str) -> bool {
    let d = digits_only(s);
    if d.len() != 10 || !d[..9].chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in d.chars().enumerate() {
        let v = match c {
            'X' if i == 9 => 10,
            c => match c.to_digit(10) {
                Some(v) => v,
                None => return false,
            },
        };
        sum += (i as u32 + 1) * v;
    }
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let d = digits_only(s);
    if d.len() != 13 || !d.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    sum.is_multiple_of(10)
}

/// govalidator's IsCreditCard: digits only after removing everything else, Luhn, and a known prefix.
fn is_credit_card(s: &str) -> bool {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if !CREDIT_CARD.is_match(&d) {
        return false;
    }
    let mut sum = 0;
    let mut double = false;
    for c in d.chars().rev() {
        let mut v = c.to_digit(10).unwrap_or(0);
        if double {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
        double = !double;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("date-time", "2024-01-02T03:04:05Z", true),
            ("date-time", "2024-01-02T03:04:05.123+02:00", true),
            ("date-time", "2024-01-02t03:04:05z", true),
            ("date-time", "2024-02-30T03:04:05Z", false),
            ("date-time", "2024-01-02T24:04:05Z", false),
            ("date-time", "2024-01-02 03:04:05Z", false),
            ("date-time", "yesterday", false),
            ("date", "2024-02-29", true),
            ("date", "2023-02-29", false),
            // Go's `\d` is ASCII: other scripts' digits are not digits to go-openapi.
            ("date", "202\u{0664}-01-01", false),
            ("ssn", "\u{0661}23-45-6789", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
            ("uuid", "not-a-uuid", false),
            ("ipv4", "10.0.0.1", true),
            ("ipv4", "10.0.0", false),
            ("ipv6", "::1", true),
            ("ipv6", "10.0.0.1", false),
            ("cidr", "10.0.0.0/8", true),
            ("cidr", "10.0.0.0/33", false),
            ("byte", "aGVsbG8=", true),
            ("byte", "***", false),
            ("hostname", "example.com", true),
            ("hostname", "-bad", false),
            ("k8s-short-name", "my-name", true),
            ("k8s-short-name", "My_Name", false),
            ("k8s-long-name", "a.b-c.d", true),
            ("uri", "https://example.com/x", true),
            ("uri", "relative/path", false),
            ("duration", "1h30m", true),
            ("duration", "3 days", true),
            ("duration", "soon", false),
            ("duration", "3 bananas", false),
            ("duration", "2 hours", true),
            ("ipv4", "010.000.000.001", true),
            ("ipv4", "::ffff:1.2.3.4", true),
            ("byte", "", false),
            ("email", "John <john@example.com>", true),
            ("email", "john", false),
            ("isbn10", "0321751043", true),
            ("isbn13", "978-0321751041", true),
            ("creditcard", "4111 1111 1111 1111", true),
            ("creditcard", "4111 1111 1111 1112", false),
            ("mac", "01:23:45:67:89:ab", true),
            ("hexcolor", "#FFF", true),
            ("rgbcolor", "rgb(255,255,255)", true),
            ("ssn", "123-45-6789", true),
            ("bsonobjectid", "507f1f77bcf86cd799439011", true),
            ("password", "anything", true),
        ];
        for (format, value, want) in cases {
            assert_eq!(check(format, value), *want, "{format} {value:?}");
        }
    }
}
