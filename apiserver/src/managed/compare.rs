//! Owns reading field sets out of objects: the fields an applied configuration specifies, and the
//! fields a write added, modified and removed (without the paths no manager owns).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{ListKind, Pe, Set, Shape, canonical_key, path_string};

/// The path step of a list item, or why it has none.
pub(super) fn item_pe(item: &Value, kind: &ListKind, shape: &Shape<'_>) -> Result<Pe, String> {
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
pub(super) fn index_items<'v>(
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

/// Paths never tracked for anyone (kube's `stripMetaManager`).
pub(super) fn strip_set() -> Set {
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

/// The changes of an ordinary write, with ignored and stripped paths taken out.
pub(super) fn changes(old: &Value, new: &Value, shape: Shape<'_>) -> Comparison {
    let mut c = compare(old, new, shape);
    let strip = strip_set();
    c.added.difference(&strip);
    c.modified.difference(&strip);
    c.removed.difference(&strip);
    c
}
