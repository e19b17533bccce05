//! Decodes a built-in object against its Go type as kube-apiserver's JSON decoder does.
//!
//! kube-apiserver turns a request body into the type's Go struct (`sigs.k8s.io/json`, case
//! sensitive): a field of the wrong JSON type is a decode error worded by Go's `encoding/json`
//! (`json: cannot unmarshal number into Go struct field ConfigMap.data of type string`), and a
//! field the struct does not have is an "unknown field" (`spec.containers[0].foo`) that
//! `fieldValidation` turns into an error, a warning or nothing, and that is never stored.
//! The Go types are read from k8s-openapi's schemas of the same types (`BuiltinType::schema`),
//! so every served built-in is covered without a table of our own. What the OpenAPI schema does
//! not say is told apart by definition name: `Quantity`, `IntOrString`, `Time`/`MicroTime` have
//! JSON decoders of their own in Go, and free-form objects (`RawExtension`, `FieldsV1`, `JSON`)
//! take anything.
//!
//! Known difference: Go prints named types by their Go name (`v1.RestartPolicy`,
//! `v1.ResourceList`); the OpenAPI schema only says `string` or `object`, so those print as
//! `string` and `map[string]resource.Quantity`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, OnceLock};

use base64::Engine;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::builtin::{BuiltinType, builtin_types};
use crate::start_cache::StartCache;

/// The Go type a JSON value is decoded into.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) enum Node {
    String,
    /// `[]byte`: a base64 string.
    Bytes,
    Int32,
    Int64,
    Float,
    Bool,
    /// `resource.Quantity` (its own UnmarshalJSON: a string or a bare number).
    Quantity,
    /// `intstr.IntOrString`: a string or an int32.
    IntOrString,
    /// `metav1.Time` / `MicroTime`: an RFC 3339 string.
    Time,
    /// Free-form JSON (`RawExtension`, `FieldsV1`, apiextensions `JSON`, `oneOf` shapes).
    Any,
    Array(Box<Node>),
    Map(Box<Node>),
    /// Index into `Tree::structs`.
    Struct(usize),
}

/// A Go struct: its name as `encoding/json` prints it and its JSON fields.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct StructDef {
    /// `ConfigMap` (the Struct of an UnmarshalTypeError).
    name: String,
    /// `v1.ConfigMap` (the Type of an UnmarshalTypeError).
    go_type: String,
    pub(super) fields: HashMap<String, Node>,
}

/// One built-in type's decoding tree: the Go structs reachable from it and its root struct.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Tree {
    pub(super) structs: Vec<StructDef>,
    pub(super) root: usize,
}

/// Every served built-in type by (apiVersion, kind), each type's tree compiled from
/// k8s-openapi's schemas the first time an object of that type is decoded (immutable data
/// derived from the crate, like a constant table). Per type, not all at once: generating and
/// compiling the schemas of every served type took about 14 ms of the ~35 ms in which a test
/// process builds its environment, and a process decodes a handful of types.
pub(super) struct Types {
    types: Vec<BuiltinType>,
    /// (apiVersion, kind) → index into `types` and `trees`.
    index: HashMap<(String, String), usize>,
    trees: Vec<OnceLock<Option<Tree>>>,
}

pub(super) static TYPES: LazyLock<Types> = LazyLock::new(|| Types::new(builtin_types()));

/// Where the processes of a run keep the trees they compiled ([`keep_decoding_trees_in`]).
/// Compiling a type's tree from k8s-openapi's schemas takes about 16 M instructions for a type
/// with a pod template (a Job), reading it back about a seventh of that; every test process
/// decodes a few types.
static TREE_CACHE: OnceLock<PathBuf> = OnceLock::new();

/// Makes every server of this process keep the built-in types' decoding trees it compiles in
/// `dir` (`tree-<key>.json`, keyed by this build and the type), and read them from there
/// instead of compiling them when an earlier process of the same build wrote them: for the
/// processes of one test run, e.g. in their start cache directory. Process-wide, like the
/// trees: the first call wins and answers `true`. A file that cannot be read or written only
/// costs the saving.
pub fn keep_decoding_trees_in(dir: impl Into<PathBuf>) -> bool {
    TREE_CACHE.set(dir.into()).is_ok()
}

