//! Owns the write of a Scale (kube's `ScaleREST.Update` around the generic store's update,
//! `scaleUpdatedObjectInfo`): the Scale the client sent is what mutating admission sees and
//! changes, with the stored object's Scale as the old object; the admitted Scale is validated,
//! its replicas and resourceVersion go into the object, and the object is written as any update
//! (`replace` with `Sub::Scale`), whose validating admission sees the Scales of the new and old
//! objects (`toScaleUpdateValidation`).

use std::sync::Arc;

use serde_json::Value;

use crate::admission::Operation;
use crate::meta::meta_str;
use crate::status::{ApiError, GroupResource};
use crate::subresources::scale::{scale_type, validate_scale};

use super::admit::Write;
use super::{Store, Sub, Target, WriteOpts, Written, obj_key};

impl Store {
    /// PUT or PATCH of `t`'s `scale`: `scale` is the Scale the client sent, or the one its patch
    /// made of the current Scale. A Scale without a resourceVersion is guarded by `read_rv`,
    /// the parent's resourceVersion when the request read it. Answers the written parent.
    pub fn update_scale(
        &self,
        t: &Target<'_>,
        mut scale: Value,
        read_rv: &str,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let paths = info.scale.clone().ok_or_else(ApiError::path_not_found)?;
        let key = obj_key(&info, t.namespace, t.name);
        let stored = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(info.group_resource(), t.name))?;
        // The Scale is read from the object in the request's version (a conversion webhook
        // converts it for a CRD that has one).
        let mut parent = g.as_requested(&info, stored.value(), opts.webhooks.as_deref())?;
        let old_scale = paths.scale_of(&parent);
        let scale_type = Arc::new(scale_type());
        let write = Write {
            subresource: Sub::Scale.managed_name(),
            object_type: Some(&scale_type),
            old_object: Some(&old_scale),
            ..Write::of(Operation::Update, &info, t.name, &key.0, opts)
        };
        g.mutate_with_webhooks(&scale_type, write, &mut scale, opts.webhooks.as_deref())?;
        let replicas = validate_scale(&scale, t.name)?;
        let uid = meta_str(&scale, "uid");
        let parent_uid = meta_str(&parent, "uid");
        if !uid.is_empty() && uid != parent_uid {
            let resource = format!("{}/scale", info.plural);
            return Err(ApiError::conflict_because(
                GroupResource {
                    group: &info.group,
                    resource: &resource,
                },
                t.name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {parent_uid}"
                ),
            ));
        }
        let rv = match meta_str(&scale, "resourceVersion") {
            "" => read_rv,
            rv => rv,
        }
        .to_owned();
        paths.set_replicas(&mut parent, replicas)?;
        parent["metadata"]["resourceVersion"] = rv.into();
        self.replace(g, &info, key, stored, parent, Sub::Scale, opts)
    }
}
