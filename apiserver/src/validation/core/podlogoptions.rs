//! Decodes and validates `PodLogOptions`, the query of `pods/log`, as kube-apiserver does before
//! it looks the pod up: the parameter codec converts each query value (`strconv.ParseInt` for
//! the counts, `time.Parse(time.RFC3339, ...)` for `sinceTime`; a value that does not convert is
//! a 400 with Go's error text), then `LogREST.Get` runs `ValidatePodLogOptions` (422 Invalid,
//! kind `PodLogOptions`).
//!
//! `stream` (feature gate `PodLogsQuerySplitStreams`, alpha and off by default) is not decoded:
//! with the gate off kube does not use it either. Booleans (`follow`, `previous`, `timestamps`,
//! `insecureSkipTLSVerifyBackend`) never fail to convert in kube (anything but `0`/`false` is
//! true), so they are not read here.

use serde_json::Value;

use super::super::field::{self, IS_NEGATIVE};
use crate::status::{ApiError, Cause};

/// The options `pods/log` validates (the ones whose conversion or rules can fail).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PodLogOptions {
    pub container: String,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
    pub since_seconds: Option<i64>,
    /// Present when the query names `sinceTime` (even empty: kube's conversion then gives a
    /// zero time, which still counts as set).
    pub since_time: Option<String>,
}

/// The first value of `name`, as Go's `url.Values` conversion reads it.
fn first<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `strconv.ParseInt(s, 10, 64)` with Go's error text.
fn parse_int(s: &str) -> Result<i64, ApiError> {
    use std::num::IntErrorKind;
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        ApiError::bad_request(format!(
            "strconv.ParseInt: parsing {}: {why}",
            go_quote(s.as_bytes())
        ))
    })
}

/// The parameter codec's conversion of a `pods/log` query (`Convert_url_Values_To_v1_PodLogOptions`).
pub fn decode(q: &[(String, String)]) -> Result<PodLogOptions, ApiError> {
    let int = |name: &str| first(q, name).map(parse_int).transpose();
    let since_time = match first(q, "sinceTime") {
        // `metav1.Time.UnmarshalQueryParameter`: empty and "null" are the zero time.
        Some(s) if s.is_empty() || s == "null" => Some(String::new()),
        Some(s) => {
            parse_rfc3339(s.as_bytes()).map_err(ApiError::bad_request)?;
            Some(s.to_owned())
        }
        None => None,
    };
    Ok(PodLogOptions {
        container: first(q, "container").unwrap_or("").to_owned(),
        tail_lines: int("tailLines")?,
        limit_bytes: int("limitBytes")?,
        since_seconds: int("sinceSeconds")?,
        since_time,
    })
}

/// `ValidatePodLogOptions` (with `PodLogsQuerySplitStreams` off).
pub fn validate(o: &PodLogOptions) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(n) = o.tail_lines.filter(|n| *n < 0) {
        causes.push(field::invalid("tailLines", &Value::from(n), IS_NEGATIVE));
    }
    if let Some(n) = o.limit_bytes.filter(|n| *n < 1) {
        causes.push(field::invalid(
            "limitBytes",
            &Value::from(n),
            "must be greater than 0",
        ));
    }
    match (o.since_seconds, &o.since_time) {
        (Some(_), Some(_)) => causes.push(field::forbidden(
            "",
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        )),
        (Some(n), None) if n < 1 => causes.push(field::invalid(
            "sinceSeconds",
            &Value::from(n),
            "must be greater than 0",
        )),
        _ => {}
    }
    causes
}

/// Decodes and validates the query of `pods/log` for the pod `name`: 400 for a value that does
/// not convert, 422 `PodLogOptions "name" is invalid: ...` for a rule broken.
pub fn check(q: &[(String, String)], name: &str) -> Result<PodLogOptions, ApiError> {
    let opts = decode(q)?;
    let causes = validate(&opts);
    if causes.is_empty() {
        Ok(opts)
    } else {
        Err(ApiError::invalid(
            "PodLogOptions",
            "",
            "PodLogOptions",
            name,
            causes,
        ))
    }
}

