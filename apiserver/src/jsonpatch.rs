//! Applies JSON patches (RFC 6902, `application/json-patch+json`) with the semantics and error
//! texts of the library kube-apiserver uses, `gopkg.in/evanphx/json-patch.v4`, which differ from
//! the RFC where kube's users can see it:
//! - `test` of a missing member (or one holding `null`) succeeds when the value is `null` or
//!   absent, and fails otherwise ("testing value /x failed: test failed");
//! - `replace` of a missing object member sets it (only array indexes must exist);
//! - `copy` from a missing object member adds `null`;
//! - negative array indexes count from the end.
//!
//! Errors are the library's messages, so a 422 names the operation and the path that failed.

use serde_json::{Map, Value};

/// Why a patch could not be decoded (a 400) or applied (a 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is not a JSON array of operation objects.
    #[error("{0}")]
    Decode(String),
    /// An operation did not apply to the document.
    #[error("{0}")]
    Apply(String),
}

const MISSING: &str = "missing value";
const INVALID_INDEX: &str = "invalid index referenced";
const TEST_FAILED: &str = "test failed";

/// Whether `e` is a `test` operation whose value differed (the library's `ErrTestFailed`, which
/// MutatingAdmissionPolicy treats as "leave the object as it was").
pub fn is_test_failure(e: &Error) -> bool {
    matches!(e, Error::Apply(m) if m.starts_with("testing value ") && m.ends_with(TEST_FAILED))
}

/// Decodes a patch body: a JSON array of objects (each operation's members stay raw, as the
/// library reads them lazily, so a bad member only fails the operation that uses it).
pub fn decode(body: &[u8]) -> Result<Vec<Map<String, Value>>, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))?;
    let Value::Array(items) = v else {
        return Err(Error::Decode(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_kind(&v)
        )));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(m) => Ok(m),
            other => Err(Error::Decode(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                go_kind(&other)
            ))),
        })
        .collect()
}

/// The JSON kind as Go's decoder names it in "cannot unmarshal X into ...".
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Applies `ops` to `doc` in order; on error `doc` may be partly patched (callers patch a copy).
pub fn apply(doc: &mut Value, ops: &[Map<String, Value>]) -> Result<(), Error> {
    for op in ops {
        let kind = match op.get("op") {
            Some(Value::String(s)) => s.as_str(),
            _ => "unknown",
        };
        match kind {
            "add" => add(doc, op),
            "remove" => remove(doc, op),
            "replace" => replace(doc, op),
            "move" => move_op(doc, op),
            "copy" => copy(doc, op),
            "test" => test(doc, op),
            other => Err(format!("Unexpected kind: {other}")),
        }
        .map_err(Error::Apply)?;
    }
    Ok(())
}

/// A string member (`path`, `from`): absent or null is "missing"; another type is a decode error.
fn member<'a>(op: &'a Map<String, Value>, name: &str, missing: &str) -> Result<&'a str, String> {
    match op.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(format!("{missing}: {MISSING}")),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type string",
            go_kind(other)
        )),
    }
}

fn path(op: &Map<String, Value>) -> Result<&str, String> {
    member(op, "path", "operation missing path field")
}

/// The operation's `value`: None when absent or `null` (the library's nil node).
fn value(op: &Map<String, Value>) -> Option<&Value> {
    op.get("value").filter(|v| !v.is_null())
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The container holding the path's last token and that token (the library's `findObject`):
/// None when the path has no `/`, or a parent is missing, null, a scalar or a bad array index.
fn find<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return None;
    }
    let key = unescape(parts.pop()?);
    let mut cur = doc;
    for part in parts.into_iter().skip(1) {
        let part = unescape(part);
        cur = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let i = array_index(&part, a.len()).ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
        if !(cur.is_object() || cur.is_array()) {
            return None;
        }
    }
    Some((cur, key))
}

/// An existing element's index: negative indexes count from the end.
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    let idx = atoi(key)?;
    resolve(idx, len, len)
}

fn atoi(key: &str) -> Result<i64, String> {
    key.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {key:?}: invalid syntax"))
}

