//! Owns the store's side of admission: which writes are admitted (those a client asked for; the
//! server's own controllers' writes are not), the view of the stored policies, bindings, params,
//! namespaces and webhook configurations the admission stages read under the store's lock, and
//! the webhook stages, which stop a pass of the write when webhooks must see it (see
//! `admission::webhook`), and the admission of creates that store nothing (`admit_create`).

use std::sync::Arc;

use serde_json::Value;

use crate::admission::webhook::{self, Interrupt, Pass, Phase};
use crate::admission::{self, Attributes, Operation};
use crate::auth::{AuthzSnapshot, UserInfo};
use crate::catalog::{Catalog, ResourceInfo};
use crate::meta::meta_str;
use crate::status::ApiError;

use super::{Fields, Inner, Store, Target, WriteOpts};

/// The write `admit_write` asks admission about.
#[derive(Clone, Copy)]
pub(super) struct Write<'a> {
    pub operation: Operation,
    pub info: &'a ResourceInfo,
    /// "" for the object itself, else the subresource written (`status`, `scale`, ...).
    pub subresource: &'a str,
    /// The type of `object` and `old_object` when the subresource has a kind of its own (see
    /// `admission::Attributes::object_type`).
    pub object_type: Option<&'a ResourceInfo>,
    pub name: &'a str,
    pub namespace: &'a str,
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
    pub user: Option<&'a UserInfo>,
    pub dry_run: bool,
    pub fields: Option<&'a Fields>,
    pub authorizer: Option<&'a AuthzSnapshot>,
    /// The apiVersion the request came through when `info` is stored for another API
    /// (`WriteOpts::request_version`: a write through the events.k8s.io view of core Events).
    pub request_version: Option<&'a str>,
}

impl<'a> Write<'a> {
    /// The write `opts` describes, of the object `name` itself (no subresource, no objects yet).
    pub(super) fn of(
        operation: Operation,
        info: &'a ResourceInfo,
        name: &'a str,
        namespace: &'a str,
        opts: &'a WriteOpts,
    ) -> Self {
        Self {
            operation,
            info,
            subresource: "",
            object_type: None,
            name,
            namespace,
            object: None,
            old_object: None,
            user: opts.user.as_deref(),
            dry_run: opts.dry_run,
            fields: Some(&opts.fields),
            authorizer: opts.authorizer.as_ref(),
            request_version: opts.request_version.as_deref(),
        }
    }
}

impl Inner {
    /// Runs validating admission for a client's write (none for the server's own, `user`
    /// None). Returns the warnings to send with the answer, or the refusal.
    pub(super) fn admit_write(&mut self, w: Write<'_>) -> Result<Vec<String>, ApiError> {
        let Some(user) = w.user else {
            return Ok(Vec::new());
        };
        // kube's built-in plugins validate before the policies (`plugins`).
        let mut warnings = self.validate_with_plugins(&w)?;
        let attributes = attributes(&w, user, &self.catalog);
        let snapshot = admission::Snapshot {
            objects: &self.objects,
            catalog: &self.catalog,
            service_routes: &self.service_routes,
        };
        warnings.extend(admission::admit(&snapshot, &mut self.admission, &attributes)?.warnings);
        Ok(warnings)
    }

    /// The webhooks of `phase` a client's write calls (none for the server's own).
    fn webhooks_for(
        &mut self,
        w: &Write<'_>,
        phase: Phase,
    ) -> Result<Vec<webhook::Invocation>, ApiError> {
        let Some(user) = w.user else {
            return Ok(Vec::new());
        };
        let attributes = attributes(w, user, &self.catalog);
        let snapshot = admission::Snapshot {
            objects: &self.objects,
            catalog: &self.catalog,
            service_routes: &self.service_routes,
        };
        webhook::select(&snapshot, &mut self.webhooks, phase, &attributes)
    }

    /// The mutating stage of a create or update (kube calls mutating admission before the
    /// registry strategy): kube's built-in mutating plugins, the mutating admission policies,
    /// then the mutating webhooks (kube's plugin order), then the policies that asked for
    /// reinvocation once more if a later policy or a webhook changed the object. `obj` becomes what they made of it, or the pass
    /// stops so the webhooks can be called.
    pub(super) fn mutate_with_webhooks(
        &mut self,
        info: &Arc<ResourceInfo>,
        w: Write<'_>,
        obj: &mut Value,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        // kube's built-in plugins first (`plugins`), then the policies and webhooks.
        self.admit_with_plugins(&w, obj, pass)?;
        let mut reinvocation = admission::Reinvocation::default();
        self.mutate_with_policies(info, &w, obj, &mut reinvocation, false)?;
        if let Some(pass) = pass {
            let invocations = self.webhooks_for(
                &Write {
                    object: Some(obj),
                    ..w
                },
                Phase::Mutating,
            )?;
            if !invocations.is_empty() {
                let old_rv = w.old_object.map_or("", |o| meta_str(o, "resourceVersion"));
                let Some(output) = pass.mutated(obj, old_rv) else {
                    return Err(pass.interrupt(Interrupt::Mutate {
                        invocations,
                        info: info.clone(),
                        input: obj.clone(),
                        old_object: w.old_object.cloned(),
                        dry_run: w.dry_run,
                    }));
                };
                *obj = output;
            }
        }
        if reinvocation.wanted(obj) {
            self.mutate_with_policies(info, &w, obj, &mut reinvocation, true)?;
        }
        Ok(())
    }