/// Go's `time` package quoting in parse errors: `"` and `\` escaped, bytes outside printable
/// ASCII as `\xNN`.
fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// `time.RFC3339`, the layout kube parses `sinceTime` with.
const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

/// Go's `time.Parse(time.RFC3339, value)`, for its errors only: the layout is walked element by
/// element as Go's parser does, and the first failure is reported in Go's words
/// (`parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`,
/// `parsing time "...": month out of range`, `...: extra text: "..."`).
pub fn parse_rfc3339(value: &[u8]) -> Result<(), String> {
    let cannot = |rest: &[u8], elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(value),
            go_quote(RFC3339.as_bytes()),
            go_quote(rest),
            go_quote(elem.as_bytes())
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", go_quote(value));
    let digit = |s: &[u8], i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    // Go's getnum: one or two digits; `fixed` requires two.
    let getnum = |s: &[u8], fixed: bool| -> Option<(u32, usize)> {
        if !digit(s, 0) {
            return None;
        }
        if !digit(s, 1) {
            return (!fixed).then(|| (u32::from(s[0] - b'0'), 1));
        }
        Some((u32::from(s[0] - b'0') * 10 + u32::from(s[1] - b'0'), 2))
    };
    let skip = |s: &'_ [u8], lit: u8| -> Result<usize, String> {
        if s.first() == Some(&lit) {
            Ok(1)
        } else {
            Err(cannot(s, &(lit as char).to_string()))
        }
    };
    let mut rest = value;
    // "2006"
    if rest.len() < 4 || !rest[..4].iter().all(u8::is_ascii_digit) {
        return Err(cannot(rest, "2006"));
    }
    let year: u32 = rest[..4]
        .iter()
        .fold(0, |n, d| n * 10 + u32::from(d - b'0'));
    rest = &rest[4..];
    // "-01": month
    rest = &rest[skip(rest, b'-')?..];
    let (month, n) = getnum(rest, true).ok_or_else(|| cannot(rest, "01"))?;
    if !(1..=12).contains(&month) {
        return Err(range("month"));
    }
    rest = &rest[n..];
    // "-02": day, range-checked at the end as Go does
    rest = &rest[skip(rest, b'-')?..];
    let (day, n) = getnum(rest, true).ok_or_else(|| cannot(rest, "02"))?;
    rest = &rest[n..];
    // "T15": hour, one or two digits
    rest = &rest[skip(rest, b'T')?..];
    let (hour, n) = getnum(rest, false).ok_or_else(|| cannot(rest, "15"))?;
    if hour >= 24 {
        return Err(range("hour"));
    }
    rest = &rest[n..];
    // ":04" and ":05"
    for (elem, what) in [("04", "minute"), ("05", "second")] {
        rest = &rest[skip(rest, b':')?..];
        let (v, n) = getnum(rest, true).ok_or_else(|| cannot(rest, elem))?;
        if v >= 60 {
            return Err(range(what));
        }
        rest = &rest[n..];
    }
    // A fractional second the layout does not name is accepted after the seconds.
    if rest.len() >= 2 && matches!(rest[0], b'.' | b',') && digit(rest, 1) {
        let n = 1 + rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &rest[n..];
    }
    // "Z07:00"
    if rest.first() == Some(&b'Z') {
        rest = &rest[1..];
    } else {
        let zone = rest;
        if zone.len() < 6 || zone[3] != b':' {
            return Err(cannot(zone, "Z07:00"));
        }
        let hh = getnum(&zone[1..3], true);
        let mm = getnum(&zone[4..6], true);
        let (Some((hh, _)), Some((mm, _))) = (hh, mm) else {
            return Err(cannot(zone, "Z07:00"));
        };
        if mm > 60 {
            return Err(range("time zone offset minute"));
        }
        if hh > 24 {
            return Err(range("time zone offset hour"));
        }
        if !matches!(zone[0], b'+' | b'-') {
            return Err(cannot(zone, "Z07:00"));
        }
        rest = &zone[6..];
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote(value),
            go_quote(rest)
        ));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(range("day"));
    }
    Ok(())
}

