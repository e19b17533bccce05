//! Owns the garbage collector and the namespace controller, which kube-controller-manager runs
//! next to a real API server and envtest lacks: ownerReferences with background, foreground and
//! orphan propagation, dependents of vanished owners, and namespace deletion that empties the
//! namespace before removing it.
//!
//! They run synchronously under the store lock at the end of every write, from a queue that
//! `commit` fills with the objects a change concerns (the object, its owners, its dependents, its
//! terminating namespace). So a test sees the collected state as soon as the write that caused it
//! returns, the watch stream shows the same events in the same order kube-controller-manager would
//! cause them (owner first, then dependents; or dependents first for foreground), and nothing can
//! interleave with a half-finished collection. Switched off (`Builder::garbage_collection(false)`),
//! nothing is queued: the `orphan`/`foregroundDeletion` finalizers the API adds stay, as in envtest.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{
    CRDS_KEY, DeleteOpts, Event, EventKind, Inner, NAMESPACES_KEY, ObjKey, Propagation, Store,
    Stored, set_finalizers, spec_finalizers,
};
use crate::meta::{self, meta_str};

/// The finalizer the API adds for `propagationPolicy: Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer the API adds for `propagationPolicy: Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// The namespace controller's entry in a namespace's `spec.finalizers`.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";
/// Upper bound on queue items handled for one write. Each item removes an object, a reference or
/// a finalizer, so real work ends long before this; the bound turns a bug into a logged error
/// instead of a request that never returns.
const MAX_GC_STEPS: usize = 1_000_000;

/// An entry of the queue and of the dependents index: store key and object key.
type Entry = (Arc<str>, ObjKey);

/// The finalizers an object has after a delete with `propagation` (kube-apiserver's
/// `deletionFinalizersForGarbageCollection`): Orphan adds `orphan`, Foreground adds
/// `foregroundDeletion`, an explicit Background removes both, no policy keeps what is there.
pub(super) fn finalizers_for(current: &[String], propagation: Option<Propagation>) -> Vec<String> {
    let mut out = current.to_vec();
    let (add, remove): (&[&str], &[&str]) = match propagation {
        None => (&[], &[]),
        Some(Propagation::Background) => (&[], &[ORPHAN_FINALIZER, FOREGROUND_FINALIZER]),
        Some(Propagation::Orphan) => (&[ORPHAN_FINALIZER], &[FOREGROUND_FINALIZER]),
        Some(Propagation::Foreground) => (&[FOREGROUND_FINALIZER], &[ORPHAN_FINALIZER]),
    };
    out.retain(|f| !remove.contains(&f.as_str()));
    for f in add {
        if !out.iter().any(|x| x == f) {
            out.push((*f).to_owned());
        }
    }
    out
}

/// One ownerReference as the collector needs it.
struct OwnerRef {
    uid: String,
    block: bool,
}