    /// One round of the mutating admission policies on a client's write (none for the server's
    /// own). They run under the store's lock: they are CEL evaluated in process.
    fn mutate_with_policies(
        &mut self,
        info: &Arc<ResourceInfo>,
        w: &Write<'_>,
        obj: &mut Value,
        reinvocation: &mut admission::Reinvocation,
        second_round: bool,
    ) -> Result<(), ApiError> {
        let Some(user) = w.user else {
            return Ok(());
        };
        let attributes = attributes(w, user, &self.catalog);
        let snapshot = admission::Snapshot {
            objects: &self.objects,
            catalog: &self.catalog,
            service_routes: &self.service_routes,
        };
        let normalize = |o: &mut Value| crate::store::normalize_mutated(info, o);
        admission::mutate(
            &snapshot,
            &mut self.mutating,
            &attributes,
            obj,
            reinvocation,
            second_round,
            &normalize,
        )
    }

    /// The validating webhook stage of a create or update, after the validating admission
    /// policies (kube's plugin order): the write goes on only once the matching webhooks have
    /// admitted exactly this object.
    pub(super) fn validate_with_webhooks(
        &mut self,
        w: Write<'_>,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        let (Some(pass), Some(object)) = (pass, w.object) else {
            return Ok(());
        };
        let invocations = self.webhooks_for(&w, Phase::Validating)?;
        if invocations.is_empty() || pass.validated(object) {
            return Ok(());
        }
        Err(pass.interrupt(Interrupt::Validate {
            invocations,
            object: object.clone(),
            old_object: w.old_object.cloned(),
            dry_run: w.dry_run,
        }))
    }

    /// The webhook stage of a delete: mutating then validating webhooks see the stored object as
    /// `oldObject`; the delete goes on once they admitted it at its current resourceVersion.
    pub(super) fn delete_with_webhooks(
        &mut self,
        w: Write<'_>,
        pass: Option<&Pass>,
    ) -> Result<(), ApiError> {
        let (Some(pass), Some(old)) = (pass, w.old_object) else {
            return Ok(());
        };
        let mutating = self.webhooks_for(&w, Phase::Mutating)?;
        let validating = self.webhooks_for(&w, Phase::Validating)?;
        if (mutating.is_empty() && validating.is_empty())
            || pass.delete_admitted(meta_str(old, "resourceVersion"))
        {
            return Ok(());
        }
        Err(pass.interrupt(Interrupt::Delete {
            mutating,
            validating,
            old_object: old.clone(),
            dry_run: w.dry_run,
        }))
    }
}

impl Store {
    /// Admits the create of `object` through the subresource `subresource` of the object `t`
    /// names when that create stores nothing of its own (an Eviction for `pods/eviction`), as
    /// kube's create handler admits it around the REST storage's `Create`: mutating admission on
    /// the decoded object, then `check` (the storage's own checks before it validates, such as
    /// the name), then validating admission. Answers the admitted object and the policies'
    /// warnings; the webhooks run between the passes of `opts.webhooks`.
    pub fn admit_create(
        &self,
        t: &Target<'_>,
        subresource: &str,
        object_type: &Arc<ResourceInfo>,
        mut object: Value,
        check: impl Fn(&Value) -> Result<(), ApiError>,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let write = Write {
            subresource,
            object_type: Some(object_type),
            ..Write::of(Operation::Create, &info, t.name, t.namespace, opts)
        };
        g.mutate_with_webhooks(object_type, write, &mut object, opts.webhooks.as_deref())?;
        check(&object)?;
        let admitted = Write {
            object: Some(&object),
            ..write
        };
        let warnings = g.admit_write(admitted)?;
        g.validate_with_webhooks(admitted, opts.webhooks.as_deref())?;
        Ok((object, warnings))
    }
}

/// What admission sees of a client's write. A write through another API of the stored resource
/// is a request for that API's resource (kube's `RequestInfo`): rules match it, and webhooks
/// and policies see its `requestKind`, in that API; `catalog` serves it.
fn attributes<'a>(w: &Write<'a>, user: &'a UserInfo, catalog: &'a Catalog) -> Attributes<'a> {
    let field_manager = match w.fields {
        Some(Fields::Update(m)) => m.as_str(),
        _ => "",
    };
    let info = w
        .request_version
        .filter(|v| *v != w.info.api_version())
        .and_then(|v| {
            let (group, version) = v.split_once('/').unwrap_or(("", v));
            catalog.get(group, version, &w.info.plural)
        })
        .map_or(w.info, |i| &**i);
    Attributes {
        operation: w.operation,
        info,
        subresource: w.subresource,
        object_type: w.object_type,
        name: w.name,
        namespace: if info.namespaced { w.namespace } else { "" },
        object: w.object,
        old_object: w.old_object,
        user,
        dry_run: w.dry_run,
        field_manager,
        authorizer: w.authorizer,
    }
}
