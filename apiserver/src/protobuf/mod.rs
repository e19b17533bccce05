//! Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`) for the built-in
//! types: the `k8s\0` + `runtime.Unknown` envelope, request bodies decoded into the JSON the store
//! keeps, responses and watch frames encoded from it. Custom resources have no protobuf form (as in
//! kube-apiserver).
//!
//! The messages come from one generated table (`schema.rs`, by `scripts/gen_proto_schema.py` from
//! the release's `generated.proto` files, recorded in `proto_fields.tsv`, joined with the Go struct
//! tags in `go_fields.tsv`) that drives one generic converter (`codec.rs`); nothing here is written
//! per type. k8s-pb's prost types are the tests' independent reader and writer.

mod codec;
#[rustfmt::skip]
mod schema;
mod schema_types;

pub(crate) use schema_types::{Cardinality, Field, Kind, Message, Presence, Special};

use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint};
use serde_json::{Map, Value};

/// The protobuf media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The content type of a protobuf watch stream.
pub const WATCH_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";
/// The prefix of every protobuf-encoded object (kube's `protoEncodingPrefix`).
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a body could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The bytes are not a well-formed protobuf message of the expected type.
    #[error("{0}")]
    Malformed(String),
    /// A JSON value does not fit its protobuf field (path, why).
    #[error("{0}: {1}")]
    Invalid(String, String),
    /// A JSON field the message has no place for (path, message): the generated messages are
    /// older than the object's type.
    #[error("{0}: field not in the protobuf message {1}")]
    UnknownField(String, &'static str),
    /// Nesting beyond the converter's limit.
    #[error("{0}: nested too deeply")]
    TooDeep(String),
    /// The apiVersion and kind have no protobuf message here.
    #[error("no protobuf message for {0}, Kind={1}")]
    UnknownKind(String, String),
    /// The generated table lacks a message the converter needs (a generator bug).
    #[error("the protobuf table has no message {0}")]
    Table(&'static str),
    /// Internal: a record's wire type does not match its field (reworded with the field's name).
    #[error("wrong wire type")]
    WireType,
}

/// The message of a top-level kind (`v1`, `ConfigMap`), if the type has a protobuf form.
pub fn message_for(api_version: &str, kind: &str) -> Option<usize> {
    schema::KINDS
        .binary_search_by(|(v, k, _)| (*v, *k).cmp(&(api_version, kind)))
        .ok()
        .map(|i| schema::KINDS[i].2)
}

/// The message at `index` of the generated table (an index from [`message_for`] or a field's
/// [`Kind::Msg`]).
pub(crate) fn message(index: usize) -> &'static Message {
    &schema::MESSAGES[index]
}

/// The field of `msg` that the JSON key `key` is, looking into inlined messages.
pub(crate) fn json_field(msg: &'static Message, key: &str) -> Option<&'static Field> {
    msg.fields.iter().find_map(|f| match f.kind {
        Kind::Msg(i) if f.inline => json_field(message(i), key),
        _ => (f.json == key).then_some(f),
    })
}

/// apiextensions' JSONSchemaProps, which the schema-or-something messages hold.
pub(crate) fn schema_props() -> &'static Message {
    static INDEX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| codec::index_of(codec::SCHEMA_PROPS))
        .map(message)
        .unwrap_or(&EMPTY)
}

/// What [`schema_props`] answers if the table lacked JSONSchemaProps (a generator bug the
/// codec's tests catch): a message without fields, which orders nothing.
static EMPTY: Message = Message {
    name: "",
    special: None,
    fields: &[],
    go_order: &[],
};

/// Whether objects of this apiVersion and kind can be served as protobuf.
pub fn has_message(api_version: &str, kind: &str) -> bool {
    message_for(api_version, kind).is_some()
}

