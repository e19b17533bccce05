//! Owns what two kube-controller-manager controllers keep in every namespace: the `default`
//! ServiceAccount (the serviceaccounts controller) and the `kube-root-ca.crt` ConfigMap (the
//! root-ca-cert-publisher). Both are created when a namespace is created, recreated when deleted,
//! and the ConfigMap's data is put back when changed, as those controllers do; nothing is created
//! in a terminating namespace.
//!
//! Like the garbage collector this runs synchronously at the end of the write that needs it, so
//! a test that creates a namespace finds both objects when the create returns. It can be switched
//! off (`Builder::namespace_defaults(false)`, `--no-namespace-defaults`), for envtest's behaviour.
//!
//! This server serves plain HTTP and has no cluster CA, so `ca.crt` is empty: the ConfigMap says
//! where a CA bundle would be, not that one exists (see the crate README).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Event, EventKind, Inner, NAMESPACES_KEY, ObjKey, Stored};
use crate::meta::{self, meta_str};

/// The ServiceAccount every namespace gets.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// The ConfigMap the root CA publisher keeps in every namespace.
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
/// Store keys of the two resources.
const SERVICEACCOUNTS_KEY: &str = "/serviceaccounts";
const CONFIGMAPS_KEY: &str = "/configmaps";
/// The description kube-controller-manager puts on the ConfigMap.
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The ConfigMap's data: this server has no CA (it serves plain HTTP), so the bundle is empty.
fn root_ca_data() -> Value {
    json!({"ca.crt": ""})
}

impl Inner {
    /// Queues the namespace a change concerns when it may need one of the default objects.
    pub(super) fn note_namespace_default(
        &mut self,
        resource: &str,
        key: &ObjKey,
        kind: EventKind,
        stored: &Stored,
    ) {
        if !self.namespace_defaults {
            return;
        }
        let ns = match resource {
            NAMESPACES_KEY if kind == EventKind::Added => key.1.clone(),
            SERVICEACCOUNTS_KEY
                if kind == EventKind::Deleted && key.1 == DEFAULT_SERVICE_ACCOUNT =>
            {
                key.0.clone()
            }
            CONFIGMAPS_KEY
                if key.1 == ROOT_CA_CONFIGMAP
                    && (kind == EventKind::Deleted
                        || stored.value().get("data") != Some(&root_ca_data())) =>
            {
                key.0.clone()
            }
            _ => return,
        };
        if !self.namespace_defaults_queue.contains(&ns) {
            self.namespace_defaults_queue.push(ns);
        }
    }

    /// Brings every queued namespace's default objects back; true when it wrote anything.
    pub(super) fn sync_namespace_defaults(&mut self, tx: &broadcast::Sender<Arc<Event>>) -> bool {
        let queued = std::mem::take(&mut self.namespace_defaults_queue);
        let mut wrote = false;
        for ns in queued {
            let Some(namespace) = self.namespace(&ns) else {
                continue;
            };
            if !meta_str(namespace.value(), "deletionTimestamp").is_empty() {
                continue;
            }
            let sa_key = (ns.clone(), DEFAULT_SERVICE_ACCOUNT.to_owned());
            if self.get_by_key(SERVICEACCOUNTS_KEY, &sa_key).is_none() {
                let sa = json!({
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": new_meta(DEFAULT_SERVICE_ACCOUNT, &ns),
                });
                self.commit(tx, SERVICEACCOUNTS_KEY, sa_key, sa, EventKind::Added, None);
                wrote = true;
            }
            let cm_key = (ns.clone(), ROOT_CA_CONFIGMAP.to_owned());
            match self.get_by_key(CONFIGMAPS_KEY, &cm_key) {
                None => {
                    let mut meta = new_meta(ROOT_CA_CONFIGMAP, &ns);
                    meta["annotations"] = json!({"kubernetes.io/description": ROOT_CA_DESCRIPTION});
                    let cm = json!({
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": meta, "data": root_ca_data(),
                    });
                    self.commit(tx, CONFIGMAPS_KEY, cm_key, cm, EventKind::Added, None);
                    wrote = true;
                }
                Some(old) if old.value().get("data") != Some(&root_ca_data()) => {
                    let mut cm = old.value().clone();
                    cm["data"] = root_ca_data();
                    if let Some(m) = cm.as_object_mut() {
                        m.remove("binaryData");
                    }
                    self.commit(
                        tx,
                        CONFIGMAPS_KEY,
                        cm_key,
                        cm,
                        EventKind::Modified,
                        Some(old),
                    );
                    wrote = true;
                }
                Some(_) => {}
            }
        }
        wrote
    }

    /// The stored object `key` of the resource stored under `resource` (a store key).
    pub(super) fn get_by_key(&self, resource: &str, key: &ObjKey) -> Option<Arc<super::Stored>> {
        self.objects.get(resource).and_then(|m| m.get(key)).cloned()
    }
}

/// Metadata of an object a controller creates.
fn new_meta(name: &str, ns: &str) -> Value {
    json!({
        "name": name,
        "namespace": ns,
        "uid": meta::new_uid(),
        "creationTimestamp": meta::now(),
    })
}
