//! Owns POST: creating an object (namespace from the URL, `generateName`, uid and
//! creationTimestamp, managedFields, the type's registry strategy and validation, CRD registration).

use std::sync::MutexGuard;

use serde_json::Value;

use crate::admission::Operation;
use crate::crd;
use crate::defaults;
use crate::managed::{self, Shape};
use crate::meta::{self, meta_mut, meta_str};
use crate::registry::{self, AllocFailure, Ctx};
use crate::status::ApiError;
use crate::validation;

use super::admit::Write;
use super::{
    CRDS_KEY, EventKind, Fields, Inner, Store, Stored, Target, WriteOpts, Written, check_type,
    invalid, obj_key, prune_and_default,
};

impl Store {
    /// POST: create an object.
    pub fn create(
        &self,
        t: &Target<'_>,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        self.create_locked(self.lock(), t, obj, opts)
    }

    pub(super) fn create_locked(
        &self,
        mut g: MutexGuard<'_, Inner>,
        t: &Target<'_>,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let info = g.resolve(t)?;
        g.refuse_while_terminating(&info)?;
        check_type(&obj, &info)?;
        obj["apiVersion"] = info.api_version().into();
        obj["kind"] = info.kind.clone().into();
        let strategy = registry::strategy_for(&info);
        // Decode, then default (kube's order), before the writer's fields are taken.
        strategy.decode(&mut obj);
        defaults::apply(&info.api_version(), &info.kind, &mut obj);
        let mut warnings = prune_and_default(&info, &mut obj, opts)?;
        // Mutating admission (webhooks), before the strategy's preparation: kube's create handler
        // calls it on the decoded object with the request's namespace filled in, before the
        // registry's `BeforeCreate` names the object and sets its uid.
        if info.namespaced && meta_str(&obj, "namespace").is_empty() {
            meta_mut(&mut obj).insert("namespace".into(), t.namespace.into());
        }
        let sent_name = meta_str(&obj, "name").to_owned();
        let write = Write::of(Operation::Create, &info, &sent_name, t.namespace, opts);
        g.mutate_with_webhooks(&info, write, &mut obj, opts.webhooks.as_deref())?;
        // A resourceVersion sent with the object is read by the storage stage below (kube's etcd3
        // `Create`), not refused here.
        let sent_rv = meta_str(&obj, "resourceVersion").to_owned();
        let meta = meta_mut(&mut obj);
        // Namespace: from the URL; the body may repeat it but not contradict it.
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if info.namespaced {
            if !body_ns.is_empty() && body_ns != t.namespace {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), t.namespace.into());
        } else {
            meta.remove("namespace");
        }
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut causes = Vec::new();
        if name.is_empty() && !generate.is_empty() {
            name = opts.generate_name(&generate);
            meta.insert("name".into(), name.clone().into());
        }
        meta.insert("uid".into(), opts.new_uid().into());
        meta.insert("creationTimestamp".into(), meta::now().into());
        if strategy.tracks_generation() {
            meta.insert("generation".into(), 1.into());
        } else {
            meta.remove("generation");
        }
        for server_set in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(server_set);
        }
        if info.status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        if let Fields::Update(manager) = &opts.fields {
            let sent = obj.pointer("/metadata/managedFields").cloned();
            let api_version = crate::events::writer_version(&info, opts.request_version.as_deref());
            let now = meta::now();
            let writer = managed::Writer {
                manager,
                api_version: &api_version,
                subresource: "",
                now: &now,
            };
            crate::events::track_write(
                &info,
                None,
                &mut obj,
                sent.as_ref(),
                writer,
                Shape::root(&info),
            );
        }
        // The registry strategy, after field tracking: what it sets belongs to no writer.
        if info.status
            && let Some(status) = strategy.initial_status(&obj)
        {
            obj["status"] = status;
        }
        warnings.extend(strategy.prepare_for_create(&mut obj, opts.user.as_deref()));
        strategy.canonicalize(&mut obj);
        causes.extend(strategy.validate(&obj));
        warnings.extend(strategy.warnings_on_create(&obj));
        if let Some(schema) = &info.schema {
            causes.extend(schema.validate(&obj, None));
        }
        // The validation stage (kube's strategy Validate + ValidateObjectMeta).
        causes.extend(validation::validate_create(
            &info,
            &obj,
            opts.request_version.as_deref(),
            g.policy,
        ));
        warnings.extend(validation::warnings(&info, &obj, None));
        let is_crd = *info.store_key() == *CRDS_KEY;
        let mut crd_infos = None;
        if is_crd {
            crd::default_crd(&mut obj);
            match crd::resources_of(&obj) {
                Ok(infos) => crd_infos = Some(infos),
                Err(errs) => causes.extend(errs),
            }
            crd::record_storage_version(&mut obj);
            causes.extend(crd::stored_versions_causes(&obj));
        }
        if !causes.is_empty() {
            return Err(invalid(&info, &name, causes));
        }
        if info.namespaced {
            match g.namespace(t.namespace) {
                None => {
                    return Err(ApiError::not_found(
                        crate::status::GroupResource {
                            group: "",
                            resource: "namespaces",
                        },
                        t.namespace,
                    ));
                }
                Some(ns) if !meta_str(ns.value(), "deletionTimestamp").is_empty() => {
                    return Err(ApiError::forbidden(
                        info.group_resource(),
                        &name,
                        &format!(
                            "unable to create new content in namespace {} because it is being terminated",
                            t.namespace
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let key = obj_key(&info, t.namespace, &name);
        if g.get(&info, &key).is_some() {
            return Err(ApiError::already_exists(info.group_resource(), &name));
        }
        let ctx = Ctx {
            allocations: &g.allocations,
            namespace: &key.0,
            name: &name,
            seed: opts.seed(),
        };
        match strategy.allocate(&mut obj, None, &ctx) {
            Ok(()) => {}
            Err(AllocFailure::Invalid(causes)) => return Err(invalid(&info, &name, causes)),
            Err(AllocFailure::Internal(why)) => return Err(ApiError::internal(why)),
        }
        if is_crd {
            crd::set_established(&mut obj, &meta::now());
        }
        // Validating admission, after validation and before the commit (dry runs included:
        // policies have no side effects; webhooks are told it is a dry run): policies, then
        // webhooks, kube's plugin order.
        let admitted = Write {
            object: Some(&obj),
            ..write
        };
        warnings.extend(g.admit_write(admitted)?);
        g.validate_with_webhooks(admitted, opts.webhooks.as_deref())?;
        // ResourceQuota, the last validating plugin (`plugins/resource_quota.rs`).
        g.check_quota(&admitted)?;
        // Encoded into the storage version (a conversion webhook call; a dry run too, as kube's
        // dry-run storage encodes and decodes what it would have written).
        let stored_form = g.to_storage(&info, &obj, opts.webhooks.as_deref())?;
        if opts.dry_run {
            // kube's dry-run storage never reaches etcd3's check below: the sent resourceVersion
            // comes back as it was sent.
            return Ok(Written {
                code: 201,
                body: Stored::new(obj).json().clone(),
                warnings,
            });
        }
        refuse_sent_resource_version(&sent_rv)?;
        let mut obj = stored_form.unwrap_or(obj);
        g.check_size(&mut obj, &opts.fields)?;
        let stored = g.commit(
            &self.events,
            &info.store_key(),
            key,
            obj,
            EventKind::Added,
            None,
        );
        if is_crd {
            g.crd_changed(&self.events, None, crd_infos);
        }
        g.collect_garbage(&self.events);
        warnings.dedup();
        Ok(Written {
            code: 201,
            body: stored.render(&info),
            warnings,
        })
    }
}

/// The storage stage's check of a resourceVersion sent on create (kube's etcd3 `Create`, after
/// validation and admission): a value that parses as a non-zero number (the versioner's
/// `ParseUint`) is refused with a plain error, which kube's response writer turns into a 500
/// with no reason; any other value (`""`, `"0"`, `"v1"`) is replaced by the commit's own.
fn refuse_sent_resource_version(sent: &str) -> Result<(), ApiError> {
    match sent.parse::<u64>() {
        Ok(version) if version != 0 => Err(ApiError::internal_unknown(
            "resourceVersion should not be set on objects to be created",
        )),
        _ => Ok(()),
    }
}
