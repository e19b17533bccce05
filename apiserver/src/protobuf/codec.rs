//! Converts between kube's JSON form of a built-in object and its protobuf message, driven by the
//! generated table (`schema.rs`): one generic walk for every type, the special JSON forms of
//! Time, MicroTime, IntOrString, Quantity, RawExtension/FieldsV1/JSON and the JSONSchemaProps
//! unions, and Go's `encoding/json` presence rules (pointer, `omitempty`, always) for decoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint};
use serde_json::{Map, Number, Value};

use super::ProtoError;
use super::schema::MESSAGES;
use super::schema_types::{Cardinality, Field, Kind, Message, Presence, Special};

/// Nesting deeper than this is refused: JSONSchemaProps can nest without end, and a hostile body
/// must not exhaust the stack (kube's gogo unmarshaller has no limit; prost's default is 100).
const MAX_DEPTH: usize = 100;
/// The name of the message JSONSchemaProps unions hold.
pub(super) const SCHEMA_PROPS: &str =
    "apiextensions_apiserver/pkg/apis/apiextensions/v1.JSONSchemaProps";

/// The message at `index`.
fn message(index: usize) -> &'static Message {
    &MESSAGES[index]
}

/// The index of a message by name.
pub(super) fn index_of(name: &str) -> Option<usize> {
    MESSAGES.binary_search_by(|m| m.name.cmp(name)).ok()
}

// ---------------------------------------------------------------------------------------------
// JSON -> protobuf

/// Encodes the JSON `v` as the message `index` (a top-level object's `apiVersion` and `kind`
/// are not part of it: the envelope carries them).
pub fn encode(index: usize, v: &Value) -> Result<Vec<u8>, ProtoError> {
    let mut buf = Vec::new();
    encode_message(index, v, "", &mut buf, 0)?;
    Ok(buf)
}

fn encode_message(
    index: usize,
    v: &Value,
    path: &str,
    buf: &mut Vec<u8>,
    depth: usize,
) -> Result<(), ProtoError> {
    if depth > MAX_DEPTH {
        return Err(ProtoError::TooDeep(path.to_owned()));
    }
    let msg = message(index);
    if let Some(special) = msg.special {
        return encode_special(special, v, path, buf, depth);
    }
    let obj = match v {
        Value::Object(o) => o,
        Value::Null => return Ok(()),
        other => return Err(mismatch(path, "an object", other)),
    };
    encode_fields(msg, obj, path, buf, depth)?;
    // Every JSON field must have a place in the message: a field only the JSON form has (a newer
    // Kubernetes than the generated messages) would otherwise be lost without a word.
    for key in obj.keys() {
        // apiVersion and kind of an object (or a list's item) live in the envelope, not here.
        if !knows(msg, key) && key != "apiVersion" && key != "kind" {
            return Err(ProtoError::UnknownField(join(path, key), msg.name));
        }
    }
    Ok(())
}

/// Whether `key` is a JSON field of `msg` (or of a message inlined into it).
fn knows(msg: &Message, key: &str) -> bool {
    msg.fields.iter().any(|f| {
        if f.inline {
            matches!(f.kind, Kind::Msg(i) if knows(message(i), key))
        } else {
            f.json == key
        }
    })
}

