//! Owns PUT and the write every update, patch and apply ends in (`replace`): preconditions, the
//! status subresource, generation, managedFields, validation, no-op detection, and the removal of
//! a terminating object whose last finalizer the write took away.

use std::sync::{Arc, MutexGuard};

use serde_json::Value;

use crate::admission::Operation;
use crate::catalog::ResourceInfo;
use crate::crd;
use crate::defaults;
use crate::managed::{self, Shape};
use crate::meta::{self, meta_mut, meta_str};
use crate::registry::{self, AllocFailure, Ctx};
use crate::status::{ApiError, Cause};
use crate::subresources::scale::scale_type;
use crate::validation;

use super::admit::Write;
use super::{
    CRDS_KEY, EventKind, Fields, Inner, NAMESPACES_KEY, ObjKey, Store, Stored, Sub, Target,
    WriteOpts, Written, check_type, invalid, obj_key, prune_and_default, spec_finalizers,
};

fn spec_part(v: &Value, drop_status: bool) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        // apiVersion differs when another served version of a CRD writes: not a spec change.
        m.remove("apiVersion");
        m.remove("metadata");
        if drop_status {
            m.remove("status");
        }
    }
    v
}

fn without_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

/// What a write to `sub` keeps of `new` over the stored `old`: for `/status`, the type's status
/// strategy decides (`registry::status_reset`); `/approval` keeps only `.status` (its strategy's
/// condition rules follow in `prepare_for_update`).
fn status_write(old: &Value, new: &Value, info: &ResourceInfo, sub: Sub) -> Value {
    let reset = match sub {
        Sub::Status => registry::status_reset(info),
        _ => registry::StatusReset::OBJECT_META,
    };
    registry::status_write(old, new, &info.api_version(), reset)
}

/// kube's generic store refuses an update without `metadata.resourceVersion` of a type whose
/// strategy does not allow unconditional updates (`registry::update_policy`), with an Invalid
/// whose kind is the resource (the quirk of kube's `qualifiedKind`, "see #18526").
pub(super) fn require_resource_version(
    info: &ResourceInfo,
    name: &str,
    obj: &Value,
) -> Result<(), ApiError> {
    if !meta_str(obj, "resourceVersion").is_empty()
        || registry::update_policy(info).unconditional_update
    {
        return Ok(());
    }
    let gr = info.group_resource();
    Err(ApiError::invalid(
        &gr.qualified(),
        &info.group,
        &info.plural,
        name,
        vec![Cause::new(
            "FieldValueInvalid",
            "metadata.resourceVersion",
            "Invalid value: 0: must be specified for an update",
        )],
    ))
}

