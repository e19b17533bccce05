//! Finds the duplicate fields of a JSON request body as kube-apiserver's strict decoder
//! (sigs.k8s.io/json `UnmarshalStrict`) reports them: `duplicate field "spec.containers[0].name"`.
//!
//! Two passes, so that an ordinary body costs what `serde_json::from_slice` costs: [`parse`]
//! builds the `Value` (the last of repeated keys wins, as in Go's `map[string]interface{}`) and
//! only notes that a key repeated; [`parse_raw`] then keeps every occurrence, in document order,
//! for the walks that name the paths ([`unstructured_duplicates`] here, the typed walk of built-in
//! types in `validation::duplicates`).

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// sigs.k8s.io/json stops collecting strict errors after this many (`saveStrictError`).
pub(crate) const MAX_STRICT_ERRORS: usize = 100;

/// Decodes a JSON document as `serde_json::from_slice` does (same errors, same value: the last
/// of repeated keys wins) and says whether any object repeated a key.
pub(crate) fn parse(bytes: &[u8]) -> serde_json::Result<(Value, bool)> {
    let repeated = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed {
        repeated: &repeated,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, repeated.get()))
}

/// A JSON document with every occurrence of a repeated key kept, in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    /// null, a boolean, a number or a string.
    Scalar(Value),
    Array(Vec<Raw>),
    Object(Vec<(String, Raw)>),
}

impl Raw {
    /// The value Go's `map[string]interface{}` decoding gives: the last of repeated keys wins.
    pub(crate) fn last_wins(&self) -> Value {
        match self {
            Raw::Scalar(v) => v.clone(),
            Raw::Array(items) => Value::Array(items.iter().map(Raw::last_wins).collect()),
            Raw::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), v.last_wins());
                }
                Value::Object(map)
            }
        }
    }
}

/// Decodes a JSON document keeping repeated keys (the second pass, after [`parse`] saw one).
pub(crate) fn parse_raw(bytes: &[u8]) -> serde_json::Result<Raw> {
    serde_json::from_slice(bytes)
}

/// The strict errors of a decode, as sigs.k8s.io/json keeps them: in the order met, each once,
/// at most [`MAX_STRICT_ERRORS`].
#[derive(Debug, Default)]
pub(crate) struct StrictErrors {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl StrictErrors {
    pub(crate) fn duplicate(&mut self, path: &str, key: &str) {
        self.push(format!("duplicate field {:?}", join(path, key)));
    }

    pub(crate) fn unknown(&mut self, path: &str, key: &str) {
        self.push(format!("unknown field {:?}", join(path, key)));
    }

    fn push(&mut self, error: String) {
        if self.list.len() < MAX_STRICT_ERRORS && self.seen.insert(error.clone()) {
            self.list.push(error);
        }
    }

    pub(crate) fn into_list(self) -> Vec<String> {
        self.list
    }
}

/// A field's path under `path` (`newFieldError`: joined with a dot, bare at the root).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// An array element's path (`appendStrictFieldStackIndex`: `[i]` with no dot).
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The duplicate fields of a document decoded into `map[string]interface{}` (custom resources,
/// patch bodies): every object is checked, each repeat reported where it is met, before the
/// errors inside its value.
pub(crate) fn unstructured_duplicates(raw: &Raw) -> Vec<String> {
    let mut errors = StrictErrors::default();
    walk_unstructured(raw, "", &mut errors);
    errors.into_list()
}

pub(crate) fn walk_unstructured(raw: &Raw, path: &str, errors: &mut StrictErrors) {
    match raw {
        Raw::Scalar(_) => {}
        Raw::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_unstructured(item, &index(path, i), errors);
            }
        }
        Raw::Object(fields) => {
            let mut seen = HashSet::new();
            for (k, v) in fields {
                if !seen.insert(k.as_str()) {
                    errors.duplicate(path, k);
                }
                walk_unstructured(v, &join(path, k), errors);
            }
        }
    }
}