/// `Quantity`'s format error (k8s.io/apimachinery/pkg/api/resource ErrFormatWrong).
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// `Quantity`'s suffix error (ErrSuffix).
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";
/// `Quantity`'s numeric error (ErrNumeric).
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";
/// Go's `time.RFC3339` layout, quoted in its parse errors.
const RFC3339_LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
/// kube's strict decoder stops collecting strict errors after this many (sigs.k8s.io/json).
const MAX_STRICT_ERRORS: usize = 100;

const DEFS_PREFIX: &str = "#/$defs/";

impl Types {
    fn new(types: Vec<BuiltinType>) -> Self {
        let index = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let api_version = if t.group.is_empty() {
                    t.version.to_owned()
                } else {
                    format!("{}/{}", t.group, t.version)
                };
                ((api_version, t.kind.to_owned()), i)
            })
            .collect();
        let trees = types.iter().map(|_| OnceLock::new()).collect();
        Types {
            types,
            index,
            trees,
        }
    }

    /// The tree of `api_version`/`kind`, compiled on first use; None for a type that is not
    /// built in (or whose schema is not a struct).
    pub(super) fn tree(&self, api_version: &str, kind: &str) -> Option<&Tree> {
        let &i = self.index.get(&(api_version.to_owned(), kind.to_owned()))?;
        self.trees[i]
            .get_or_init(|| Tree::load_or_compile(&self.types[i], TREE_CACHE.get()))
            .as_ref()
    }
}

impl Tree {
    /// The tree of `t`: read from `cache` (a directory) when an earlier process of this build
    /// wrote it there, else compiled (and written there). A file that does not decode is
    /// compiled anew and replaced: the cache only ever saves work.
    fn load_or_compile(t: &BuiltinType, cache: Option<&PathBuf>) -> Option<Self> {
        let file = cache.and_then(|dir| {
            StartCache::derived(
                dir,
                "tree",
                &format!("{}/{}/{}", t.group, t.version, t.kind),
            )
        });
        if let Some(file) = &file
            && let Some(bytes) = file.read()
        {
            match serde_json::from_slice(&bytes) {
                Ok(tree) => return tree,
                Err(e) => {
                    tracing::debug!(path = %file.path().display(), error = %e, "cached decoding tree unreadable; compiling it")
                }
            }
        }
        let tree = Self::compile(t);
        if let Some(file) = &file
            && let Ok(bytes) = serde_json::to_vec(&tree)
        {
            file.write(&bytes);
        }
        tree
    }

    fn compile(t: &BuiltinType) -> Option<Self> {
        let mut settings = SchemaSettings::draft2020_12();
        settings.meta_schema = None;
        let mut generator = settings.into_generator();
        let reference = (t.schema)(&mut generator);
        let name = reference
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(DEFS_PREFIX))
            .unwrap_or_default()
            .to_owned();
        let definitions: Map<String, Value> = generator.take_definitions(true);
        let mut compiler = Compiler {
            definitions: &definitions,
            by_name: HashMap::new(),
            structs: Vec::new(),
        };
        match compiler.definition(&name) {
            Node::Struct(root) => Some(Tree {
                structs: compiler.structs,
                root,
            }),
            _ => None,
        }
    }
}

struct Compiler<'a> {
    definitions: &'a Map<String, Value>,
    by_name: HashMap<String, Node>,
    structs: Vec<StructDef>,
}

