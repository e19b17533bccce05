//! Compiles an `openAPIV3Schema` into a tree of [`Node`]s, rejecting what kube-apiserver rejects.
//!
//! The checks follow apiextensions-apiserver: `pkg/apiserver/schema/validation.go` (structural
//! invariants and forbidden keywords inside `allOf`/`anyOf`/`oneOf`/`not`), `complete.go`
//! (every property named in a value validation exists in the structural part) and the CRD
//! validation in `pkg/apis/apiextensions/validation` (uniqueItems, list types, `$ref`, ...).
//! Errors are pathed from `openAPIV3Schema`, e.g. `openAPIV3Schema.properties[spec].type`.

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value};

use crate::cel_rules::{self, CelEnv, CompiledRule};
use crate::error::{ErrorKind, FieldError};

/// The JSON type a schema node declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::String => "string",
            Ty::Integer => "integer",
            Ty::Number => "number",
            Ty::Boolean => "boolean",
        }
    }

    fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "object" => Ty::Object,
            "array" => Ty::Array,
            "string" => Ty::String,
            "integer" => Ty::Integer,
            "number" => Ty::Number,
            "boolean" => Ty::Boolean,
            _ => return None,
        })
    }
}

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug)]
pub(crate) enum Additional {
    Allows(bool),
    Schema(Box<Node>),
}

/// One compiled schema node. Value-validation-only nodes (inside `allOf` and friends) use the same
/// type with the structural parts empty.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub ty: Option<Ty>,
    pub nullable: bool,
    pub int_or_string: bool,
    pub preserve_unknown: bool,
    pub embedded: bool,
    pub properties: IndexMap<String, Node>,
    pub additional: Option<Additional>,
    pub items: Option<Box<Node>>,
    pub default: Option<Value>,
    /// The format as written, kept only if kube-apiserver checks it (others are stripped).
    pub format: Option<String>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: Option<(String, Regex)>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub enum_values: Option<Vec<Value>>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub rules: Vec<CompiledRule>,
    /// Whether this node or one below it has rules; set once compiled, so validation can skip
    /// rule-free subtrees without walking the schema again.
    pub rules_below: bool,
}

impl Node {
    /// The type list go-openapi checks against: `integer,string` for int-or-string.
    pub(crate) fn type_list(&self) -> &'static str {
        if self.int_or_string {
            "integer,string"
        } else {
            self.ty.map(Ty::name).unwrap_or("")
        }
    }

    /// The `Type` string of the structural schema, which CEL errors show as the bad value.
    pub(crate) fn structural_type(&self) -> &'static str {
        self.ty.map(Ty::name).unwrap_or("")
    }

    pub(crate) fn additional_schema(&self) -> Option<&Node> {
        match &self.additional {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether any rule lives in this subtree (lets validation skip CEL walks cheaply).
    pub(crate) fn has_rules(&self) -> bool {
        self.rules_below
    }

    fn compute_rules_below(&self) -> bool {
        !self.rules.is_empty()
            || self.items.as_ref().is_some_and(|n| n.rules_below)
            || self.additional_schema().is_some_and(|n| n.rules_below)
            || self.properties.values().any(|n| n.rules_below)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Field,
    Item,
}

/// Formats kube-apiserver 1.37 validates on strings, with dashes removed (go-openapi normalises names so).
const STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8sshortname",
    "k8slongname",
];

const SUPPORTED_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// Compiles schema JSON into nodes, collecting every problem as a field error instead of stopping
/// at the first, as the CRD validation reports them all.
pub(crate) struct Compiler<'e> {
    pub errs: Vec<FieldError>,
    pub env: &'e CelEnv,
    /// Path of the outermost list (not a list-type map) we are inside: its items have no old
    /// value to compare with, so transition rules there are refused.
    pub uncorrelatable: Option<String>,
}

