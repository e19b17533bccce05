//! Field errors worded like kube-apiserver's `field.Error`, and the error a schema fails to compile with.
//!
//! The wording follows k8s.io/apimachinery/pkg/util/validation/field/errors.go (Kubernetes 1.37):
//! `ErrorBody()` prints the type, then the bad value (Go `%v`/`%q`, or JSON for objects and lists),
//! then the detail; a few types never print the value.

use std::fmt;

use serde_json::Value;

/// Why a field was rejected; `reason()` is the `Status.details.causes[].reason` the API server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The value refers to something that does not exist.
    NotFound,
    /// A required field is missing.
    Required,
    /// The value repeats one that must be unique (list-type set/map).
    Duplicate,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of an enumerated set.
    NotSupported,
    /// The field may not be set (here, or with this value).
    Forbidden,
    /// The value is longer than allowed.
    TooLong,
    /// The list or map has more entries than allowed.
    TooMany,
    /// The list or map has fewer entries than allowed.
    TooFew,
    /// The value is shorter than allowed.
    TooShort,
    /// The value has the wrong JSON type.
    TypeInvalid,
    /// Validation itself failed; not the user's fault.
    Internal,
}

impl ErrorKind {
    /// The metav1 `CauseType`, e.g. `FieldValueInvalid`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "FieldValueNotFound",
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::NotSupported => "FieldValueNotSupported",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
            ErrorKind::TooFew => "FieldValueTooFew",
            ErrorKind::TooShort => "FieldValueTooShort",
            ErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            ErrorKind::Internal => "InternalError",
        }
    }

    /// The human words Go's `ErrorType.String()` gives, e.g. `Invalid value`.
    pub fn words(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "Not found",
            ErrorKind::Required => "Required value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::Invalid | ErrorKind::TypeInvalid => "Invalid value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
            ErrorKind::TooFew => "Too few",
            ErrorKind::TooShort => "Too short",
            ErrorKind::Internal => "Internal error",
        }
    }

    /// Errors after which kube-apiserver skips CEL rules (`hasBlockingErr` in the CR strategy).
    pub(crate) fn blocks_cel(self) -> bool {
        matches!(
            self,
            ErrorKind::NotSupported
                | ErrorKind::Required
                | ErrorKind::TooLong
                | ErrorKind::TooMany
                | ErrorKind::TypeInvalid
        )
    }
}

/// One rejected field, as one `Status.details.causes[]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// The field path, e.g. `spec.items[0].name`; `<nil>` for the object itself, as Go prints
    /// a nil path (root CEL rules, the CEL-skipped notice).
    pub field: String,
    /// The offending value; `None` when kube-apiserver omits it from the message.
    pub bad_value: Option<Value>,
    /// The explanation after the value.
    pub detail: String,
}

impl FieldError {
    pub(crate) fn new(
        kind: ErrorKind,
        field: impl Into<String>,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: field.into(),
            bad_value,
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(
        field: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::Invalid, field, Some(value), detail)
    }

    pub(crate) fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Required, field, None, detail)
    }

    pub(crate) fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, field, None, detail)
    }

    /// `field.NotSupported`: the detail lists the supported values, each quoted.
    pub(crate) fn not_supported(
        field: impl Into<String>,
        value: Value,
        supported: &[String],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorKind::NotSupported, field, Some(value), detail)
    }

    /// `field.TooLong`: the value is never shown.
    pub(crate) fn too_long(field: impl Into<String>, max: i64) -> Self {
        let detail = if max >= 0 {
            format!(
                "may not be more than {max} {}",
                if max == 1 { "byte" } else { "bytes" }
            )
        } else {
            "value is too long".to_string()
        };
        Self::new(ErrorKind::TooLong, field, None, detail)
    }

    /// `field.TooMany`: shows the actual count.
    pub(crate) fn too_many(field: impl Into<String>, actual: i64, max: i64) -> Self {
        let detail = if max >= 0 {
            format!(
                "must have at most {max} {}",
                if max == 1 { "item" } else { "items" }
            )
        } else {
            "has too many items".to_string()
        };
        let value = (actual >= 0).then(|| Value::from(actual));
        Self::new(ErrorKind::TooMany, field, value, detail)
    }

    /// The text kube-apiserver puts in `Status.details.causes[].message`, e.g.
    /// `Invalid value: -1: spec.replicas in body should be greater than or equal to 0`.
    pub fn message(&self) -> String {
        let mut s = String::from(self.kind.words());
        let shows_value = !matches!(
            self.kind,
            ErrorKind::Required
                | ErrorKind::Forbidden
                | ErrorKind::TooLong
                | ErrorKind::TooShort
                | ErrorKind::Internal
        );
        if shows_value && let Some(v) = &self.bad_value {
            s.push_str(": ");
            s.push_str(&go_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

impl std::error::Error for FieldError {}

/// Why a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The schema is not structural, or uses something the API server rejects in a CRD schema.
    #[error("CRD schema is not structural or is invalid, fix these fields of the CRD: {}", join_errors(.causes))]
    Invalid {
        /// One entry per offending schema field, worded like the CRD create/update rejection.
        causes: Vec<FieldError>,
    },
}

impl SchemaError {
    /// The individual field errors, for a 422 Status with one cause each.
    pub fn causes(&self) -> &[FieldError] {
        match self {
            SchemaError::Invalid { causes } => causes,
        }
    }
}

fn join_errors(errs: &[FieldError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders a bad value the way `field.Error.ErrorBody` does: numbers and booleans with `%v`,
/// strings with `%q`, anything else as JSON with sorted keys (Go's `json.Marshal` of a map).
pub(crate) fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) => go_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Array(_) | Value::Object(_) => go_json(v),
    }
}

/// A JSON number as Go prints the int64 or float64 the API server decoded it into.
pub(crate) fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        go_float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Go's `%v` for a float64: shortest representation, exponent form below 1e-4 and from 1e+06 up
/// ("%v" is "%g" with the shortest precision, which switches to %e at exponent 6).
pub(crate) fn go_float(f: f64) -> String {
    /// strconv's `%g` with shortest precision uses exponent form from this decimal exponent on.
    const SHORTEST_G_EXPONENT_LIMIT: i32 = 6;
    /// ... and below this one.
    const SMALLEST_PLAIN_EXPONENT: i32 = -4;
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(SMALLEST_PLAIN_EXPONENT..SHORTEST_G_EXPONENT_LIMIT).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        // Rust's Display of f64 is the shortest round-trip form without exponent, as Go's %f here.
        format!("{f}")
    }
}

