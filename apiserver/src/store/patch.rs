//! Owns PATCH: merge, JSON and strategic-merge patches, and server-side apply (which may create).

use serde_json::Value;

use crate::managed::{self, Shape};
use crate::meta::{self, meta_str};
use crate::status::ApiError;
use crate::validation;

use super::{
    FieldValidation, Fields, PatchKind, Store, Sub, Target, WriteOpts, Written, check_type, obj_key,
};

impl Store {
    /// PATCH with a merge patch or a JSON patch.
    pub fn patch(
        &self,
        t: &Target<'_>,
        sub: Sub,
        kind: PatchKind,
        patch: &[u8],
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        let key = obj_key(&info, t.namespace, t.name);
        let old = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(info.group_resource(), t.name))?;
        // Patch the object as the requested version sees it (multi-version CRDs store one
        // apiVersion; a conversion webhook converts it).
        let mut doc = g.as_requested(&info, old.value(), opts.webhooks.as_deref())?;
        // The patch body's own strict errors: kube decodes it strictly for Warn and Strict
        // (`applyJSPatch`, `strategicPatchObject`), into `map[string]interface{}` for merge
        // patches, into `[]jsonPatchOp` for JSON patches.
        let checked = opts.field_validation != FieldValidation::Ignore;
        let mut patch_errors = Vec::new();
        match kind {
            PatchKind::Merge => {
                let p = decode_patch_object(patch, checked, &mut patch_errors)?;
                if !p.is_object() {
                    return Err(ApiError::bad_request(
                        "error decoding patch: a merge patch must be a JSON object",
                    ));
                }
                json_patch::merge(&mut doc, &p);
            }
            PatchKind::Strategic => {
                if info.custom {
                    // kube-apiserver serves no strategic merge patch for custom resources.
                    return Err(ApiError::unsupported_media_type(format!(
                        "the body of the request was in an unknown format - accepted media types include: {}",
                        crate::openapi::PATCH_TYPES.join(", ")
                    )));
                }
                let p = decode_patch_object(patch, checked, &mut patch_errors)?;
                let ty = crate::smp::root_type(&info.api_version(), &info.kind).unwrap_or("");
                doc = crate::smp::apply(&doc, &p, ty)?;
            }
            PatchKind::Json => {
                if checked {
                    patch_errors = crate::strict::json_patch_errors(patch);
                }
                // kube's library (evanphx/json-patch v4), not RFC 6902 to the letter: see
                // `jsonpatch`. `doc` is a scratch copy dropped on error, so nothing rolls back.
                let ops = crate::jsonpatch::decode(patch)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                crate::jsonpatch::apply(&mut doc, &ops)
                    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
            }
        }
        check_type(&doc, &info)?;
        // The patched object is decoded with kube's patch wording; the decode in `replace` then
        // finds nothing left to report.
        let mut patch_warnings = Vec::new();
        if !info.custom {
            patch_warnings =
                validation::decode_patched(&info, &mut doc, opts.field_validation, patch_errors)?;
        } else if !patch_errors.is_empty() {
            match opts.field_validation {
                // The pruned fields follow as warnings from `replace`, as kube's
                // schemaCoercingDecoder appends them to the patch's own.
                FieldValidation::Warn => patch_warnings = patch_errors,
                FieldValidation::Strict => {
                    // One 422 with the patch's errors and the fields pruning would drop.
                    let mut pruned = doc.clone();
                    let unknown = info
                        .schema
                        .as_ref()
                        .map(|s| s.prune(&mut pruned))
                        .unwrap_or_default();
                    patch_errors.extend(unknown.iter().map(|f| format!("unknown field {f:?}")));
                    return Err(validation::patch_invalid(
                        &doc.to_string(),
                        &format!("strict decoding error: {}", patch_errors.join(", ")),
                    ));
                }
                FieldValidation::Ignore => {}
            }
        }
        let rv = meta_str(&doc, "resourceVersion");
        if !rv.is_empty() && rv != meta_str(old.value(), "resourceVersion") {
            return Err(ApiError::conflict(info.group_resource(), t.name));
        }
        // The patched object keeps the stored resourceVersion unless the patch removed it.
        super::update::require_resource_version(&info, t.name, &doc)?;
        if meta_str(&doc, "name") != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                meta_str(&doc, "name"),
                t.name
            )));
        }
        if meta_str(&doc, "namespace") != meta_str(old.value(), "namespace") {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut written = self.replace(g, &info, key, old, doc, sub, opts)?;
        patch_warnings.append(&mut written.warnings);
        written.warnings = patch_warnings;
        Ok(written)
    }

    /// PATCH with `application/apply-patch+yaml`: server-side apply of `config` by `manager`,
    /// creating the object when it does not exist (not through `/status`).
    pub fn apply(
        &self,
        t: &Target<'_>,
        sub: Sub,
        mut config: Value,
        manager: &str,
        force: bool,
        opts: &WriteOpts,
    ) -> Result<Written, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        if sub == Sub::Status && !info.status {
            return Err(ApiError::path_not_found());
        }
        // kube's lastAppliedUpdater keeps kubectl's client-side annotation in step with what
        // `kubectl apply --server-side` (manager "kubectl") applied, as sent.
        let as_sent = (manager == managed::KUBECTL).then(|| config.clone());
        let Some(cm) = config.as_object_mut() else {
            return Err(ApiError::bad_request(format!(
                "error decoding patch: an apply configuration must be an object, not {config}"
            )));
        };
        // kube's versionCheckManager: the configuration names exactly the URL's type.
        let api_version = cm.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = cm.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != info.api_version() || kind != info.kind {
            let gv = if api_version.contains('/') {
                api_version.to_owned()
            } else {
                format!("/{api_version}")
            };
            return Err(ApiError::bad_request(format!(
                "invalid object type: {gv}, Kind={kind}"
            )));
        }
        if cm
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .is_some_and(|mf| !mf.is_null())
        {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        // Reset fields (each strategy's `GetResetFields`): the main resource never writes
        // `status` of a type with a status subresource, and `/status` writes the status and the
        // metadata its type's status strategy leaves to the request (`registry::status_reset`),
        // which the applier then owns under the `status` subresource.
        if sub == Sub::Status {
            cm.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            let reset = crate::registry::status_reset(&info);
            // resourceVersion and uid stay: they are preconditions (a stale one is 409), not
            // fields to own.
            if let Some(Value::Object(m)) = cm.get_mut("metadata") {
                m.retain(|k, _| {
                    matches!(k.as_str(), "name" | "namespace" | "resourceVersion" | "uid")
                        || reset.keeps_from_request(k)
                });
            }
        } else if info.status {
            cm.remove("status");
        }
        let body_ns = cm
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if info.namespaced && !body_ns.is_empty() && body_ns != t.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // A built-in configuration converts to its type or the apply fails (structured-merge-diff).
        if !info.custom {
            validation::check_apply(&info, t.namespace, t.name, &config)?;
        }
        // Unknown fields of a custom resource never reach the field sets.
        let mut warnings = Vec::new();
        if let Some(schema) = &info.schema {
            let unknown = schema.prune(&mut config);
            if !unknown.is_empty() {
                let listed: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field {f:?}"))
                    .collect();
                match opts.field_validation {
                    FieldValidation::Strict => {
                        return Err(ApiError::bad_request(format!(
                            "error strict decoding patch: {}",
                            listed.join(", ")
                        )));
                    }
                    FieldValidation::Warn => warnings = listed,
                    FieldValidation::Ignore => {}
                }
            }
        }
        let key = obj_key(&info, t.namespace, t.name);
        let existing = g.get(&info, &key);
        if existing.is_none() && sub == Sub::Status {
            return Err(ApiError::not_found(info.group_resource(), t.name));
        }
        let shape = Shape::root(&info);
        let now = meta::now();
        let writer = managed::Writer {
            manager,
            api_version: &info.api_version(),
            subresource: sub.managed_name(),
            now: &now,
        };
        // Through the events.k8s.io view the merge works on the view of the stored core Event.
        let view = crate::events::is_view(&info);
        let live = match &existing {
            Some(old) if view => crate::events::apply_live(old.value(), &info.api_version()),
            Some(old) => g.as_requested(&info, old.value(), opts.webhooks.as_deref())?,
            None => {
                let mut empty = managed::empty_object(shape);
                empty["apiVersion"] = info.api_version().into();
                empty["kind"] = info.kind.clone().into();
                empty
            }
        };
        let mut new = managed::apply(&live, &config, force, writer, shape)?;
        if let Some(sent) = as_sent {
            managed::update_last_applied(&mut new, &sent);
        }
        // kube's checkName, after the patch.
        if meta_str(&new, "name") != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                meta_str(&new, "name"),
                t.name
            )));
        }
        let mut applied = WriteOpts {
            fields: Fields::Applied,
            ..opts.clone()
        };
        let mut written = if view {
            // Stored, validated and admitted as the core Event it is (validation as strictly as
            // the view's API asks), answered in the view.
            let new = crate::events::applied_core(&new, &info.api_version());
            applied.request_version = Some(info.api_version());
            let core = crate::events::core_target(t);
            let core_info = g.resolve(&core)?;
            let mut w = match existing {
                Some(old) => self.replace(g, &core_info, key, old, new, sub, &applied)?,
                None => self.create_locked(g, &core, new, &applied)?,
            };
            w.body = crate::events::outgoing(&info, &w.body)?;
            w
        } else {
            match existing {
                Some(old) => self.replace(g, &info, key, old, new, sub, &applied)?,
                None => self.create_locked(g, t, new, &applied)?,
            }
        };
        warnings.append(&mut written.warnings);
        warnings.dedup();
        written.warnings = warnings;
        Ok(written)
    }
}

/// Decodes a merge or strategic merge patch body; `checked` (fieldValidation Warn or Strict)
/// adds its duplicate fields to `errors`, named as kube's `UnmarshalStrict` names them.
fn decode_patch_object(
    patch: &[u8],
    checked: bool,
    errors: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let (p, repeated) = crate::strict::parse(patch)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if checked
        && repeated
        && let Ok(raw) = crate::strict::parse_raw(patch)
    {
        *errors = crate::strict::unstructured_duplicates(&raw);
    }
    Ok(p)
}
