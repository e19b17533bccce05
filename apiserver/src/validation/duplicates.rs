//! Decodes a built-in body whose objects repeat a key as Go's `encoding/json` (in
//! sigs.k8s.io/json) decodes it into the type's struct, and lists its strict errors.
//!
//! Go decodes a repeated key *into* the value the first occurrence left (`decodeState.object`
//! and `array` reuse the existing struct, map and slice elements), so repeated objects of typed
//! fields merge: `{"metadata":{"name":"a"},"metadata":{"labels":{"x":"y"}}}` keeps the name and
//! gets the label. A map keeps its earlier keys but each value is decoded afresh (`mapElem` is
//! zeroed), a slice takes the new length with its first elements decoded into the old ones, and
//! scalars, free-form values and types with their own `UnmarshalJSON` are replaced. The strict
//! errors — unknown fields and duplicate fields — come in the order the decoder meets them.
//!
//! Known difference: `null` replaces what came before. Go sets a pointer, map or slice to nil
//! but leaves a struct value (`metadata`, `spec`) and a plain scalar as they were; the decoding
//! tree does not say which fields are pointers.

use serde_json::{Map, Value};

use super::decode::{Node, StructDef, TYPES};
use crate::strict::{Raw, StrictErrors, index, join};

/// The merged object and its strict errors, or None for a type that is not built in.
pub fn merge(api_version: &str, kind: &str, raw: &Raw) -> Option<(Value, Vec<String>)> {
    let tree = TYPES.tree(api_version, kind)?;
    let mut errors = StrictErrors::default();
    let mut walker = Merger {
        structs: &tree.structs,
        errors: &mut errors,
    };
    let value = walker.merge(raw, &Node::Struct(tree.root), None, "");
    Some((value, errors.into_list()))
}

struct Merger<'a> {
    structs: &'a [StructDef],
    errors: &'a mut StrictErrors,
}

impl Merger<'_> {
    /// `raw` decoded as `node` into `existing` (what an earlier occurrence of the same key left).
    fn merge(&mut self, raw: &Raw, node: &Node, existing: Option<Value>, path: &str) -> Value {
        match (node, raw) {
            (Node::Struct(i), Raw::Object(fields)) => {
                let def = &self.structs[*i];
                let mut out = match existing {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let mut seen = std::collections::HashSet::new();
                for (k, v) in fields {
                    let Some(field) = def.fields.get(k) else {
                        // Not decoded (Go skips it); the decode stage removes it.
                        self.errors.unknown(path, k);
                        out.insert(k.clone(), v.last_wins());
                        continue;
                    };
                    if !seen.insert(k.as_str()) {
                        self.errors.duplicate(path, k);
                    }
                    let before = out.get(k).cloned();
                    let merged = self.merge(v, field, before, &join(path, k));
                    out.insert(k.clone(), merged);
                }
                Value::Object(out)
            }
            (Node::Map(item), Raw::Object(fields)) => {
                let mut out = match existing {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let mut seen = std::collections::HashSet::new();
                for (k, v) in fields {
                    if !seen.insert(k.as_str()) {
                        self.errors.duplicate(path, k);
                    }
                    let fresh = self.merge(v, item, None, &join(path, k));
                    out.insert(k.clone(), fresh);
                }
                Value::Object(out)
            }
            (Node::Array(item), Raw::Array(items)) => {
                let mut old = match existing {
                    Some(Value::Array(a)) => a.into_iter(),
                    _ => Vec::new().into_iter(),
                };
                let merged = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.merge(v, item, old.next(), &index(path, i)))
                    .collect();
                Value::Array(merged)
            }
            // Scalars, free-form values (their UnmarshalJSON takes the bytes unchecked), `null`
            // and values of the wrong JSON type (the decode stage words that error).
            _ => raw.last_wins(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strict::parse_raw;
    use serde_json::json;

    fn merged(body: &str) -> (Value, Vec<String>) {
        merge("v1", "Pod", &parse_raw(body.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn repeated_structs_merge_and_scalars_are_replaced() {
        let (v, errors) = merged(
            r#"{"metadata":{"name":"a","labels":{"x":"1","y":"2"}},"spec":{"bogus":1},
                "metadata":{"name":"b","labels":{"y":"3"},"annotations":{"k":"v"}}}"#,
        );
        assert_eq!(
            v,
            json!({"metadata": {"name": "b", "labels": {"x": "1", "y": "3"},
                                "annotations": {"k": "v"}},
                   "spec": {"bogus": 1}})
        );
        // Interleaved as met: the unknown field inside `spec` before the repeated `metadata`.
        assert_eq!(
            errors,
            vec![
                "unknown field \"spec.bogus\"",
                "duplicate field \"metadata\""
            ]
        );
    }

    #[test]
    fn slices_take_the_new_length_and_decode_into_the_old_elements() {
        let (v, errors) = merged(
            r#"{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b"}],
                        "containers":[{"name":"c","name":"d"}]}}"#,
        );
        assert_eq!(
            v,
            json!({"spec": {"containers": [{"name": "d", "image": "x"}]}})
        );
        assert_eq!(
            errors,
            vec![
                "duplicate field \"spec.containers\"",
                "duplicate field \"spec.containers[0].name\""
            ]
        );
    }

    #[test]
    fn map_values_are_decoded_afresh() {
        let (v, errors) = merged(
            r#"{"spec":{"nodeSelector":{"a":"1","a":"2"}},"spec":{"nodeSelector":{"b":"3"}}}"#,
        );
        assert_eq!(v, json!({"spec": {"nodeSelector": {"a": "2", "b": "3"}}}));
        assert_eq!(
            errors,
            vec![
                "duplicate field \"spec.nodeSelector.a\"",
                "duplicate field \"spec\""
            ]
        );
    }
}
