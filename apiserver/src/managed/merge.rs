//! Owns server-side apply's object operations: merging an applied configuration into the live
//! object, and pruning the fields a manager stopped applying and nobody else owns.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::{ListKind, Pe, Set, Shape, index_items, item_pe, path_string};

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

/// The atomic lists, maps and structs an apply configuration sets (structured-merge-diff's
/// paths, `.spec.selector`, `.spec.containers[0].args`): a MutatingAdmissionPolicy may not set
/// them (kube's `validatePatch` in `patch/smd.go`), since merging one replaces it whole and drops
/// whatever the configuration left out. Only declared fields are descended into, as kube does.
pub fn atomics(config: &Value, shape: Shape<'_>) -> Vec<String> {
    let mut out = Vec::new();
    find_atomics(config, shape, &mut String::new(), &mut out);
    out
}

fn find_atomics(v: &Value, shape: Shape<'_>, path: &mut String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if shape.atomic_map() {
                out.push(path.clone());
            }
            for (k, x) in m {
                let (child, declared) = shape.child(k);
                if declared {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    find_atomics(x, child, path, out);
                    path.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            if shape.list() == ListKind::Atomic {
                out.push(path.clone());
            }
            for (i, x) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_atomics(x, shape.items(), path, out);
                path.truncate(len);
            }
        }
        _ => {}
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