/// The JSON patch operations' strict errors (kube's patch handler decodes the body into
/// `[]jsonPatchOp{op, path, from, value}` with `UnmarshalStrict` and prefixes each error with
/// `json patch `): unknown and duplicate keys of an operation, duplicates inside its `value`.
/// Empty when the body is not an array of objects (the patch decoder then answers).
pub(crate) fn json_patch_errors(bytes: &[u8]) -> Vec<String> {
    const OP_FIELDS: [&str; 4] = ["op", "path", "from", "value"];
    let Ok((value, repeated)) = parse(bytes) else {
        return Vec::new();
    };
    let unknown_key = value.as_array().is_some_and(|ops| {
        ops.iter().any(|op| {
            op.as_object()
                .is_some_and(|m| m.keys().any(|k| !OP_FIELDS.contains(&k.as_str())))
        })
    });
    if !repeated && !unknown_key {
        return Vec::new();
    }
    let Ok(Raw::Array(ops)) = parse_raw(bytes) else {
        return Vec::new();
    };
    let mut errors = StrictErrors::default();
    for (i, op) in ops.iter().enumerate() {
        let Raw::Object(fields) = op else { continue };
        let path = index("", i);
        let mut seen = HashSet::new();
        for (k, v) in fields {
            if !OP_FIELDS.contains(&k.as_str()) {
                errors.unknown(&path, k);
                continue;
            }
            if !seen.insert(k.as_str()) {
                errors.duplicate(&path, k);
            }
            if k == "value" {
                walk_unstructured(v, &join(&path, k), &mut errors);
            }
        }
    }
    errors
        .into_list()
        .into_iter()
        .map(|e| format!("json patch {e}"))
        .collect()
}

/// Builds a `Value` as serde_json's own visitor does, noting a repeated key.
struct ValueSeed<'a> {
    repeated: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ValueSeed {
            repeated: self.repeated,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed {
                repeated: self.repeated,
            })?;
            if out.insert(key, value).is_some() {
                self.repeated.set(true);
            }
        }
        Ok(Value::Object(out))
    }
}

impl<'de> de::Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Raw>()? {
            items.push(item);
        }
        Ok(Raw::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut fields = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Raw>()? {
            fields.push((k, v));
        }
        Ok(Raw::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_notes_a_repeated_key_and_keeps_the_last_value() {
        let (v, repeated) = parse(br#"{"a":{"b":1,"b":2},"c":[1.5,null]}"#).unwrap();
        assert!(repeated);
        assert_eq!(v, json!({"a": {"b": 2}, "c": [1.5, null]}));
        let (_, repeated) = parse(br#"{"a":{"b":1},"b":2}"#).unwrap();
        assert!(!repeated);
        assert_eq!(
            parse(b"{").unwrap_err().to_string(),
            serde_json::from_slice::<Value>(b"{")
                .unwrap_err()
                .to_string()
        );
    }

    #[test]
    fn unstructured_paths_are_dotted_with_indices_in_the_order_met() {
        let raw = parse_raw(
            br#"{"metadata":{"name":"a","name":"b"},"spec":{"items":[{"x":1},{"x":1,"x":2}]},"metadata":{}}"#,
        )
        .unwrap();
        assert_eq!(
            unstructured_duplicates(&raw),
            vec![
                "duplicate field \"metadata.name\"",
                "duplicate field \"spec.items[1].x\"",
                "duplicate field \"metadata\"",
            ]
        );
        assert_eq!(
            raw.last_wins(),
            json!({"metadata": {}, "spec": {"items": [{"x": 1}, {"x": 2}]}})
        );
    }

    #[test]
    fn json_patch_operations_are_checked_as_kube_decodes_them() {
        let body = br#"[{"op":"add","op":"replace","path":"/a","value":{"k":1,"k":2}},{"op":"remove","path":"/b","bogus":1}]"#;
        assert_eq!(
            json_patch_errors(body),
            vec![
                "json patch duplicate field \"[0].op\"",
                "json patch duplicate field \"[0].value.k\"",
                "json patch unknown field \"[1].bogus\"",
            ]
        );
        assert!(json_patch_errors(br#"[{"op":"remove","path":"/b"}]"#).is_empty());
    }
}
