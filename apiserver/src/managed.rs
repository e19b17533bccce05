//! Owns field ownership: `metadata.managedFields` (kube's FieldsV1 encoding), the field sets of
//! applied configurations and of ordinary writes, and server-side apply's merge, pruning of fields
//! a manager stopped applying, and conflict detection — the parts of kube's
//! `k8s.io/apimachinery/pkg/util/managedfields` and `sigs.k8s.io/structured-merge-diff` a client
//! can observe.
//!
//! Types come from two places: built-in objects use the strategic-merge-patch table
//! ([`crate::smp`]: list merge keys, set-lists; every other list is atomic) plus the few facts it
//! lacks (two-key lists, atomic structs: [`BUILTIN_KEYS`], [`ATOMIC_BUILTIN_TYPES`]); custom
//! resources their CRD's `openAPIV3Schema` (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`). Their `metadata` is ObjectMeta.
//!
//! Not modelled: converting field sets between versions of a multi-version CRD.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::{Map, Value, json};

use crate::smp::{self, Strategy};
use crate::status::{ApiError, Cause, Details};

/// The manager kube-apiserver records for the fields an untracked object already had when the
/// first apply arrives (`skipnonapplied.go`), so applying over them conflicts.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";
/// The longest field manager name kube-apiserver accepts (`FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LEN: usize = 128;
/// The type name the smp table gives ObjectMeta (custom resources' `metadata` is typed by it).
const OBJECT_META: &str = "apimachinery::pkg::apis::meta::v1::ObjectMeta";

/// One step of a field path, ordered like structured-merge-diff orders them: field names, then
/// list-map keys, then set values, then indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pe {
    /// `f:name`: a field of an object or a key of a map.
    Field(String),
    /// `k:{"name":"app"}`: a list item by its key fields (canonical JSON, keys sorted).
    Key(String),
    /// `v:"x"`: a set-list item by its value (JSON).
    Value(String),
    /// `i:0`: a list item by position (only read from clients; never produced here).
    Index(usize),
}

impl Pe {
    fn encode(&self) -> String {
        match self {
            Pe::Field(n) => format!("f:{n}"),
            Pe::Key(k) => format!("k:{k}"),
            Pe::Value(v) => format!("v:{v}"),
            Pe::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Option<Pe> {
        let (kind, rest) = s.split_at_checked(2)?;
        match kind {
            "f:" => Some(Pe::Field(rest.to_owned())),
            "k:" => {
                let Value::Object(m) = serde_json::from_str::<Value>(rest).ok()? else {
                    return None;
                };
                Some(Pe::Key(canonical_key(m.iter())))
            }
            "v:" => serde_json::from_str::<Value>(rest)
                .ok()
                .map(|v| Pe::Value(v.to_string())),
            "i:" => rest.parse().ok().map(Pe::Index),
            _ => None,
        }
    }

    /// How structured-merge-diff prints the step in a path: `.name`, `[name="app"]`, `[="x"]`, `[0]`.
    fn display(&self) -> String {
        match self {
            Pe::Field(n) => format!(".{n}"),
            Pe::Key(k) => {
                let parts: Vec<String> = match serde_json::from_str::<Value>(k) {
                    Ok(Value::Object(m)) => m.iter().map(|(n, v)| format!("{n}={v}")).collect(),
                    _ => vec![k.clone()],
                };
                format!("[{}]", parts.join(","))
            }
            Pe::Value(v) => format!("[={v}]"),
            Pe::Index(i) => format!("[{i}]"),
        }
    }
}

fn canonical_key<'a>(fields: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    let mut sorted: Vec<(&String, &Value)> = fields.collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = sorted
        .iter()
        .map(|(n, v)| format!("{}:{}", Value::from(n.as_str()), v))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// A path as kube prints it in conflicts: `.spec.template.spec.containers[name="app"].image`.
pub fn path_string(path: &[Pe]) -> String {
    path.iter().map(Pe::display).collect()
}

/// A set of field paths, stored as a tree (the shape of FieldsV1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    /// The path leading here is itself in the set (FieldsV1's `.` when it has children too).
    member: bool,
    children: BTreeMap<Pe, Set>,
}

impl Set {
    /// Adds `path` (non-empty) to the set.
    pub fn insert(&mut self, path: &[Pe]) {
        let mut node = self;
        for pe in path {
            node = node.children.entry(pe.clone()).or_default();
        }
        if !path.is_empty() {
            node.member = true;
        }
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(Set::is_empty)
    }

    /// Whether `path` is in the set.
    pub fn has(&self, path: &[Pe]) -> bool {
        self.node(path).is_some_and(|n| n.member)
    }

    fn node(&self, path: &[Pe]) -> Option<&Set> {
        let mut node = self;
        for pe in path {
            node = node.children.get(pe)?;
        }
        Some(node)
    }

    /// Adds every path of `other`.
    pub fn union(&mut self, other: &Set) {
        self.member |= other.member;
        for (pe, child) in &other.children {
            self.children.entry(pe.clone()).or_default().union(child);
        }
    }

