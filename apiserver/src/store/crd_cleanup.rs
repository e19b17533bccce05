//! Owns CRD deletion as apiextensions-apiserver does it: the first DELETE of a CRD only marks it
//! (deletionTimestamp, the `customresourcecleanup.apiextensions.k8s.io` finalizer, condition
//! `Terminating` = True `InstanceDeletionPending`, the CRD REST's `Delete`); then the CRD
//! finalizer controller (`crd_finalizer.go`) reports `InstanceDeletionInProgress`, deletes every
//! instance (each instance's own finalizers respected, watchers see a DELETED event for each),
//! and once none remain reports `InstanceDeletionCompleted` and removes its finalizer, which
//! removes the CRD and stops serving its resource. While it terminates, creating instances
//! answers 405 (`create not allowed while custom resource definition is terminating`).
//!
//! Like the garbage collector it runs synchronously at the end of every write, but it is part of
//! the API server, not of kube-controller-manager, so it also runs with garbage collection off.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{CRDS_KEY, DeleteOpts, Event, EventKind, Inner, ObjKey, Store, Stored, Written};
use crate::catalog::ResourceInfo;
use crate::meta::{self, meta_mut, meta_str};
use crate::status::{ApiError, Details};

/// The finalizer that holds a CRD until its instances are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// `group/plural` of the resource a CRD serves (its instances' store key).
fn served_key(crd: &Value) -> String {
    format!(
        "{}/{}",
        crd.pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or(""),
        crd.pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

/// Sets one CRD condition, keeping its lastTransitionTime while its status stays the same.
fn set_condition(crd: &mut Value, kind: &str, status: &str, reason: &str, message: &str) {
    if !crd.get("status").is_some_and(Value::is_object) {
        crd["status"] = json!({});
    }
    if !crd["status"].get("conditions").is_some_and(Value::is_array) {
        crd["status"]["conditions"] = json!([]);
    }
    let Some(conds) = crd["status"]["conditions"].as_array_mut() else {
        return;
    };
    let now = meta::now();
    match conds
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
    {
        Some(c) => {
            if c.get("status").and_then(Value::as_str) != Some(status) {
                c["lastTransitionTime"] = now.into();
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

fn has_cleanup_finalizer(crd: &Value) -> bool {
    meta::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER)
}

impl Inner {
    /// The first DELETE of a CRD: marks it and hands it to the CRD finalizer.
    pub(super) fn begin_crd_deletion(
        &mut self,
        tx: &broadcast::Sender<Arc<Event>>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        old: Arc<Stored>,
        opts: &DeleteOpts,
    ) -> Written {
        let mut v = old.value().clone();
        let meta = meta_mut(&mut v);
        meta.insert("deletionTimestamp".into(), meta::now().into());
        meta.insert("deletionGracePeriodSeconds".into(), 0.into());
        let mut finalizers = meta::finalizers(&v);
        if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
            finalizers.push(CLEANUP_FINALIZER.to_owned());
        }
        super::set_finalizers(&mut v, &finalizers);
        set_condition(
            &mut v,
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        );
        if opts.dry_run {
            return Written {
                code: 200,
                body: Stored::new(v).render(info),
                warnings: Vec::new(),
            };
        }
        let stored = self.commit(tx, CRDS_KEY, key, v, EventKind::Modified, Some(old));
        self.terminating_crds
            .insert(meta_str(stored.value(), "name").to_owned());
        Written {
            code: 200,
            body: stored.render(info),
            warnings: Vec::new(),
        }
    }

    /// Answers 405 to a create of a custom resource whose CRD is terminating.
    pub(super) fn refuse_while_terminating(&self, info: &ResourceInfo) -> Result<(), ApiError> {
        if !info.custom || self.terminating_crds.is_empty() {
            return Ok(());
        }
        let name = format!("{}.{}", info.plural, info.group);
        if !self.terminating_crds.contains(&name) {
            return Ok(());
        }
        Err(ApiError {
            code: 405,
            reason: "MethodNotAllowed".into(),
            message: "create not allowed while custom resource definition is terminating".into(),
            details: Some(Box::new(Details {
                group: info.group.clone(),
                kind: info.plural.clone(),
                ..Details::default()
            })),
        })
    }

    /// The CRD finalizer's pass over every terminating CRD; true when it changed anything.
    pub(super) fn finalize_crds(&mut self, tx: &broadcast::Sender<Arc<Event>>) -> bool {
        let names: Vec<String> = self.terminating_crds.iter().cloned().collect();
        let mut changed = false;
        for name in names {
            changed |= self.finalize_crd(tx, &name);
        }
        changed
    }

    fn finalize_crd(&mut self, tx: &broadcast::Sender<Arc<Event>>, name: &str) -> bool {
        let crds_key = match self.objects.get_key_value(CRDS_KEY) {
            Some((k, _)) => k.clone(),
            None => Arc::from(CRDS_KEY),
        };
        let entry = (crds_key, (String::new(), name.to_owned()));
        let Some(crd) = self.lookup_crd(&entry.1) else {
            self.terminating_crds.remove(name);
            return false;
        };
        if meta_str(crd.value(), "deletionTimestamp").is_empty()
            || !has_cleanup_finalizer(crd.value())
        {
            self.terminating_crds.remove(name);
            return false;
        }
        let rv_before = self.rv;
        let served = served_key(crd.value());
        let instances: Vec<(ObjKey, Arc<Stored>)> = self
            .objects
            .get(served.as_str())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        if !instances.is_empty() {
            let mut v = crd.value().clone();
            set_condition(
                &mut v,
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
            );
            if &v != crd.value() {
                self.commit(
                    tx,
                    CRDS_KEY,
                    entry.1.clone(),
                    v,
                    EventKind::Modified,
                    Some(crd),
                );
            }
            if let Some(info) = self.catalog.by_store_key(&served).cloned() {
                for (key, obj) in instances {
                    if !meta_str(obj.value(), "deletionTimestamp").is_empty() {
                        continue;
                    }
                    if let Err(e) =
                        Store::delete_locked(self, tx, &info, key, &DeleteOpts::default())
                    {
                        tracing::warn!(error = %e, crd = name, "CRD finalizer could not delete an instance");
                    }
                }
            }
        }
        let remaining = self.objects.get(served.as_str()).map_or(0, |m| m.len());
        if remaining > 0 {
            // Instances with finalizers hold the CRD, as in kube (whose controller reports
            // InstanceDeletionCheck after polling for a minute; here it stays InProgress).
            return self.rv != rv_before;
        }
        let Some(crd) = self.lookup_crd(&entry.1) else {
            self.terminating_crds.remove(name);
            return true;
        };
        let mut v = crd.value().clone();
        set_condition(
            &mut v,
            "Terminating",
            "False",
            "InstanceDeletionCompleted",
            "removed all instances",
        );
        let rest: Vec<String> = meta::finalizers(&v)
            .into_iter()
            .filter(|f| f != CLEANUP_FINALIZER)
            .collect();
        super::set_finalizers(&mut v, &rest);
        self.terminating_crds.remove(name);
        self.finish_write(tx, &entry, v, crd);
        true
    }

    fn lookup_crd(&self, key: &ObjKey) -> Option<Arc<Stored>> {
        self.objects.get(CRDS_KEY).and_then(|m| m.get(key)).cloned()
    }
}