/// A decoded request body: the JSON object with the envelope's apiVersion and kind.
pub fn decode_object(body: &[u8]) -> Result<Value, ProtoError> {
    let data = match body {
        [] => return Err(ProtoError::Malformed("empty data".into())),
        b if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC => {
            return Err(ProtoError::Malformed(format!(
                "provided data does not appear to be a protobuf message, expected prefix {:?}",
                MAGIC
            )));
        }
        b if b.len() == MAGIC.len() => return Err(ProtoError::Malformed("empty body".into())),
        b => &b[MAGIC.len()..],
    };
    let unknown = Unknown::decode(data)?;
    if unknown.kind.is_empty() {
        return Err(ProtoError::Malformed(format!(
            "Object 'Kind' is missing in 'runtime.TypeMeta{{APIVersion:{:?}, Kind:\"\"}}'",
            unknown.api_version
        )));
    }
    if !unknown.content_encoding.is_empty() {
        return Err(ProtoError::Malformed(format!(
            "unsupported contentEncoding {:?} in the protobuf envelope",
            unknown.content_encoding
        )));
    }
    let index = message_for(&unknown.api_version, &unknown.kind).ok_or_else(|| {
        ProtoError::UnknownKind(unknown.api_version.clone(), unknown.kind.clone())
    })?;
    let decoded = codec::decode(index, unknown.raw)?;
    // apiVersion and kind first, as Go's TypeMeta comes first in every object.
    let mut obj = Map::new();
    obj.insert("kind".into(), Value::String(unknown.kind));
    obj.insert("apiVersion".into(), Value::String(unknown.api_version));
    if let Value::Object(fields) = decoded {
        obj.extend(fields);
    }
    Ok(Value::Object(obj))
}

/// Encodes a JSON object (with its apiVersion and kind) as kube's protobuf body.
pub fn encode_object(v: &Value) -> Result<Vec<u8>, ProtoError> {
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let index = message_for(api_version, kind)
        .ok_or_else(|| ProtoError::UnknownKind(api_version.to_owned(), kind.to_owned()))?;
    let raw = codec::encode(index, v)?;
    let mut out = Vec::with_capacity(raw.len() + api_version.len() + kind.len() + 16);
    out.extend_from_slice(MAGIC);
    Unknown {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        raw: &raw,
        content_encoding: String::new(),
        content_type: String::new(),
    }
    .encode(&mut out);
    Ok(out)
}

/// One frame of a protobuf watch: a 4-byte big-endian length, then the `WatchEvent` message
/// (`type`, and the object's own envelope as the RawExtension's bytes), unprefixed: kube's raw
/// stream serializer with its length-delimited framer.
pub fn watch_frame(event_type: &str, object: &Value) -> Result<Vec<u8>, ProtoError> {
    let embedded = encode_object(object)?;
    let mut raw_extension = Vec::with_capacity(embedded.len() + 8);
    field_bytes(1, &embedded, &mut raw_extension);
    let mut event = Vec::with_capacity(raw_extension.len() + event_type.len() + 8);
    field_bytes(1, event_type.as_bytes(), &mut event);
    field_bytes(2, &raw_extension, &mut event);
    let len = u32::try_from(event.len())
        .map_err(|_| ProtoError::Malformed("watch event larger than 4 GiB".into()))?;
    let mut out = Vec::with_capacity(event.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&event);
    Ok(out)
}

/// Decodes one frame written by [`watch_frame`] (for tests and clients of this crate): the event
/// type and the object, or None when `data` holds no complete frame; the bytes it used.
pub fn read_watch_frame(data: &[u8]) -> Result<Option<(String, Value, usize)>, ProtoError> {
    let Some(len) = data.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let Some(mut event) = data.get(4..4 + len) else {
        return Ok(None);
    };
    let (mut event_type, mut object) = (String::new(), None);
    while event.has_remaining() {
        let (tag, wire) =
            decode_key(&mut event).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        let bytes = length_delimited(wire, &mut event, "WatchEvent")?;
        match tag {
            1 => event_type = String::from_utf8_lossy(bytes).into_owned(),
            2 => {
                let mut ext = bytes;
                while ext.has_remaining() {
                    let (tag, wire) =
                        decode_key(&mut ext).map_err(|e| ProtoError::Malformed(e.to_string()))?;
                    let raw = length_delimited(wire, &mut ext, "RawExtension")?;
                    if tag == 1 {
                        object = Some(decode_object(raw)?);
                    }
                }
            }
            _ => {}
        }
    }
    let object =
        object.ok_or_else(|| ProtoError::Malformed("watch event without an object".into()))?;
    Ok(Some((event_type, object, 4 + len)))
}

