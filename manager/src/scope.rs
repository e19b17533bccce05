//! Limits what a manager's controllers see to a set of namespaces that can grow while they run.
//!
//! Used when several managers share one API server (the fixtures' cluster mode: one manager per
//! test process on a shared cluster): each manager's watches still list and watch every
//! namespace, but events of objects outside its scope are dropped before they reach the
//! reflector store or the controller, so a manager never reconciles another manager's objects.
//! Filtering by a namespace set rather than opening one watch per namespace keeps the number of
//! watches fixed (one per resource, as without a scope) while namespaces come and go during a
//! test, and a namespace added before its first object is created can never miss that object's
//! event (the check happens when the event arrives, not when the watch starts).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use kube::Resource;
use kube::runtime::watcher::Event;

/// The namespaces a manager reconciles objects in; cheap to clone (clones share the set).
/// Cluster-scoped objects are always in scope.
#[derive(Clone, Debug, Default)]
pub struct NamespaceScope {
    namespaces: Arc<RwLock<HashSet<String>>>,
}

impl NamespaceScope {
    /// An empty scope: only cluster-scoped objects until namespaces are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `namespace`: events of its objects arriving from now on reach the controllers.
    /// Add a namespace before creating objects in it.
    pub fn insert(&self, namespace: impl Into<String>) {
        self.namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(namespace.into());
    }

    /// Whether objects of `namespace` are in scope.
    pub fn contains(&self, namespace: &str) -> bool {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(namespace)
    }

    /// The namespaces in scope, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        list.sort();
        list
    }

    /// Whether `object` is in scope: cluster-scoped, or in a namespace of the scope.
    pub fn admits<K: Resource>(&self, object: &K) -> bool {
        object
            .meta()
            .namespace
            .as_deref()
            .is_none_or(|ns| self.contains(ns))
    }

    /// `event` without the objects out of scope: `None` for an event about an object out of
    /// scope. `Init` and `InitDone` always pass (the store's relist bookkeeping needs them).
    pub(crate) fn filter<K: Resource>(&self, event: Event<K>) -> Option<Event<K>> {
        match event {
            Event::Apply(o) | Event::Delete(o) | Event::InitApply(o) if !self.admits(&o) => None,
            other => Some(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kube::api::ObjectMeta;

    use super::*;

    fn cm(ns: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("c".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn drops_events_of_objects_outside_the_scope_and_keeps_the_rest() {
        let scope = NamespaceScope::new();
        assert!(scope.filter(Event::Apply(cm("a"))).is_none());
        scope.insert("a");
        // A clone shares the set: the fixture adds namespaces to the manager's scope.
        let clone = scope.clone();
        assert!(clone.filter(Event::Apply(cm("a"))).is_some());
        assert!(clone.filter(Event::Delete(cm("a"))).is_some());
        assert!(clone.filter(Event::InitApply(cm("b"))).is_none());
        assert!(clone.filter(Event::<ConfigMap>::Init).is_some());
        assert!(clone.filter(Event::<ConfigMap>::InitDone).is_some());
        let cluster_scoped = Namespace {
            metadata: ObjectMeta {
                name: Some("b".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(scope.filter(Event::Apply(cluster_scoped)).is_some());
        assert_eq!(scope.namespaces(), vec!["a".to_owned()]);
    }
}
