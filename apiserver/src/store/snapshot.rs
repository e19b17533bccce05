//! Owns the start snapshot: what a freshly started store holds (the bootstrap objects, the
//! namespaces' default objects and the CRDs given at start), written out as the stored JSON and
//! read back into another store.
//!
//! Every test process starts a server of its own, and every one of them used to create the same
//! ~170 objects through the whole write path (decoding, defaulting, validation, field ownership,
//! canonical key order): a third of a test process's CPU. Restoring commits the stored forms
//! as they are, with the uid, creationTimestamp and managedFields times of this start, so the
//! restored store is the one a fresh start would have built (`tests/start_snapshot.rs` compares
//! the two). The caller (`server.rs`) decides when a snapshot may be used (its cache key).

use std::sync::Arc;

use serde_json::Value;

use crate::meta::{meta_mut, now};

use super::{CRDS_KEY, EventKind, ObjKey, Store, Stored};

/// The largest encoded length a snapshot may give an object: far above any object a start
/// stores (a large CRD is tens of KiB), far below what the history's byte counter could overflow on.
const MAX_RESTORED_BYTES: usize = 64 << 20;

/// One stored object of a snapshot: its store key, its encoded length and the object.
#[derive(serde::Deserialize)]
struct Entry(String, usize, Value);

impl Store {
    /// Every stored object as `[["<store key>", <encoded length>, <object>], ...]`, from the
    /// stored bytes (no re-encoding), in store-key, namespace and name order: CRDs come before
    /// anything of theirs, which `restore` needs. The length lets a restored object wait for
    /// its first reader to be encoded ([`Stored::restored`]).
    pub fn snapshot(&self) -> Vec<u8> {
        let g = self.lock();
        let mut resources: Vec<&Arc<str>> = g.objects.keys().collect();
        resources.sort();
        let mut out = Vec::with_capacity(64 * 1024);
        out.push(b'[');
        let mut first = true;
        for resource in resources {
            let mut objects: Vec<(&ObjKey, &Arc<Stored>)> = g.objects[resource].iter().collect();
            objects.sort_by(|a, b| a.0.cmp(b.0));
            for (_, stored) in objects {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.push(b'[');
                // A store key is `group/plural`: JSON-safe, but encode it rather than assume.
                out.extend(serde_json::to_vec(&**resource).unwrap_or_default());
                out.push(b',');
                out.extend(stored.size().to_string().into_bytes());
                out.push(b',');
                out.extend_from_slice(stored.json());
                out.push(b']');
            }
        }
        out.push(b']');
        out
    }

    /// Fills an empty store from `snapshot` (what [`Store::snapshot`] wrote), giving every object
    /// a new uid and this start's timestamps. Fails, leaving the store untouched, when the
    /// store is not empty, the snapshot does not decode, or an object in it is not one a start
    /// stores (no name, an unknown resource, the wrong scope, a CRD that cannot be served); the
    /// caller then starts the full way.
    pub fn restore(&self, snapshot: &[u8]) -> Result<usize, String> {
        let entries: Vec<Entry> = serde_json::from_slice(snapshot)
            .map_err(|e| format!("the snapshot does not decode: {e}"))?;
        // Everything is checked before anything is committed: a bad snapshot leaves the store as
        // it was, and the caller's full start is still possible.
        let mut prepared = Vec::with_capacity(entries.len());
        for Entry(resource, size, mut obj) in entries {
            // The watch history's byte bound adds and subtracts it: a damaged length must not
            // overflow it (or make it meaningless).
            if size == 0 || size > MAX_RESTORED_BYTES {
                return Err(format!(
                    "an object of {resource} has an implausible encoded length ({size} bytes)"
                ));
            }
            let meta = obj
                .get("metadata")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("an object of {resource} has no metadata"))?;
            let text = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let key: ObjKey = (text("namespace"), text("name"));
            if key.1.is_empty() {
                return Err(format!("an object of {resource} has no name"));
            }
            let infos = if resource == CRDS_KEY {
                // Schemas compile on first use: the key says this build served these CRDs.
                Some(
                    crate::crd::resources_of_with(&obj, crate::crd::Compile::Deferred).map_err(
                        |causes| {
                            format!(
                                "CRD {} of the snapshot is not servable ({} invalid field(s))",
                                key.1,
                                causes.len()
                            )
                        },
                    )?,
                )
            } else {
                None
            };
            refresh(&mut obj);
            prepared.push((resource, key, obj, infos, size));
        }
        let mut g = self.lock();
        if g.rv != 0 || !g.objects.is_empty() {
            return Err("the store is not empty".to_owned());
        }
        // A start stores only built-in objects (custom resources come later, from clients), each
        // under its resource and in a namespace exactly when its resource is namespaced.
        for (resource, key, ..) in &prepared {
            let info = g.catalog.by_store_key(resource).ok_or_else(|| {
                format!("{resource} of the snapshot is not a built-in resource of this server")
            })?;
            if info.namespaced == key.0.is_empty() {
                return Err(format!(
                    "{resource} {:?} of the snapshot has the wrong scope (namespace {:?})",
                    key.1, key.0
                ));
            }
        }
        // CRDs first, so that nothing of theirs is committed before they are served.
        prepared.sort_by_key(|(resource, ..)| resource != CRDS_KEY);
        let count = prepared.len();
        for (resource, key, obj, infos, size) in prepared {
            // Stored objects are in kube's key order already; the resourceVersion keeps its place.
            g.commit_ordered(
                &self.events,
                &resource,
                key,
                obj,
                EventKind::Added,
                None,
                Some(size),
            );
            if infos.is_some() {
                g.crd_changed(&self.events, None, infos);
            }
        }
        // Every namespace's default objects came with the snapshot: nothing to bring back.
        g.namespace_defaults_queue.clear();
        Ok(count)
    }
}

/// What differs between two starts: the uid, creationTimestamp, the managedFields' times and a
/// CRD's condition times (the resourceVersion is the commit's, in the same place).
fn refresh(obj: &mut Value) {
    let now = now();
    if let Some(Value::Array(conditions)) = obj.pointer_mut("/status/conditions") {
        for condition in conditions {
            if let Some(time) = condition.get_mut("lastTransitionTime") {
                *time = Value::String(now.clone());
            }
        }
    }
    let meta = meta_mut(obj);
    meta.insert(
        "uid".into(),
        Value::String(uuid::Uuid::new_v4().to_string()),
    );
    if meta.contains_key("creationTimestamp") {
        meta.insert("creationTimestamp".into(), Value::String(now.clone()));
    }
    if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
        for entry in entries {
            if let Some(time) = entry.get_mut("time") {
                *time = Value::String(now.clone());
            }
        }
    }
}
