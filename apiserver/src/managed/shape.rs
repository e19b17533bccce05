//! Owns the type information field ownership needs at each point of an object: whether a list is
//! atomic, a set or keyed (and by which keys), whether a map or struct is atomic, from the
//! strategic-merge-patch table for built-in types or the CRD schema for custom resources.

use serde_json::{Map, Value, json};

use crate::smp::{self, Strategy};

/// The type name the smp table gives ObjectMeta (custom resources' `metadata` is typed by it).
const OBJECT_META: &str = "apimachinery::pkg::apis::meta::v1::ObjectMeta";

/// A built-in list keyed by more fields than the strategic-merge key the smp table holds (kube's
/// `+listMapKey` tags in `k8s.io/api`), with the defaults of key fields an item may omit.
#[derive(Debug)]
pub struct BuiltinKeys {
    ty: &'static str,
    field: &'static str,
    keys: &'static [&'static str],
    defaults: &'static [(&'static str, &'static str)],
}

/// Checked against `k8s.io/api` core/v1 types.go (every `+listMapKey` list with two keys).
pub(super) static BUILTIN_KEYS: &[BuiltinKeys] = &[
    BuiltinKeys {
        ty: "api::core::v1::Container",
        field: "ports",
        keys: &["containerPort", "protocol"],
        defaults: &[("protocol", "TCP")],
    },
    BuiltinKeys {
        ty: "api::core::v1::EphemeralContainer",
        field: "ports",
        keys: &["containerPort", "protocol"],
        defaults: &[("protocol", "TCP")],
    },
    BuiltinKeys {
        ty: "api::core::v1::PodSpec",
        field: "topologySpreadConstraints",
        keys: &["topologyKey", "whenUnsatisfiable"],
        defaults: &[],
    },
    BuiltinKeys {
        ty: "api::core::v1::ServiceSpec",
        field: "ports",
        keys: &["port", "protocol"],
        defaults: &[("protocol", "TCP")],
    },
];

/// Built-in structs merged and owned as a whole (`+structType=atomic` in `k8s.io/api` core/v1
/// and apimachinery's meta/v1), e.g. a Deployment's `spec.selector`.
pub(super) static ATOMIC_BUILTIN_TYPES: &[&str] = &[
    "api::core::v1::ConfigMapKeySelector",
    "api::core::v1::EndpointAddress",
    "api::core::v1::EndpointPort",
    "api::core::v1::FileKeySelector",
    "api::core::v1::LocalObjectReference",
    "api::core::v1::NodeSelector",
    "api::core::v1::NodeSelectorTerm",
    "api::core::v1::ObjectFieldSelector",
    "api::core::v1::ObjectReference",
    "api::core::v1::ResourceFieldSelector",
    "api::core::v1::ScopeSelector",
    "api::core::v1::SecretKeySelector",
    "api::core::v1::SecretReference",
    "api::core::v1::TopologySelectorTerm",
    "api::core::v1::TypedLocalObjectReference",
    "apimachinery::pkg::apis::meta::v1::LabelSelector",
    "apimachinery::pkg::apis::meta::v1::OwnerReference",
];

/// How the items of a list merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole, owned as one field.
    Atomic,
    /// Scalars merged as a set, each value owned separately.
    Set,
    /// Objects merged by these key fields, each item owned separately.
    Map(Vec<String>),
}