fn field_bytes(tag: u32, data: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(data.len() as u64, buf);
    buf.extend_from_slice(data);
}

/// The payload of a length-delimited record at the front of `data` (advanced past it).
fn length_delimited<'a>(
    wire: WireType,
    data: &mut &'a [u8],
    what: &str,
) -> Result<&'a [u8], ProtoError> {
    if wire != WireType::LengthDelimited {
        return Err(ProtoError::Malformed(format!(
            "{what}: a field has the wrong wire type {wire:?}"
        )));
    }
    let len = decode_varint(data).map_err(|e| ProtoError::Malformed(format!("{what}: {e}")))?;
    if len > data.len() as u64 {
        return Err(ProtoError::Malformed(format!(
            "{what}: length {len} runs past the end of the message"
        )));
    }
    let (head, rest) = data.split_at(len as usize);
    *data = rest;
    Ok(head)
}

/// `runtime.Unknown`: `{typeMeta: {apiVersion, kind}, raw, contentEncoding, contentType}`.
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

impl<'a> Unknown<'a> {
    fn decode(mut data: &'a [u8]) -> Result<Self, ProtoError> {
        let text = |b: &[u8], what: &str| {
            String::from_utf8(b.to_vec())
                .map_err(|_| ProtoError::Malformed(format!("runtime.Unknown: {what} is not UTF-8")))
        };
        let mut u = Unknown {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
            content_type: String::new(),
        };
        while data.has_remaining() {
            let (tag, wire) = decode_key(&mut data)
                .map_err(|e| ProtoError::Malformed(format!("runtime.Unknown: {e}")))?;
            if wire != WireType::LengthDelimited {
                // Unknown fields of other wire types are skipped, as protobuf requires.
                prost::encoding::skip_field(wire, tag, &mut data, Default::default())
                    .map_err(|e| ProtoError::Malformed(format!("runtime.Unknown: {e}")))?;
                continue;
            }
            let bytes = length_delimited(wire, &mut data, "runtime.Unknown")?;
            match tag {
                1 => {
                    let mut tm = bytes;
                    while tm.has_remaining() {
                        let (tag, wire) = decode_key(&mut tm)
                            .map_err(|e| ProtoError::Malformed(format!("runtime.TypeMeta: {e}")))?;
                        let b = length_delimited(wire, &mut tm, "runtime.TypeMeta")?;
                        match tag {
                            1 => u.api_version = text(b, "apiVersion")?,
                            2 => u.kind = text(b, "kind")?,
                            _ => {}
                        }
                    }
                }
                2 => u.raw = bytes,
                3 => u.content_encoding = text(bytes, "contentEncoding")?,
                4 => u.content_type = text(bytes, "contentType")?,
                _ => {}
            }
        }
        Ok(u)
    }

    /// Go's generated marshaller writes every field, empty strings included.
    fn encode(&self, buf: &mut Vec<u8>) {
        let mut type_meta = Vec::with_capacity(self.api_version.len() + self.kind.len() + 4);
        field_bytes(1, self.api_version.as_bytes(), &mut type_meta);
        field_bytes(2, self.kind.as_bytes(), &mut type_meta);
        let mut body = Vec::with_capacity(type_meta.len() + self.raw.len() + 16);
        field_bytes(1, &type_meta, &mut body);
        field_bytes(2, self.raw, &mut body);
        field_bytes(3, self.content_encoding.as_bytes(), &mut body);
        field_bytes(4, self.content_type.as_bytes(), &mut body);
        buf.extend_from_slice(&body);
    }
}

#[cfg(test)]
mod tests;