/// Days of `month` in `year` (Gregorian).
fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn messages(pairs: &[(&str, &str)]) -> Vec<String> {
        validate(&decode(&q(pairs)).unwrap())
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn valid_options_pass() {
        assert!(
            messages(&[
                ("tailLines", "0"),
                ("limitBytes", "1"),
                ("sinceSeconds", "1"),
                ("follow", "yes")
            ])
            .is_empty()
        );
        assert!(messages(&[("sinceTime", "2026-12-05T08:00:00Z")]).is_empty());
    }

    #[test]
    fn each_rule_with_kubes_path_and_message() {
        assert_eq!(
            messages(&[("tailLines", "-1")]),
            ["tailLines: Invalid value: -1: must be greater than or equal to 0"]
        );
        assert_eq!(
            messages(&[("limitBytes", "0")]),
            ["limitBytes: Invalid value: 0: must be greater than 0"]
        );
        assert_eq!(
            messages(&[("sinceSeconds", "0")]),
            ["sinceSeconds: Invalid value: 0: must be greater than 0"]
        );
        assert_eq!(
            messages(&[("sinceSeconds", "-5"), ("sinceTime", "")]),
            [": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"]
        );
    }

    #[test]
    fn the_first_value_counts() {
        assert!(messages(&[("tailLines", "3"), ("tailLines", "-3")]).is_empty());
    }

    #[test]
    fn numbers_that_do_not_convert_are_gos_parse_errors() {
        let e = decode(&q(&[("tailLines", "ten")])).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "strconv.ParseInt: parsing \"ten\": invalid syntax"
        );
        let e = decode(&q(&[("limitBytes", "99999999999999999999")])).unwrap_err();
        assert_eq!(
            e.message,
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
        let e = decode(&q(&[("sinceSeconds", "")])).unwrap_err();
        assert_eq!(e.message, "strconv.ParseInt: parsing \"\": invalid syntax");
    }

    #[test]
    fn times_fail_as_gos_parser_reports_them() {
        let layout = "\"2006-01-02T15:04:05Z07:00\"";
        let p = |s: &str| parse_rfc3339(s.as_bytes()).err();
        assert_eq!(p("2026-12-05T08:00:00Z"), None);
        assert_eq!(p("2026-12-05T8:00:00.123+01:00"), None);
        assert_eq!(
            p("yesterday"),
            Some(format!(
                "parsing time \"yesterday\" as {layout}: cannot parse \"yesterday\" as \"2006\""
            ))
        );
        assert_eq!(
            p("2026-12-05 08:00:00Z"),
            Some(format!(
                "parsing time \"2026-12-05 08:00:00Z\" as {layout}: cannot parse \" 08:00:00Z\" as \"T\""
            ))
        );
        assert_eq!(
            p("2026-13-05T08:00:00Z"),
            Some("parsing time \"2026-13-05T08:00:00Z\": month out of range".to_owned())
        );
        assert_eq!(
            p("2026-02-30T08:00:00Z"),
            Some("parsing time \"2026-02-30T08:00:00Z\": day out of range".to_owned())
        );
        assert_eq!(
            p("2026-12-05T08:00:00"),
            Some(format!(
                "parsing time \"2026-12-05T08:00:00\" as {layout}: cannot parse \"\" as \"Z07:00\""
            ))
        );
        assert_eq!(
            p("2026-12-05T08:00:00Zjunk"),
            Some("parsing time \"2026-12-05T08:00:00Zjunk\": extra text: \"junk\"".to_owned())
        );
        let e = decode(&q(&[("sinceTime", "yesterday")])).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.starts_with("parsing time \"yesterday\""));
        // kube reads "" and "null" as the zero time: set, so it clashes with sinceSeconds.
        assert_eq!(
            decode(&q(&[("sinceTime", "null")])).unwrap().since_time,
            Some(String::new())
        );
    }
}