/// JSON with object keys sorted, like Go's `json.Marshal` of `map[string]interface{}`.
pub(crate) fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_sorted_json(v, &mut out);
    out
}

fn write_sorted_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_sorted_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted_json(x, out);
            }
            out.push(']');
        }
        Value::Number(n) => {
            // Go marshals a float64 in plain form between 1e-6 and 1e21, else with an exponent.
            if n.as_i64().is_some() || n.as_u64().is_some() {
                out.push_str(&n.to_string());
            } else {
                out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0)));
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Go's `json.Marshal` of a float64 (encoding/json floatEncoder).
pub(crate) fn go_json_float(f: f64) -> String {
    /// encoding/json switches to exponent form outside [1e-6, 1e21).
    const JSON_PLAIN_MIN: f64 = 1e-6;
    const JSON_PLAIN_MAX: f64 = 1e21;
    let abs = f.abs();
    if abs != 0.0 && !(JSON_PLAIN_MIN..JSON_PLAIN_MAX).contains(&abs) {
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else if f.fract() == 0.0 && abs < JSON_PLAIN_MAX {
        format!("{}", f as i128)
    } else {
        format!("{f}")
    }
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Rust has no Unicode category tables, so this refuses what Go refuses among the characters a
/// client plausibly sends: controls, other spaces and separators, format characters (soft
/// hyphen, zero-width and bidirectional marks, BOM), private use and noncharacters; a code point
/// unassigned in Go's Unicode version passes here.
pub fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_or_nonchar =
        matches!(u, 0xE000..=0xF8FF | 0xF0000.. | 0xFDD0..=0xFDEF) || (u & 0xFFFE) == 0xFFFE;
    !c.is_control() && !c.is_whitespace() && !format && !private_or_nonchar
}

/// Go's `strconv.Quote` (`%q`): printable characters (`go_is_print`) as they are, the others
/// escaped as Go escapes them (`\a`, `\x01`, `\u00a0`, `\U000f0000`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_float_matches_fmt_v() {
        let cases = [
            (0.0, "0"),
            (1.5, "1.5"),
            (-1.0, "-1"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn message_shapes() {
        let e = FieldError::invalid(
            "spec.replicas",
            json!(-1),
            "spec.replicas in body should be greater than or equal to 0",
        );
        assert_eq!(
            e.to_string(),
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"
        );
        let e = FieldError::not_supported(
            "spec.size",
            json!("xl"),
            &["s".to_string(), "m".to_string()],
        );
        assert_eq!(
            e.to_string(),
            "spec.size: Unsupported value: \"xl\": supported values: \"s\", \"m\""
        );
        assert_eq!(
            FieldError::required("spec.name", "").to_string(),
            "spec.name: Required value"
        );
        assert_eq!(
            FieldError::too_long("spec.n", 1).to_string(),
            "spec.n: Too long: may not be more than 1 byte"
        );
        assert_eq!(
            FieldError::too_many("spec.l", 3, 2).to_string(),
            "spec.l: Too many: 3: must have at most 2 items"
        );
        let e = FieldError::invalid("spec", json!({"b": 1, "a": [true]}), "x");
        assert_eq!(
            e.to_string(),
            "spec: Invalid value: {\"a\":[true],\"b\":1}: x"
        );
        let e = FieldError::new(
            ErrorKind::Invalid,
            "spec",
            None,
            "failed rule: self == oldSelf",
        );
        assert_eq!(
            e.to_string(),
            "spec: Invalid value: failed rule: self == oldSelf"
        );
    }

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
