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

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::auth::rbac::{RbacView, WireObject, is_binding_store_key};
use crate::meta::{meta_mut, now};

use super::{CRDS_KEY, EventKind, ObjKey, Restored, Store, Stored};

/// The largest encoded length a snapshot may give an object: far above any object a start
/// stores (a large CRD is tens of KiB), far below what the history's byte counter could overflow on.
const MAX_RESTORED_BYTES: usize = 64 << 20;

/// One entry of a snapshot: store key, encoded length, the object's bytes.
type SnapshotEntry<'a> = (&'a str, usize, &'a [u8]);

/// The lines of `body` (memchr: splitting byte by byte was 1 M instructions a restore).
fn split_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr(b'\n', text) {
            Some(i) => {
                rest = Some(&text[i + 1..]);
                Some(&text[..i])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Splits a snapshot into its entries (store key, encoded length, the object's bytes) by its
/// lines, as [`Store::snapshot`] writes them: `[`, one `["<store key>",<length>,<object>]` a line
/// with a `,` after every one but the last, `]`. The objects' bytes are checked when they are
/// read ([`Head`]); anything else is refused here.
fn entries(snapshot: &[u8]) -> Result<Vec<SnapshotEntry<'_>>, String> {
    let bad = |what: &str| format!("the snapshot is not one this build writes: {what}");
    let body = snapshot
        .strip_prefix(b"[\n")
        .and_then(|b| b.strip_suffix(b"\n]"))
        .ok_or_else(|| bad("no `[` and `]` lines"))?;
    let mut out = Vec::new();
    let mut lines = split_lines(body).peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() && out.is_empty() && lines.peek().is_none() {
            break; // An empty store.
        }
        let line = match lines.peek() {
            Some(_) => line
                .strip_suffix(b",")
                .ok_or_else(|| bad("an entry without `,`"))?,
            None => line,
        };
        let inner = line
            .strip_prefix(b"[\"")
            .and_then(|l| l.strip_suffix(b"]"))
            .ok_or_else(|| bad("an entry that is not `[\"<store key>\",<length>,<object>]`"))?;
        // A store key is `group/plural`: no quote or escape in it.
        let end = inner
            .iter()
            .position(|b| *b == b'"')
            .ok_or_else(|| bad("an unterminated store key"))?;
        let key = std::str::from_utf8(&inner[..end])
            .ok()
            .filter(|k| !k.contains('\\'))
            .ok_or_else(|| bad("a store key that is not plain text"))?;
        let rest = inner[end + 1..]
            .strip_prefix(b",")
            .ok_or_else(|| bad("no length after a store key"))?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let size = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
            .ok_or_else(|| {
                bad(&format!(
                    "an object of {key} without a valid encoded length"
                ))
            })?;
        let object = rest[digits..]
            .strip_prefix(b",")
            .ok_or_else(|| bad(&format!("an object of {key} missing after its length")))?;
        out.push((key, size, object));
    }
    Ok(out)
}

/// What the restore reads of an object it leaves undecoded. Reading it also checks that the
/// object is well-formed JSON, so decoding it later cannot fail.
#[derive(serde::Deserialize)]
struct Head {
    metadata: HeadMeta,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    owner_references: Option<IgnoredAny>,
    deletion_timestamp: Option<IgnoredAny>,
}

/// Reads the head of a non-CRD object, and for an RBAC binding the authorizer's view of it in
/// the same pass (the per-subject index reads every binding's view when it is built; a role's
/// rules are read from its bytes when a request first needs them).
fn read_head(resource: &str, object: &[u8]) -> Result<(HeadMeta, Option<RbacView>), String> {
    if is_binding_store_key(resource)
        && let Ok(wire) = serde_json::from_slice::<WireObject<HeadMeta>>(object)
    {
        let (meta, view) = RbacView::from_wire(wire);
        return Ok((meta, Some(view)));
    }
    let head: Head = serde_json::from_slice(object)
        .map_err(|e| format!("an object of {resource} does not decode: {e}"))?;
    Ok((head.metadata, None))
}

/// How a snapshot's object is restored.
enum Restore {
    /// Decoded now: CRDs (served at once) and objects the garbage collector must index.
    Decoded(Value, Option<Vec<Arc<crate::catalog::ResourceInfo>>>),
    /// Left in its bytes until read ([`Restored`]), with the authorizer's view of an RBAC
    /// object.
    Undecoded(Bytes, Option<RbacView>),
}

impl Store {
    /// Every stored object as `[["<store key>", <encoded length>, <object>], ...]`, from the
    /// stored bytes (no re-encoding), in store-key, namespace and name order: CRDs come before
    /// anything of theirs, which `restore` needs. The length lets a restored object wait for
    /// its first reader to be encoded ([`Stored::restored`]). It is a JSON array with one entry
    /// a line (stored objects are encoded compactly: no newline inside), so that `restore` finds
    /// each object's bytes without scanning them ([`entries`]).
    pub fn snapshot(&self) -> Vec<u8> {
        let g = self.lock();
        let mut resources: Vec<&Arc<str>> = g.objects.keys().collect();
        resources.sort();
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(b"[\n");
        let mut first = true;
        for resource in resources {
            let mut objects: Vec<(&ObjKey, &Arc<Stored>)> = g.objects[resource].iter().collect();
            objects.sort_by(|a, b| a.0.cmp(b.0));
            for (_, stored) in objects {
                if !first {
                    out.extend_from_slice(b",\n");
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
        out.extend_from_slice(b"\n]");
        out
    }

    /// Fills an empty store from `snapshot` (what [`Store::snapshot`] wrote), giving every object
    /// a new uid and this start's timestamps. Fails, leaving the store untouched, when the
    /// store is not empty, the snapshot does not decode, or an object in it is not one a start
    /// stores (no name, an unknown resource, the wrong scope, a CRD that cannot be served); the
    /// caller then starts the full way.
    pub fn restore(&self, snapshot: Bytes) -> Result<usize, String> {
        let now: Arc<str> = now().into();
        // Everything is checked before anything is committed: a bad snapshot leaves the store as
        // it was, and the caller's full start is still possible.
        let entries = entries(&snapshot)?;
        let mut prepared = Vec::with_capacity(entries.len());
        for (resource, size, object) in entries {
            // The watch history's byte bound adds and subtracts it: a damaged length must not
            // overflow it (or make it meaningless).
            if size == 0 || size > MAX_RESTORED_BYTES {
                return Err(format!(
                    "an object of {resource} has an implausible encoded length ({size} bytes)"
                ));
            }
            let resource = resource.to_owned();
            let (key, how) = if resource == CRDS_KEY {
                // Served at once: decoded now (schemas compile on first use: the key says this
                // build served these CRDs).
                let mut obj: Value = serde_json::from_slice(object)
                    .map_err(|e| format!("a CRD of the snapshot does not decode: {e}"))?;
                let key = (
                    String::new(),
                    crate::meta::meta_str(&obj, "name").to_owned(),
                );
                if key.1.is_empty() {
                    return Err("a CRD of the snapshot has no name".to_owned());
                }
                let infos = crate::crd::resources_of_with(&obj, crate::crd::Compile::Deferred)
                    .map_err(|causes| {
                        format!(
                            "CRD {} of the snapshot is not servable ({} invalid field(s))",
                            key.1,
                            causes.len()
                        )
                    })?;
                refresh(&mut obj, &uuid::Uuid::new_v4().to_string(), &now);
                (key, Restore::Decoded(obj, Some(infos)))
            } else {
                let (meta, rbac) = read_head(&resource, object)?;
                if meta.name.is_empty() {
                    return Err(format!("an object of {resource} has no name"));
                }
                let undecoded =
                    meta.owner_references.is_none() && meta.deletion_timestamp.is_none();
                let key: ObjKey = (meta.namespace, meta.name);
                let how = if undecoded {
                    Restore::Undecoded(snapshot.slice_ref(object), rbac)
                } else {
                    // The garbage collector indexes its owners and state at the commit.
                    let mut obj: Value = serde_json::from_slice(object)
                        .map_err(|e| format!("an object of {resource} does not decode: {e}"))?;
                    refresh(&mut obj, &uuid::Uuid::new_v4().to_string(), &now);
                    Restore::Decoded(obj, None)
                };
                (key, how)
            };
            prepared.push((resource, key, how, size));
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
        for (resource, key, how, size) in prepared {
            match how {
                // Stored objects are in kube's key order already; the resourceVersion keeps its
                // place.
                Restore::Decoded(obj, infos) => {
                    let crd = infos.is_some();
                    g.commit_ordered(
                        &self.events,
                        &resource,
                        key,
                        obj,
                        EventKind::Added,
                        None,
                        Some(size),
                    );
                    if crd {
                        g.crd_changed(&self.events, None, infos);
                    }
                }
                Restore::Undecoded(bytes, rbac) => {
                    let restored = Restored {
                        bytes,
                        rv: 0,
                        uid: uuid::Uuid::new_v4().to_string(),
                        now: now.clone(),
                    };
                    let stored = g.commit_undecoded(&self.events, &resource, key, restored, size);
                    if let Some(view) = rbac {
                        let _ = stored.rbac.set(Arc::new(view));
                    }
                }
            }
        }
        // Every namespace's default objects came with the snapshot: nothing to bring back.
        g.namespace_defaults_queue.clear();
        Ok(count)
    }
}

/// Decodes an object the restore left in its bytes: the object a fresh start would have stored,
/// with the uid, times and resourceVersion of this start.
pub(super) fn decode_restored(r: &Restored) -> Value {
    match serde_json::from_slice::<Value>(&r.bytes) {
        Ok(mut obj) => {
            refresh(&mut obj, &r.uid, &r.now);
            meta_mut(&mut obj).insert("resourceVersion".into(), r.rv.to_string().into());
            obj
        }
        // The restore read the whole object (`Head`) before keeping its bytes.
        Err(e) => {
            tracing::error!(error = %e, "a restored object does not decode");
            Value::Null
        }
    }
}

/// What differs between two starts: the uid, creationTimestamp, the managedFields' times and a
/// CRD's condition times (the resourceVersion is the commit's, in the same place).
fn refresh(obj: &mut Value, uid: &str, now: &str) {
    if let Some(Value::Array(conditions)) = obj.pointer_mut("/status/conditions") {
        for condition in conditions {
            if let Some(time) = condition.get_mut("lastTransitionTime") {
                *time = Value::String(now.to_owned());
            }
        }
    }
    let meta = meta_mut(obj);
    meta.insert("uid".into(), Value::String(uid.to_owned()));
    if meta.contains_key("creationTimestamp") {
        meta.insert("creationTimestamp".into(), Value::String(now.to_owned()));
    }
    if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
        for entry in entries {
            if let Some(time) = entry.get_mut("time") {
                *time = Value::String(now.to_owned());
            }
        }
    }
}