/// Resolves `idx` against `len`, refusing `idx >= bound` and negatives before `-len`.
fn resolve(idx: i64, len: usize, bound: usize) -> Result<usize, String> {
    let invalid = || format!("Unable to access invalid index: {idx}: {INVALID_INDEX}");
    if idx >= bound as i64 {
        return Err(invalid());
    }
    if idx < 0 {
        if idx < -(len as i64) {
            return Err(invalid());
        }
        return Ok((idx + len as i64) as usize);
    }
    Ok(idx as usize)
}

/// The container's member or element (`Ok(None)`: an absent object member, which is no error).
fn get<'a>(con: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key)),
        Value::Array(a) => Ok(Some(&a[array_index(key, a.len())?])),
        _ => Ok(None),
    }
}

fn insert(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let idx = key.parse::<i64>().map_err(|_| {
                format!(
                    "value was not a proper array index: '{key}': strconv.Atoi: parsing {key:?}: invalid syntax"
                )
            })?;
            // An insert may address one past the end; negatives count from the new length.
            let i = resolve(idx, a.len() + 1, a.len() + 1)?;
            a.insert(i, val);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn delete(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Object(m) => m
            .shift_remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: {MISSING}")),
        Value::Array(a) => {
            let i = array_index(key, a.len())?;
            Ok(a.remove(i))
        }
        _ => Err(format!(
            "Unable to remove nonexistent key: {key}: {MISSING}"
        )),
    }
}

fn add(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let path = path(op).map_err(|_| format!("add operation failed to decode path: {MISSING}"))?;
    let val = value(op).cloned().unwrap_or(Value::Null);
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "add operation does not apply: doc is missing path: \"{path}\": {MISSING}"
        ));
    };
    insert(con, &key, val).map_err(|e| format!("error in add for path: '{path}': {e}"))
}

fn remove(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let path =
        path(op).map_err(|_| format!("remove operation failed to decode path: {MISSING}"))?;
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
        ));
    };
    delete(con, &key)
        .map(drop)
        .map_err(|e| format!("error in remove for path: '{path}': {e}"))
}

fn replace(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let path = path(op).map_err(|e| format!("replace operation failed to decode path: {e}"))?;
    let val = value(op).cloned().unwrap_or(Value::Null);
    if path.is_empty() {
        if !(val.is_object() || val.is_array()) {
            return Err("replace operation value must be object or array: <nil>".into());
        }
        *doc = val;
        return Ok(());
    }
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "replace operation does not apply: doc is missing path: {path}: {MISSING}"
        ));
    };
    match con {
        Value::Object(m) => {
            m.insert(key, val);
        }
        Value::Array(a) => {
            let i = array_index(&key, a.len()).map_err(|_| {
                format!("replace operation does not apply: doc is missing key: {path}: {MISSING}")
            })?;
            a[i] = val;
        }
        _ => {}
    }
    Ok(())
}

