//! Owns DELETE of one object and of a collection: preconditions, graceful deletion, propagation
//! finalizers, and removal once no finalizer holds the object.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::admission::Operation;
use crate::catalog::ResourceInfo;
use crate::meta::{self, meta_mut, meta_str};
use crate::registry;
use crate::selector::Selectors;
use crate::status::ApiError;

use super::admit::Write;
use super::{
    CRDS_KEY, DeleteOpts, Deleted, Event, EventKind, Inner, NAMESPACES_KEY, ObjKey, Store, Stored,
    Target, Written, gc, list_body, obj_key, set_finalizers, spec_finalizers,
};

impl Store {
    /// DELETE one object: removed at once, or marked with deletionTimestamp while finalizers remain.
    pub fn delete(&self, t: &Target<'_>, opts: &DeleteOpts) -> Result<Deleted, ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let key = obj_key(&info, t.namespace, t.name);
        let deleted = Self::delete_locked(&mut g, &self.events, &info, key, opts)?;
        g.collect_garbage(&self.events);
        Ok(deleted)
    }

    pub(super) fn delete_locked(
        g: &mut Inner,
        tx: &broadcast::Sender<Arc<Event>>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        opts: &DeleteOpts,
    ) -> Result<Deleted, ApiError> {
        let name = key.1.clone();
        let gr = info.group_resource();
        let old = g
            .get(info, &key)
            .ok_or_else(|| ApiError::not_found(gr, &name))?;
        if let Some(uid) = &opts.uid {
            let actual = meta_str(old.value(), "uid");
            if uid != actual {
                return Err(ApiError::conflict_because(
                    gr,
                    &name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                    ),
                ));
            }
        }
        if let Some(rv) = &opts.resource_version {
            let actual = meta_str(old.value(), "resourceVersion");
            if rv != actual {
                return Err(ApiError::conflict_because(
                    gr,
                    &name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                    ),
                ));
            }
        }
        // Admission of a client's delete, with the stored object as `oldObject`: policies, then
        // webhooks.
        let write = Write {
            operation: Operation::Delete,
            info,
            subresource: "",
            object_type: None,
            name: &name,
            namespace: &key.0,
            object: None,
            old_object: Some(old.value()),
            user: opts.user.as_deref(),
            dry_run: opts.dry_run,
            fields: None,
            authorizer: opts.authorizer.as_ref(),
            request_version: None,
        };
        let warnings = g.admit_write(write)?;
        g.delete_with_webhooks(write, opts.webhooks.as_deref())?;
        let mut deleted = Self::delete_admitted(g, tx, info, key, old, opts)?;
        deleted.written.warnings.extend(warnings);
        Ok(deleted)
    }

    /// The delete itself, once preconditions and admission have passed.
    fn delete_admitted(
        g: &mut Inner,
        tx: &broadcast::Sender<Arc<Event>>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        old: Arc<Stored>,
        opts: &DeleteOpts,
    ) -> Result<Deleted, ApiError> {
        let resource = info.store_key();
        if *resource == *CRDS_KEY && meta_str(old.value(), "deletionTimestamp").is_empty() {
            return Ok(Deleted {
                written: g.begin_crd_deletion(tx, info, key, old, opts),
                gone: None,
            });
        }
        let is_namespace = *resource == *NAMESPACES_KEY;
        let strategy = registry::strategy_for(info);
        let deleting = !meta_str(old.value(), "deletionTimestamp").is_empty();
        let mut last = old.value().clone();
        let pending_grace = old
            .value()
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if deleting && pending_grace > 0 {
            // A graceful deletion is pending (kube's rest.BeforeDelete): only a shorter grace
            // period changes it; 0 with no finalizers left removes the object now.
            let Some(period) = opts.grace_period.filter(|p| *p < pending_grace) else {
                return Ok(Deleted {
                    written: Written {
                        code: 200,
                        body: old.render(info),
                        warnings: Vec::new(),
                    },
                    gone: None,
                });
            };
            let period = period.max(0);
            let deadline = meta::shift(
                meta_str(old.value(), "deletionTimestamp"),
                period - pending_grace,
            );
            let meta = meta_mut(&mut last);
            meta.insert("deletionTimestamp".into(), deadline.into());
            meta.insert("deletionGracePeriodSeconds".into(), period.into());
            if period > 0 || !meta::finalizers(old.value()).is_empty() {
                if opts.dry_run {
                    return Ok(Deleted {
                        written: Written {
                            code: 200,
                            body: Stored::new(last).render(info),
                            warnings: Vec::new(),
                        },
                        gone: None,
                    });
                }
                let stored = g.commit(tx, &resource, key, last, EventKind::Modified, Some(old));
                return Ok(Deleted {
                    written: Written {
                        code: 200,
                        body: stored.render(info),
                        warnings: Vec::new(),
                    },
                    gone: None,
                });
            }
        }
        // The type's graceful deletion (Pods on a node): the object stays until its period is over.
        let grace = if deleting {
            0
        } else {
            strategy
                .graceful_delete(old.value(), opts.grace_period)
                .max(0)
        };
        let finalizers = gc::finalizers_for(&meta::finalizers(old.value()), opts.propagation);
        // A namespace waits for its `spec.finalizers` (the namespace controller's "kubernetes").
        let waits = grace > 0
            || !finalizers.is_empty()
            || (is_namespace && !spec_finalizers(old.value()).is_empty());
        if waits {
            // kube-apiserver answers 202 Accepted to a delete that asked for cascading deletion
            // with `orphanDependents: false` and left the object in place (handlers/delete.go).
            let pending_code = if opts.accepted_when_pending { 202 } else { 200 };
            if !meta_str(old.value(), "deletionTimestamp").is_empty() {
                if finalizers == meta::finalizers(old.value()) {
                    return Ok(Deleted::pending(Written {
                        code: pending_code,
                        body: old.render(info),
                        warnings: Vec::new(),
                    }));
                }
                // Already being deleted: a new propagationPolicy only changes the GC finalizers.
                let mut changed = old.value().clone();
                set_finalizers(&mut changed, &finalizers);
                if opts.dry_run {
                    return Ok(Deleted::pending(Written {
                        code: pending_code,
                        body: Stored::new(changed).render(info),
                        warnings: Vec::new(),
                    }));
                }
                let stored = g.commit(tx, &resource, key, changed, EventKind::Modified, Some(old));
                return Ok(Deleted::pending(Written {
                    code: pending_code,
                    body: stored.render(info),
                    warnings: Vec::new(),
                }));
            }
            let mut marked = old.value().clone();
            set_finalizers(&mut marked, &finalizers);
            let generation = meta_mut(&mut marked)
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let meta = meta_mut(&mut marked);
            meta.insert("deletionTimestamp".into(), meta::in_seconds(grace).into());
            meta.insert("deletionGracePeriodSeconds".into(), grace.into());
            // kube-apiserver bumps the generation when it sets deletionTimestamp (rest.BeforeDelete).
            if generation > 0 {
                meta.insert("generation".into(), (generation + 1).into());
            }
            if is_namespace {
                if !marked.get("status").is_some_and(Value::is_object) {
                    marked["status"] = json!({});
                }
                marked["status"]["phase"] = "Terminating".into();
            }
            if opts.dry_run {
                return Ok(Deleted::pending(Written {
                    code: pending_code,
                    body: Stored::new(marked).render(info),
                    warnings: Vec::new(),
                }));
            }
            let stored = g.commit(tx, &resource, key, marked, EventKind::Modified, Some(old));
            return Ok(Deleted::pending(Written {
                code: pending_code,
                body: stored.render(info),
                warnings: Vec::new(),
            }));
        }
        let uid = meta_str(old.value(), "uid").to_owned();
        if opts.dry_run {
            return Ok(Deleted {
                written: Written {
                    code: 200,
                    body: Stored::new(last).render(info),
                    warnings: Vec::new(),
                },
                gone: Some(uid),
            });
        }
        let stored = g.commit(
            tx,
            &resource,
            key,
            last,
            EventKind::Deleted,
            Some(old.clone()),
        );
        if *resource == *CRDS_KEY {
            g.crd_changed(tx, Some(old.value()), None);
        }
        Ok(Deleted {
            written: Written {
                code: 200,
                body: stored.render(info),
                warnings: Vec::new(),
            },
            gone: Some(uid),
        })
    }

    /// The keys of the objects a DELETE on a collection deletes, and the resourceVersion of the
    /// list it answers: for a collection whose deletions admission webhooks must see one by one
    /// (each then a `delete`, in its own webhook passes, as kube's `DeleteCollection` deletes
    /// item by item).
    pub fn collection_keys(
        &self,
        t: &Target<'_>,
        selectors: &Selectors,
    ) -> Result<(u64, Vec<ObjKey>), ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        Ok((g.rv, g.collection(&info, t.namespace, selectors)))
    }

    /// The list a DELETE on a collection answers: `items` (as they were before) at `rv`.
    pub fn collection_list(
        &self,
        t: &Target<'_>,
        rv: u64,
        items: &[Bytes],
    ) -> Result<Bytes, ApiError> {
        let info = self.lock().resolve(t)?;
        Ok(list_body(&info, rv, None, None, items))
    }

    /// DELETE on a collection: deletes every object the selectors match; answers with the list deleted.
    pub fn delete_collection(
        &self,
        t: &Target<'_>,
        selectors: &Selectors,
        opts: &DeleteOpts,
    ) -> Result<Bytes, ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let keys = g.collection(&info, t.namespace, selectors);
        // kube answers with the list it deleted from, i.e. the objects as they were before.
        let rv = g.rv;
        let mut items = Vec::new();
        for key in keys {
            if let Some(before) = g.get(&info, &key) {
                items.push(before.render(&info));
            }
            match Self::delete_locked(&mut g, &self.events, &info, key, opts) {
                Ok(_) => {}
                Err(e) => {
                    // Deletions already made stay made (as in kube-apiserver); finish their collection.
                    g.collect_garbage(&self.events);
                    return Err(e);
                }
            }
        }
        g.collect_garbage(&self.events);
        Ok(list_body(&info, rv, None, None, &items))
    }
}

impl Inner {
    /// The keys of the objects of `info` in `namespace` (all for "") that `selectors` match.
    fn collection(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        selectors: &Selectors,
    ) -> Vec<ObjKey> {
        self.objects
            .get(info.store_key().as_str())
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| namespace.is_empty() || k.0 == namespace)
                    .filter(|(_, v)| selectors.matches(v.value()))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
