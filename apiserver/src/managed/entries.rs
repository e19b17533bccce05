//! Owns `metadata.managedFields` entries: their model (manager, operation, apiVersion, time,
//! subresource, field set), decoding and encoding them, and writing them into an object.

use serde_json::{Map, Value, json};

use super::Set;

/// `metadata.managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub(super) fn as_str(self) -> &'static str {
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
    pub(super) fn same_manager(
        &self,
        manager: &str,
        op: Operation,
        api_version: &str,
        sub: &str,
    ) -> bool {
        self.manager == manager
            && self.operation == op
            && self.subresource == sub
            && (op == Operation::Apply || self.api_version == api_version)
    }

    /// How kube names the manager in conflict messages (`printManager`).
    pub(super) fn printed(&self) -> String {
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
pub(super) fn is_reset(sent: Option<&Value>) -> bool {
    matches!(sent, Some(Value::Array(items)) if items.len() == 1 && items[0].as_object().is_some_and(Map::is_empty))
}

pub(super) fn without_managed_fields(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

pub(super) fn set_managed_fields(obj: &mut Value, entries: &[Entry]) {
    let meta = crate::meta::meta_mut(obj);
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encode(entries));
    }
}