impl Compiler<'_> {
    fn definition(&mut self, name: &str) -> Node {
        if let Some(node) = self.by_name.get(name) {
            return node.clone();
        }
        let short = name.rsplit('.').next().unwrap_or(name);
        let node = match short {
            "Quantity" => Node::Quantity,
            "IntOrString" => Node::IntOrString,
            "Time" | "MicroTime" => Node::Time,
            _ => {
                let schema = self.definitions.get(name).unwrap_or(&Value::Null);
                if schema.get("properties").is_some_and(Value::is_object) {
                    let index = self.structs.len();
                    // Go prints `<package>.<Type>`; kube's packages are named by version (`v1`).
                    let package = name.rsplit('.').nth(1).unwrap_or("");
                    self.structs.push(StructDef {
                        name: short.to_owned(),
                        go_type: format!("{package}.{short}"),
                        fields: HashMap::new(),
                    });
                    // Registered before its fields: recursive types (JSONSchemaProps) refer back.
                    self.by_name.insert(name.to_owned(), Node::Struct(index));
                    let mut fields = HashMap::new();
                    if let Some(Value::Object(props)) = schema.get("properties") {
                        for (field, sub) in props {
                            fields.insert(field.clone(), self.node(sub));
                        }
                    }
                    self.structs[index].fields = fields;
                    return Node::Struct(index);
                }
                self.node(schema)
            }
        };
        self.by_name.insert(name.to_owned(), node.clone());
        node
    }

    fn node(&mut self, schema: &Value) -> Node {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return self.definition(r.strip_prefix(DEFS_PREFIX).unwrap_or(r));
        }
        if let Some(Value::Array(all)) = schema.get("allOf")
            && let [only] = all.as_slice()
        {
            return self.node(only);
        }
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => match format {
                "byte" => Node::Bytes,
                "date-time" => Node::Time,
                _ => Node::String,
            },
            Some("integer") => match format {
                "int32" => Node::Int32,
                _ => Node::Int64,
            },
            Some("number") => Node::Float,
            Some("boolean") => Node::Bool,
            Some("array") => Node::Array(Box::new(
                schema
                    .get("items")
                    .map(|items| self.node(items))
                    .unwrap_or(Node::Any),
            )),
            Some("object") => match schema.get("additionalProperties") {
                Some(sub) if sub.is_object() => Node::Map(Box::new(self.node(sub))),
                _ => Node::Any,
            },
            _ => Node::Any,
        }
    }
}

impl Node {
    /// The Go type as `reflect.Type.String()` prints it.
    fn go_type(&self, structs: &[StructDef]) -> String {
        match self {
            Node::String | Node::Time => "string".into(),
            Node::Bytes => "[]uint8".into(),
            Node::Int32 | Node::IntOrString => "int32".into(),
            Node::Int64 => "int64".into(),
            Node::Float => "float64".into(),
            Node::Bool => "bool".into(),
            Node::Quantity => "resource.Quantity".into(),
            Node::Any => "interface {}".into(),
            Node::Array(n) => format!("[]{}", n.go_type(structs)),
            Node::Map(n) => format!("map[string]{}", n.go_type(structs)),
            Node::Struct(i) => structs[*i].go_type.clone(),
        }
    }
}

/// What decoding found: the first hard error (Go keeps only the first) and the unknown fields.
#[derive(Debug, Default)]
pub struct Decoded {
    /// `json: cannot unmarshal ...`, `illegal base64 data at input byte 4`, a Quantity error...
    pub error: Option<String>,
    /// Unknown fields as the strict decoder prints them: `spec.foo`, `spec.containers[0].bar`.
    pub unknown: Vec<String>,
}

/// A field error as structured-merge-diff reports it for server-side apply: `.spec.foo` and why.
#[derive(Debug)]
pub struct ApplyError {
    pub path: String,
    pub message: String,
}

/// Decodes `obj` as the built-in `api_version`/`kind`: checks every field's JSON type, removes
/// unknown fields (listing them), and normalises what Go's decoders normalise (a bare number
/// Quantity becomes its string). Types that are not built in are left alone.
pub fn decode(api_version: &str, kind: &str, obj: &mut Value) -> Decoded {
    let mut decoded = Decoded::default();
    let Some(tree) = TYPES.tree(api_version, kind) else {
        return decoded;
    };
    let mut walker = Walker {
        structs: &tree.structs,
        decoded: &mut decoded,
        struct_name: String::new(),
        fields: Vec::new(),
        path: String::new(),
        apply_errors: None,
    };
    walker.walk(obj, &Node::Struct(tree.root));
    decoded
}