fn encode_fields(
    msg: &Message,
    obj: &Map<String, Value>,
    path: &str,
    buf: &mut Vec<u8>,
    depth: usize,
) -> Result<(), ProtoError> {
    for f in msg.fields {
        if f.inline {
            // The nested message reads its fields from the same JSON object.
            let mut inner = Vec::new();
            if let Kind::Msg(i) = f.kind {
                encode_fields(message(i), obj, path, &mut inner, depth + 1)?;
            }
            encode_key(f.tag, WireType::LengthDelimited, buf);
            encode_varint(inner.len() as u64, buf);
            buf.extend_from_slice(&inner);
            continue;
        }
        let Some(value) = obj.get(f.json) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let path = join(path, f.json);
        match f.card {
            Cardinality::One => encode_value(f, value, &path, buf, depth)?,
            Cardinality::Many => {
                for (i, item) in array(value, &path)?.iter().enumerate() {
                    encode_value(f, item, &format!("{path}[{i}]"), buf, depth)?;
                }
            }
            Cardinality::Map => {
                let Value::Object(entries) = value else {
                    return Err(mismatch(&path, "an object", value));
                };
                for (key, item) in entries {
                    let mut entry = Vec::new();
                    encode_key(1, WireType::LengthDelimited, &mut entry);
                    encode_varint(key.len() as u64, &mut entry);
                    entry.extend_from_slice(key.as_bytes());
                    let value_field = Field { tag: 2, ..*f };
                    encode_value(&value_field, item, &join(&path, key), &mut entry, depth)?;
                    encode_key(f.tag, WireType::LengthDelimited, buf);
                    encode_varint(entry.len() as u64, buf);
                    buf.extend_from_slice(&entry);
                }
            }
        }
    }
    Ok(())
}

/// One value of field `f` (a single field, a list item or a map value).
fn encode_value(
    f: &Field,
    v: &Value,
    path: &str,
    buf: &mut Vec<u8>,
    depth: usize,
) -> Result<(), ProtoError> {
    match f.kind {
        Kind::Str => {
            let s = v.as_str().ok_or_else(|| mismatch(path, "a string", v))?;
            bytes_field(f.tag, s.as_bytes(), buf);
        }
        Kind::Bytes => {
            let s = v
                .as_str()
                .ok_or_else(|| mismatch(path, "a base64 string", v))?;
            let raw = BASE64.decode(s).map_err(|e| {
                ProtoError::Invalid(path.to_owned(), format!("illegal base64 data: {e}"))
            })?;
            bytes_field(f.tag, &raw, buf);
        }
        Kind::Bool => {
            let b = v.as_bool().ok_or_else(|| mismatch(path, "a boolean", v))?;
            encode_key(f.tag, WireType::Varint, buf);
            encode_varint(u64::from(b), buf);
        }
        Kind::I32 | Kind::I64 => {
            let n = integer(v, path)?;
            encode_key(f.tag, WireType::Varint, buf);
            // Negative int32s are sign-extended to ten bytes, as protobuf's int32 is.
            encode_varint(n as u64, buf);
        }
        Kind::F64 => {
            let n = v.as_f64().ok_or_else(|| mismatch(path, "a number", v))?;
            encode_key(f.tag, WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&n.to_le_bytes());
        }
        Kind::Msg(i) => {
            let mut inner = Vec::new();
            encode_message(i, v, path, &mut inner, depth + 1)?;
            bytes_field(f.tag, &inner, buf);
        }
    }
    Ok(())
}