fn move_op(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let from = member(op, "from", "operation, missing from field")
        .map_err(|e| format!("move operation failed to decode from: {e}"))?;
    let Some((con, key)) = find(doc, from) else {
        return Err(format!(
            "move operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let val = delete(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
    let path = path(op).map_err(|e| format!("move operation failed to decode path: {e}"))?;
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "move operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    insert(con, &key, val).map_err(|e| format!("error in move for path: '{path}': {e}"))
}

fn copy(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let from = member(op, "from", "operation, missing from field")
        .map_err(|e| format!("copy operation failed to decode from: {e}"))?;
    let Some((con, key)) = find(doc, from) else {
        return Err(format!(
            "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let val = get(con, &key)
        .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
        .cloned()
        .unwrap_or(Value::Null);
    let path = path(op).map_err(|_| format!("copy operation failed to decode path: {MISSING}"))?;
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "copy operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    insert(con, &key, val).map_err(|e| format!("error while adding value during copy: {e}"))
}

fn test(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let path = path(op).map_err(|e| format!("test operation failed to decode path: {e}"))?;
    let want = value(op);
    let failed = || format!("testing value {path} failed: {TEST_FAILED}");
    if path.is_empty() {
        return if want == Some(&*doc) {
            Ok(())
        } else {
            Err(failed())
        };
    }
    let Some((con, key)) = find(doc, path) else {
        return Err(format!(
            "test operation does not apply: is missing path: {path}: {MISSING}"
        ));
    };
    let have = get(con, &key)
        .map_err(|e| format!("error in test for path: '{path}': {e}"))?
        .filter(|v| !v.is_null());
    if have == want { Ok(()) } else { Err(failed()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: Value) -> Result<Value, Error> {
        let mut doc = doc;
        let ops = decode(patch.to_string().as_bytes())?;
        apply(&mut doc, &ops)?;
        Ok(doc)
    }

    fn err(doc: Value, patch: Value) -> String {
        run(doc, patch).unwrap_err().to_string()
    }

    #[test]
    fn test_of_a_missing_member_with_null_succeeds() {
        let doc = json!({"a": {"b": 1}});
        for p in [
            json!([{"op": "test", "path": "/x", "value": null}]),
            json!([{"op": "test", "path": "/x"}]),
            json!([{"op": "test", "path": "/a/x", "value": null}]),
        ] {
            assert_eq!(run(doc.clone(), p).unwrap(), doc);
        }
    }

    #[test]
    fn test_failures_name_the_path() {
        let doc = json!({"a": {"b": 1, "n": null}, "l": [1, 2]});
        assert_eq!(
            err(
                doc.clone(),
                json!([{"op": "test", "path": "/x", "value": 1}])
            ),
            "testing value /x failed: test failed"
        );
        assert_eq!(
            err(
                doc.clone(),
                json!([{"op": "test", "path": "/a/b", "value": null}])
            ),
            "testing value /a/b failed: test failed"
        );
        assert_eq!(
            err(
                doc.clone(),
                json!([{"op": "test", "path": "/q/r", "value": null}])
            ),
            "test operation does not apply: is missing path: /q/r: missing value"
        );
        assert_eq!(
            err(
                doc.clone(),
                json!([{"op": "test", "path": "/l/5", "value": null}])
            ),
            "error in test for path: '/l/5': Unable to access invalid index: 5: invalid index referenced"
        );
        // A member holding null equals a null value.
        run(
            doc.clone(),
            json!([{"op": "test", "path": "/a/n", "value": null}]),
        )
        .unwrap();
        run(doc, json!([{"op": "test", "path": "/a/b", "value": 1}])).unwrap();
    }

    #[test]
    fn remove_and_replace_edges() {
        let doc = json!({"a": {"b": 1}, "l": [1, 2, 3]});
        assert_eq!(
            err(doc.clone(), json!([{"op": "remove", "path": "/a/x"}])),
            "error in remove for path: '/a/x': Unable to remove nonexistent key: x: missing value"
        );
        assert_eq!(
            err(doc.clone(), json!([{"op": "remove", "path": "/z/x"}])),
            "remove operation does not apply: doc is missing path: \"/z/x\": missing value"
        );
        // v4 sets a missing object member on replace; array indexes must exist.
        assert_eq!(
            run(
                doc.clone(),
                json!([{"op": "replace", "path": "/a/x", "value": 2}])
            )
            .unwrap(),
            json!({"a": {"b": 1, "x": 2}, "l": [1, 2, 3]})
        );
        assert_eq!(
            err(
                doc.clone(),
                json!([{"op": "replace", "path": "/l/3", "value": 2}])
            ),
            "replace operation does not apply: doc is missing key: /l/3: missing value"
        );
        assert_eq!(
            run(doc.clone(), json!([{"op": "remove", "path": "/l/-1"}])).unwrap(),
            json!({"a": {"b": 1}, "l": [1, 2]})
        );
        assert_eq!(
            run(doc, json!([{"op": "add", "path": "/l/-", "value": 4}, {"op": "move", "from": "/a/b", "path": "/c"}, {"op": "copy", "from": "/c", "path": "/l/0"}])).unwrap(),
            json!({"a": {}, "l": [1, 1, 2, 3, 4], "c": 1})
        );
    }

    #[test]
    fn bad_bodies_and_operations() {
        assert!(matches!(
            run(json!({}), json!({"op": "add"})),
            Err(Error::Decode(_))
        ));
        assert_eq!(
            err(json!({}), json!([{"op": "frob", "path": "/a"}])),
            "Unexpected kind: frob"
        );
        assert_eq!(
            err(json!({}), json!([{"op": "add", "value": 1}])),
            "add operation failed to decode path: missing value"
        );
        assert_eq!(
            err(
                json!({"l": []}),
                json!([{"op": "add", "path": "/l/2", "value": 1}])
            ),
            "error in add for path: '/l/2': Unable to access invalid index: 2: invalid index referenced"
        );
    }
}