/// Checks an apply configuration as structured-merge-diff converts it to its typed form: every
/// unknown field and wrong type is an error (`.spec.foo: field not declared in schema`); nothing
/// is removed.
pub fn check_apply(api_version: &str, kind: &str, config: &Value) -> Vec<ApplyError> {
    let Some(tree) = TYPES.tree(api_version, kind) else {
        return Vec::new();
    };
    let mut decoded = Decoded::default();
    let mut errors = Vec::new();
    let mut walker = Walker {
        structs: &tree.structs,
        decoded: &mut decoded,
        struct_name: String::new(),
        fields: Vec::new(),
        path: String::new(),
        apply_errors: Some(&mut errors),
    };
    let mut copy = config.clone();
    walker.walk(&mut copy, &Node::Struct(tree.root));
    errors
}

struct Walker<'a> {
    /// The structs of the tree being walked.
    structs: &'a [StructDef],
    decoded: &'a mut Decoded,
    /// The innermost Go struct being decoded (Go's errorContext.Struct).
    struct_name: String,
    /// JSON field names from the root, without indices (Go's errorContext.FieldStack).
    fields: Vec<String>,
    /// The strict decoder's path: `spec.containers[0]`.
    path: String,
    /// Set for apply: collect structured-merge-diff errors instead.
    apply_errors: Option<&'a mut Vec<ApplyError>>,
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// structured-merge-diff's name of a schema type in "expected X, got Y".
fn smd_kind(node: &Node) -> &'static str {
    match node {
        Node::String | Node::Bytes | Node::Time => "string",
        Node::Int32 | Node::Int64 | Node::Float | Node::Quantity | Node::IntOrString => "scalar",
        Node::Bool => "boolean",
        Node::Array(_) => "list",
        Node::Map(_) | Node::Struct(_) => "map",
        Node::Any => "value",
    }
}