fn encode_special(
    special: Special,
    v: &Value,
    path: &str,
    buf: &mut Vec<u8>,
    depth: usize,
) -> Result<(), ProtoError> {
    match special {
        Special::Time | Special::MicroTime => {
            let Some(s) = v.as_str() else {
                return Err(mismatch(path, "an RFC 3339 time", v));
            };
            let ts: jiff::Timestamp = s.parse().map_err(|e| {
                ProtoError::Invalid(
                    path.to_owned(),
                    format!("{s:?} is not an RFC 3339 time: {e}"),
                )
            })?;
            encode_key(1, WireType::Varint, buf);
            encode_varint(ts.as_second() as u64, buf);
            encode_key(2, WireType::Varint, buf);
            encode_varint(i64::from(ts.subsec_nanosecond()) as u64, buf);
        }
        Special::RawJson => {
            let raw = serde_json::to_vec(v)
                .map_err(|e| ProtoError::Invalid(path.to_owned(), e.to_string()))?;
            bytes_field(1, &raw, buf);
        }
        Special::IntOrString => match v {
            Value::String(s) => {
                encode_key(1, WireType::Varint, buf);
                encode_varint(1, buf);
                bytes_field(3, s.as_bytes(), buf);
            }
            _ => {
                let n = integer(v, path)?;
                encode_key(1, WireType::Varint, buf);
                encode_varint(0, buf);
                encode_key(2, WireType::Varint, buf);
                encode_varint(n as u64, buf);
            }
        },
        Special::Quantity => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => return Err(mismatch(path, "a quantity", other)),
            };
            bytes_field(1, s.as_bytes(), buf);
        }
        Special::ArrayOfItems => {
            for (i, item) in array(v, path)?.iter().enumerate() {
                let s = item
                    .as_str()
                    .ok_or_else(|| mismatch(&format!("{path}[{i}]"), "a string", item))?;
                bytes_field(1, s.as_bytes(), buf);
            }
        }
        Special::SchemaOrArray | Special::SchemaOrBool | Special::SchemaOrStringArray => {
            let props = index_of(SCHEMA_PROPS).ok_or(ProtoError::Table(SCHEMA_PROPS))?;
            let schema = |v: &Value, tag: u32, buf: &mut Vec<u8>| {
                let mut inner = Vec::new();
                encode_message(props, v, path, &mut inner, depth + 1)?;
                bytes_field(tag, &inner, buf);
                Ok::<_, ProtoError>(())
            };
            match (special, v) {
                (Special::SchemaOrBool, Value::Bool(b)) => {
                    encode_key(1, WireType::Varint, buf);
                    encode_varint(u64::from(*b), buf);
                }
                (Special::SchemaOrBool, Value::Object(_)) => {
                    // Go: an object means allowed, with that schema.
                    encode_key(1, WireType::Varint, buf);
                    encode_varint(1, buf);
                    schema(v, 2, buf)?;
                }
                (Special::SchemaOrArray | Special::SchemaOrStringArray, Value::Object(_)) => {
                    schema(v, 1, buf)?;
                }
                (Special::SchemaOrArray, Value::Array(items)) => {
                    for item in items {
                        schema(item, 2, buf)?;
                    }
                }
                (Special::SchemaOrStringArray, Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let s = item
                            .as_str()
                            .ok_or_else(|| mismatch(&format!("{path}[{i}]"), "a string", item))?;
                        bytes_field(2, s.as_bytes(), buf);
                    }
                }
                (_, other) => return Err(mismatch(path, "a schema", other)),
            }
        }
    }
    Ok(())
}

fn bytes_field(tag: u32, data: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(data.len() as u64, buf);
    buf.extend_from_slice(data);
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, ProtoError> {
    v.as_array().ok_or_else(|| mismatch(path, "an array", v))
}

fn integer(v: &Value, path: &str) -> Result<i64, ProtoError> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| mismatch(path, "an integer", v))
}

fn mismatch(path: &str, expected: &str, got: &Value) -> ProtoError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ProtoError::Invalid(path.to_owned(), format!("expected {expected}, got {got}"))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

// ---------------------------------------------------------------------------------------------
// protobuf -> JSON

/// One decoded wire record of a field.
enum Record<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Not used by Kubernetes' messages: kept to report it, never decoded into a value.
    Fixed32,
    Bytes(&'a [u8]),
}

/// Splits a message into its records: (tag, record), in wire order.
fn records<'a>(mut data: &'a [u8], name: &str) -> Result<Vec<(u32, Record<'a>)>, ProtoError> {
    let malformed = |what: String| ProtoError::Malformed(format!("{name}: {what}"));
    let mut out = Vec::new();
    while data.has_remaining() {
        let (tag, wire) = decode_key(&mut data).map_err(|e| malformed(e.to_string()))?;
        let record = match wire {
            WireType::Varint => {
                Record::Varint(decode_varint(&mut data).map_err(|e| malformed(e.to_string()))?)
            }
            WireType::SixtyFourBit => {
                if data.len() < 8 {
                    return Err(malformed(format!("field {tag}: truncated 64-bit value")));
                }
                Record::Fixed64(data.get_u64_le())
            }
            WireType::ThirtyTwoBit => {
                if data.len() < 4 {
                    return Err(malformed(format!("field {tag}: truncated 32-bit value")));
                }
                data.advance(4);
                Record::Fixed32
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut data).map_err(|e| malformed(e.to_string()))?;
                if len > data.len() as u64 {
                    return Err(malformed(format!(
                        "field {tag}: length {len} runs past the end of the message ({} bytes left)",
                        data.len()
                    )));
                }
                let (head, rest) = data.split_at(len as usize);
                data = rest;
                Record::Bytes(head)
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(malformed(format!(
                    "field {tag}: groups are not used by Kubernetes"
                )));
            }
        };
        out.push((tag, record));
    }
    Ok(out)
}