    /// Removes every path of `other` (exact paths; descendants stay).
    pub fn difference(&mut self, other: &Set) {
        if other.member {
            self.member = false;
        }
        for (pe, child) in &other.children {
            if let Some(mine) = self.children.get_mut(pe) {
                mine.difference(child);
                if mine.is_empty() {
                    self.children.remove(pe);
                }
            }
        }
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    /// Every path in the set, in structured-merge-diff's order (a node before its children).
    pub fn paths(&self) -> Vec<Vec<Pe>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<Pe>, out: &mut Vec<Vec<Pe>>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON form: `{"f:spec":{"f:replicas":{}}}`, `"."` marking a member with children.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (pe, child) in &self.children {
            if !child.is_empty() {
                m.insert(pe.encode(), child.to_fields_v1());
            }
        }
        Value::Object(m)
    }

    /// Reads the FieldsV1 JSON form; `None` when it is malformed.
    pub fn from_fields_v1(v: &Value) -> Option<Set> {
        let mut root = Set::default();
        root.read_children(v.as_object()?)?;
        Some(root)
    }

    fn read_children(&mut self, m: &Map<String, Value>) -> Option<()> {
        for (k, v) in m {
            let children = v.as_object()?;
            if k == "." {
                self.member = true;
                continue;
            }
            let child = self.children.entry(Pe::decode(k)?).or_default();
            if children.is_empty() {
                child.member = true;
            } else {
                child.read_children(children)?;
            }
        }
        Some(())
    }
}

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
static BUILTIN_KEYS: &[BuiltinKeys] = &[
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
static ATOMIC_BUILTIN_TYPES: &[&str] = &[
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

    fn builtin(ty: &'static str) -> Shape<'a> {
        Shape::Builtin {
            ty,
            list: Strategy::Plain,
            key: "",
            keys: None,
        }
    }

    /// The shape of the field `name` and whether it is a declared (named) field rather than a
    /// key of a map.
    fn child(&self, name: &str) -> (Shape<'a>, bool) {
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

    fn items(&self) -> Shape<'a> {
        match *self {
            Shape::Builtin { ty, .. } => Shape::builtin(ty),
            Shape::CrdRoot(node) | Shape::Crd(node) => match node.get("items") {
                Some(items @ Value::Object(_)) => Shape::Crd(items),
                _ => Shape::Deduced,
            },
            Shape::Deduced => Shape::Deduced,
        }
    }

    fn list(&self) -> ListKind {
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

    fn atomic_map(&self) -> bool {
        match *self {
            Shape::Builtin { ty, .. } => ATOMIC_BUILTIN_TYPES.contains(&ty),
            Shape::CrdRoot(node) | Shape::Crd(node) => {
                node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
            }
            _ => false,
        }
    }

    /// The schema default of a key field of list items (lets an item omit a defaulted key).
    fn item_key_default(&self, key: &str) -> Option<Value> {
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

/// The path step of a list item, or why it has none.
fn item_pe(item: &Value, kind: &ListKind, shape: &Shape<'_>) -> Result<Pe, String> {
    match kind {
        ListKind::Atomic => Err("atomic lists have no item paths".into()),
        ListKind::Set => {
            if item.is_object() || item.is_array() {
                return Err(format!(
                    "expected a scalar in a list of type set, found {item}"
                ));
            }
            Ok(Pe::Value(item.to_string()))
        }
        ListKind::Map(keys) => {
            let Value::Object(m) = item else {
                return Err(format!(
                    "expected an object in a list of type map, found {item}"
                ));
            };
            let mut fields = Vec::with_capacity(keys.len());
            for k in keys {
                match m.get(k).cloned().or_else(|| shape.item_key_default(k)) {
                    Some(v) => fields.push((k.clone(), v)),
                    None => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {:?} (and doesn't have default value)",
                            k
                        ));
                    }
                }
            }
            Ok(Pe::Key(canonical_key(fields.iter().map(|(k, v)| (k, v)))))
        }
    }
}

/// The items of a keyed list with their path steps; `Err` when an item has no key or a key
/// repeats (such a stored list is then treated as atomic, as structured-merge-diff does).
fn index_items<'v>(
    items: &'v [Value],
    kind: &ListKind,
    shape: &Shape<'_>,
) -> Result<Vec<(Pe, &'v Value)>, String> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pe = item_pe(item, kind, shape).map_err(|e| format!("element {i}: {e}"))?;
        if !seen.insert(pe.clone()) {
            return Err(format!("duplicate entries for key {}", pe.display()));
        }
        out.push((pe, item));
    }
    Ok(out)
}

fn is_empty_map(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    }
}

/// The fields an applied configuration sets (structured-merge-diff's `ToFieldSet`): every scalar,
/// atomic list and atomic map, every list item, map keys that are not declared fields, and empty
/// or null values.
pub fn to_field_set(config: &Value, shape: Shape<'_>) -> Result<Set, String> {
    let mut set = Set::default();
    walk_field_set(config, shape, &mut Vec::new(), &mut set)?;
    Ok(set)
}

fn walk_field_set(
    v: &Value,
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
    set: &mut Set,
) -> Result<(), String> {
    match v {
        Value::Object(m) if !shape.atomic_map() => {
            for (k, cv) in m {
                let (cs, named) = shape.child(k);
                path.push(Pe::Field(k.clone()));
                walk_field_set(cv, cs, path, set)?;
                if is_empty_map(Some(cv)) || !named {
                    set.insert(path);
                }
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => {
            let kind = shape.list();
            if kind == ListKind::Atomic {
                set.insert(path);
                return Ok(());
            }
            let indexed = index_items(items, &kind, &shape)
                .map_err(|e| format!("{}: {e}", path_string(path)))?;
            for (pe, item) in indexed {
                path.push(pe);
                walk_field_set(item, shape.items(), path, set)?;
                set.insert(path);
                path.pop();
            }
            Ok(())
        }
        _ => {
            set.insert(path);
            Ok(())
        }
    }
}

/// What changed between two versions of an object (structured-merge-diff's `Comparison`).
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

/// Compares `old` with `new` field by field.
pub fn compare(old: &Value, new: &Value, shape: Shape<'_>) -> Comparison {
    let mut c = Comparison::default();
    walk_compare(Some(old), Some(new), shape, &mut Vec::new(), &mut c);
    c
}

fn walk_compare(
    old: Option<&Value>,
    new: Option<&Value>,
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
    c: &mut Comparison,
) {
    let granular_maps = !shape.atomic_map()
        && matches!(old, None | Some(Value::Object(_)))
        && matches!(new, None | Some(Value::Object(_)))
        && !(is_empty_map(old) && is_empty_map(new));
    if granular_maps {
        let empty = Map::new();
        let om = old.and_then(Value::as_object).unwrap_or(&empty);
        let nm = new.and_then(Value::as_object).unwrap_or(&empty);
        let mut keys: Vec<&String> = om.keys().collect();
        keys.extend(nm.keys().filter(|k| !om.contains_key(*k)));
        let in_metadata = matches!(path.as_slice(), [Pe::Field(m)] if m == "metadata");
        for k in keys {
            if in_metadata && k == "managedFields" {
                // Bookkeeping, not content: never compared (and never owned).
                continue;
            }
            path.push(Pe::Field(k.clone()));
            walk_compare(om.get(k), nm.get(k), shape.child(k).0, path, c);
            path.pop();
        }
        container_hook(old, new, path, c);
        return;
    }
    let kind = shape.list();
    if kind != ListKind::Atomic
        && matches!(old, None | Some(Value::Array(_)))
        && matches!(new, None | Some(Value::Array(_)))
    {
        let ol: &[Value] = old.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        let nl: &[Value] = new.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        if let (Ok(oi), Ok(ni)) = (
            index_items(ol, &kind, &shape),
            index_items(nl, &kind, &shape),
        ) {
            let om: HashMap<&Pe, &Value> = oi.iter().map(|(p, v)| (p, *v)).collect();
            let nm: HashMap<&Pe, &Value> = ni.iter().map(|(p, v)| (p, *v)).collect();
            let mut order: Vec<&Pe> = oi.iter().map(|(p, _)| p).collect();
            order.extend(ni.iter().map(|(p, _)| p).filter(|p| !om.contains_key(*p)));
            for pe in order {
                path.push(pe.clone());
                walk_compare(
                    om.get(pe).copied(),
                    nm.get(pe).copied(),
                    shape.items(),
                    path,
                    c,
                );
                path.pop();
            }
            container_hook(old, new, path, c);
            return;
        }
    }
    // A leaf: scalars, atomic lists and maps, type changes.
    match (old, new) {
        (None, None) => {}
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        (Some(o), Some(n)) if o != n => c.modified.insert(path),
        _ => {}
    }
}

/// structured-merge-diff's `postItemHook`: a map or list that appears or disappears is itself
/// added or removed.
fn container_hook(old: Option<&Value>, new: Option<&Value>, path: &[Pe], c: &mut Comparison) {
    if path.is_empty() {
        return;
    }
    match (old, new) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
}

/// Merges an applied configuration into the live object (structured-merge-diff's `Merge`): the
/// configuration's values win, granular maps merge key by key, set and map lists item by item
/// (in the configuration's order, live-only items keeping their places), the rest is replaced.
pub fn merge(live: &Value, config: &Value, shape: Shape<'_>) -> Result<Value, String> {
    merge_value(Some(live), config, shape, &mut Vec::new())
}

fn merge_value(
    live: Option<&Value>,
    config: &Value,
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
) -> Result<Value, String> {
    match (live, config) {
        (Some(Value::Object(lm)), Value::Object(cm)) if !shape.atomic_map() => {
            let mut out = lm.clone();
            for (k, cv) in cm {
                path.push(Pe::Field(k.clone()));
                let merged = merge_value(lm.get(k), cv, shape.child(k).0, path)?;
                path.pop();
                if merged.is_null() {
                    // A null in an applied configuration owns the field without a value.
                    out.remove(k);
                } else {
                    out.insert(k.clone(), merged);
                }
            }
            Ok(Value::Object(out))
        }
        (_, Value::Object(cm)) if !shape.atomic_map() => merge_value(
            Some(&Value::Object(Map::new())),
            &Value::Object(cm.clone()),
            shape,
            path,
        ),
        (live, Value::Array(cl)) => {
            let kind = shape.list();
            if kind == ListKind::Atomic {
                return Ok(config.clone());
            }
            let ci = index_items(cl, &kind, &shape)
                .map_err(|e| format!("{}: {e}", path_string(path)))?;
            let ll: &[Value] = match live {
                Some(Value::Array(l)) => l,
                _ => &[],
            };
            // A stored list that cannot be keyed (written before it was typed) is replaced.
            let Ok(li) = index_items(ll, &kind, &shape) else {
                return Ok(config.clone());
            };
            merge_list(&li, &ci, shape, path).map(Value::Array)
        }
        _ => Ok(config.clone()),
    }
}

/// Interleaves a live keyed list with the configuration's items the way structured-merge-diff
/// does: items both hold follow the configuration's order, live-only items stay where they were.
fn merge_list(
    live: &[(Pe, &Value)],
    config: &[(Pe, &Value)],
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
) -> Result<Vec<Value>, String> {
    let lmap: HashMap<&Pe, &Value> = live.iter().map(|(p, v)| (p, *v)).collect();
    let cmap: HashMap<&Pe, &Value> = config.iter().map(|(p, v)| (p, *v)).collect();
    let mut shared: VecDeque<&Pe> = config
        .iter()
        .map(|(p, _)| p)
        .filter(|p| lmap.contains_key(p))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut done: HashSet<&Pe> = HashSet::new();
    let mut out = Vec::with_capacity(live.len().max(config.len()));
    let (mut li, mut ci) = (0, 0);
    let item = |pe: &Pe, path: &mut Vec<Pe>| -> Result<Value, String> {
        path.push(pe.clone());
        // Only called with the configuration's own items; a missing one keeps the live item.
        let merged = match cmap.get(pe) {
            Some(c) => merge_value(lmap.get(pe).copied(), c, shape.items(), path),
            None => Ok(lmap.get(pe).map_or(Value::Null, |l| (*l).clone())),
        };
        path.pop();
        merged
    };
    while li < live.len() || ci < config.len() {
        if li < live.len() && ci < config.len() {
            let pe = &live[li].0;
            if *pe == config[ci].0 {
                done.insert(pe);
                out.push(item(pe, path)?);
                li += 1;
                ci += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if cmap.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                // A shared item, but not the next one in the configuration's order.
                li += 1;
                continue;
            }
        }
        if li < live.len() {
            let pe = &live[li].0;
            if !cmap.contains_key(pe) {
                out.push(live[li].1.clone());
                li += 1;
                continue;
            }
            if done.contains(pe) {
                li += 1;
                continue;
            }
        }
        if ci < config.len() {
            let pe = &config[ci].0;
            done.insert(pe);
            out.push(item(pe, path)?);
            ci += 1;
            if next_shared == Some(pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    Ok(out)
}

/// Removes from `obj` what the applier applied last time (`last`) and nobody owns any more
/// (`owned`, every manager's set with the applier's new one): structured-merge-diff's `prune`,
/// where a declared field counts as owned when anything below it is.
pub fn prune(obj: &mut Value, last: &Set, owned: &Set, shape: Shape<'_>) {
    prune_walk(obj, last, Some(owned), shape);
}

fn prune_walk(obj: &mut Value, last: &Set, owned: Option<&Set>, shape: Shape<'_>) {
    match obj {
        Value::Object(m) => {
            for (pe, last_child) in &last.children {
                let Pe::Field(k) = pe else { continue };
                let (cs, named) = shape.child(k);
                let owned_child = owned.and_then(|o| o.children.get(pe));
                let member = last_child.member || named;
                let kept = match owned_child {
                    Some(o) if named => !o.is_empty(),
                    Some(o) => o.member,
                    None => false,
                };
                if member && !kept {
                    m.remove(k);
                } else if let Some(child) = m.get_mut(k) {
                    prune_walk(child, last_child, owned_child, cs);
                }
            }
        }
        Value::Array(items) => {
            let kind = shape.list();
            if kind == ListKind::Atomic {
                return;
            }
            let Ok(pes) = items
                .iter()
                .map(|i| item_pe(i, &kind, &shape))
                .collect::<Result<Vec<Pe>, String>>()
            else {
                return;
            };
            let mut keep = Vec::with_capacity(items.len());
            for (pe, mut item) in pes.into_iter().zip(std::mem::take(items)) {
                let Some(last_child) = last.children.get(&pe) else {
                    keep.push(item);
                    continue;
                };
                let owned_child = owned.and_then(|o| o.children.get(&pe));
                if last_child.member && !owned_child.is_some_and(|o| o.member) {
                    continue;
                }
                prune_walk(&mut item, last_child, owned_child, shape.items());
                keep.push(item);
            }
            *items = keep;
        }
        _ => {}
    }
}

/// Paths never tracked for anyone (kube's `stripMetaManager`).
fn strip_set() -> Set {
    let mut s = Set::default();
    for p in [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ] {
        let path: Vec<Pe> = p.iter().map(|f| Pe::Field((*f).to_owned())).collect();
        s.insert(&path);
    }
    s
}

/// `metadata.managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `metadata.managedFields` entry with its decoded field set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub set: Set,
}

impl Entry {
    /// kube's manager identity: appliers are one manager whatever apiVersion they used.
    fn same_manager(&self, manager: &str, op: Operation, api_version: &str, sub: &str) -> bool {
        self.manager == manager
            && self.operation == op
            && self.subresource == sub
            && (op == Operation::Apply || self.api_version == api_version)
    }

    /// How kube names the manager in conflict messages (`printManager`).
    fn printed(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", self.subresource);
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        // Omitted when empty, like Go's `omitempty` (kube-rs sends no User-Agent).
        if !self.manager.is_empty() {
            m.insert("manager".into(), self.manager.clone().into());
        }
        m.insert("operation".into(), self.operation.as_str().into());
        m.insert("apiVersion".into(), self.api_version.clone().into());
        if let Some(t) = &self.time {
            m.insert("time".into(), t.clone().into());
        }
        m.insert("fieldsType".into(), "FieldsV1".into());
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), self.subresource.clone().into());
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Option<Entry> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let operation = match v.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return None,
        };
        if v.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1") {
            return None;
        }
        Some(Entry {
            manager: s("manager"),
            operation,
            api_version: s("apiVersion"),
            time: v.get("time").and_then(Value::as_str).map(str::to_owned),
            subresource: s("subresource"),
            set: Set::from_fields_v1(v.get("fieldsV1").unwrap_or(&json!({})))?,
        })
    }
}

/// The entries of `managedFields` (a JSON array); `None` when any entry is malformed.
pub fn decode(managed_fields: Option<&Value>) -> Option<Vec<Entry>> {
    match managed_fields {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(Entry::from_json).collect(),
        Some(_) => None,
    }
}

/// The `managedFields` array, ordered as kube orders it (operation, time, manager, apiVersion,
/// subresource).
pub fn encode(entries: &[Entry]) -> Value {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (
            a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    Value::Array(sorted.into_iter().map(Entry::to_json).collect())
}

/// `[{}]`: the request asks to clear managedFields (kube's `isResetManagedFields`).
fn is_reset(sent: Option<&Value>) -> bool {
    matches!(sent, Some(Value::Array(items)) if items.len() == 1 && items[0].as_object().is_some_and(Map::is_empty))
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

/// What the object of a resource looks like before its first write, for comparisons: the
/// top-level structs of a built-in type exist empty (Go zero values), a custom resource has nothing.
pub fn empty_object(shape: Shape<'_>) -> Value {
    let mut m = Map::new();
    m.insert("metadata".into(), json!({}));
    if let Shape::Builtin { ty, .. } = shape
        && !ty.is_empty()
    {
        for f in smp::fields_of(ty) {
            if !f.child.is_empty() && f.strategy == Strategy::Plain && f.name != "metadata" {
                m.insert(f.name.to_owned(), json!({}));
            }
        }
    }
    Value::Object(m)
}

/// Who writes and where.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    /// "" for the main resource, "status" for `/status`.
    pub subresource: &'a str,
    pub now: &'a str,
}

/// The changes of an ordinary write, with ignored and stripped paths taken out.
fn changes(old: &Value, new: &Value, shape: Shape<'_>) -> Comparison {
    let mut c = compare(old, new, shape);
    let strip = strip_set();
    c.added.difference(&strip);
    c.modified.difference(&strip);
    c.removed.difference(&strip);
    c
}

/// Records an ordinary write (create, update, patch: operation Update) in `new`'s managedFields,
/// as kube's field manager does: the writer takes the fields it added or changed from everyone,
/// fields it removed leave every manager. `old` is None for a create. `sent` is the
/// managedFields the request carried (ignored on subresources): `[{}]` clears them, a valid
/// list replaces the stored one, anything else keeps it. An existing object without
/// managedFields is not tracked until it is applied to.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    sent: Option<&Value>,
    w: Writer<'_>,
    shape: Shape<'_>,
) {
    let live_entries = || {
        old.and_then(|o| decode(o.pointer("/metadata/managedFields")))
            .unwrap_or_default()
    };
    let mut entries = if !w.subresource.is_empty() {
        live_entries()
    } else if is_reset(sent) {
        Vec::new()
    } else {
        match decode(sent) {
            Some(e) if !e.is_empty() => e,
            _ => live_entries(),
        }
    };
    if entries.is_empty() && old.is_some() {
        set_managed_fields(new, &entries);
        return;
    }
    let empty = empty_object(shape);
    let c = changes(old.unwrap_or(&empty), new, shape);
    let mut taken = c.added.clone();
    taken.union(&c.modified);
    for e in &mut entries {
        e.set.difference(&taken);
        e.set.difference(&c.removed);
    }
    if !taken.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.same_manager(w.manager, Operation::Update, w.api_version, w.subresource))
        {
            Some(e) => {
                e.set.union(&taken);
                e.time = Some(w.now.to_owned());
            }
            None => entries.push(Entry {
                manager: w.manager.to_owned(),
                operation: Operation::Update,
                api_version: w.api_version.to_owned(),
                time: Some(w.now.to_owned()),
                subresource: w.subresource.to_owned(),
                set: taken,
            }),
        }
    }
    entries.retain(|e| !e.set.is_empty());
    cap_update_managers(&mut entries);
    set_managed_fields(new, &entries);
}

