//! Prunes unknown fields and applies defaults, as kube-apiserver does when it decodes a custom resource.
//!
//! Pruning follows apiextensions-apiserver `pkg/apiserver/schema/pruning/algorithm.go`, then
//! `defaulting/prunenulls.go` (a `null` where the schema is neither nullable nor defaulted is
//! dropped) and the ObjectMeta coercion of embedded resources; defaulting follows
//! `defaulting/algorithm.go`: a missing field, or a `null` one that is not nullable, takes its
//! default, and defaulting continues inside the values it created.

use serde_json::{Map, Value};

use crate::node::{Additional, Node};

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// The fields of `metav1.ObjectMeta`; anything else in an embedded resource's metadata is dropped.
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Builds unknown-field paths like kube-apiserver: `spec.foo`, `spec.list[0].bar`.
struct PathTracker {
    parts: String,
    found: Vec<String>,
}

impl PathTracker {
    fn key(&mut self, k: &str) -> usize {
        let len = self.parts.len();
        if len > 0 {
            self.parts.push('.');
        }
        self.parts.push_str(k);
        len
    }
    fn index(&mut self, i: usize) -> usize {
        let len = self.parts.len();
        self.parts.push_str(&format!("[{i}]"));
        len
    }
    fn restore(&mut self, len: usize) {
        self.parts.truncate(len);
    }
    fn record(&mut self, k: &str) {
        let len = self.key(k);
        self.found.push(self.parts.clone());
        self.restore(len);
    }
}

/// Prunes `obj` (the whole resource) and returns the removed paths, sorted.
pub(crate) fn prune_root(root: &Node, obj: &mut Value) -> Vec<String> {
    let mut t = PathTracker {
        parts: String::new(),
        found: Vec::new(),
    };
    // The resource root behaves as an embedded resource: apiVersion, kind and metadata are the
    // API server's business.
    prune(obj, Some(root), true, &mut t);
    prune_nulls(obj, Some(root));
    t.found.sort();
    t.found
}

/// Prunes a value against a node, as the CRD validation does to check a default is pruned.
pub(crate) fn prune_value(x: &mut Value, s: &Node) -> Vec<String> {
    let mut t = PathTracker {
        parts: String::new(),
        found: Vec::new(),
    };
    prune(x, Some(s), s.embedded, &mut t);
    t.found
}

fn prune(x: &mut Value, s: Option<&Node>, embedded: bool, t: &mut PathTracker) {
    if let Some(s) = s
        && s.preserve_unknown
    {
        skip_prune(x, s, embedded || s.embedded, t);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    t.record(k);
                }
                m.clear();
                return;
            };
            let embedded = embedded || s.embedded;
            let mut remove = Vec::new();
            for (k, v) in m.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    let l = t.key(k);
                    prune(v, Some(prop), false, t);
                    t.restore(l);
                } else if let Some(ap) = &s.additional {
                    let l = t.key(k);
                    prune(v, additional_node(ap), false, t);
                    t.restore(l);
                } else {
                    if !META_FIELDS.contains(&k.as_str()) || !t.parts.is_empty() {
                        t.record(k);
                    }
                    remove.push(k.clone());
                }
            }
            for k in remove {
                m.shift_remove(&k);
            }
            if embedded && !t.parts.is_empty() {
                coerce_embedded_meta(m, t);
            }
        }
        Value::Array(items) => {
            let item_node = s.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                let l = t.index(i);
                prune(v, item_node, false, t);
                t.restore(l);
            }
        }
        _ => {}
    }
}

fn skip_prune(x: &mut Value, s: &Node, embedded: bool, t: &mut PathTracker) {
    match x {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    let l = t.key(k);
                    prune(v, Some(prop), false, t);
                    t.restore(l);
                } else if let Some(ap) = &s.additional {
                    let l = t.key(k);
                    prune(v, additional_node(ap), false, t);
                    t.restore(l);
                }
            }
            if embedded && !t.parts.is_empty() {
                coerce_embedded_meta(m, t);
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    let l = t.index(i);
                    skip_prune(v, item_node, item_node.embedded, t);
                    t.restore(l);
                }
            }
        }
        _ => {}
    }
}

/// Embedded resources keep only real ObjectMeta fields in their metadata.
fn coerce_embedded_meta(m: &mut Map<String, Value>, t: &mut PathTracker) {
    let Some(Value::Object(meta)) = m.get_mut("metadata") else {
        return;
    };
    let unknown: Vec<String> = meta
        .keys()
        .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return;
    }
    let l = t.key("metadata");
    for k in unknown {
        t.record(&k);
        meta.shift_remove(&k);
    }
    t.restore(l);
}

fn additional_node(ap: &Additional) -> Option<&Node> {
    match ap {
        Additional::Schema(n) => Some(n),
        Additional::Allows(_) => None,
    }
}

fn schema_for_field<'a>(s: Option<&'a Node>, k: &str) -> Option<&'a Node> {
    let s = s?;
    s.properties.get(k).or_else(|| s.additional_schema())
}

/// `PruneNonNullableNullsWithoutDefaults`.
fn prune_nulls(x: &mut Value, s: Option<&Node>) {
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let child = schema_for_field(s, k);
                !(v.is_null() && child.is_some_and(|c| !c.nullable && c.default.is_none()))
            });
            for (k, v) in m.iter_mut() {
                prune_nulls(v, schema_for_field(s, k));
            }
        }
        Value::Array(items) => {
            let item_node = s.and_then(|s| s.items.as_deref());
            for v in items {
                prune_nulls(v, item_node);
            }
        }
        _ => {}
    }
}

fn non_nullable_null(x: &Value, s: Option<&Node>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

/// `structuraldefaulting.Default`.
pub(crate) fn apply_defaults(x: &mut Value, s: &Node) {
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                match m.get_mut(k) {
                    None => {
                        m.insert(k.clone(), default.clone());
                    }
                    Some(v) if non_nullable_null(v, Some(prop)) => *v = default.clone(),
                    Some(_) => {}
                }
            }
            let ap = s.additional_schema();
            for (k, v) in m.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    apply_defaults(v, prop);
                } else if let Some(ap) = ap {
                    if non_nullable_null(v, Some(ap))
                        && let Some(d) = &ap.default
                    {
                        *v = d.clone();
                    }
                    apply_defaults(v, ap);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_node) = s.items.as_deref() else {
                return;
            };
            for v in items.iter_mut() {
                if non_nullable_null(v, Some(item_node))
                    && let Some(d) = &item_node.default
                {
                    *v = d.clone();
                }
                apply_defaults(v, item_node);
            }
        }
        _ => {}
    }
}
