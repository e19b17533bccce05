//! Owns field paths and field sets: the path elements of kube's FieldsV1 (`f:` field, `k:` list
//! item by key, `v:` set-list value, `i:` index), sets of paths with their set operations, and the
//! FieldsV1 JSON encoding.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

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
    pub(super) fn display(&self) -> String {
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

pub(super) fn canonical_key<'a>(fields: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
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
    pub(super) member: bool,
    pub(super) children: BTreeMap<Pe, Set>,
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

    pub(super) fn collect(&self, prefix: &mut Vec<Pe>, out: &mut Vec<Vec<Pe>>) {
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
