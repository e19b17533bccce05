//! The shapes of the generated protobuf table (`schema.rs`): what one message and one field of a
//! built-in type are on the wire and in JSON.

/// A protobuf message of a built-in type.
pub struct Message {
    /// `module.Message`: the proto package below `k8s.io` as a path, and the message's name.
    pub name: &'static str,
    /// A message whose JSON form is not its fields' (Go types with their own `MarshalJSON`).
    pub special: Option<Special>,
    /// Its fields by tag; empty for a special message.
    pub fields: &'static [Field],
    /// Its JSON field names in the Go struct's order, which is the order `encoding/json` writes
    /// them in (an inlined struct's fields in its place; Go fields without a protobuf tag included).
    pub go_order: &'static [&'static str],
}

/// One field: its tag, JSON name, value type, cardinality and Go's JSON presence rule.
pub struct Field {
    pub tag: u32,
    /// The JSON name (empty for an inlined struct).
    pub json: &'static str,
    pub kind: Kind,
    pub card: Cardinality,
    pub presence: Presence,
    /// `json:",inline"`: the nested message's JSON fields are the parent's.
    pub inline: bool,
}

/// The value type of a field (of a map's values for [`Cardinality::Map`]; keys are strings).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Str,
    /// Base64 in JSON.
    Bytes,
    Bool,
    I32,
    I64,
    F64,
    /// A nested message: its index in `MESSAGES`.
    Msg(usize),
}

/// How often a field occurs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    One,
    /// `repeated`, one record per item (Kubernetes' proto2 messages pack no numbers; packed
    /// records are read too, as protobuf requires).
    Many,
    /// `map<string, V>`: repeated entries `{1: key, 2: value}`.
    Map,
}

/// When Go's `encoding/json` writes the field (protobuf cannot tell a zero value from an unset one
/// for a non-pointer Go field: Go's generated marshaller writes those always).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// A Go pointer: written when set, whatever its value.
    Pointer,
    /// `omitempty`: written unless zero (structs are written always, as `encoding/json` does).
    OmitEmpty,
    /// No `omitempty`: written always (zero when unset; `null` for an empty list or map).
    Always,
    /// `omitzero` (a struct, `metav1.Time`): written unless it is the zero struct.
    OmitZero,
}

/// Messages with a JSON form of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `metav1.Time`: `{seconds, nanos}`; RFC 3339 to the second in JSON, `null` when zero.
    Time,
    /// `metav1.MicroTime`: as Time, with six fractional digits.
    MicroTime,
    /// `{raw: bytes}` holding JSON (RawExtension, FieldsV1, apiextensions JSON): that JSON.
    RawJson,
    /// `{type, intVal, strVal}`: a number or a string.
    IntOrString,
    /// `{string}`: the quantity's string.
    Quantity,
    /// A Go slice type given a message of its own (`ExtraValue`, `Verbs`): `{items: [string]}`.
    ArrayOfItems,
    /// JSONSchemaPropsOrArray: `{schema, jSONSchemas}`; an object or an array of them.
    SchemaOrArray,
    /// JSONSchemaPropsOrBool: `{allows, schema}`; a boolean or an object.
    SchemaOrBool,
    /// JSONSchemaPropsOrStringArray: `{schema, property}`; an object or an array of strings.
    SchemaOrStringArray,
}