impl Walker<'_> {
    /// Go's UnmarshalTypeError for `got` (`number`, `number 1.5`, `string`...) meeting `node`.
    fn type_error(&mut self, got: String, node: &Node, raw: &Value) {
        if let Some(errors) = self.apply_errors.as_deref_mut() {
            errors.push(ApplyError {
                path: smd_path(&self.path),
                message: format!(
                    "expected {}, got &value.valueUnstructured{{Value:{}}}",
                    smd_kind(node),
                    go_print(raw)
                ),
            });
            return;
        }
        if self.decoded.error.is_some() {
            return;
        }
        let go_type = node.go_type(self.structs);
        self.decoded.error = Some(if self.fields.is_empty() {
            format!("json: cannot unmarshal {got} into Go value of type {go_type}")
        } else {
            format!(
                "json: cannot unmarshal {got} into Go struct field {}.{} of type {go_type}",
                self.struct_name,
                self.fields.join(".")
            )
        });
    }

    /// An error of a type's own UnmarshalJSON that Go does not wrap with a field context.
    fn own_error(&mut self, message: String) {
        if let Some(errors) = self.apply_errors.as_deref_mut() {
            errors.push(ApplyError {
                path: smd_path(&self.path),
                message,
            });
            return;
        }
        if self.decoded.error.is_none() {
            self.decoded.error = Some(message);
        }
    }

    fn walk(&mut self, value: &mut Value, node: &Node) {
        if value.is_null() {
            // Go leaves the zero value (or a nil pointer) for `null`.
            return;
        }
        match node {
            Node::Any => {}
            Node::String => {
                if !value.is_string() {
                    self.type_error(json_kind(value).into(), node, value);
                }
            }
            Node::Bool => {
                if !value.is_boolean() {
                    self.type_error(json_kind(value).into(), node, value);
                }
            }
            Node::Float => {
                if !value.is_number() {
                    self.type_error(json_kind(value).into(), node, value);
                }
            }
            Node::Int32 | Node::Int64 | Node::IntOrString => {
                if matches!(node, Node::IntOrString) && value.is_string() {
                    return;
                }
                match value {
                    Value::Number(n) => {
                        let fits = match n.as_i64() {
                            Some(i) => {
                                !matches!(node, Node::Int32 | Node::IntOrString)
                                    || i32::try_from(i).is_ok()
                            }
                            None => false,
                        };
                        if !fits {
                            let got = format!("number {n}");
                            let raw = Value::Number(n.clone());
                            self.type_error(got, node, &raw);
                        }
                    }
                    other => {
                        let kind = json_kind(other);
                        self.type_error(kind.into(), node, other);
                    }
                }
            }
            Node::Bytes => match value {
                Value::String(s) => {
                    if let Err(at) = go_base64(s) {
                        self.own_error(format!("illegal base64 data at input byte {at}"));
                    }
                }
                other => {
                    let kind = json_kind(other);
                    self.type_error(kind.into(), node, other);
                }
            },
            Node::Quantity => match value {
                Value::String(s) => {
                    if let Err(e) = check_quantity(s.trim()) {
                        self.own_error(e.into());
                    }
                }
                Value::Number(n) => {
                    let text = n.to_string();
                    match check_quantity(&text) {
                        Ok(()) => *value = Value::String(text),
                        Err(e) => self.own_error(e.into()),
                    }
                }
                _ => self.own_error(QUANTITY_FORMAT.into()),
            },
            Node::Time => match value {
                Value::String(s) => {
                    if s.parse::<jiff::Timestamp>().is_err() {
                        self.own_error(format!(
                            "parsing time {:?} as {RFC3339_LAYOUT:?}: cannot parse {:?} as \"2006\"",
                            s, s
                        ));
                    }
                }
                other => {
                    let kind = json_kind(other);
                    self.type_error(kind.into(), &Node::String, other);
                }
            },
            Node::Array(item) => {
                let Value::Array(items) = value else {
                    let kind = json_kind(value);
                    let raw = value.clone();
                    self.type_error(kind.into(), node, &raw);
                    return;
                };
                let len = self.path.len();
                for (i, v) in items.iter_mut().enumerate() {
                    self.path.push_str(&format!("[{i}]"));
                    self.walk(v, item);
                    self.path.truncate(len);
                }
            }
            Node::Map(item) => {
                let Value::Object(map) = value else {
                    let kind = json_kind(value);
                    let raw = value.clone();
                    self.type_error(kind.into(), node, &raw);
                    return;
                };
                let len = self.path.len();
                for (k, v) in map.iter_mut() {
                    self.push_key(k);
                    self.walk(v, item);
                    self.path.truncate(len);
                }
            }
            Node::Struct(i) => {
                let Value::Object(map) = value else {
                    let kind = json_kind(value);
                    let raw = value.clone();
                    self.type_error(kind.into(), node, &raw);
                    return;
                };
                let def = &self.structs[*i];
                let outer = std::mem::replace(&mut self.struct_name, def.name.clone());
                let len = self.path.len();
                let mut unknown = Vec::new();
                for (k, v) in map.iter_mut() {
                    match def.fields.get(k) {
                        Some(field) => {
                            self.fields.push(k.clone());
                            self.push_key(k);
                            self.walk(v, field);
                            self.path.truncate(len);
                            self.fields.pop();
                        }
                        None => {
                            // Reported where the decoder meets it (document order), removed below.
                            self.unknown_field(k);
                            unknown.push(k.clone());
                        }
                    }
                }
                for k in unknown {
                    map.remove(&k);
                }
                self.struct_name = outer;
            }
        }
    }

    fn unknown_field(&mut self, key: &str) {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        if let Some(errors) = self.apply_errors.as_deref_mut() {
            errors.push(ApplyError {
                path: smd_path(&path),
                message: "field not declared in schema".into(),
            });
        } else if self.decoded.unknown.len() < MAX_STRICT_ERRORS
            && !self.decoded.unknown.contains(&path)
        {
            self.decoded.unknown.push(path);
        }
    }

    fn push_key(&mut self, key: &str) {
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
    }
}

/// A JSON value as Go's `%v` prints the unstructured form (scalars bare, strings unquoted).
fn go_print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_print).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

/// structured-merge-diff prints paths with a leading dot: `.spec.foo`, `.spec.ports[0]`.
fn smd_path(path: &str) -> String {
    format!(".{path}")
}