/// Decodes the message `index` into kube's JSON form.
pub fn decode(index: usize, data: &[u8]) -> Result<Value, ProtoError> {
    decode_message(index, data, 0)
}

fn decode_message(index: usize, data: &[u8], depth: usize) -> Result<Value, ProtoError> {
    let msg = message(index);
    if depth > MAX_DEPTH {
        return Err(ProtoError::TooDeep(msg.name.to_owned()));
    }
    let recs = records(data, msg.name)?;
    if let Some(special) = msg.special {
        return decode_special(special, msg, &recs, depth);
    }
    let mut obj = Map::new();
    decode_fields(msg, &recs, &mut obj, depth)?;
    Ok(Value::Object(obj))
}

fn decode_fields(
    msg: &Message,
    recs: &[(u32, Record<'_>)],
    obj: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtoError> {
    for f in msg.fields {
        let mut mine = recs.iter().filter(|(t, _)| *t == f.tag).map(|(_, r)| r);
        let wrong = |r: &Record<'_>| {
            ProtoError::Malformed(format!(
                "{}: field {} ({}) has the wrong wire type {}",
                msg.name,
                f.tag,
                f.json,
                match r {
                    Record::Varint(_) => "varint",
                    Record::Fixed64(_) => "64-bit",
                    Record::Fixed32 => "32-bit",
                    Record::Bytes(_) => "length-delimited",
                }
            ))
        };
        if f.inline {
            // The nested message's fields become the parent's; last record wins as in protobuf.
            let Kind::Msg(i) = f.kind else { continue };
            let data = match mine.next_back() {
                Some(Record::Bytes(b)) => *b,
                Some(r) => return Err(wrong(r)),
                None => &[],
            };
            let inner = records(data, message(i).name)?;
            decode_fields(message(i), &inner, obj, depth + 1)?;
            continue;
        }
        match f.card {
            Cardinality::One => {
                let last = mine.next_back();
                let value = match last {
                    Some(r) => Some(decode_value(f, r, depth).map_err(|e| match e {
                        ProtoError::WireType => wrong(r),
                        e => e,
                    })?),
                    None => None,
                };
                if let Some(v) = present(f, value, depth)? {
                    obj.insert(f.json.to_owned(), v);
                }
            }
            Cardinality::Many => {
                let mut items = Vec::new();
                for r in mine {
                    match (f.kind, r) {
                        // Packed numbers (either encoding is accepted, as protobuf requires).
                        (Kind::I32 | Kind::I64 | Kind::Bool, Record::Bytes(b)) => {
                            let mut b: &[u8] = b;
                            while b.has_remaining() {
                                let n = decode_varint(&mut b).map_err(|e| {
                                    ProtoError::Malformed(format!(
                                        "{}: field {}: {e}",
                                        msg.name, f.tag
                                    ))
                                })?;
                                items.push(scalar(f.kind, n));
                            }
                        }
                        _ => items.push(decode_value(f, r, depth).map_err(|e| match e {
                            ProtoError::WireType => wrong(r),
                            e => e,
                        })?),
                    }
                }
                if !items.is_empty() {
                    obj.insert(f.json.to_owned(), Value::Array(items));
                } else if f.presence == Presence::Always {
                    obj.insert(f.json.to_owned(), Value::Null);
                }
            }
            Cardinality::Map => {
                let mut entries = Map::new();
                for r in mine {
                    let Record::Bytes(b) = r else {
                        return Err(wrong(r));
                    };
                    let mut key = String::new();
                    let mut value = None;
                    for (tag, er) in records(b, msg.name)? {
                        match (tag, er) {
                            (1, Record::Bytes(k)) => {
                                key = String::from_utf8(k.to_vec()).map_err(|_| {
                                    ProtoError::Malformed(format!(
                                        "{}: a key of map field {} ({}) is not UTF-8",
                                        msg.name, f.tag, f.json
                                    ))
                                })?;
                            }
                            (2, er) => {
                                let value_field = Field { tag: 2, ..*f };
                                value = Some(decode_value(&value_field, &er, depth).map_err(
                                    |e| match e {
                                        ProtoError::WireType => wrong(&er),
                                        e => e,
                                    },
                                )?);
                            }
                            _ => {}
                        }
                    }
                    // A missing value is the type's zero value, as in Go.
                    let value = match value {
                        Some(v) => v,
                        None => zero(f.kind, depth)?,
                    };
                    entries.insert(key, value);
                }
                if !entries.is_empty() {
                    obj.insert(f.json.to_owned(), Value::Object(entries));
                } else if f.presence == Presence::Always {
                    obj.insert(f.json.to_owned(), Value::Null);
                }
            }
        }
    }
    Ok(())
}

/// Go's `encoding/json` rule for a single field: pointers when set, `omitempty` scalars unless
/// zero, structs and other fields always.
fn present(f: &Field, value: Option<Value>, depth: usize) -> Result<Option<Value>, ProtoError> {
    Ok(match (f.presence, f.kind) {
        (Presence::Pointer, _) => value,
        // Only ObjectMeta's creationTimestamp, a Time: zero is `null`.
        (Presence::OmitZero, _) => value.filter(|v| !v.is_null()),
        (_, Kind::Msg(_)) => Some(match value {
            Some(v) => v,
            None => zero(f.kind, depth)?,
        }),
        (Presence::OmitEmpty, _) => value.filter(|v| !is_zero(v)),
        (Presence::Always, _) => Some(match value {
            Some(v) => v,
            None => zero(f.kind, depth)?,
        }),
    })
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        _ => false,
    }
}

/// The JSON of Go's zero value of a kind.
fn zero(kind: Kind, depth: usize) -> Result<Value, ProtoError> {
    Ok(match kind {
        Kind::Str | Kind::Bytes => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::I32 | Kind::I64 => Value::from(0),
        Kind::F64 => Value::from(0.0),
        Kind::Msg(i) => decode_message(i, &[], depth + 1)?,
    })
}

fn scalar(kind: Kind, n: u64) -> Value {
    match kind {
        Kind::Bool => Value::Bool(n != 0),
        // int32 values are sign-extended varints.
        Kind::I32 => Value::from(n as i64 as i32),
        _ => Value::from(n as i64),
    }
}

fn decode_value(f: &Field, r: &Record<'_>, depth: usize) -> Result<Value, ProtoError> {
    Ok(match (f.kind, r) {
        (Kind::Str, Record::Bytes(b)) => {
            Value::String(String::from_utf8(b.to_vec()).map_err(|_| {
                ProtoError::Malformed(format!("field {} ({}) is not UTF-8", f.tag, f.json))
            })?)
        }
        (Kind::Bytes, Record::Bytes(b)) => Value::String(BASE64.encode(b)),
        (Kind::Bool | Kind::I32 | Kind::I64, Record::Varint(n)) => scalar(f.kind, *n),
        (Kind::F64, Record::Fixed64(n)) => Number::from_f64(f64::from_bits(*n))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (Kind::Msg(i), Record::Bytes(b)) => decode_message(i, b, depth + 1)?,
        _ => return Err(ProtoError::WireType),
    })
}

fn decode_special(
    special: Special,
    msg: &Message,
    recs: &[(u32, Record<'_>)],
    depth: usize,
) -> Result<Value, ProtoError> {
    let varint = |tag: u32| {
        recs.iter().rev().find_map(|(t, r)| match r {
            Record::Varint(n) if *t == tag => Some(*n),
            _ => None,
        })
    };
    let bytes = |tag: u32| {
        recs.iter().rev().find_map(|(t, r)| match r {
            Record::Bytes(b) if *t == tag => Some(*b),
            _ => None,
        })
    };
    let text = |b: &[u8]| {
        String::from_utf8(b.to_vec())
            .map_err(|_| ProtoError::Malformed(format!("{}: a string is not UTF-8", msg.name)))
    };
    Ok(match special {
        Special::Time | Special::MicroTime => {
            if recs.is_empty() {
                // Go's zero time: an empty message, `null` in JSON.
                return Ok(Value::Null);
            }
            let seconds = varint(1).unwrap_or(0) as i64;
            let nanos = varint(2).unwrap_or(0) as i64 as i32;
            let ts =
                jiff::Timestamp::new(seconds, if special == Special::Time { 0 } else { nanos })
                    .map_err(|e| ProtoError::Malformed(format!("{}: {e}", msg.name)))?;
            Value::String(if special == Special::Time {
                format!("{ts:.0}")
            } else {
                // MicroTime: always six fractional digits (Go's RFC3339Micro).
                let micros = ts.subsec_nanosecond() / 1000;
                let whole = jiff::Timestamp::new(seconds, 0)
                    .map_err(|e| ProtoError::Malformed(format!("{}: {e}", msg.name)))?;
                let s = format!("{whole:.0}");
                format!("{}.{micros:06}Z", s.trim_end_matches('Z'))
            })
        }
        Special::RawJson => match bytes(1) {
            None | Some([]) => Value::Null,
            Some(raw) => serde_json::from_slice(raw).map_err(|e| {
                ProtoError::Malformed(format!("{}: the raw bytes are not JSON: {e}", msg.name))
            })?,
        },
        Special::IntOrString => {
            if varint(1).unwrap_or(0) == 1 {
                Value::String(text(bytes(3).unwrap_or(&[]))?)
            } else {
                Value::from(varint(2).unwrap_or(0) as i64 as i32)
            }
        }
        Special::Quantity => Value::String(match bytes(1) {
            Some(b) => text(b)?,
            // Go's zero Quantity marshals as "0".
            None => "0".to_owned(),
        }),
        Special::ArrayOfItems => Value::Array(
            recs.iter()
                .filter_map(|(t, r)| match r {
                    Record::Bytes(b) if *t == 1 => Some(text(b).map(Value::String)),
                    _ => None,
                })
                .collect::<Result<_, _>>()?,
        ),
        Special::SchemaOrArray | Special::SchemaOrBool | Special::SchemaOrStringArray => {
            let props = index_of(SCHEMA_PROPS).ok_or(ProtoError::Table(SCHEMA_PROPS))?;
            let schema_tag = if special == Special::SchemaOrBool {
                2
            } else {
                1
            };
            if let Some(b) = bytes(schema_tag) {
                return decode_message(props, b, depth + 1);
            }
            match special {
                Special::SchemaOrBool => Value::Bool(varint(1).unwrap_or(0) != 0),
                Special::SchemaOrArray => Value::Array(
                    recs.iter()
                        .filter_map(|(t, r)| match r {
                            Record::Bytes(b) if *t == 2 => {
                                Some(decode_message(props, b, depth + 1))
                            }
                            _ => None,
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => Value::Array(
                    recs.iter()
                        .filter_map(|(t, r)| match r {
                            Record::Bytes(b) if *t == 2 => Some(text(b).map(Value::String)),
                            _ => None,
                        })
                        .collect::<Result<_, _>>()?,
                ),
            }
        }
    })
}