/// kube's `DefaultMaxUpdateManagers`: more Update managers than this and the oldest are merged
/// into one entry per apiVersion, so managedFields cannot grow without bound.
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The manager the oldest Update entries are merged into (kube's `capManagersManager`).
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// kube's `capUpdateManagers`: oldest first (by time, then name), the first Update manager of an
/// apiVersion becomes that version's `ancient-changes` bucket once a second one is merged into it.
fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update)
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        (&entries[a].time, &entries[a].manager).cmp(&(&entries[b].time, &entries[b].manager))
    });
    let mut length = updaters.len();
    let mut first_of_version: HashMap<String, usize> = HashMap::new();
    let mut merged_away: HashSet<usize> = HashSet::new();
    for idx in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[idx].api_version.clone();
        let Some(&first) = first_of_version.get(&version) else {
            first_of_version.insert(version, idx);
            continue;
        };
        let bucket = match (0..entries.len()).find(|&i| {
            !merged_away.contains(&i)
                && entries[i].same_manager(ANCIENT_CHANGES, Operation::Update, &version, "")
        }) {
            Some(b) => b,
            None => {
                entries[first].manager = ANCIENT_CHANGES.to_owned();
                entries[first].subresource = String::new();
                first
            }
        };
        let set = entries[idx].set.clone();
        entries[bucket].set.union(&set);
        entries[bucket].time = entries[idx].time.clone();
        merged_away.insert(idx);
        length -= 1;
    }
    let mut i = 0;
    entries.retain(|_| {
        let keep = !merged_away.contains(&i);
        i += 1;
        keep
    });
}

