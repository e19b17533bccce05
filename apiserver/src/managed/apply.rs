//! Owns server-side apply: the merge with conflict detection and `force`, the conflict error as
//! kube words it, the upgrade of client-side-apply ownership from `last-applied-configuration`, and
//! kubectl's `last-applied-configuration` annotation.

use serde_json::Value;

use crate::status::{ApiError, Cause, Details};

use super::{
    BEFORE_FIRST_APPLY, Entry, Operation, Pe, Set, Shape, Writer, changes, compare, decode,
    empty_object, merge, path_string, prune, set_managed_fields, strip_set, to_field_set,
    without_managed_fields,
};

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
pub(super) fn conflict_error(mut conflicts: Vec<(String, Vec<Pe>)>) -> ApiError {
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
        reason: "Conflict".into(),
        message,
        details: Some(Box::new(Details {
            causes,
            ..Details::default()
        })),
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