/// Go's `base64.StdEncoding.Decode` (padded, newlines skipped): Err(offset of the bad byte).
fn go_base64(s: &str) -> Result<(), usize> {
    let b = s.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut si = 0;
    loop {
        // One quantum of up to four characters.
        let mut j = 0;
        while j < 4 {
            while si < b.len() && (b[si] == b'\n' || b[si] == b'\r') {
                si += 1;
            }
            if si == b.len() {
                return match j {
                    0 => Ok(()),
                    _ => Err(si - j),
                };
            }
            let c = b[si];
            si += 1;
            if c == b'=' {
                match j {
                    0 | 1 => return Err(si - 1),
                    2 => {
                        while si < b.len() && (b[si] == b'\n' || b[si] == b'\r') {
                            si += 1;
                        }
                        if si == b.len() {
                            return Err(b.len());
                        }
                        if b[si] != b'=' {
                            return Err(si - 1);
                        }
                        si += 1;
                    }
                    _ => {}
                }
                while si < b.len() && (b[si] == b'\n' || b[si] == b'\r') {
                    si += 1;
                }
                return if si < b.len() { Err(si) } else { Ok(()) };
            }
            if !is_b64(c) {
                return Err(si - 1);
            }
            j += 1;
        }
    }
}

/// Decodes base64 as Go does, for callers that need the bytes' length.
pub fn base64_len(s: &str) -> usize {
    let cleaned: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .map(|v| v.len())
        .unwrap_or(0)
}