/// The type of a value, as far as merging and ownership need it.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// A built-in type by its smp table name ("" for a scalar or a map of scalars), with the list
    /// strategy of the field holding it.
    Builtin {
        ty: &'static str,
        list: Strategy,
        key: &'static str,
        /// All the list-map keys when there are more than `key`.
        keys: Option<&'static BuiltinKeys>,
    },
    /// The root of a custom resource's `openAPIV3Schema` (its `metadata` is ObjectMeta).
    CrdRoot(&'a Value),
    /// A node of a custom resource's schema.
    Crd(&'a Value),
    /// Nothing known (preserved unknown fields): maps granular, lists atomic.
    Deduced,
}

impl<'a> Shape<'a> {
    /// The shape of a whole object of the resource `info`.
    pub fn root(info: &'a crate::catalog::ResourceInfo) -> Shape<'a> {
        match (&info.openapi, info.custom) {
            (Some(schema), true) => Shape::CrdRoot(schema),
            (None, true) => Shape::Deduced,
            _ => Shape::builtin(smp::root_type(&info.api_version(), &info.kind).unwrap_or("")),
        }
    }

    pub(super) fn builtin(ty: &'static str) -> Shape<'a> {
        Shape::Builtin {
            ty,
            list: Strategy::Plain,
            key: "",
            keys: None,
        }
    }

    /// The shape of the field `name` and whether it is a declared (named) field rather than a
    /// key of a map.
    pub(super) fn child(&self, name: &str) -> (Shape<'a>, bool) {
        match *self {
            Shape::Builtin { ty, .. } => {
                if ty.is_empty() {
                    return (Shape::builtin(""), false);
                }
                match smp::field_info(ty, name) {
                    Some(f) => (
                        Shape::Builtin {
                            ty: f.child,
                            list: f.strategy,
                            key: f.key,
                            keys: BUILTIN_KEYS.iter().find(|k| k.ty == ty && k.field == name),
                        },
                        true,
                    ),
                    None => (Shape::builtin(""), true),
                }
            }
            Shape::CrdRoot(_) if name == "metadata" => (Shape::builtin(OBJECT_META), true),
            Shape::CrdRoot(node) | Shape::Crd(node) => {
                if let Some(p) = node.get("properties").and_then(|p| p.get(name)) {
                    return (Shape::Crd(p), true);
                }
                match node.get("additionalProperties") {
                    Some(ap @ Value::Object(_)) => (Shape::Crd(ap), false),
                    _ => (Shape::Deduced, false),
                }
            }
            Shape::Deduced => (Shape::Deduced, false),
        }
    }

    pub(super) fn items(&self) -> Shape<'a> {
        match *self {
            Shape::Builtin { ty, .. } => Shape::builtin(ty),
            Shape::CrdRoot(node) | Shape::Crd(node) => match node.get("items") {
                Some(items @ Value::Object(_)) => Shape::Crd(items),
                _ => Shape::Deduced,
            },
            Shape::Deduced => Shape::Deduced,
        }
    }

    pub(super) fn list(&self) -> ListKind {
        match *self {
            Shape::Builtin {
                keys: Some(k),
                list: Strategy::MapList,
                ..
            } => ListKind::Map(k.keys.iter().map(|k| (*k).to_owned()).collect()),
            Shape::Builtin { list, key, .. } => match list {
                Strategy::MapList if !key.is_empty() => ListKind::Map(vec![key.to_owned()]),
                Strategy::SetList => ListKind::Set,
                _ => ListKind::Atomic,
            },
            Shape::CrdRoot(node) | Shape::Crd(node) => {
                match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => ListKind::Set,
                    Some("map") => {
                        let keys: Vec<String> = node
                            .get("x-kubernetes-list-map-keys")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        if keys.is_empty() {
                            ListKind::Atomic
                        } else {
                            ListKind::Map(keys)
                        }
                    }
                    _ => ListKind::Atomic,
                }
            }
            Shape::Deduced => ListKind::Atomic,
        }
    }

    pub(super) fn atomic_map(&self) -> bool {
        match *self {
            Shape::Builtin { ty, .. } => ATOMIC_BUILTIN_TYPES.contains(&ty),
            Shape::CrdRoot(node) | Shape::Crd(node) => {
                node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
            }
            _ => false,
        }
    }

    /// The schema default of a key field of list items (lets an item omit a defaulted key).
    pub(super) fn item_key_default(&self, key: &str) -> Option<Value> {
        if let Shape::Builtin { keys: Some(k), .. } = self {
            return k
                .defaults
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, v)| Value::from(*v));
        }
        match self.items() {
            Shape::Crd(items) => items
                .get("properties")
                .and_then(|p| p.get(key))
                .and_then(|k| k.get("default"))
                .cloned(),
            _ => None,
        }
    }
}

/// What the object of a resource looks like before its first write, for comparisons: the
/// top-level structs of a built-in type exist empty (Go zero values), a custom resource has nothing.
pub fn empty_object(shape: Shape<'_>) -> Value {
    let mut m = Map::new();
    m.insert("metadata".into(), json!({}));
    if let Shape::Builtin { ty, .. } = shape
        && !ty.is_empty()
    {
        // The smp table writes an atomic list of structs as it writes a struct (`Plain`, with
        // a child type): Go's field facts tell them apart, and only a struct exists empty (a
        // nil slice is left out: a ServiceAccount's `imagePullSecrets`, a role's `rules`).
        let message = smp::root_of(ty)
            .and_then(|(api_version, kind)| crate::protobuf::message_for(api_version, kind))
            .map(crate::protobuf::message);
        for f in smp::fields_of(ty) {
            let single = message
                .and_then(|msg| crate::protobuf::json_field(msg, f.name))
                .is_none_or(|pf| pf.card == crate::protobuf::Cardinality::One);
            if !f.child.is_empty()
                && f.strategy == Strategy::Plain
                && f.name != "metadata"
                && single
            {
                m.insert(f.name.to_owned(), json!({}));
            }
        }
    }
    Value::Object(m)
}
