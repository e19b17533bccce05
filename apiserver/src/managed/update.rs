//! Owns how an ordinary write (create, update, patch: operation Update) is recorded in managedFields,
//! including the cap on the number of Update entries (`ancient-changes`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Entry, Operation, Shape, changes, decode, empty_object, is_reset, set_managed_fields};

/// Who writes and where.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    /// "" for the main resource, "status" for `/status`.
    pub subresource: &'a str,
    pub now: &'a str,
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