/// `resource.ParseQuantity`'s acceptance, with its three error messages.
pub fn check_quantity(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err(QUANTITY_FORMAT);
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(num_end);
    if number.is_empty() {
        return Err(QUANTITY_FORMAT);
    }
    // The regex's suffix part: [eEinumkKMGTP]*[-+]?[0-9]*
    let letters_end = suffix
        .find(|c: char| !"eEinumkKMGTP".contains(c))
        .unwrap_or(suffix.len());
    let rest = &suffix[letters_end..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if !rest.chars().all(|c| c.is_ascii_digit()) {
        return Err(QUANTITY_FORMAT);
    }
    if number.matches('.').count() > 1 || number == "." {
        return Err(QUANTITY_NUMERIC);
    }
    let known = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    if known.contains(&suffix) {
        return Ok(());
    }
    if let Some(exp) = suffix.strip_prefix(['e', 'E']) {
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return Ok(());
        }
    }
    Err(QUANTITY_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cached_tree_is_the_compiled_one_and_a_bad_file_is_compiled_anew() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().to_owned();
        let job = TYPES
            .types
            .iter()
            .find(|t| t.group == "batch" && t.kind == "Job")
            .expect("Job is served");
        let compiled = Tree::compile(job);
        assert!(compiled.is_some());
        // The first process compiles and writes it.
        assert_eq!(Tree::load_or_compile(job, Some(&cache)), compiled);
        let file = StartCache::derived(&cache, "tree", "batch/v1/Job").expect("a build identity");
        let written: Option<Tree> =
            serde_json::from_slice(&std::fs::read(file.path()).expect("written")).expect("decodes");
        assert_eq!(written, compiled);
        // The next reads it instead of compiling: a marker put in the file comes back.
        let mut text: Value =
            serde_json::from_slice(&std::fs::read(file.path()).expect("read")).expect("json");
        let root = text["root"].as_u64().expect("root") as usize;
        text["structs"][root]["name"] = "Marker".into();
        std::fs::write(file.path(), serde_json::to_vec(&text).expect("encode")).expect("write");
        let read = Tree::load_or_compile(job, Some(&cache)).expect("a tree");
        assert_eq!(read.structs[read.root].name, "Marker");
        // A file that does not decode is compiled anew and replaced.
        std::fs::write(file.path(), b"{\"structs\": [").expect("write");
        assert_eq!(Tree::load_or_compile(job, Some(&cache)), compiled);
        let replaced: Option<Tree> =
            serde_json::from_slice(&std::fs::read(file.path()).expect("read")).expect("decodes");
        assert_eq!(replaced, compiled);
        // Another type has a file of its own.
        let cm = TYPES
            .types
            .iter()
            .find(|t| t.group.is_empty() && t.kind == "ConfigMap")
            .expect("ConfigMap is served");
        let other = StartCache::derived(&cache, "tree", "/v1/ConfigMap").expect("identity");
        assert_ne!(other.path(), file.path());
        assert_eq!(Tree::load_or_compile(cm, Some(&cache)), Tree::compile(cm));
        assert!(other.path().exists());
    }

    #[test]
    fn wrong_types_are_worded_as_go() {
        let mut cm = json!({"metadata": {"name": "x"}, "data": {"a": 5}});
        let d = decode("v1", "ConfigMap", &mut cm);
        assert_eq!(
            d.error.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
            )
        );
        let mut pod = json!({"spec": {"containers": [{"name": 5}]}});
        let d = decode("v1", "Pod", &mut pod);
        assert_eq!(
            d.error.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field Container.spec.containers.name of type string"
            )
        );
        let mut dep = json!({"spec": {"replicas": 1.5}});
        assert_eq!(
            decode("apps/v1", "Deployment", &mut dep).error.as_deref(),
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
        let mut dep = json!({"spec": "x"});
        assert_eq!(
            decode("apps/v1", "Deployment", &mut dep).error.as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"
            )
        );
    }

    #[test]
    fn unknown_fields_are_listed_with_strict_paths_and_removed() {
        let mut pod =
            json!({"spec": {"foo": 1, "containers": [{"name": "a", "bar": true}]}, "x": {}});
        let d = decode("v1", "Pod", &mut pod);
        assert_eq!(d.error, None);
        assert_eq!(d.unknown, vec!["spec.foo", "spec.containers[0].bar", "x"]);
        assert_eq!(pod, json!({"spec": {"containers": [{"name": "a"}]}}));
    }

    #[test]
    fn own_decoders_quantity_intorstring_bytes_time() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": 2, "memory": "1Gi"}}}]}});
        assert!(decode("v1", "Pod", &mut pod).error.is_none());
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "2"
        );
        let mut pod = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2x"}}}]}});
        assert_eq!(
            decode("v1", "Pod", &mut pod).error.as_deref(),
            Some(QUANTITY_FORMAT)
        );
        let mut pod = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2mm"}}}]}});
        assert_eq!(
            decode("v1", "Pod", &mut pod).error.as_deref(),
            Some(QUANTITY_SUFFIX)
        );
        let mut svc = json!({"spec": {"ports": [{"port": 80, "targetPort": true}]}});
        assert_eq!(
            decode("v1", "Service", &mut svc).error.as_deref(),
            Some(
                "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32"
            )
        );
        let mut cm = json!({"binaryData": {"a": "abc$"}});
        assert_eq!(
            decode("v1", "ConfigMap", &mut cm).error.as_deref(),
            Some("illegal base64 data at input byte 3")
        );
        let mut cm = json!({"metadata": {"creationTimestamp": 5}});
        assert_eq!(
            decode("v1", "ConfigMap", &mut cm).error.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"
            )
        );
    }

    #[test]
    fn go_base64_offsets() {
        assert_eq!(go_base64("aGVsbG8="), Ok(()));
        assert_eq!(go_base64("aGVsbG8"), Err(4));
        assert_eq!(go_base64("a$"), Err(1));
        assert_eq!(go_base64("aGVs\nbG8="), Ok(()));
        assert_eq!(go_base64("aG=="), Ok(()));
        assert_eq!(go_base64("aG=x"), Err(2));
        assert_eq!(go_base64("aGVsbG8=x"), Err(8));
    }

    #[test]
    fn quantities() {
        for ok in ["1", "1.5", "100m", "1Gi", "1e3", "+2", "-1k", ".5"] {
            assert_eq!(check_quantity(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_quantity("x"), Err(QUANTITY_FORMAT));
        assert_eq!(check_quantity("1Qi"), Err(QUANTITY_FORMAT));
        assert_eq!(check_quantity("1mm"), Err(QUANTITY_SUFFIX));
    }

    #[test]
    fn apply_errors_name_smd_paths() {
        let errs = check_apply("v1", "ConfigMap", &json!({"data": {"a": 5}, "spec": {}}));
        let rendered: Vec<String> = errs
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        assert_eq!(
            rendered,
            vec![
                ".data.a: expected string, got &value.valueUnstructured{Value:5}",
                ".spec: field not declared in schema"
            ]
        );
    }
}