fn owner_refs(obj: &Value) -> Vec<OwnerRef> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    Some(OwnerRef {
                        uid: r.get("uid")?.as_str()?.to_owned(),
                        block: r.get("blockOwnerDeletion") == Some(&Value::Bool(true)),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_deleting(obj: &Value) -> bool {
    !meta_str(obj, "deletionTimestamp").is_empty()
}

fn has_finalizer(obj: &Value, f: &str) -> bool {
    meta::finalizers(obj).iter().any(|x| x == f)
}

/// How the owners of one dependent stand.
#[derive(Default)]
struct Owners {
    /// Exist and are not waiting for their dependents.
    solid: Vec<String>,
    /// Do not exist (or live in another namespace, which ownerReferences cannot reach).
    dangling: Vec<String>,
    /// Are being deleted in the foreground.
    waiting: Vec<String>,
}

impl Inner {
    fn lookup(&self, e: &Entry) -> Option<Arc<Stored>> {
        self.objects.get(&e.0).and_then(|m| m.get(&e.1)).cloned()
    }

    fn namespaces_key(&self) -> Arc<str> {
        match self.objects.get_key_value(NAMESPACES_KEY) {
            Some((k, _)) => k.clone(),
            None => Arc::from(NAMESPACES_KEY),
        }
    }

    /// Keeps the uid and dependents indexes current and queues what this change concerns.
    pub(super) fn index_and_enqueue(
        &mut self,
        resource: &Arc<str>,
        key: &ObjKey,
        kind: EventKind,
        prev: Option<&Stored>,
        stored: &Stored,
    ) {
        let entry: Entry = (resource.clone(), key.clone());
        // An object the restore left undecoded has no ownerReferences and is not being deleted
        // (`super::Restored`): its uid is all the index needs, and reading it decodes nothing.
        let (uid, deleting_now) = match stored.restored_facts() {
            Some(r) => (r.uid.as_str(), false),
            None => (meta_str(stored.value(), "uid"), is_deleting(stored.value())),
        };
        let refs_of = |s: &Stored| -> Vec<String> {
            if s.restored_facts().is_some() {
                return Vec::new();
            }
            owner_refs(s.value()).into_iter().map(|r| r.uid).collect()
        };
        let old_refs: Vec<String> = prev.map(refs_of).unwrap_or_default();
        let new_refs: Vec<String> = if kind == EventKind::Deleted {
            Vec::new()
        } else {
            refs_of(stored)
        };
        for r in old_refs.iter().filter(|r| !new_refs.contains(r)) {
            if let Some(set) = self.dependents.get_mut(r) {
                set.remove(&entry);
                if set.is_empty() {
                    self.dependents.remove(r);
                }
            }
        }
        for r in &new_refs {
            self.dependents
                .entry(r.clone())
                .or_default()
                .insert(entry.clone());
        }
        if !uid.is_empty() {
            if kind == EventKind::Deleted {
                self.uids.remove(uid);
            } else {
                self.uids.insert(uid.to_owned(), entry.clone());
            }
        }
        if !self.gc {
            return;
        }
        self.note_for_protection(resource, key, deleting_now && kind != EventKind::Deleted);
        self.note_for_quota(&key.0);
        let deleting = kind == EventKind::Deleted || deleting_now;
        if kind != EventKind::Deleted && (!new_refs.is_empty() || deleting_now) {
            self.gc_queue.push_back(entry.clone());
        }
        if deleting {
            // Owners deleting in the foreground wait for this one; a terminating namespace too.
            for r in old_refs.iter().chain(&new_refs) {
                if let Some(owner) = self.uids.get(r) {
                    self.gc_queue.push_back(owner.clone());
                }
            }
            if !key.0.is_empty()
                && self
                    .namespace(&key.0)
                    .is_some_and(|ns| is_deleting(ns.value()))
            {
                let ns = (self.namespaces_key(), (String::new(), key.0.clone()));
                self.gc_queue.push_back(ns);
            }
        }
        if kind == EventKind::Deleted
            && let Some(deps) = self.dependents.get(uid)
        {
            self.gc_queue.extend(deps.iter().cloned());
        }
    }

    /// Handles the queue until it is empty: the collector's whole reaction to one write.
    pub(super) fn collect_garbage(&mut self, tx: &broadcast::Sender<Arc<Event>>) {
        let mut steps = 0;
        loop {
            self.collect_queue(tx, &mut steps);
            // The CRD finalizer's deletions may give the collector more work, and the
            // collector's deletions may free a terminating CRD.
            let crds = self.finalize_crds(tx);
            let defaults = self.sync_namespace_defaults(tx);
            let storage = self.release_unused_storage(tx);
            let quotas = self.sync_quotas(tx);
            let addresses = self.sync_ip_addresses(tx);
            if !crds && !defaults && !storage && !quotas && !addresses && self.gc_queue.is_empty() {
                break;
            }
        }
    }

    fn collect_queue(&mut self, tx: &broadcast::Sender<Arc<Event>>, steps: &mut usize) {
        while let Some(entry) = self.gc_queue.pop_front() {
            *steps += 1;
            if *steps > MAX_GC_STEPS {
                tracing::error!(
                    left = self.gc_queue.len(),
                    "garbage collection did not settle; dropping its queue (a bug in the embedded API server)"
                );
                self.gc_queue.clear();
                return;
            }
            self.collect_one(tx, &entry);
        }
    }

    fn collect_one(&mut self, tx: &broadcast::Sender<Arc<Event>>, entry: &Entry) {
        let Some(x) = self.lookup(entry) else {
            return;
        };
        let uid = meta_str(x.value(), "uid").to_owned();
        if is_deleting(x.value()) {
            if has_finalizer(x.value(), ORPHAN_FINALIZER) {
                for dep in self.dependents_of(&uid) {
                    self.remove_refs(tx, &dep, std::slice::from_ref(&uid));
                }
                self.remove_finalizer(tx, entry, ORPHAN_FINALIZER);
            } else if has_finalizer(x.value(), FOREGROUND_FINALIZER) {
                self.delete_dependents(tx, &uid);
                if !self.blocked(&uid) {
                    self.remove_finalizer(tx, entry, FOREGROUND_FINALIZER);
                }
            } else if *entry.0 == *NAMESPACES_KEY {
                self.sync_namespace(tx, &entry.1.1);
            }
            // Other objects being deleted wait for their own finalizers, not for the collector.
            return;
        }
        if owner_refs(x.value()).is_empty() {
            return;
        }
        let owners = self.classify(&entry.1, x.value());
        if !owners.solid.is_empty() {
            let stale: Vec<String> = owners.dangling.into_iter().chain(owners.waiting).collect();
            if !stale.is_empty() {
                self.remove_refs(tx, entry, &stale);
            }
            return;
        }
        let policy = (!owners.waiting.is_empty() && !self.dependents_of(&uid).is_empty())
            .then_some(Propagation::Foreground);
        if policy.is_some() {
            self.unblock_if_cyclic(tx, entry, &uid);
        }
        self.delete_entry(tx, entry, policy);
    }

    /// Before a dependent of a foreground-deleting owner is itself deleted in the foreground:
    /// when one of its own dependents is also deleting in the foreground (a possible ownership
    /// cycle), its blocking ownerReferences become non-blocking, so owner and dependent cannot
    /// wait for each other forever (kube-controller-manager's `unblockOwnerReferences`).
    fn unblock_if_cyclic(&mut self, tx: &broadcast::Sender<Arc<Event>>, entry: &Entry, uid: &str) {
        let cyclic = self.dependents_of(uid).iter().any(|d| {
            self.lookup(d).is_some_and(|v| {
                is_deleting(v.value()) && has_finalizer(v.value(), FOREGROUND_FINALIZER)
            })
        });
        if !cyclic {
            return;
        }
        let Some(old) = self.lookup(entry) else {
            return;
        };
        let mut v = old.value().clone();
        let Some(Value::Array(refs)) = super::meta_mut(&mut v).get_mut("ownerReferences") else {
            return;
        };
        let mut changed = false;
        for r in refs.iter_mut() {
            if r.get("blockOwnerDeletion") == Some(&Value::Bool(true)) {
                r["blockOwnerDeletion"] = false.into();
                changed = true;
            }
        }
        if changed {
            self.commit(
                tx,
                &entry.0,
                entry.1.clone(),
                v,
                EventKind::Modified,
                Some(old),
            );
        }
    }

    fn dependents_of(&self, uid: &str) -> Vec<Entry> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn classify(&self, key: &ObjKey, obj: &Value) -> Owners {
        let mut owners = Owners::default();
        for r in owner_refs(obj) {
            let owner = self
                .uids
                .get(&r.uid)
                .filter(|(_, okey)| okey.0.is_empty() || okey.0 == key.0)
                .and_then(|e| self.lookup(e));
            match owner {
                None => owners.dangling.push(r.uid),
                Some(o)
                    if is_deleting(o.value()) && has_finalizer(o.value(), FOREGROUND_FINALIZER) =>
                {
                    owners.waiting.push(r.uid)
                }
                Some(_) => owners.solid.push(r.uid),
            }
        }
        owners
    }

    /// Whether a dependent with `blockOwnerDeletion: true` towards `uid` still exists.
    fn blocked(&self, uid: &str) -> bool {
        self.dependents_of(uid).iter().any(|d| {
            self.lookup(d).is_some_and(|v| {
                owner_refs(v.value())
                    .iter()
                    .any(|r| r.uid == uid && r.block)
            })
        })
    }

    /// Foreground deletion of `uid`: deletes its dependents that have no other live owner and
    /// unlinks those that do.
    fn delete_dependents(&mut self, tx: &broadcast::Sender<Arc<Event>>, uid: &str) {
        for dep in self.dependents_of(uid) {
            let Some(d) = self.lookup(&dep) else {
                continue;
            };
            if is_deleting(d.value()) {
                continue;
            }
            let owners = self.classify(&dep.1, d.value());
            if !owners.solid.is_empty() {
                let stale: Vec<String> =
                    owners.dangling.into_iter().chain(owners.waiting).collect();
                self.remove_refs(tx, &dep, &stale);
                continue;
            }
            let own_uid = meta_str(d.value(), "uid").to_owned();
            // A dependent with dependents of its own is deleted in the foreground too, so the
            // owner keeps waiting for the whole blocking chain.
            let policy =
                (!self.dependents_of(&own_uid).is_empty()).then_some(Propagation::Foreground);
            if policy.is_some() {
                self.unblock_if_cyclic(tx, &dep, &own_uid);
            }
            self.delete_entry(tx, &dep, policy);
        }
    }

    fn delete_entry(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        entry: &Entry,
        propagation: Option<Propagation>,
    ) {
        let Some(info) = self.catalog.by_store_key(&entry.0).cloned() else {
            return;
        };
        let opts = DeleteOpts {
            propagation,
            ..DeleteOpts::default()
        };
        // Cannot fail without preconditions on an object that exists; if it ever does, the
        // object simply stays, as when kube-controller-manager's delete call fails.
        if let Err(e) = Store::delete_locked(self, tx, &info, entry.1.clone(), &opts) {
            tracing::warn!(error = %e, object = ?entry.1, "garbage collector could not delete an object");
        }
    }

    /// Removes the ownerReferences with these uids from one object.
    fn remove_refs(&mut self, tx: &broadcast::Sender<Arc<Event>>, entry: &Entry, uids: &[String]) {
        let Some(old) = self.lookup(entry) else {
            return;
        };
        let mut v = old.value().clone();
        let meta = super::meta_mut(&mut v);
        let Some(Value::Array(refs)) = meta.get_mut("ownerReferences") else {
            return;
        };
        let before = refs.len();
        refs.retain(|r| {
            !r.get("uid")
                .and_then(Value::as_str)
                .is_some_and(|u| uids.iter().any(|x| x == u))
        });
        if refs.len() == before {
            return;
        }
        if refs.is_empty() {
            meta.remove("ownerReferences");
        }
        self.commit(
            tx,
            &entry.0,
            entry.1.clone(),
            v,
            EventKind::Modified,
            Some(old),
        );
    }

    /// Removes one finalizer, deleting the object when it was the last thing holding it.
    fn remove_finalizer(&mut self, tx: &broadcast::Sender<Arc<Event>>, entry: &Entry, f: &str) {
        let Some(old) = self.lookup(entry) else {
            return;
        };
        let mut fins = meta::finalizers(old.value());
        fins.retain(|x| x != f);
        let mut v = old.value().clone();
        set_finalizers(&mut v, &fins);
        self.finish_write(tx, entry, v, old);
    }

    /// Commits a collector write to a deleting object; deletes it if nothing holds it any more
    /// (MODIFIED then DELETED, as kube-apiserver answers the update that removes the last finalizer).
    pub(super) fn finish_write(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        entry: &Entry,
        v: Value,
        old: Arc<Stored>,
    ) {
        let stored = self.commit(
            tx,
            &entry.0,
            entry.1.clone(),
            v,
            EventKind::Modified,
            Some(old),
        );
        if is_deleting(stored.value())
            && meta::finalizers(stored.value()).is_empty()
            && (*entry.0 != *NAMESPACES_KEY || spec_finalizers(stored.value()).is_empty())
        {
            let value = stored.value().clone();
            self.commit(
                tx,
                &entry.0,
                entry.1.clone(),
                value,
                EventKind::Deleted,
                Some(stored.clone()),
            );
            if *entry.0 == *CRDS_KEY {
                self.crd_changed(tx, Some(stored.value()), None);
            }
        }
    }

    /// The namespace controller for one terminating namespace: deletes what is inside, reports
    /// what remains in the status conditions, and finalizes the namespace once it is empty.
    fn sync_namespace(&mut self, tx: &broadcast::Sender<Arc<Event>>, name: &str) {
        let entry: Entry = (self.namespaces_key(), (String::new(), name.to_owned()));
        let Some(ns) = self.lookup(&entry) else {
            return;
        };
        if !spec_finalizers(ns.value())
            .iter()
            .any(|f| f == NAMESPACE_FINALIZER)
        {
            return;
        }
        let inside = |inner: &Inner| -> Vec<(Entry, Arc<Stored>)> {
            let mut out = Vec::new();
            for (res, map) in &inner.objects {
                if **res == *NAMESPACES_KEY {
                    continue;
                }
                let from = (name.to_owned(), String::new());
                for (k, v) in map.range(from..).take_while(|(k, _)| k.0 == name) {
                    out.push(((res.clone(), k.clone()), v.clone()));
                }
            }
            out
        };
        for (e, v) in inside(self) {
            if !is_deleting(v.value()) {
                self.delete_entry(tx, &e, None);
            }
        }
        let mut resources: BTreeMap<String, usize> = BTreeMap::new();
        let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
        for ((res, _), v) in inside(self) {
            let (group, plural) = res.split_once('/').unwrap_or(("", &res));
            // kube-controller-manager prints `resource.group`, so core resources end in a dot.
            *resources.entry(format!("{plural}.{group}")).or_default() += 1;
            for f in meta::finalizers(v.value()) {
                *finalizers.entry(f).or_default() += 1;
            }
        }
        let Some(ns) = self.lookup(&entry) else {
            return;
        };
        let mut v = ns.value().clone();
        set_conditions(&mut v, &resources, &finalizers);
        if resources.is_empty() {
            let rest: Vec<String> = spec_finalizers(&v)
                .into_iter()
                .filter(|f| f != NAMESPACE_FINALIZER)
                .collect();
            if !v.get("spec").is_some_and(Value::is_object) {
                v["spec"] = json!({});
            }
            v["spec"]["finalizers"] = json!(rest);
        }
        if &v != ns.value() {
            self.finish_write(tx, &entry, v, ns);
        }
    }
}

/// The five deletion conditions the namespace controller maintains, with its reasons and messages;
/// a condition keeps its lastTransitionTime while its status stays the same.
fn set_conditions(
    ns: &mut Value,
    resources: &BTreeMap<String, usize>,
    finalizers: &BTreeMap<String, usize>,
) {
    let join = |m: &BTreeMap<String, usize>, fmt: &dyn Fn(&str, usize) -> String| {
        let mut parts: Vec<String> = m.iter().map(|(k, n)| fmt(k, *n)).collect();
        parts.sort();
        parts.join(", ")
    };
    let content = if resources.is_empty() {
        (
            "False",
            "ContentRemoved",
            "All content successfully removed".to_owned(),
        )
    } else {
        (
            "True",
            "SomeResourcesRemain",
            format!(
                "Some resources are remaining: {}",
                join(resources, &|r, n| format!("{r} has {n} resource instances"))
            ),
        )
    };
    let fins = if finalizers.is_empty() {
        (
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_owned(),
        )
    } else {
        (
            "True",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                join(finalizers, &|f, n| format!("{f} in {n} resource instances"))
            ),
        )
    };
    let wanted = [
        (
            "NamespaceDeletionDiscoveryFailure",
            (
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered".to_owned(),
            ),
        ),
        (
            "NamespaceDeletionGroupVersionParsingFailure",
            (
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed".to_owned(),
            ),
        ),
        (
            "NamespaceDeletionContentFailure",
            (
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".to_owned(),
            ),
        ),
        ("NamespaceContentRemaining", content),
        ("NamespaceFinalizersRemaining", fins),
    ];
    if !ns.get("status").is_some_and(Value::is_object) {
        ns["status"] = json!({});
    }
    if !ns["status"].get("conditions").is_some_and(Value::is_array) {
        ns["status"]["conditions"] = json!([]);
    }
    let now = meta::now();
    let Some(conds) = ns["status"]["conditions"].as_array_mut() else {
        return;
    };
    for (kind, (status, reason, message)) in wanted {
        match conds
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        {
            Some(c) => {
                if c.get("status").and_then(Value::as_str) != Some(status) {
                    c["lastTransitionTime"] = now.clone().into();
                }
                c["status"] = status.into();
                c["reason"] = reason.into();
                c["message"] = message.into();
            }
            None => conds.push(json!({
                "type": kind, "status": status, "lastTransitionTime": now,
                "reason": reason, "message": message,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn propagation_sets_the_gc_finalizers() {
        let mine = strs(&["example.com/x", ORPHAN_FINALIZER]);
        assert_eq!(finalizers_for(&mine, None), mine);
        assert_eq!(
            finalizers_for(&mine, Some(Propagation::Background)),
            strs(&["example.com/x"])
        );
        assert_eq!(
            finalizers_for(&mine, Some(Propagation::Foreground)),
            strs(&["example.com/x", FOREGROUND_FINALIZER])
        );
        assert_eq!(
            finalizers_for(&[], Some(Propagation::Orphan)),
            strs(&[ORPHAN_FINALIZER])
        );
    }

    #[test]
    fn namespace_conditions_name_what_remains() {
        let mut ns = json!({"status": {"phase": "Terminating"}});
        let resources = BTreeMap::from([("configmaps.".to_owned(), 2)]);
        let fins = BTreeMap::from([("example.com/hold".to_owned(), 1)]);
        set_conditions(&mut ns, &resources, &fins);
        let conds = ns["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds.len(), 5);
        assert_eq!(
            conds[3]["message"],
            "Some resources are remaining: configmaps. has 2 resource instances"
        );
        assert_eq!(
            conds[4]["message"],
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        );
        let before = ns.clone();
        set_conditions(&mut ns, &resources, &fins);
        assert_eq!(ns, before, "an unchanged state changes nothing");
    }
}