fn set_managed_fields(obj: &mut Value, entries: &[Entry]) {
    let meta = crate::meta::meta_mut(obj);
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encode(entries));
    }
}

/// Server-side apply of `config` (already checked for kind, apiVersion and managedFields) onto
/// `live` (the stored object, or [`empty_object`] when creating): the merged object, with
/// managedFields recording the applier's new set. Fails with 409 on fields another manager owns
/// with a different value unless `force`, or 400 when the configuration cannot be typed (a list
/// item without its key, a duplicate key).
pub fn apply(
    live: &Value,
    config: &Value,
    force: bool,
    w: Writer<'_>,
    shape: Shape<'_>,
) -> Result<Value, ApiError> {
    match apply_once(live, config, force, w, shape) {
        Err(Failure::Conflicts(conflicts)) if w.manager == KUBECTL => {
            // kube's lastAppliedManager: `kubectl apply --server-side` taking over from
            // client-side apply may overwrite fields whose live value is still the one in the
            // last-applied annotation.
            let allowed = allowed_by_last_applied(live, w.api_version, shape);
            let left: Vec<(String, Vec<Pe>)> = conflicts
                .into_iter()
                .filter(|(_, p)| !allowed.as_ref().is_some_and(|a| a.has(p)))
                .collect();
            if left.is_empty() {
                apply_once(live, config, true, w, shape).map_err(Failure::into_api_error)
            } else {
                Err(conflict_error(left))
            }
        }
        other => other.map_err(Failure::into_api_error),
    }
}

