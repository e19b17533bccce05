//! Owns the checks and preparation every write applies to a request body before the store takes it:
//! the type check (apiVersion, kind, metadata), decoding or pruning and defaulting with
//! `fieldValidation`, the `Invalid` answer, and etcd's per-object size limit.

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::meta::meta_mut;
use crate::status::{ApiError, Cause};
use crate::validation;

use super::{FieldValidation, Fields, Inner, WriteOpts};

/// The message etcd answers a write over `--max-request-bytes` with, which kube-apiserver passes on
/// unchanged as a 500 (`endpoints/handlers/rest.go` `isTooLargeError` only decides the retry).
const REQUEST_TOO_LARGE: &str = "etcdserver: request is too large";

pub(super) fn check_type(obj: &Value, info: &ResourceInfo) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            info.kind
        )));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let want = info.api_version();
    if !api_version.is_empty() && api_version != want {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != info.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            info.kind
        )));
    }
    if obj
        .get("metadata")
        .is_some_and(|m| !m.is_object() && !m.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): metadata must be an object",
            info.kind
        )));
    }
    Ok(())
}

pub(super) fn invalid(info: &ResourceInfo, name: &str, causes: Vec<Cause>) -> ApiError {
    ApiError::invalid(
        &info.qualified_kind(),
        &info.group,
        &info.kind,
        name,
        causes,
    )
}

/// Decodes a built-in body against its type, or prunes and defaults a custom resource, applying
/// `fieldValidation` to the strict errors: the body's duplicate fields, then (custom resources,
/// kube's `schemaCoercingDecoder`) the fields pruning dropped.
pub(super) fn prune_and_default(
    info: &ResourceInfo,
    obj: &mut Value,
    opts: &WriteOpts,
) -> Result<Vec<String>, ApiError> {
    let body = opts.body_strict.as_deref();
    let Some(schema) = &info.schema else {
        return validation::decode_body(info, obj, opts.field_validation, body);
    };
    let unknown = schema.prune(obj);
    let mut listed = body.map(|b| b.errors.clone()).unwrap_or_default();
    listed.extend(unknown.iter().map(|f| format!("unknown field {f:?}")));
    let warnings = validation::strict_errors(info, listed, opts.field_validation)?;
    schema.apply_defaults(obj);
    Ok(warnings)
}

/// The length of `v`'s JSON encoding, without building it.
fn encoded_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

impl Inner {
    /// Refuses an object whose encoding is over the storage limit with etcd's error, as
    /// kube-apiserver passes it on (500, no reason). Like kube-apiserver's create/update/patch
    /// handlers, an ordinary write first retries without `metadata.managedFields` (which can be
    /// large): when the object fits without them it is stored without them. An apply does not
    /// retry (its managedFields are what it computed). Measured on the JSON this store keeps;
    /// kube-apiserver measures etcd's request, protobuf for built-in types, JSON for custom
    /// resources.
    pub(super) fn check_size(&self, obj: &mut Value, fields: &Fields) -> Result<(), ApiError> {
        let limit = self.limits.max_object_bytes;
        if encoded_len(obj) <= limit {
            return Ok(());
        }
        if *fields != Fields::Applied
            && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(managed) = m.remove("managedFields")
        {
            if encoded_len(obj) <= limit {
                return Ok(());
            }
            meta_mut(obj).insert("managedFields".into(), managed);
        }
        Err(ApiError::internal_unknown(REQUEST_TOO_LARGE))
    }
}

/// Decodes and defaults an object a mutating webhook patched, as kube decodes the patched JSON
/// into its type and runs the defaulters again: unknown fields are dropped (pruned for custom
/// resources) without a word, Go's field presence and the type's defaults are applied.
pub(crate) fn normalize_mutated(info: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
    check_type(obj, info).map_err(|e| ApiError::internal(e.message))?;
    let strategy = crate::registry::strategy_for(info);
    strategy.decode(obj);
    crate::defaults::apply(&info.api_version(), &info.kind, obj);
    let opts = WriteOpts {
        field_validation: FieldValidation::Ignore,
        ..WriteOpts::default()
    };
    prune_and_default(info, obj, &opts).map_err(|e| ApiError::internal(e.message))?;
    Ok(())
}