impl Store {
    /// PUT: replace an object (or its status); of a missing object, a create where the type
    /// allows it.
    pub fn update(
        &self,
        t: &Target<'_>,
        sub: Sub,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        check_type(&obj, &info)?;
        let key = obj_key(&info, t.namespace, t.name);
        let meta = meta_mut(&mut obj);
        let body_name = meta.get("name").and_then(Value::as_str).unwrap_or("");
        if !body_name.is_empty() && body_name != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({})",
                t.name
            )));
        }
        let body_ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
        if info.namespaced && !body_ns.is_empty() && body_ns != t.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let Some(old) = g.get(&info, &key) else {
            // kube's `AllowCreateOnUpdate`: a PUT of a missing object of these types is a
            // create (201, create admission and validation); the body's resourceVersion is
            // ignored, as kube's store does on that path.
            if sub == Sub::Main && registry::update_policy(&info).create_on_update {
                return self.create_by_update(g, t, obj, opts);
            }
            return Err(ApiError::not_found(info.group_resource(), t.name));
        };
        require_resource_version(&info, t.name, &obj)?;
        self.replace(g, &info, key, old, obj, sub, opts)
    }

    /// The create a PUT of a missing object becomes ([`Store::update`]): the URL names it.
    fn create_by_update(
        &self,
        g: MutexGuard<'_, Inner>,
        t: &Target<'_>,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        // `update` checked the body's name and namespace against the URL.
        let meta = meta_mut(&mut obj);
        meta.insert("name".into(), t.name.into());
        meta.remove("resourceVersion");
        self.create_locked(g, &Target { name: "", ..*t }, obj, opts)
    }

    /// The shared second half of PUT and PATCH: apply the write rules to `new` and commit it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn replace(
        &self,
        mut g: MutexGuard<'_, Inner>,
        info: &Arc<ResourceInfo>,
        key: ObjKey,
        stored_old: Arc<Stored>,
        mut new: Value,
        sub: Sub,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let name = key.1.clone();
        // The write sees the stored object in its own version (a conversion webhook converts it
        // for CRDs that have one); the change event keeps the stored form.
        let old = match &info.conversion {
            Some(_) => {
                Stored::new(g.as_requested(info, stored_old.value(), opts.webhooks.as_deref())?)
            }
            None => stored_old.clone(),
        };
        let gr = info.group_resource();
        let body_rv = meta_str(&new, "resourceVersion").to_owned();
        if !body_rv.is_empty() && body_rv != meta_str(old.value(), "resourceVersion") {
            return Err(ApiError::conflict(gr, &name));
        }
        let body_uid = meta_str(&new, "uid").to_owned();
        let old_uid = meta_str(old.value(), "uid");
        if !body_uid.is_empty() && body_uid != old_uid {
            return Err(ApiError::conflict_because(
                gr,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {body_uid}, UID in object meta: {old_uid}"
                ),
            ));
        }
        let mut warnings: Vec<String>;
        let strategy = registry::strategy_for(info);
        let sent_managed_fields = new.pointer("/metadata/managedFields").cloned();
        new["apiVersion"] = info.api_version().into();
        new["kind"] = info.kind.clone().into();
        if matches!(sub, Sub::Status | Sub::Approval) {
            // A status write changes `.status` and the metadata its type's status strategy
            // leaves to the request (`registry::status_reset`); the spec stays.
            new = status_write(old.value(), &new, info, sub);
            // The written status is decoded like any body: unknown fields pruned, defaults applied.
            warnings = prune_and_default(info, &mut new, opts)?;
        } else {
            warnings = prune_and_default(info, &mut new, opts)?;
            if info.status {
                match old.value().get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            strategy.decode(&mut new);
        }
        defaults::apply(&info.api_version(), &info.kind, &mut new);
        // Mutating admission (webhooks), on the object as the request made it, before the
        // strategy's preparation (kube runs it in the update's `UpdatedObject` transformers).
        let write = Write {
            subresource: sub.managed_name(),
            old_object: Some(old.value()),
            ..Write::of(Operation::Update, info, &name, &key.0, opts)
        };
        let before = matches!(sub, Sub::Status | Sub::Approval).then(|| new.clone());
        let sent_name = meta_str(&new, "name").to_owned();
        let sent_namespace = meta_str(&new, "namespace").to_owned();
        if sub != Sub::Scale {
            // A Scale was admitted before it became this object (`Store::update_scale`).
            g.mutate_with_webhooks(info, write, &mut new, opts.webhooks.as_deref())?;
        }
        // What mutating admission did to the name and namespace is checked as kube's
        // `BeforeUpdate` checks the updated object: another namespace is a 400, another name
        // an immutable field.
        if meta_str(&new, "namespace") != sent_namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mutated_name = meta_str(&new, "name").to_owned();
        if mutated_name != sent_name {
            return Err(invalid(
                info,
                &mutated_name,
                vec![validation::field::invalid_str(
                    "metadata.name",
                    &mutated_name,
                    "field is immutable",
                )],
            ));
        }
        if before.is_some_and(|b| b != new) {
            // A status write keeps of what mutating admission made what its status strategy
            // allows (kube's status strategy prepares the update after admission).
            new = status_write(old.value(), &new, info, sub);
        }
        // Server-owned metadata always comes from the stored object.
        let old_meta = old
            .value()
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let meta = meta_mut(&mut new);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        meta.remove("selfLink");
        let mut causes = Vec::new();
        strategy.prepare_for_update(&mut new, old.value(), sub);
        strategy.canonicalize(&mut new);
        causes.extend(strategy.validate_update(&new, old.value(), sub));
        warnings.extend(strategy.warnings_on_update(&new, old.value(), sub));
        let deleting = old_meta
            .get("deletionTimestamp")
            .is_some_and(|v| !v.is_null());
        let is_namespace = *info.store_key() == *NAMESPACES_KEY;
        let new_finalizers = meta::finalizers(&new);
        let drop_status = info.status;
        if strategy.tracks_generation()
            && spec_part(&new, drop_status) != spec_part(old.value(), drop_status)
        {
            let generation = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta_mut(&mut new).insert("generation".into(), generation.into());
        }
        if let Some(schema) = &info.schema {
            let (errors, ratcheted) = if sub == Sub::Status {
                schema.check_status(&new, old.value())
            } else {
                schema.check(&new, Some(old.value()))
            };
            causes.extend(errors);
            warnings.extend(ratcheted);
        }
        // The validation stage (kube's strategy ValidateUpdate + ValidateObjectMetaUpdate).
        causes.extend(if sub == Sub::Status {
            validation::validate_status_update(info, &new, old.value())
        } else {
            validation::validate_update(
                info,
                &new,
                old.value(),
                sub,
                opts.request_version.as_deref(),
                g.policy,
            )
        });
        warnings.extend(validation::warnings(info, &new, Some(old.value())));
        let is_crd = *info.store_key() == *CRDS_KEY;
        let mut crd_infos = None;
        if is_crd && sub == Sub::Main {
            crd::default_crd(&mut new);
            match crd::resources_of(&new) {
                Ok(infos) => crd_infos = Some(infos),
                Err(errs) => causes.extend(errs),
            }
            // kube's `validateCustomResourceDefinitionSpecUpdate`: once established, the scope
            // and kind are fixed (they shape the storage); the group and plural always are.
            let established = crd::established(old.value());
            for (path, what, checked) in [
                ("/spec/scope", "spec.scope", established),
                ("/spec/names/kind", "spec.names.kind", established),
                ("/spec/group", "spec.group", true),
                ("/spec/names/plural", "spec.names.plural", true),
            ] {
                if checked && new.pointer(path) != old.value().pointer(path) {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        what,
                        format!(
                            "Invalid value: {}: field is immutable",
                            new.pointer(path).unwrap_or(&Value::Null)
                        ),
                    ));
                }
            }
            crd::record_storage_version(&mut new);
            causes.extend(crd::stored_versions_causes(&new));
            if causes.is_empty() {
                crd::set_established(&mut new, &meta::now());
                // Keep the original condition times: only the spec changed.
                if let Some(conds) = old.value().pointer("/status/conditions") {
                    new["status"]["conditions"] = conds.clone();
                }
            }
        }
        // Addresses are allocated only for a valid object: kube-apiserver's Service registry
        // allocates in `BeginUpdate`, after the strategy's validation has passed.
        if sub == Sub::Main && causes.is_empty() {
            let ctx = Ctx {
                allocations: &g.allocations,
                namespace: &key.0,
                name: &name,
                seed: opts.seed(),
            };
            match strategy.allocate(&mut new, Some(old.value()), &ctx) {
                Ok(()) => {}
                Err(AllocFailure::Invalid(refused)) => causes = refused,
                Err(AllocFailure::Internal(why)) => return Err(ApiError::internal(why)),
            }
        }
        if !causes.is_empty() {
            return Err(invalid(info, &name, causes));
        }
        match &opts.fields {
            Fields::Untracked => {}
            Fields::Update(manager) => {
                let api_version =
                    crate::events::writer_version(info, opts.request_version.as_deref());
                let now = meta::now();
                let writer = managed::Writer {
                    manager,
                    api_version: &api_version,
                    subresource: sub.managed_name(),
                    now: &now,
                };
                crate::events::track_write(
                    info,
                    Some(old.value()),
                    &mut new,
                    sent_managed_fields.as_ref(),
                    writer,
                    Shape::root(info),
                );
            }
            Fields::Applied => {
                // A status write rebuilt `new` from the stored object: put the applied ones back.
                let meta = meta_mut(&mut new);
                match sent_managed_fields {
                    Some(mf) => meta.insert("managedFields".into(), mf),
                    None => meta.remove("managedFields"),
                };
            }
        }
        managed::keep_times_of_noop(old.value(), &mut new);
        // Validating admission, before the no-op check: kube admits an update that turns out
        // to change nothing as well. A scale write is admitted as the Scales of the new and old
        // objects (kube's `toScaleUpdateValidation`).
        let scales = match (sub, &info.scale) {
            (Sub::Scale, Some(paths)) => Some((
                paths.scale_of(&new),
                paths.scale_of(old.value()),
                scale_type(),
            )),
            _ => None,
        };
        let admitted = match &scales {
            Some((new_scale, old_scale, scale_type)) => Write {
                object_type: Some(scale_type),
                object: Some(new_scale),
                old_object: Some(old_scale),
                ..write
            },
            None => Write {
                object: Some(&new),
                ..write
            },
        };
        warnings.extend(g.admit_write(admitted)?);
        g.validate_with_webhooks(admitted, opts.webhooks.as_deref())?;
        // ResourceQuota, the last validating plugin (`plugins/resource_quota.rs`).
        g.check_quota(&admitted)?;
        if without_rv(&new) == without_rv(old.value()) {
            // A no-op write changes nothing and emits no event, like kube-apiserver.
            return Ok(Written {
                code: 200,
                body: old.render(info),
                warnings,
            });
        }
        // Encoded into the storage version (a conversion webhook call, dry runs included).
        let stored_form = g.to_storage(info, &new, opts.webhooks.as_deref())?;
        if opts.dry_run {
            return Ok(Written {
                code: 200,
                body: Stored::new(new).render(info),
                warnings,
            });
        }
        let mut new = stored_form.unwrap_or(new);
        g.check_size(&mut new, &opts.fields)?;
        let resource = info.store_key();
        let stored = g.commit(
            &self.events,
            &resource,
            key.clone(),
            new,
            EventKind::Modified,
            Some(stored_old.clone()),
        );
        if let Some(infos) = crd_infos {
            g.crd_changed(&self.events, Some(stored_old.value()), Some(infos));
        }
        if deleting
            && new_finalizers.is_empty()
            && (!is_namespace || spec_finalizers(stored.value()).is_empty())
        {
            let value = stored.value().clone();
            g.commit(
                &self.events,
                &resource,
                key,
                value,
                EventKind::Deleted,
                Some(stored.clone()),
            );
            if is_crd {
                g.crd_changed(&self.events, Some(stored.value()), None);
            }
        }
        g.collect_garbage(&self.events);
        Ok(Written {
            code: 200,
            body: stored.render(info),
            warnings,
        })
    }
}
