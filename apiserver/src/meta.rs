//! Checks and fills object metadata: names, generateName, timestamps, uids, labels.

use serde_json::Value;

use crate::status::Cause;

/// DNS-1123 subdomains (most object names) are at most this long (k8s.io/apimachinery validation).
const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// DNS-1123 labels (namespace names, label name parts) are at most this long.
const DNS1123_LABEL_MAX: usize = 63;
/// kube-apiserver appends this many random characters to a generateName prefix.
const GENERATED_SUFFIX_LEN: usize = 5;
/// generateName prefixes are cut so that prefix + suffix still fits a 63-character label.
const GENERATE_NAME_PREFIX_MAX: usize = DNS1123_LABEL_MAX - GENERATED_SUFFIX_LEN;
/// The alphabet of generated suffixes (no vowels, no look-alikes), as in k8s.io/apimachinery/pkg/util/rand.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Errors for `name` at `field` as a DNS-1123 subdomain (empty when valid).
pub fn check_subdomain(field: &str, name: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if name.len() > DNS1123_SUBDOMAIN_MAX {
        causes.push(Cause::new(
            "FieldValueInvalid",
            field,
            format!(
                "Invalid value: {}: must be no more than {DNS1123_SUBDOMAIN_MAX} characters",
                quote(name)
            ),
        ));
    }
    if !name.split('.').all(is_label_part) {
        causes.push(Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {DNS1123_SUBDOMAIN_MSG}", quote(name)),
        ));
    }
    causes
}

/// Errors for `name` at `field` as a path segment (kube's `path.IsValidPathSegmentName`, the
/// rule for RBAC object names, which may hold colons like `system:controller:x`).
pub fn check_path_segment(field: &str, name: &str) -> Vec<Cause> {
    let why = match name {
        "." => Some("may not be '.'"),
        ".." => Some("may not be '..'"),
        _ if name.contains('/') => Some("may not contain '/'"),
        _ if name.contains('%') => Some("may not contain '%'"),
        _ => None,
    };
    why.map(|w| {
        Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {w}", quote(name)),
        )
    })
    .into_iter()
    .collect()
}

/// Errors for `name` at `field` as a DNS-1123 label (namespace names).
pub fn check_label(field: &str, name: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if name.len() > DNS1123_LABEL_MAX {
        causes.push(Cause::new(
            "FieldValueInvalid",
            field,
            format!(
                "Invalid value: {}: must be no more than {DNS1123_LABEL_MAX} characters",
                quote(name)
            ),
        ));
    }
    if !is_label_part(name) {
        causes.push(Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {DNS1123_LABEL_MSG}", quote(name)),
        ));
    }
    causes
}

/// Errors for the label and annotation maps: values must be strings, label keys and values well formed.
pub fn check_labels_and_annotations(meta: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let path = format!("metadata.{field}");
                    if !v.is_string() {
                        causes.push(Cause::new(
                            "FieldValueTypeInvalid",
                            format!("{path}.{k}"),
                            format!("Invalid value: {v}: must be a string"),
                        ));
                        continue;
                    }
                    if field == "labels" {
                        causes.extend(check_qualified_name(&path, k));
                        let value = v.as_str().unwrap_or_default();
                        if !is_label_value(value) {
                            causes.push(Cause::new(
                                "FieldValueInvalid",
                                &path,
                                format!("Invalid value: {}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')", quote(value)),
                            ));
                        }
                    }
                }
            }
            Some(other) => causes.push(Cause::new(
                "FieldValueTypeInvalid",
                format!("metadata.{field}"),
                format!("Invalid value: {other}: must be an object of strings"),
            )),
        }
    }
    causes
}

fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= DNS1123_LABEL_MAX
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_name_part(s)
}

fn check_qualified_name(path: &str, key: &str) -> Vec<Cause> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok =
        prefix.is_none_or(|p| p.len() <= DNS1123_SUBDOMAIN_MAX && p.split('.').all(is_label_part));
    if prefix_ok && is_name_part(name) {
        return Vec::new();
    }
    vec![Cause::new(
        "FieldValueInvalid",
        path,
        format!(
            "Invalid value: {}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            quote(key)
        ),
    )]
}

/// `prefix` plus five random characters, the prefix cut as kube-apiserver does.
pub fn generate_name(prefix: &str) -> String {
    let cut: String = prefix.chars().take(GENERATE_NAME_PREFIX_MAX).collect();
    let suffix: String = (0..GENERATED_SUFFIX_LEN)
        .map(|_| SUFFIX_ALPHABET[rand::random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect();
    format!("{cut}{suffix}")
}

/// Now as an RFC 3339 timestamp with second precision, the metav1.Time wire form.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `secs` seconds from now, in the metav1.Time wire form (a graceful deletion's deadline).
pub fn in_seconds(secs: i64) -> String {
    shift(&now(), secs)
}

/// `ts` moved by `secs` seconds; `ts` as given when it does not parse.
pub fn shift(ts: &str, secs: i64) -> String {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => t
            .saturating_add(jiff::SignedDuration::from_secs(secs))
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|_| ts.to_owned()),
        Err(_) => ts.to_owned(),
    }
}

/// A fresh object uid.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `metadata.<field>` as a string, or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's `metadata` map, created if missing.
pub fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(serde_json::Map::new());
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// The object's finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_rules() {
        assert!(check_subdomain("metadata.name", "a.b-c.d1").is_empty());
        assert_eq!(check_subdomain("metadata.name", "Foo").len(), 1);
        assert_eq!(check_subdomain("metadata.name", "-a").len(), 1);
        assert_eq!(check_subdomain("metadata.name", "a..b").len(), 1);
        assert_eq!(check_subdomain("metadata.name", &"a".repeat(254)).len(), 1);
        assert!(check_label("metadata.name", "a.b").len() == 1);
    }

    #[test]
    fn generated_names_keep_prefix_and_fit() {
        let n = generate_name(&"x".repeat(100));
        assert_eq!(n.len(), DNS1123_LABEL_MAX);
        assert!(generate_name("web-").starts_with("web-"));
    }

    #[test]
    fn label_keys_and_values() {
        let ok = serde_json::json!({"labels": {"app.kubernetes.io/name": "x_y", "a": ""}});
        assert!(check_labels_and_annotations(&ok).is_empty());
        let bad = serde_json::json!({"labels": {"-a": "b", "c": "-"}, "annotations": {"n": 1}});
        assert_eq!(check_labels_and_annotations(&bad).len(), 3);
    }
}