impl Compiler<'_> {
    pub(crate) fn compile_root(&mut self, schema: &Value) -> Node {
        let path = "openAPIV3Schema".to_string();
        let node = self.compile(schema, &path, Level::Root, false);
        self.check_completeness(&node, &path);
        node
    }

    fn compile(&mut self, schema: &Value, path: &str, level: Level, nested: bool) -> Node {
        let mut node = Node::default();
        let Some(obj) = schema.as_object() else {
            self.errs.push(FieldError::invalid(
                path,
                schema.clone(),
                "must be a JSON object (a schema)",
            ));
            return node;
        };

        if obj.contains_key("$ref") {
            self.errs.push(FieldError::forbidden(
                format!("{path}.$ref"),
                "$ref is not supported",
            ));
        }
        if obj.contains_key("patternProperties") {
            self.errs.push(FieldError::forbidden(
                format!("{path}.patternProperties"),
                "patternProperties is not supported",
            ));
        }
        if obj.contains_key("dependencies") {
            self.errs.push(FieldError::forbidden(
                format!("{path}.dependencies"),
                "dependencies is not supported",
            ));
        }
        if obj.contains_key("additionalItems") {
            self.errs.push(FieldError::forbidden(
                format!("{path}.additionalItems"),
                "additionalItems is not supported",
            ));
        }

        let type_str = self.string(obj, "type", path);
        if let Some(t) = &type_str {
            match Ty::parse(t) {
                Some(ty) => node.ty = Some(ty),
                None => {
                    let supported: Vec<String> =
                        SUPPORTED_TYPES.iter().map(|s| s.to_string()).collect();
                    self.errs.push(FieldError::not_supported(
                        format!("{path}.type"),
                        Value::String(t.clone()),
                        &supported,
                    ));
                }
            }
        }
        node.nullable = self.boolean(obj, "nullable", path);
        node.int_or_string = self.boolean(obj, "x-kubernetes-int-or-string", path);
        node.preserve_unknown = self.boolean(obj, "x-kubernetes-preserve-unknown-fields", path);
        node.embedded = self.boolean(obj, "x-kubernetes-embedded-resource", path);
        // `default: null` means no default, as in Go where the decoded value is nil.
        node.default = obj.get("default").filter(|d| !d.is_null()).cloned();

        self.value_validations(&mut node, obj, path);

        // Structural parts.
        if let Some(props) = obj.get("properties") {
            match props.as_object() {
                Some(props) => {
                    for (k, v) in props {
                        let child_level = Level::Field;
                        let child = self.compile(
                            v,
                            &format!("{path}.properties[{k}]"),
                            child_level,
                            nested,
                        );
                        node.properties.insert(k.clone(), child);
                    }
                }
                None => self.errs.push(FieldError::invalid(
                    format!("{path}.properties"),
                    props.clone(),
                    "must be an object",
                )),
            }
        }
        if let Some(items) = obj.get("items") {
            if items.is_array() {
                self.errs.push(FieldError::forbidden(
                    format!("{path}.items"),
                    "items must be a schema object and not an array",
                ));
            } else {
                let is_map_list =
                    obj.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map");
                let outer = self.uncorrelatable.clone();
                if !is_map_list && outer.is_none() {
                    self.uncorrelatable = Some(path.to_string());
                }
                node.items = Some(Box::new(self.compile(
                    items,
                    &format!("{path}.items"),
                    Level::Item,
                    nested,
                )));
                self.uncorrelatable = outer;
            }
        }
        if let Some(ap) = obj.get("additionalProperties") {
            let ap_path = format!("{path}.additionalProperties");
            node.additional = match ap {
                Value::Bool(b) => Some(Additional::Allows(*b)),
                Value::Object(_) => Some(Additional::Schema(Box::new(self.compile(
                    ap,
                    &ap_path,
                    Level::Field,
                    nested,
                )))),
                other => {
                    self.errs.push(FieldError::invalid(
                        ap_path,
                        other.clone(),
                        "must be a boolean or a schema",
                    ));
                    None
                }
            };
        }

        for (key, list) in [
            ("allOf", &mut node.all_of),
            ("anyOf", &mut node.any_of),
            ("oneOf", &mut node.one_of),
        ] {
            if let Some(v) = obj.get(key) {
                match v.as_array() {
                    Some(arr) => {
                        for (i, s) in arr.iter().enumerate() {
                            let p = format!("{path}.{key}[{i}]");
                            let sub = self.compile(s, &p, level, true);
                            // The int-or-string pattern `anyOf: [{type: integer}, {type: string}]`
                            // is exempt (isIntOrStringAnyOfPattern).
                            if !(key == "anyOf" && is_int_or_string_any_of(v)) {
                                self.check_nested(s, &p);
                            }
                            list.push(sub);
                        }
                    }
                    None => self.errs.push(FieldError::invalid(
                        format!("{path}.{key}"),
                        v.clone(),
                        "must be an array of schemas",
                    )),
                }
            }
        }
        if let Some(v) = obj.get("not") {
            let p = format!("{path}.not");
            let sub = self.compile(v, &p, level, true);
            self.check_nested(v, &p);
            node.not = Some(Box::new(sub));
        }

        // Extensions for lists and maps.
        node.list_type = self.string(obj, "x-kubernetes-list-type", path);
        node.map_type = self.string(obj, "x-kubernetes-map-type", path);
        if let Some(keys) = obj.get("x-kubernetes-list-map-keys") {
            match keys.as_array().and_then(|a| {
                a.iter()
                    .map(|k| k.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(keys) => node.list_map_keys = keys,
                None => self.errs.push(FieldError::invalid(
                    format!("{path}.x-kubernetes-list-map-keys"),
                    keys.clone(),
                    "must be a list of strings",
                )),
            }
        }

        // Formats kube-apiserver does not check are stripped (StripUnsupportedFormatsPostProcessor).
        if let Some(f) = self.string(obj, "format", path) {
            // The post-processor looks at go-openapi's type list, which for int-or-string is
            // [integer, string]: not a single type, so string formats apply.
            let string_format = || STRING_FORMATS.contains(&f.replace('-', "").as_str());
            let keep = match (node.ty, node.int_or_string) {
                (_, true) | (None, false) | (Some(Ty::String), false) => string_format(),
                (Some(Ty::Integer), false) => f == "int32" || f == "int64",
                (Some(Ty::Number), false) => f == "float" || f == "double",
                _ => false,
            };
            if keep {
                node.format = Some(f);
            }
        }

        if !nested {
            self.check_structural(&node, obj, path, level);
            self.check_list_type(&node, path);
            if let Some(rules) = obj.get("x-kubernetes-validations") {
                node.rules = cel_rules::compile_rules(
                    rules,
                    &node,
                    level == Level::Root,
                    &format!("{path}.x-kubernetes-validations"),
                    self.env,
                    self.uncorrelatable.as_deref(),
                    &mut self.errs,
                );
            }
        }
        node.rules_below = node.compute_rules_below();
        node
    }

    fn value_validations(&mut self, node: &mut Node, obj: &Map<String, Value>, path: &str) {
        node.maximum = self.number(obj, "maximum", path);
        node.minimum = self.number(obj, "minimum", path);
        node.multiple_of = self.number(obj, "multipleOf", path);
        node.exclusive_maximum = self.boolean(obj, "exclusiveMaximum", path);
        node.exclusive_minimum = self.boolean(obj, "exclusiveMinimum", path);
        node.max_length = self.integer(obj, "maxLength", path);
        node.min_length = self.integer(obj, "minLength", path);
        node.max_items = self.integer(obj, "maxItems", path);
        node.min_items = self.integer(obj, "minItems", path);
        node.max_properties = self.integer(obj, "maxProperties", path);
        node.min_properties = self.integer(obj, "minProperties", path);
        node.unique_items = self.boolean(obj, "uniqueItems", path);
        if node.unique_items {
            self.errs.push(FieldError::forbidden(
                format!("{path}.uniqueItems"),
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ));
        }
        if let Some(m) = node.multiple_of
            && m <= 0.0
        {
            self.errs.push(FieldError::invalid(
                format!("{path}.multipleOf"),
                Value::from(m),
                "must be greater than zero",
            ));
        }
        if let Some(p) = self.string(obj, "pattern", path) {
            match Regex::new(&p) {
                Ok(re) => node.pattern = Some((p, re)),
                Err(e) => self.errs.push(FieldError::invalid(
                    format!("{path}.pattern"),
                    Value::String(p.clone()),
                    format!(
                        "must be a valid regular expression, but isn't: {}",
                        first_line(&e.to_string())
                    ),
                )),
            }
        }
        if let Some(req) = obj.get("required") {
            match req.as_array().and_then(|a| {
                a.iter()
                    .map(|k| k.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(r) => node.required = r,
                None => self.errs.push(FieldError::invalid(
                    format!("{path}.required"),
                    req.clone(),
                    "must be a list of strings",
                )),
            }
        }
        if let Some(e) = obj.get("enum") {
            match e.as_array() {
                Some(a) => node.enum_values = Some(a.clone()),
                None => self.errs.push(FieldError::invalid(
                    format!("{path}.enum"),
                    e.clone(),
                    "must be an array",
                )),
            }
        }
    }

    /// `validateStructuralInvariants` and the CRD validation rules that go with it.
    fn check_structural(
        &mut self,
        node: &Node,
        obj: &Map<String, Value>,
        path: &str,
        level: Level,
    ) {
        if node.ty == Some(Ty::Array) && node.items.is_none() {
            self.errs.push(FieldError::required(
                format!("{path}.items"),
                "must be specified",
            ));
        }
        if node.additional.is_some() {
            if level == Level::Root {
                self.errs.push(FieldError::forbidden(
                    format!("{path}.additionalProperties"),
                    "must not be used at the root",
                ));
            }
            if !node.properties.is_empty() {
                self.errs.push(FieldError::forbidden(
                    format!("{path}.additionalProperties"),
                    "additionalProperties and properties are mutual exclusive",
                ));
            }
            if node.embedded {
                self.errs.push(FieldError::forbidden(
                    format!("{path}.additionalProperties"),
                    "must not be used if x-kubernetes-embedded-resource is set",
                ));
            }
        }
        if node.int_or_string && node.preserve_unknown {
            self.errs.push(FieldError::invalid(
                format!("{path}.x-kubernetes-preserve-unknown-fields"),
                Value::Bool(true),
                "must be false if x-kubernetes-int-or-string is true",
            ));
        }
        if node.int_or_string && node.embedded {
            self.errs.push(FieldError::invalid(
                format!("{path}.x-kubernetes-embedded-resource"),
                Value::Bool(true),
                "must be false if x-kubernetes-int-or-string is true",
            ));
        }
        let type_str = node.structural_type();
        if node.embedded && node.ty != Some(Ty::Object) {
            if obj.get("type").is_none() {
                self.errs.push(FieldError::required(
                    format!("{path}.type"),
                    "must be object if x-kubernetes-embedded-resource is true",
                ));
            } else {
                self.errs.push(FieldError::invalid(
                    format!("{path}.type"),
                    Value::from(type_str),
                    "must be object if x-kubernetes-embedded-resource is true",
                ));
            }
        } else if obj.get("type").is_none() && !node.int_or_string && !node.preserve_unknown {
            let detail = match level {
                Level::Root => "must not be empty at the root",
                Level::Item => "must not be empty for specified array items",
                Level::Field => "must not be empty for specified object fields",
            };
            self.errs
                .push(FieldError::required(format!("{path}.type"), detail));
        }
        if level == Level::Root && node.ty.is_some() && node.ty != Some(Ty::Object) {
            self.errs.push(FieldError::invalid(
                format!("{path}.type"),
                Value::from(type_str),
                "must be object at the root",
            ));
        }
        let check_metadata = level == Level::Root || node.embedded;
        if check_metadata {
            for key in ["kind", "apiVersion"] {
                if let Some(p) = node.properties.get(key)
                    && p.ty != Some(Ty::String)
                {
                    self.errs.push(FieldError::invalid(
                        format!("{path}.properties[{key}].type"),
                        Value::from(p.structural_type()),
                        "must be string",
                    ));
                }
            }
        }
        if let Some(meta) = node.properties.get("metadata") {
            let mpath = format!("{path}.properties[metadata]");
            if check_metadata && meta.ty != Some(Ty::Object) {
                self.errs.push(FieldError::invalid(
                    format!("{mpath}.type"),
                    Value::from(meta.structural_type()),
                    "must be object",
                ));
            }
            if level == Level::Root {
                let only_names = meta
                    .properties
                    .keys()
                    .all(|k| k == "name" || k == "generateName");
                let meta_obj = obj
                    .get("properties")
                    .and_then(|p| p.get("metadata"))
                    .and_then(Value::as_object);
                let extra_keys = meta_obj.is_some_and(|m| {
                    m.keys()
                        .any(|k| !matches!(k.as_str(), "type" | "properties" | "default"))
                });
                if !only_names || extra_keys {
                    self.errs.push(FieldError::forbidden(
                        mpath,
                        "must not specify anything other than name and generateName, but metadata is implicitly specified",
                    ));
                }
            }
        }
        if node.embedded && !node.preserve_unknown && node.properties.is_empty() {
            self.errs.push(FieldError::required(
                format!("{path}.properties"),
                "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ));
        }
    }

    /// The list-type rules of the CRD validation.
    fn check_list_type(&mut self, node: &Node, path: &str) {
        if let Some(lt) = &node.list_type {
            if node.ty != Some(Ty::Array) {
                if node.ty.is_none() {
                    self.errs.push(FieldError::required(
                        format!("{path}.type"),
                        "must be array if x-kubernetes-list-type is specified",
                    ));
                } else {
                    self.errs.push(FieldError::invalid(
                        format!("{path}.type"),
                        Value::from(node.structural_type()),
                        "must be array if x-kubernetes-list-type is specified",
                    ));
                }
            }
            if !matches!(lt.as_str(), "atomic" | "set" | "map") {
                let supported = ["atomic", "set", "map"].map(String::from);
                self.errs.push(FieldError::not_supported(
                    format!("{path}.x-kubernetes-list-type"),
                    Value::String(lt.clone()),
                    &supported,
                ));
            }
        }
        if !node.list_map_keys.is_empty() && node.list_type.as_deref() != Some("map") {
            match &node.list_type {
                None => self.errs.push(FieldError::required(
                    format!("{path}.x-kubernetes-list-type"),
                    "must be map if x-kubernetes-list-map-keys is non-empty",
                )),
                Some(lt) => self.errs.push(FieldError::invalid(
                    format!("{path}.x-kubernetes-list-type"),
                    Value::String(lt.clone()),
                    "must be map if x-kubernetes-list-map-keys is non-empty",
                )),
            }
        }
        if node.list_type.as_deref() == Some("map") {
            if node.list_map_keys.is_empty() {
                self.errs.push(FieldError::required(
                    format!("{path}.x-kubernetes-list-map-keys"),
                    "must not be empty if x-kubernetes-list-type is map",
                ));
            }
            match &node.items {
                None => self.errs.push(FieldError::required(
                    format!("{path}.items"),
                    "must have a schema if x-kubernetes-list-type is map",
                )),
                Some(items) => {
                    if items.ty != Some(Ty::Object) {
                        self.errs.push(FieldError::invalid(
                            format!("{path}.items.type"),
                            Value::from(items.structural_type()),
                            "must be object if parent array's x-kubernetes-list-type is map",
                        ));
                    } else {
                        let keys_value = Value::from(node.list_map_keys.clone());
                        if node
                            .list_map_keys
                            .iter()
                            .any(|k| !items.properties.contains_key(k))
                        {
                            self.errs.push(FieldError::invalid(
                                format!("{path}.x-kubernetes-list-map-keys"),
                                keys_value.clone(),
                                "entries must all be names of item properties",
                            ));
                        }
                        let mut seen = std::collections::HashSet::new();
                        if !node.list_map_keys.iter().all(|k| seen.insert(k)) {
                            self.errs.push(FieldError::invalid(
                                format!("{path}.x-kubernetes-list-map-keys"),
                                keys_value,
                                "must not contain duplicate entries",
                            ));
                        }
                        for k in &node.list_map_keys {
                            if let Some(p) = items.properties.get(k) {
                                if !matches!(
                                    p.ty,
                                    Some(Ty::String | Ty::Integer | Ty::Number | Ty::Boolean)
                                ) {
                                    self.errs.push(FieldError::invalid(
                                        format!("{path}.items.properties[{k}].type"),
                                        Value::from(p.structural_type()),
                                        "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                    ));
                                }
                                if p.nullable {
                                    self.errs.push(FieldError::forbidden(
                                        format!("{path}.items.properties[{k}].nullable"),
                                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                                    ));
                                }
                                if p.default.is_none() && !items.required.contains(k) {
                                    self.errs.push(FieldError::required(
                                        format!("{path}.items.properties[{k}].default"),
                                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        if let (Some(lt @ ("set" | "map")), Some(items)) = (node.list_type.as_deref(), &node.items)
            && items.nullable
        {
            self.errs.push(FieldError::forbidden(
                format!("{path}.items.nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if node.list_type.as_deref() == Some("set")
            && let Some(items) = &node.items
            && (items.ty == Some(Ty::Object) || items.ty == Some(Ty::Array))
            && items.list_type.as_deref().unwrap_or("atomic") != "atomic"
        {
            self.errs.push(FieldError::invalid(
                format!("{path}.items.x-kubernetes-list-type"),
                Value::from(items.list_type.clone()),
                "must be atomic as item of a list with x-kubernetes-list-type=set",
            ));
        }
    }

    /// `validateNestedValueValidation`: only value validations inside allOf/anyOf/oneOf/not.
    fn check_nested(&mut self, raw: &Value, path: &str) {
        let Some(obj) = raw.as_object() else { return };
        let forbidden: &[(&str, &str)] = &[
            ("type", "must be empty to be structural"),
            ("additionalProperties", "must be undefined to be structural"),
            ("default", "must be undefined to be structural"),
            ("title", "must be empty to be structural"),
            ("description", "must be empty to be structural"),
            ("nullable", "must be false to be structural"),
            (
                "x-kubernetes-preserve-unknown-fields",
                "must be false to be structural",
            ),
            (
                "x-kubernetes-embedded-resource",
                "must be false to be structural",
            ),
            (
                "x-kubernetes-int-or-string",
                "must be false to be structural",
            ),
            (
                "x-kubernetes-list-map-keys",
                "must be empty to be structural",
            ),
            (
                "x-kubernetes-list-type",
                "must be undefined to be structural",
            ),
            (
                "x-kubernetes-map-type",
                "must be undefined to be structural",
            ),
            ("x-kubernetes-validations", "must be empty to be structural"),
        ];
        for (key, detail) in forbidden {
            let Some(v) = obj.get(*key) else { continue };
            let set = match v {
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Null => false,
                _ => true,
            };
            if set || *key == "default" || *key == "additionalProperties" {
                self.errs
                    .push(FieldError::forbidden(format!("{path}.{key}"), *detail));
            }
        }
        if obj
            .get("properties")
            .and_then(|p| p.get("metadata"))
            .is_some()
        {
            self.errs.push(FieldError::forbidden(
                format!("{path}.properties[metadata]"),
                "must not be specified in a nested context",
            ));
        }
        for (k, v) in obj
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            self.check_nested(v, &format!("{path}.properties[{k}]"));
        }
        if let Some(items) = obj.get("items") {
            self.check_nested(items, &format!("{path}.items"));
        }
    }

    /// `validateStructuralCompleteness`: properties and items named in value validations must
    /// exist in the structural part of the schema.
    fn check_completeness(&mut self, node: &Node, path: &str) {
        for (k, child) in &node.properties {
            self.check_completeness(child, &format!("{path}.properties[{k}]"));
        }
        if let Some(items) = &node.items {
            self.check_completeness(items, &format!("{path}.items"));
        }
        if let Some(ap) = node.additional_schema() {
            self.check_completeness(ap, &format!("{path}.additionalProperties"));
        }
        let groups: [(&str, &[Node]); 3] = [
            ("allOf", &node.all_of),
            ("anyOf", &node.any_of),
            ("oneOf", &node.one_of),
        ];
        for (key, list) in groups {
            for (i, v) in list.iter().enumerate() {
                self.nested_completeness(v, node, path, &format!("{path}.{key}[{i}]"));
            }
        }
        if let Some(v) = &node.not {
            self.nested_completeness(v, node, path, &format!("{path}.not"));
        }
    }

    fn nested_completeness(&mut self, v: &Node, s: &Node, s_path: &str, v_path: &str) {
        for (k, vp) in &v.properties {
            match s.properties.get(k) {
                Some(sp) => self.nested_completeness(
                    vp,
                    sp,
                    &format!("{s_path}.properties[{k}]"),
                    &format!("{v_path}.properties[{k}]"),
                ),
                None => self.errs.push(FieldError::required(
                    format!("{s_path}.properties[{k}]"),
                    format!("because it is defined in {v_path}.properties[{k}]"),
                )),
            }
        }
        if let Some(vi) = &v.items {
            match &s.items {
                Some(si) => self.nested_completeness(
                    vi,
                    si,
                    &format!("{s_path}.items"),
                    &format!("{v_path}.items"),
                ),
                None => self.errs.push(FieldError::required(
                    format!("{s_path}.items"),
                    format!("because it is defined in {v_path}.items"),
                )),
            }
        }
        let groups: [(&str, &[Node]); 3] = [
            ("allOf", &v.all_of),
            ("anyOf", &v.any_of),
            ("oneOf", &v.one_of),
        ];
        for (key, list) in groups {
            for (i, sub) in list.iter().enumerate() {
                self.nested_completeness(sub, s, s_path, &format!("{v_path}.{key}[{i}]"));
            }
        }
        if let Some(sub) = &v.not {
            self.nested_completeness(sub, s, s_path, &format!("{v_path}.not"));
        }
    }

    fn boolean(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.errs.push(FieldError::new(
                    ErrorKind::TypeInvalid,
                    format!("{path}.{key}"),
                    Some(other.clone()),
                    "must be a boolean",
                ));
                false
            }
        }
    }

    fn string(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.errs.push(FieldError::new(
                    ErrorKind::TypeInvalid,
                    format!("{path}.{key}"),
                    Some(other.clone()),
                    "must be a string",
                ));
                None
            }
        }
    }

    fn number(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(other) => {
                self.errs.push(FieldError::new(
                    ErrorKind::TypeInvalid,
                    format!("{path}.{key}"),
                    Some(other.clone()),
                    "must be a number",
                ));
                None
            }
        }
    }

    fn integer(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i >= 0) => n.as_i64(),
            Some(other) => {
                self.errs.push(FieldError::new(
                    ErrorKind::TypeInvalid,
                    format!("{path}.{key}"),
                    Some(other.clone()),
                    "must be a non-negative integer",
                ));
                None
            }
        }
    }
}

fn is_int_or_string_any_of(v: &Value) -> bool {
    *v == serde_json::json!([{"type": "integer"}, {"type": "string"}])
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
