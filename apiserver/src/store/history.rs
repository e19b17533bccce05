//! Owns the commit of a change: the next resourceVersion, the stored object, the indexes a commit
//! updates, the published event, and the bounded watch history (compaction, and the snapshots a list
//! at an older resourceVersion reads).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::catalog::ResourceInfo;
use crate::meta::meta_mut;
use crate::status::ApiError;

use super::{Event, EventKind, Inner, ObjKey, SERVICES_KEY, Stored};

/// What an event holds on to, for the history's byte bound: the encoding of the object it
/// introduced. Its `prev` is not counted: it is the object of an earlier event, or of an object the
/// store holds anyway, except for the first event of each object in the history.
pub(super) fn event_bytes(ev: &Event) -> usize {
    ev.obj.size()
}

impl Inner {
    /// Commits `obj` (or removes `key` for `Deleted`), stamping the next resourceVersion, and publishes the event.
    pub(super) fn commit(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        resource: &str,
        key: ObjKey,
        mut obj: Value,
        kind: EventKind,
        prev: Option<Arc<Stored>>,
    ) -> Arc<Stored> {
        // Stored in kube's key order, so reads send the stored bytes unchanged.
        let custom = self
            .catalog
            .by_store_key(resource)
            .is_some_and(|i| i.custom);
        meta_mut(&mut obj).insert("resourceVersion".into(), Value::Null);
        crate::order::canonical(&mut obj, custom);
        self.commit_ordered(tx, resource, key, obj, kind, prev, None)
    }

    /// [`Inner::commit`] of an object already in kube's key order with a `resourceVersion`
    /// key (a stored object, as a start snapshot holds them): its value is replaced in place.
    /// `restored_size`: a restored object's encoded length, whose encoding waits for a reader
    /// ([`Stored::restored`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit_ordered(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        resource: &str,
        key: ObjKey,
        mut obj: Value,
        kind: EventKind,
        prev: Option<Arc<Stored>>,
        restored_size: Option<usize>,
    ) -> Arc<Stored> {
        self.rv += 1;
        let rv = self.rv;
        meta_mut(&mut obj).insert("resourceVersion".into(), rv.to_string().into());
        let stored = match restored_size {
            Some(size) => Stored::restored(obj, size),
            None => Stored::new(obj),
        };
        self.commit_stored(tx, resource, key, stored, kind, prev)
    }

    /// Commits a restored object left undecoded ([`super::Restored`]: its stored bytes from the
    /// snapshot and what this start gives it), `size` its encoded length; its `rv` is set here.
    pub(super) fn commit_undecoded(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        resource: &str,
        key: ObjKey,
        mut restored: super::Restored,
        size: usize,
    ) -> Arc<Stored> {
        self.rv += 1;
        restored.rv = self.rv;
        let stored = Stored::undecoded(restored, size);
        self.commit_stored(tx, resource, key, stored, EventKind::Added, None)
    }

    /// The rest of a commit, once the object has its resourceVersion (`self.rv`).
    fn commit_stored(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        resource: &str,
        key: ObjKey,
        stored: Arc<Stored>,
        kind: EventKind,
        prev: Option<Arc<Stored>>,
    ) -> Arc<Stored> {
        let rv = self.rv;
        let resource: Arc<str> = match self.objects.get_key_value(resource) {
            Some((k, _)) => k.clone(),
            None => Arc::from(resource),
        };
        let map = self.objects.entry(resource.clone()).or_default();
        if kind == EventKind::Deleted {
            map.remove(&key);
        } else {
            map.insert(key.clone(), stored.clone());
        }
        self.index_and_enqueue(&resource, &key, kind, prev.as_deref(), &stored);
        if *resource == *SERVICES_KEY {
            let now = (kind != EventKind::Deleted).then(|| stored.value());
            let before = prev.as_deref().map(Stored::value);
            self.allocations.sync(before, now);
            self.note_service_ips(before, now);
        }
        if *resource == *super::ip_addresses::IP_ADDRESSES_KEY {
            let now = (kind != EventKind::Deleted).then(|| stored.value());
            self.allocations
                .sync_address(prev.as_deref().map(Stored::value), now);
        }
        self.note_namespace_default(&resource, &key, kind, &stored);
        let event = Arc::new(Event {
            rv,
            resource,
            key,
            kind,
            obj: stored.clone(),
            prev,
        });
        self.history_bytes += event_bytes(&event);
        self.history.push_back(event.clone());
        self.commits.push(&event);
        self.compact();
        // No receivers is fine: nobody is watching.
        let _ = tx.send(event);
        stored
    }

    /// Drops the oldest events until the history is within both of its bounds, as etcd's
    /// compaction does: a watch or `continue` token older than what is left answers 410 Expired.
    /// The newest event may go too when it alone is over the byte bound (a watch from the current
    /// resourceVersion needs no history).
    fn compact(&mut self) {
        while self.history.len() > self.limits.history_events
            || self.history_bytes > self.limits.history_bytes
        {
            let Some(old) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= event_bytes(&old);
            self.compacted = old.rv;
        }
        self.commits.forget_through(self.compacted);
    }

    /// The objects of `resource` as they were at resourceVersion `rv`, rebuilt by undoing later events.
    pub(super) fn snapshot_at(
        &self,
        info: &ResourceInfo,
        rv: u64,
    ) -> Result<BTreeMap<ObjKey, Arc<Stored>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                self.compacted + 1
            )));
        }
        let key = info.store_key();
        let mut map = self.objects.get(key.as_str()).cloned().unwrap_or_default();
        for ev in self.history.iter().rev().take_while(|e| e.rv > rv) {
            if *ev.resource != *key {
                continue;
            }
            match &ev.prev {
                Some(p) => {
                    map.insert(ev.key.clone(), p.clone());
                }
                None => {
                    map.remove(&ev.key);
                }
            }
        }
        Ok(map)
    }
}