/// Why an apply failed: conflicts (which kubectl's takeover may forgive) or anything else.
enum Failure {
    Conflicts(Vec<(String, Vec<Pe>)>),
    Api(ApiError),
}

impl Failure {
    fn into_api_error(self) -> ApiError {
        match self {
            Failure::Conflicts(c) => conflict_error(c),
            Failure::Api(e) => e,
        }
    }
}

/// The fields of the live object's last-applied annotation whose live values still equal it.
fn allowed_by_last_applied(live: &Value, api_version: &str, shape: Shape<'_>) -> Option<Set> {
    let text = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    let mut set = to_field_set(&last, shape).ok()?;
    let c = compare(&last, live, shape);
    set.difference(&c.modified);
    set.difference(&c.added);
    set.difference(&c.removed);
    Some(set)
}

fn apply_once(
    live: &Value,
    config: &Value,
    force: bool,
    w: Writer<'_>,
    shape: Shape<'_>,
) -> Result<Value, Failure> {
    let bad = |e: String| {
        Failure::Api(ApiError::bad_request(format!(
            "failed to create typed patch object: {e}"
        )))
    };
    let mut entries = decode(live.pointer("/metadata/managedFields")).unwrap_or_default();
    let live = without_managed_fields(live);
    let exists = !crate::meta::meta_str(&live, "uid").is_empty();
    if entries.is_empty() && exists {
        // kube records what the object already holds as owned by "before-first-apply".
        let set = {
            let mut c = changes(&empty_object(shape), &live, shape);
            c.added.union(&c.modified);
            c.added
        };
        if !set.is_empty() {
            entries.push(Entry {
                manager: BEFORE_FIRST_APPLY.to_owned(),
                operation: Operation::Update,
                api_version: w.api_version.to_owned(),
                time: Some(w.now.to_owned()),
                subresource: String::new(),
                set,
            });
        }
    }
    let mut merged = merge(&live, config, shape).map_err(bad)?;
    let mut applied = to_field_set(config, shape).map_err(bad)?;
    applied.difference(&strip_set());
    let at = entries
        .iter()
        .position(|e| e.same_manager(w.manager, Operation::Apply, w.api_version, w.subresource));
    let last = at.map(|i| entries[i].set.clone());
    let previous_time = at.and_then(|i| entries[i].time.clone());
    if let Some(i) = at {
        entries.remove(i);
    }
    if let Some(last) = &last {
        // The identity fields are never tracked but always kept (kube strips them only after
        // the merge, so the applier's own `metadata.name` keeps `metadata` alive there).
        let mut owned = strip_set();
        owned.union(&applied);
        for e in &entries {
            owned.union(&e.set);
        }
        prune(&mut merged, last, &owned, shape);
    }
    let c = changes(&live, &merged, shape);
    let mut touched = c.added.clone();
    touched.union(&c.modified);
    let mut conflicts: Vec<(String, Vec<Pe>)> = Vec::new();
    for e in &entries {
        for p in e.set.intersection(&touched).paths() {
            conflicts.push((e.printed(), p));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(Failure::Conflicts(conflicts));
    }
    for e in &mut entries {
        e.set.difference(&touched);
        e.set.difference(&c.removed);
    }
    let changed = merged != live;
    entries.push(Entry {
        manager: w.manager.to_owned(),
        operation: Operation::Apply,
        api_version: w.api_version.to_owned(),
        time: if changed {
            Some(w.now.to_owned())
        } else {
            previous_time
        },
        subresource: w.subresource.to_owned(),
        set: applied,
    });
    entries.retain(|e| !e.set.is_empty());
    set_managed_fields(&mut merged, &entries);
    Ok(merged)
}

/// kube's `NewConflictError`: 409 Conflict, one FieldManagerConflict cause per field.
fn conflict_error(mut conflicts: Vec<(String, Vec<Pe>)>) -> ApiError {
    conflicts.sort();
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(m, p)| {
            Cause::new(
                "FieldManagerConflict",
                path_string(p),
                format!("conflict with {m}"),
            )
        })
        .collect();
    let message = if let [(m, p)] = conflicts.as_slice() {
        format!(
            "Apply failed with 1 conflict: conflict with {m}: {}",
            path_string(p)
        )
    } else {
        let mut lines = Vec::new();
        let mut current: Option<&String> = None;
        for (m, p) in &conflicts {
            if current != Some(m) {
                lines.push(format!("conflicts with {m}:"));
                current = Some(m);
            }
            lines.push(format!("- {}", path_string(p)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError {
        code: 409,
        reason: "Conflict",
        message,
        details: Some(Box::new(Details {
            causes,
            ..Details::default()
        })),
    }
}

/// kube's `IgnoreManagedFieldsTimestampsTransformer`: when a write changes nothing but the times
/// in managedFields, the old times are kept, so the write is a no-op (no new resourceVersion).
pub fn keep_times_of_noop(old: &Value, new: &mut Value) {
    let old_mf = old.pointer("/metadata/managedFields");
    let new_mf = new.pointer("/metadata/managedFields");
    if old_mf == new_mf {
        return;
    }
    // Cheap checks first (every write comes here): the entries without their times, then the
    // object without managedFields and resourceVersion, compared in place.
    let without_times = |mf: Option<&Value>| -> Option<Vec<Map<String, Value>>> {
        mf?.as_array()?
            .iter()
            .map(|e| {
                let mut e = e.as_object()?.clone();
                e.remove("time");
                Some(e)
            })
            .collect()
    };
    if without_times(old_mf) != without_times(new_mf) {
        return;
    }
    // Order-insensitive map equality, skipping the `ignored` keys.
    fn same_map(a: &Map<String, Value>, b: &Map<String, Value>, ignored: &[&str]) -> bool {
        let kept =
            |m: &Map<String, Value>| m.keys().filter(|k| !ignored.contains(&k.as_str())).count();
        kept(a) == kept(b)
            && a.iter()
                .filter(|(k, _)| !ignored.contains(&k.as_str()))
                .all(|(k, v)| b.get(k) == Some(v))
    }
    let empty = Map::new();
    let same_except_meta = |a: &Value, b: &Value| match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same_map(a, b, &["metadata"]),
        _ => false,
    };
    let same_meta = |a: &Value, b: &Value| {
        same_map(
            a.get("metadata")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
            b.get("metadata")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
            &["managedFields", "resourceVersion"],
        )
    };
    if same_except_meta(old, new)
        && same_meta(old, new)
        && let Some(mf) = old_mf.cloned()
    {
        crate::meta::meta_mut(new).insert("managedFields".into(), mf);
    }
}

/// The field manager `kubectl apply --server-side` uses by default.
pub const KUBECTL: &str = "kubectl";
/// kubectl's client-side apply annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// kube's `lastAppliedUpdater`: when the applied object carries kubectl's last-applied annotation,
/// it becomes the applied configuration (without that annotation), encoded as Go encodes an
/// unstructured object (keys sorted, a trailing newline), so a later client-side apply diffs
/// against what was applied.
pub fn update_last_applied(obj: &mut Value, config: &Value) {
    let has = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    if !has {
        return;
    }
    let mut config = config.clone();
    if let Some(Value::Object(a)) = config.pointer_mut("/metadata/annotations") {
        a.remove(LAST_APPLIED);
    }
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let text = format!("{}\n", sorted(&config));
    if let Some(Value::Object(a)) = obj.pointer_mut("/metadata/annotations") {
        a.insert(LAST_APPLIED.into(), text.into());
    }
}

/// kube's `ValidateFieldManager`: at most 128 bytes, printable characters only.
pub fn validate_manager(manager: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LEN {
        causes.push(Cause::new(
            "FieldValueTooLong",
            "fieldManager",
            format!("Too long: may not be more than {FIELD_MANAGER_MAX_LEN} bytes"),
        ));
        // Unlike kube, stop here: one cause per bad character, each quoting the whole value,
        // grows with the square of the length, and a query string may be 400 KB long.
        return causes;
    }
    for (i, ch) in manager.char_indices() {
        if ch.is_control() {
            causes.push(Cause::new(
                "FieldValueInvalid",
                "fieldManager",
                format!(
                    "Invalid value: {}: invalid character U+{:04X} (at position {i})",
                    Value::from(manager),
                    ch as u32
                ),
            ));
        }
    }
    causes
}

/// kube's `prefixFromUserAgent`: the User-Agent up to the first `/`, printable characters only,
/// cut at 128 bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let mut out = String::new();
    for ch in user_agent.split('/').next().unwrap_or("").chars() {
        if ch.is_control() {
            continue;
        }
        if out.len() + ch.len_utf8() > FIELD_MANAGER_MAX_LEN {
            break;
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_manager_is_one_cause_not_one_per_character() {
        let causes = validate_manager(&"\u{1}".repeat(100_000));
        assert_eq!(causes.len(), 1);
        let causes = validate_manager("a\u{1}b\u{2}");
        assert_eq!(
            causes.len(),
            2,
            "each bad character of a short value is named"
        );
    }

    fn deployment_shape() -> Shape<'static> {
        Shape::builtin(smp::root_type("apps/v1", "Deployment").expect("built in"))
    }

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}},
                       "f:finalizers": {"v:\"a\"": {}}});
        let set = Set::from_fields_v1(&v).expect("valid");
        assert_eq!(set.to_fields_v1(), v);
        assert!(set.has(&[
            Pe::Field("spec".into()),
            Pe::Field("template".into()),
            Pe::Field("spec".into()),
            Pe::Field("containers".into()),
            Pe::Key(r#"{"name":"app"}"#.into())
        ]));
        assert!(Set::from_fields_v1(&json!({"x:bad": {}})).is_none());
        assert!(Set::from_fields_v1(&json!({"f:a": 1})).is_none());
    }

    #[test]
    fn field_set_of_a_configuration() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "i", "args": ["a"]}]}}}});
        let mut set = to_field_set(&config, deployment_shape()).unwrap();
        set.difference(&strip_set());
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                       "k:{\"name\":\"app\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        let missing_key = json!({"spec": {"template": {"spec": {"containers": [{"image": "i"}]}}}});
        let err = to_field_set(&missing_key, deployment_shape()).unwrap_err();
        assert_eq!(
            err,
            ".spec.template.spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
        );
    }

    #[test]
    fn merge_keeps_live_only_items_in_place() {
        let shape = deployment_shape();
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "s", "image": "side"}, {"name": "b", "image": "1"}]}}}});
        let config = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "2"}, {"name": "x", "image": "new"}, {"name": "b", "image": "2"}]}}}});
        let merged = merge(&live, &config, shape).unwrap();
        let names: Vec<&str> = merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "s", "x", "b"]);
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"][3]["image"],
            "2"
        );
    }

    #[test]
    fn compare_reports_added_modified_removed() {
        let shape = deployment_shape();
        let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}});
        let new = json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 2}, "data": {"k": "v"}});
        let c = compare(&old, &new, shape);
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {"f:c": {}}}})
        );
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            c.removed.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:b": {}}}})
        );
    }

    #[test]
    fn conflict_messages_read_like_kube() {
        let one = conflict_error(vec![(
            "\"mgr\"".into(),
            vec![Pe::Field("spec".into()), Pe::Field("replicas".into())],
        )]);
        assert_eq!(
            one.message,
            "Apply failed with 1 conflict: conflict with \"mgr\": .spec.replicas"
        );
        let two = conflict_error(vec![
            ("\"b\" using v1".into(), vec![Pe::Field("data".into())]),
            (
                "\"a\"".into(),
                vec![Pe::Field("spec".into()), Pe::Key(r#"{"name":"x"}"#.into())],
            ),
        ]);
        assert_eq!(
            two.message,
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec[name=\"x\"]\nconflicts with \"b\" using v1:\n- .data"
        );
    }

    #[test]
    fn user_agent_prefix() {
        assert_eq!(
            manager_from_user_agent("kubectl/v1.37.1 (linux/amd64)"),
            "kubectl"
        );
        assert_eq!(manager_from_user_agent(""), "");
        assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
        assert!(validate_manager("ok").is_empty());
        assert_eq!(validate_manager(&"x".repeat(129)).len(), 1);
        assert_eq!(validate_manager("a\u{7}").len(), 1);
    }
}
