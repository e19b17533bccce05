//! Keeps what admission compiles from stored objects (policies, webhook configurations): one
//! entry per object uid with the resourceVersion it was compiled from, so a changed object is
//! compiled again on its next use and a deleted one is dropped at the next sweep.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::meta::meta_str;
use crate::store::{ObjKey, Stored};

/// Compiled forms of stored objects, by uid.
pub struct ByVersion<T> {
    compiled: HashMap<String, (String, T)>,
}

impl<T> Default for ByVersion<T> {
    fn default() -> Self {
        Self {
            compiled: HashMap::new(),
        }
    }
}

impl<T: Clone> ByVersion<T> {
    /// The compiled form of the stored `obj`, compiling it when it is new or changed.
    pub fn get_or_compile(&mut self, obj: &Value, compile: impl FnOnce(&Value) -> T) -> T {
        let uid = meta_str(obj, "uid");
        let rv = meta_str(obj, "resourceVersion");
        if let Some((cached_rv, compiled)) = self.compiled.get(uid)
            && cached_rv == rv
        {
            return compiled.clone();
        }
        let compiled = compile(obj);
        self.compiled
            .insert(uid.to_owned(), (rv.to_owned(), compiled.clone()));
        compiled
    }

    /// Drops the entries of objects no longer in `stored` (looked at only once more entries
    /// are kept than objects stored, so the common case costs a comparison).
    pub fn sweep(&mut self, stored: &BTreeMap<ObjKey, Arc<Stored>>) {
        if self.compiled.len() > stored.len() {
            let uids: HashSet<&str> = stored
                .values()
                .map(|s| meta_str(s.value(), "uid"))
                .collect();
            self.retain(&|uid| uids.contains(uid));
        }
    }

    /// Drops the entries whose uid `live` refuses.
    pub fn retain(&mut self, live: &dyn Fn(&str) -> bool) {
        self.compiled.retain(|uid, _| live(uid));
    }

    /// How many compiled forms are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.compiled.len()
    }
}
