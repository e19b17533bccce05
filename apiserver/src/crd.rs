//! The seam to `crd-schema` and everything CRD-specific: checking a CRD, turning it into catalogue
//! entries, and setting the status conditions a real API server's CRD controllers set.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::status::Cause;

/// The compiled `openAPIV3Schema` of one CRD version.
///
/// A CRD restored from a start snapshot compiles its schemas on first use instead (see
/// [`Compile::Deferred`]): a test process serves every CRD of its suite but usually writes objects
/// of one or two of them, and compiling the others' schemas was a tenth of its CPU.
pub struct VersionSchema {
    compiled: std::sync::OnceLock<Result<crd_schema::Schema, Vec<Cause>>>,
    /// The schema (shared with the version's [`ResourceInfo::openapi`]) and its field, kept only
    /// while a deferred compile has not run.
    deferred: Option<Box<(Arc<Value>, String)>>,
}

/// When [`resources_of_with`] compiles the versions' schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compile {
    /// Now, so that an invalid schema is a cause (every CRD a client writes).
    Eager,
    /// On the first object validated, pruned or defaulted against it: only for CRDs this binary
    /// has already checked and served, i.e. those of a start snapshot, which is keyed to the
    /// build and the CRDs' bytes.
    Deferred,
}

impl std::fmt::Debug for VersionSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VersionSchema")
    }
}

fn cause_of(e: &crd_schema::FieldError, prefix: &str) -> Cause {
    let field = match (prefix.is_empty(), e.field.is_empty()) {
        (true, _) => e.field.clone(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{}", e.field),
    };
    Cause::new(e.kind.reason(), field, e.message())
}

impl VersionSchema {
    /// Compiles a schema (CEL rules included); errors are causes under `field`.
    pub fn compile(schema: &Value, field: &str) -> Result<Self, Vec<Cause>> {
        let compiled = std::sync::OnceLock::new();
        let _ = compiled.set(Ok(Self::compile_now(schema, field)?));
        Ok(Self {
            compiled,
            deferred: None,
        })
    }

    /// A schema compiled on first use; see [`Compile::Deferred`].
    pub fn deferred(schema: Arc<Value>, field: &str) -> Self {
        Self {
            compiled: std::sync::OnceLock::new(),
            deferred: Some(Box::new((schema, field.to_owned()))),
        }
    }

    fn compile_now(schema: &Value, field: &str) -> Result<crd_schema::Schema, Vec<Cause>> {
        crd_schema::Schema::compile(schema)
            .map_err(|e| e.causes().iter().map(|c| cause_of(c, field)).collect())
    }

    /// The compiled schema, or why a deferred compile failed (only if the snapshot's CRD no
    /// longer compiles, which its key rules out: the causes then reach the writer).
    fn schema(&self) -> Result<&crd_schema::Schema, &[Cause]> {
        self.compiled
            .get_or_init(|| match &self.deferred {
                Some(d) => Self::compile_now(&d.0, &d.1),
                None => Err(vec![Cause::new(
                    "InternalError",
                    "",
                    "the CRD version's schema was neither compiled nor kept for later",
                )]),
            })
            .as_ref()
            .map_err(Vec::as_slice)
    }

    /// Removes unknown fields; returns their paths (for `fieldValidation`).
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        // A schema that does not compile prunes nothing; `validate` reports why.
        self.schema().map(|s| s.prune(obj)).unwrap_or_default()
    }

    /// Applies schema defaults.
    pub fn apply_defaults(&self, obj: &mut Value) {
        if let Ok(s) = self.schema() {
            s.apply_defaults(obj);
        }
    }

    /// Validates a `/status` write like kube-apiserver's status strategy: the schema for
    /// `.status` only (an invalid stored spec must not block status writes), list types and CEL
    /// rules for the whole object. Returns the errors and the warnings of ratcheted CEL rules.
    pub fn check_status(&self, obj: &Value, old: &Value) -> (Vec<Cause>, Vec<String>) {
        let schema = match self.schema() {
            Ok(s) => s,
            Err(causes) => return (causes.to_vec(), Vec::new()),
        };
        let checked = schema.check_status_update(obj, old);
        (
            checked.errors.iter().map(|e| cause_of(e, "")).collect(),
            checked.warnings,
        )
    }

    /// Validates against the schema and its CEL rules; `old` is the stored object on update.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        self.check(obj, old).0
    }

    /// [`Self::validate`] with the warnings kube answers on update: the failures of CEL rules
    /// that do not use `oldSelf`, on values equal to their old ones (validation ratcheting).
    pub fn check(&self, obj: &Value, old: Option<&Value>) -> (Vec<Cause>, Vec<String>) {
        let schema = match self.schema() {
            Ok(s) => s,
            Err(causes) => return (causes.to_vec(), Vec::new()),
        };
        let checked = schema.check(obj, old);
        (
            checked.errors.iter().map(|e| cause_of(e, "")).collect(),
            checked.warnings,
        )
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Fills what kube-apiserver defaults in a CRD spec: singular and list kind names, conversion strategy.
pub fn default_crd(crd: &mut Value) {
    let kind = s(crd, &["spec", "names", "kind"]).to_owned();
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
        && !kind.is_empty()
    {
        if names
            .get("singular")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            names.insert("singular".into(), kind.to_lowercase().into());
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            names.insert("listKind".into(), format!("{kind}List").into());
        }
    }
    if let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("conversion")
            .or_insert_with(|| json!({"strategy": "None"}));
    }
    // `SetDefaults_ServiceReference`: a conversion webhook's Service is called on port 443.
    if let Some(service) = crd
        .pointer_mut("/spec/conversion/webhook/clientConfig/service")
        .and_then(Value::as_object_mut)
    {
        service.entry("port").or_insert_with(|| 443.into());
    }
}

/// A DNS-1035 check of a string field: kube joins the failures with commas into one error.
fn dns1035(value: &str, field: String, what: &str) -> Option<Cause> {
    let errs = crate::validation::field::dns1035_label(value);
    (!errs.is_empty()).then(|| {
        Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {value:?}: {what}{}", errs.join(",")),
        )
    })
}

/// kube's `ValidateCustomResourceDefinitionNames` on `spec.names`.
fn names_causes(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = |k: &str| s(crd, &["spec", "names", k]);
    let at = |k: &str| format!("spec.names.{k}");
    for k in ["plural", "singular"] {
        if !name(k).is_empty() {
            causes.extend(dns1035(name(k), at(k), ""));
        }
    }
    for k in ["kind", "listKind"] {
        let v = name(k);
        let errs = crate::validation::field::dns1035_label(&v.to_lowercase());
        if !v.is_empty() && !errs.is_empty() {
            causes.push(Cause::new(
                "FieldValueInvalid",
                at(k),
                format!(
                    "Invalid value: {v:?}: may have mixed case, but should otherwise match: {}",
                    errs.join(",")
                ),
            ));
        }
    }
    for k in ["shortNames", "categories"] {
        let list = crd
            .pointer(&format!("/spec/names/{k}"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, v) in list.iter().enumerate() {
            causes.extend(dns1035(
                v.as_str().unwrap_or(""),
                format!("{}[{i}]", at(k)),
                "",
            ));
        }
    }
    if !name("kind").is_empty() && name("kind") == name("listKind") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            at("listKind"),
            format!(
                "Invalid value: {:?}: kind and listKind may not be the same",
                name("listKind")
            ),
        ));
    }
    causes
}

/// kube's `ValidateCustomResourceDefinitionSubresources`: the scale paths are simple JSON paths,
/// the replica counts under `.spec.` and `.status.`, the selector under either.
fn subresource_causes(subresources: Option<&Value>, at: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(scale) = subresources
        .and_then(|s| s.get("scale"))
        .filter(|s| !s.is_null())
    else {
        return causes;
    };
    let mut path = |key: &str, required: bool, under: &[&str], what: &str| {
        let field = format!("{at}.scale.{key}");
        let value = s(scale, &[key]);
        if value.is_empty() {
            if required {
                causes.push(Cause::new("FieldValueRequired", field, "Required value"));
            }
        } else if !value.starts_with('.') {
            causes.push(Cause::new(
                "FieldValueInvalid",
                field,
                format!("Invalid value: {value:?}: must be a simple json path starting with ."),
            ));
        } else if !under.iter().any(|p| value.starts_with(p)) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                field,
                format!("Invalid value: {value:?}: should be a json path under {what}"),
            ));
        }
    };
    path("specReplicasPath", true, &[".spec."], ".spec");
    path("statusReplicasPath", true, &[".status."], ".status");
    path(
        "labelSelectorPath",
        false,
        &[".spec.", ".status."],
        "either .spec or .status",
    );
    causes
}

/// kube's `ValidateCustomResourceColumnDefinition` for each column (the internal type's field is
/// `JSONPath`, which its messages name).
fn printer_column_causes(columns: Option<&Value>, at: &str) -> Vec<Cause> {
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &[&str] = &[
        "byte",
        "date",
        "date-time",
        "double",
        "float",
        "int32",
        "int64",
        "password",
    ];
    let mut causes = Vec::new();
    let columns = columns
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, c) in columns.iter().enumerate() {
        let field = |k: &str| format!("{at}[{i}].{k}");
        if s(c, &["name"]).is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                field("name"),
                "Required value",
            ));
        }
        let ty = s(c, &["type"]);
        if ty.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                field("type"),
                format!("Required value: must be one of {TYPES}"),
            ));
        } else if !TYPES.split(',').any(|t| t == ty) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                field("type"),
                format!("Invalid value: {ty:?}: must be one of {TYPES}"),
            ));
        }
        let format = s(c, &["format"]);
        if !format.is_empty() && !FORMATS.contains(&format) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                field("format"),
                format!(
                    "Invalid value: {format:?}: must be one of {}",
                    FORMATS.join(",")
                ),
            ));
        }
        let path = s(c, &["jsonPath"]);
        if path.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                field("JSONPath"),
                "Required value",
            ));
        } else if !path.starts_with('.') {
            // kube's `validateSimpleJSONPath`.
            causes.push(Cause::new(
                "FieldValueInvalid",
                field("JSONPath"),
                format!("Invalid value: {path:?}: must be a simple json path starting with ."),
            ));
        }
    }
    causes
}

/// kube's `validateCustomResourceConversion`, on the internal form (so its paths name
/// `webhookClientConfig` and `conversionReviewVersions` directly under `spec.conversion`, as
/// kube's messages do, although v1 nests both under `webhook`).
fn conversion_causes(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(conversion) = crd.pointer("/spec/conversion").filter(|c| !c.is_null()) else {
        return causes;
    };
    let at = "spec.conversion";
    let strategy = conversion
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("");
    match strategy {
        "" => causes.push(Cause::new(
            "FieldValueRequired",
            format!("{at}.strategy"),
            "Required value",
        )),
        "None" | "Webhook" => {}
        other => causes.push(Cause::new(
            "FieldValueNotSupported",
            format!("{at}.strategy"),
            format!("Unsupported value: {other:?}: supported values: \"None\", \"Webhook\""),
        )),
    }
    let webhook = conversion.get("webhook").filter(|w| !w.is_null());
    let client = webhook
        .and_then(|w| w.get("clientConfig"))
        .filter(|c| !c.is_null());
    let review_versions: Vec<Value> = webhook
        .and_then(|w| w.get("conversionReviewVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let client_at = format!("{at}.webhookClientConfig");
    if strategy != "Webhook" {
        if client.is_some() {
            causes.push(Cause::new(
                "FieldValueForbidden",
                client_at,
                "Forbidden: should not be set when strategy is not set to Webhook",
            ));
        }
        if !review_versions.is_empty() {
            causes.push(Cause::new(
                "FieldValueForbidden",
                format!("{at}.conversionReviewVersions"),
                "Forbidden: should not be set when strategy is not set to Webhook",
            ));
        }
        return causes;
    }
    match client {
        None => causes.push(Cause::new(
            "FieldValueRequired",
            client_at,
            "Required value: required when strategy is set to Webhook",
        )),
        Some(cc) => {
            let url = cc.get("url").filter(|u| !u.is_null());
            let service = cc.get("service").filter(|s| !s.is_null());
            match (url, service) {
                (Some(url), None) => causes.extend(crate::validation::admission::webhook_url(
                    url.as_str().unwrap_or(""),
                    &format!("{client_at}.url"),
                )),
                (None, Some(service)) => {
                    causes.extend(crate::validation::admission::webhook_service(
                        service,
                        &format!("{client_at}.service"),
                    ))
                }
                _ => causes.push(Cause::new(
                    "FieldValueRequired",
                    client_at.clone(),
                    "Required value: exactly one of url or service is required",
                )),
            }
            if let Some(bundle) = cc.get("caBundle").and_then(Value::as_str)
                && !bundle.is_empty()
                && let Err(why) = crate::admission::webhook::tls_client(bundle)
            {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    format!("{client_at}.caBundle"),
                    format!("Invalid value: \"\": {why}"),
                ));
            }
        }
    }
    let versions_at = format!("{at}.conversionReviewVersions");
    if review_versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            versions_at,
            "Required value",
        ));
        return causes;
    }
    let mut seen = std::collections::HashSet::new();
    let mut accepted = false;
    for (i, v) in review_versions.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        if !seen.insert(v) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("{versions_at}[{i}]"),
                format!("Invalid value: {v:?}: duplicate version"),
            ));
            continue;
        }
        for why in crate::validation::field::dns1035_label(v) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("{versions_at}[{i}]"),
                format!("Invalid value: {v:?}: {why}"),
            ));
        }
        accepted |= v == "v1" || v == "v1beta1";
    }
    if !accepted {
        causes.push(Cause::new(
            "FieldValueInvalid",
            versions_at,
            format!(
                "Invalid value: {}: must include at least one of v1, v1beta1",
                crate::validation::field::go_json(&Value::Array(review_versions.clone()))
            ),
        ));
    }
    causes
}

/// kube's `validateDeprecationWarning` on one version (`at` is its `deprecationWarning`): set only
/// on a deprecated version, at most 256 bytes, not empty, printable.
fn deprecation_warning_causes(version: &Value, at: &str) -> Vec<Cause> {
    use crd_schema::{go_is_print, go_quote};
    let Some(warning) = version.get("deprecationWarning").and_then(Value::as_str) else {
        return Vec::new();
    };
    let invalid = |why: String| {
        Cause::new(
            "FieldValueInvalid",
            at,
            format!("Invalid value: {}: {why}", go_quote(warning)),
        )
    };
    if version.get("deprecated").and_then(Value::as_bool) != Some(true) {
        return vec![invalid("can only be set for deprecated versions".into())];
    }
    let mut causes = Vec::new();
    if warning.len() > MAX_DEPRECATION_WARNING_BYTES {
        causes.push(invalid(format!(
            "must be <= {MAX_DEPRECATION_WARNING_BYTES} characters long"
        )));
    }
    if warning.is_empty() {
        causes.push(invalid("must not be an empty string".into()));
    }
    // Go ranges over the string by rune and reports the byte index of the first bad one.
    if let Some((i, _)) = warning.char_indices().find(|(_, c)| !go_is_print(*c)) {
        causes.push(invalid(format!(
            "must only contain printable UTF-8 characters; non-printable character found at index {i}"
        )));
    }
    causes
}

/// The longest `deprecationWarning` kube accepts, in bytes (Go's `len` of the string).
const MAX_DEPRECATION_WARNING_BYTES: usize = 256;

/// The most selectable fields a version may have (kube's `MaxSelectableFields`).
const MAX_SELECTABLE_FIELDS: usize = 8;

/// One step of a field path kube's `cel.ValidFieldPath` accepts: a property, or a key of a map
/// (`additionalProperties`).
enum Step {
    Property(String),
    Key(String),
}

/// kube's `cel.ValidFieldPath` (array notation not allowed, as for selectable fields): walks
/// `json_path` (`.a.b`, `['a']`) through `schema`; answers the steps and the schema reached, or
/// the error kube words.
fn valid_field_path<'s>(
    json_path: &str,
    mut schema: &'s Value,
) -> Result<(Vec<Step>, &'s Value), String> {
    // kube's scanner: `.`, `[` and `]` are tokens of their own; a token starting with a quote runs
    // to the next unescaped quote; anything else runs to the next delimiter.
    let mut tokens = Vec::new();
    let bytes = json_path.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = if bytes[start] == b'\'' {
            (start + 1..bytes.len())
                .find(|&i| bytes[i] == b'\'' && bytes[i - 1] != b'\\')
                .map_or(bytes.len(), |i| i + 1)
        } else if matches!(bytes[start], b'.' | b'[' | b']') {
            start + 1
        } else {
            (start..bytes.len())
                .find(|&i| matches!(bytes[i], b'.' | b'[' | b']'))
                .unwrap_or(bytes.len())
        };
        tokens.push(&json_path[start..end]);
        start = end;
    }
    let mut steps = Vec::new();
    let mut tokens = tokens.into_iter();
    let end = || "unexpected end of JSON path".to_owned();
    let mut step = |name: String, schema: &mut &'s Value| -> Result<(), String> {
        let invalid = || "does not refer to a valid field".to_owned();
        if let Some(properties) = schema.get("properties").filter(|p| p.is_object()) {
            *schema = properties.get(&name).ok_or_else(invalid)?;
            steps.push(Step::Property(name));
        } else if let Some(items) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            *schema = items;
            steps.push(Step::Key(name));
        } else {
            return Err(invalid());
        }
        Ok(())
    };
    while let Some(token) = tokens.next() {
        match token {
            "[" => {
                let quoted = tokens.next().ok_or_else(end)?;
                let Some(inner) = quoted
                    .strip_prefix('\'')
                    .and_then(|q| q.strip_suffix('\''))
                    .filter(|_| quoted.len() >= 2)
                else {
                    return Err(format!("expected single quoted string but got {quoted}"));
                };
                let name = inner.replace("\\'", "'").replace("\\\\", "\\");
                step(name, &mut schema)?;
                match tokens.next() {
                    None => return Err(end()),
                    Some("]") => {}
                    Some(other) => return Err(format!("expected ] but got {other}")),
                }
            }
            "." => {
                let name = tokens.next().ok_or_else(end)?;
                step(name.to_owned(), &mut schema)?;
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok((steps, schema))
}

/// kube's `ValidateCustomResourceSelectableFields` of `fields` against the `openAPIV3Schema`
/// `schema`, under `at`.
fn selectable_field_causes(fields: &[Value], schema: &Value, at: &str) -> Vec<Cause> {
    use crate::validation::field::{duplicate, invalid_str, required, too_many};
    let mut causes = Vec::new();
    let mut unique: Vec<String> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let field = format!("{at}[{i}].jsonPath");
        let path = s(f, &["jsonPath"]);
        if path.is_empty() {
            causes.push(required(&field, ""));
            continue;
        }
        let (steps, found) = match valid_field_path(path, schema) {
            Ok(walked) => walked,
            Err(why) => {
                causes.push(invalid_str(
                    &field,
                    path,
                    &format!("is an invalid path: {why}"),
                ));
                continue;
            }
        };
        if matches!(steps.first(), Some(Step::Property(p)) if p == "metadata") {
            causes.push(invalid_str(
                &field,
                path,
                "must not point to fields in metadata",
            ));
        }
        if !matches!(
            found.get("type").and_then(Value::as_str),
            Some("string" | "boolean" | "integer")
        ) {
            causes.push(invalid_str(
                &field,
                path,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        // Duplicates are the same field however the path spells it (kube compares field.Paths).
        let mut normalized = String::new();
        for step in &steps {
            match step {
                Step::Property(p) if normalized.is_empty() => normalized.push_str(p),
                Step::Property(p) => normalized.push_str(&format!(".{p}")),
                Step::Key(k) => normalized.push_str(&format!("[{k}]")),
            }
        }
        if unique.contains(&normalized) {
            causes.push(duplicate(&field, &Value::String(path.to_owned())));
        } else {
            unique.push(normalized);
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS {
        causes.push(too_many(at, unique.len(), MAX_SELECTABLE_FIELDS));
    }
    causes
}

/// The selectable fields of one version (`fields`, under `at`) checked against the schema that
/// applies to them: `schema` is None when kube's internal form has no schema at that level (a
/// per-version list next to a schema every version shares, or a shared list next to per-version
/// schemas), which kube refuses with `message`.
fn selectable_fields_at(
    fields: &[Value],
    schema: Option<&Value>,
    at: &str,
    message: &str,
) -> Vec<Cause> {
    if fields.is_empty() {
        return Vec::new();
    }
    match schema {
        Some(schema) => selectable_field_causes(fields, schema, at),
        None => vec![crate::validation::field::invalid_str(at, "", message)],
    }
}

/// The name of the first version marked `storage` (the one objects are stored in).
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))?
        .get("name")
        .and_then(Value::as_str)
}

/// kube's CRD strategies (`PrepareForCreate`, `PrepareForUpdate`): the storage version joins
/// `status.storedVersions` when it is not there yet.
pub fn record_storage_version(crd: &mut Value) {
    let Some(storage) = storage_version(crd).map(|v| Value::String(v.to_owned())) else {
        return;
    };
    if !crd.get("status").is_some_and(Value::is_object) {
        crd["status"] = json!({});
    }
    let stored = &mut crd["status"]["storedVersions"];
    if !stored.is_array() {
        *stored = json!([]);
    }
    if let Some(list) = stored.as_array_mut()
        && !list.contains(&storage)
    {
        list.push(storage);
    }
}

/// kube's `ValidateCustomResourceDefinitionStoredVersions`: at least one stored version, the
/// storage version among them, and every stored version still in `spec.versions` (data may be
/// stored in it until a storage migration removes it from `status.storedVersions`).
pub fn stored_versions_causes(crd: &Value) -> Vec<Cause> {
    let at = "status.storedVersions";
    let stored_value = crd
        .pointer("/status/storedVersions")
        .cloned()
        .unwrap_or(Value::Null);
    let stored = strings(&stored_value);
    if stored.is_empty() {
        return vec![crate::validation::field::invalid(
            at,
            &stored_value,
            "must have at least one stored version",
        )];
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut causes = Vec::new();
    for v in versions {
        let name = s(v, &["name"]);
        if v.get("storage").and_then(Value::as_bool) == Some(true)
            && !stored.iter().any(|n| n == name)
        {
            causes.push(crate::validation::field::invalid(
                at,
                &stored_value,
                &format!("must have the storage version {name}"),
            ));
        }
    }
    // kube walks a map here (no defined order); by index is the stable choice. A name listed
    // twice counts at its last index, as kube's map keeps it.
    let mut missing: Vec<(usize, &str)> = Vec::new();
    for (i, name) in stored.iter().enumerate() {
        if versions.iter().any(|v| s(v, &["name"]) == name) {
            continue;
        }
        missing.retain(|(_, n)| n != name);
        missing.push((i, name));
    }
    for (i, name) in missing {
        causes.push(crate::validation::field::invalid_str(
            &format!("{at}[{i}]"),
            name,
            &format!(
                "missing from spec.versions; {name} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {name} and removes {name} from status.storedVersions"
            ),
        ));
    }
    causes
}

/// Checks a (defaulted) CRD and compiles its served versions into catalogue entries. The causes
/// come in the order of kube's `ValidateCustomResourceDefinition` on the internal form: metadata,
/// group, scope, each version (name, deprecation warning, then its own schema, subresources,
/// printer columns and selectable fields), version names and storage, names, what every version
/// shares (`spec.validation`, `spec.subresources`, `spec.additionalPrinterColumns`,
/// `spec.selectableFields`), conversion.
pub fn resources_of(crd: &Value) -> Result<Vec<Arc<ResourceInfo>>, Vec<Cause>> {
    resources_of_with(crd, Compile::Eager)
}

/// [`resources_of`], with the versions' schemas compiled as `compile` says: deferred, a schema's
/// own errors are not causes here.
pub fn resources_of_with(
    crd: &Value,
    compile: Compile,
) -> Result<Vec<Arc<ResourceInfo>>, Vec<Cause>> {
    let compile_schema = |schema: &Arc<Value>, field: &str| match compile {
        Compile::Eager => VersionSchema::compile(schema, field),
        Compile::Deferred => Ok(VersionSchema::deferred(schema.clone(), field)),
    };
    let mut causes = Vec::new();
    let name = crate::meta::meta_str(crd, "name");
    let group = s(crd, &["spec", "group"]);
    let plural = s(crd, &["spec", "names", "plural"]);
    let kind = s(crd, &["spec", "names", "kind"]);
    let scope = s(crd, &["spec", "scope"]);
    // ObjectMeta comes first: the name must be `<plural>.<group>`.
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if group.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.group",
            "Required value",
        ));
    } else if let errs = crate::validation::field::dns1123_subdomain(group)
        && !errs.is_empty()
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.group",
            format!("Invalid value: {group:?}: {}", errs.join(",")),
        ));
    } else if !group.contains('.') {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.group",
            format!("Invalid value: {group:?}: should be a domain with at least one dot"),
        ));
    }
    let namespaced = match scope {
        "Namespaced" => true,
        "Cluster" => false,
        "" => {
            causes.push(Cause::new(
                "FieldValueRequired",
                "spec.scope",
                "Required value",
            ));
            false
        }
        other => {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                "spec.scope",
                format!(
                    "Unsupported value: {other:?}: supported values: \"Cluster\", \"Namespaced\""
                ),
            ));
            false
        }
    };
    // Borrowed: a CRD's versions carry its schemas, and this runs for every CRD a test
    // process's server restores.
    let versions: &[Value] = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    // kube validates the internal form, to which v1 moves per-version schemas, subresources,
    // printer columns and selectable fields when every version has the same: their errors are
    // then reported once, under `spec.validation`, `spec.subresources`,
    // `spec.additionalPrinterColumns` and `spec.selectableFields`.
    let hoisted = |key: &str| match versions.split_first() {
        // The first version is not compared with itself: a schema's comparison costs as much as
        // a copy of it, and most CRDs have one version.
        Some((first, rest)) => rest.iter().all(|v| v.get(key) == first.get(key)),
        None => false,
    };
    let (schema_hoisted, subresources_hoisted, columns_hoisted, selectable_hoisted) = (
        hoisted("schema"),
        hoisted("subresources"),
        hoisted("additionalPrinterColumns"),
        hoisted("selectableFields"),
    );
    // Each version's schema, once: its compiled form (deferred) and the OpenAPI document share it.
    let openapi: Vec<Option<Arc<Value>>> = versions
        .iter()
        .map(|v| v.pointer("/schema/openAPIV3Schema").cloned().map(Arc::new))
        .collect();
    let shared_schema = openapi
        .first()
        .and_then(Option::as_ref)
        .filter(|_| schema_hoisted);
    if shared_schema.is_none() {
        for (i, v) in versions.iter().enumerate() {
            if v.pointer("/schema/openAPIV3Schema").is_none() {
                causes.push(Cause::new(
                    "FieldValueRequired",
                    format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    "Required value: schemas are required",
                ));
            }
        }
    }
    let selectable = |v: &Value| {
        v.get("selectableFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut compiled: Vec<Option<Arc<VersionSchema>>> = Vec::with_capacity(versions.len());
    let mut seen = std::collections::HashSet::new();
    let mut unique = true;
    for (i, v) in versions.iter().enumerate() {
        let at = format!("spec.versions[{i}]");
        let version = s(v, &["name"]);
        unique &= seen.insert(version);
        if version.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                format!("{at}.name"),
                "Required value",
            ));
        } else {
            causes.extend(dns1035(version, format!("{at}.name"), ""));
        }
        causes.extend(deprecation_warning_causes(
            v,
            &format!("{at}.deprecationWarning"),
        ));
        let own_schema = openapi[i].as_ref().filter(|_| shared_schema.is_none());
        compiled.push(match own_schema {
            Some(schema) => match compile_schema(schema, &format!("{at}.schema")) {
                Ok(c) => Some(Arc::new(c)),
                Err(errs) => {
                    causes.extend(errs);
                    None
                }
            },
            None => None,
        });
        if !subresources_hoisted {
            causes.extend(subresource_causes(
                v.get("subresources"),
                &format!("{at}.subresources"),
            ));
        }
        if !columns_hoisted {
            causes.extend(printer_column_causes(
                v.get("additionalPrinterColumns"),
                &format!("{at}.additionalPrinterColumns"),
            ));
        }
        if !selectable_hoisted {
            causes.extend(selectable_fields_at(
                &selectable(v),
                own_schema.map(|s| &**s),
                &format!("{at}.selectableFields"),
                "selectableFields may only be set when version.schema.openAPIV3Schema is not included",
            ));
        }
    }
    if !unique {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.versions",
            format!(
                "Invalid value: {}: must contain unique version names",
                crate::validation::field::go_json(&Value::Array(versions.to_vec()))
            ),
        ));
    }
    if versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have at least one version",
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.versions",
            format!(
                "Invalid value: {}: must have exactly one version marked as storage version",
                json!(versions)
            ),
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    }
    if kind.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    causes.extend(names_causes(crd));
    let shared_schema = match shared_schema {
        // The schema's own errors are pathed from `openAPIV3Schema`.
        Some(schema) => match compile_schema(schema, "spec.validation") {
            Ok(c) => Some(Arc::new(c)),
            Err(errs) => {
                causes.extend(errs);
                None
            }
        },
        None => None,
    };
    if subresources_hoisted {
        causes.extend(subresource_causes(
            versions.first().and_then(|v| v.get("subresources")),
            "spec.subresources",
        ));
    }
    if columns_hoisted {
        causes.extend(printer_column_causes(
            versions
                .first()
                .and_then(|v| v.get("additionalPrinterColumns")),
            "spec.additionalPrinterColumns",
        ));
    }
    if selectable_hoisted {
        causes.extend(selectable_fields_at(
            &versions.first().map(selectable).unwrap_or_default(),
            versions
                .first()
                .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
                .filter(|_| schema_hoisted),
            "spec.selectableFields",
            "selectableFields may only be set when validations.schema is included",
        ));
    }
    causes.extend(conversion_causes(crd));
    let conversion = crate::conversion::Webhook::of_crd(crd);
    let short_names = strings(
        crd.pointer("/spec/names/shortNames")
            .unwrap_or(&Value::Null),
    );
    let categories = strings(
        crd.pointer("/spec/names/categories")
            .unwrap_or(&Value::Null),
    );
    let singular = s(crd, &["spec", "names", "singular"]);
    let list_kind = s(crd, &["spec", "names", "listKind"]);
    let mut infos = Vec::new();
    for ((v, own_schema), openapi) in versions.iter().zip(compiled).zip(openapi) {
        let version = s(v, &["name"]);
        if version.is_empty() {
            continue;
        }
        let schema = shared_schema.clone().or(own_schema);
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        infos.push(Arc::new(ResourceInfo {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            list_kind: list_kind.to_owned(),
            plural: plural.to_owned(),
            singular: singular.to_owned(),
            namespaced,
            status: v
                .pointer("/subresources/status")
                .is_some_and(|s| !s.is_null()),
            short_names: short_names.clone(),
            categories: categories.clone(),
            // CRD selectableFields (GA in 1.32) are JSON paths like `.spec.color`.
            selectable_fields: v
                .get("selectableFields")
                .and_then(Value::as_array)
                .map(|fs| {
                    fs.iter()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            schema,
            openapi,
            custom: true,
            verbs: crate::catalog::VERBS,
            scale: v
                .pointer("/subresources/scale")
                .and_then(crate::subresources::custom_scale),
            printer_columns: v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            conversion: conversion.clone(),
        }));
    }
    if causes.is_empty() {
        Ok(infos)
    } else {
        Err(causes)
    }
}

/// Whether the CRD's `Established` condition is true (kube's `IsCRDConditionTrue`).
pub fn established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Sets the status the NamesAccepted and Established controllers of kube-apiserver would set.
pub fn set_established(crd: &mut Value, now: &str) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let storage: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    let mut stored: Vec<Value> = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in storage {
        if !stored.contains(&v) {
            stored.push(v);
        }
    }
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                }]
            }
        })
    }

    #[test]
    fn a_crd_becomes_a_namespaced_resource_with_status() {
        let mut c = crd();
        default_crd(&mut c);
        let infos = resources_of(&c).expect("valid CRD");
        assert_eq!(infos.len(), 1);
        let w = &infos[0];
        assert_eq!(
            (w.kind.as_str(), w.list_kind.as_str(), w.singular.as_str()),
            ("Widget", "WidgetList", "widget")
        );
        assert!(w.namespaced && w.status && w.custom);
        set_established(&mut c, "2026-01-01T00:00:00Z");
        assert_eq!(c["status"]["conditions"][1]["type"], "Established");
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
    }

    #[test]
    fn a_bad_crd_lists_every_problem() {
        let mut c = crd();
        c["metadata"]["name"] = "wrong".into();
        c["spec"]["scope"] = "Global".into();
        c["spec"]["versions"][0]["storage"] = false.into();
        let causes = resources_of(&c).expect_err("invalid CRD");
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["metadata.name", "spec.scope", "spec.versions"]);
    }

    #[test]
    fn a_deferred_schema_validates_prunes_and_defaults_as_a_compiled_one() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "size": {"type": "integer", "default": 3, "maximum": 10}}}}});
        let eager = VersionSchema::compile(&schema, "spec.versions[0].schema").expect("compiles");
        let deferred = VersionSchema::deferred(Arc::new(schema.clone()), "spec.versions[0].schema");
        for s in [&eager, &deferred] {
            let mut obj = json!({"spec": {"unknown": 1}});
            assert_eq!(s.prune(&mut obj), ["spec.unknown"]);
            s.apply_defaults(&mut obj);
            assert_eq!(obj, json!({"spec": {"size": 3}}));
            let causes = s.validate(&json!({"spec": {"size": 11}}), None);
            assert_eq!(causes.len(), 1, "{causes:?}");
            assert_eq!(causes[0].field, "spec.size");
        }
    }

    #[test]
    fn a_deferred_schema_that_does_not_compile_refuses_every_write_with_its_causes() {
        // A snapshot's key rules this out (same build, same CRD bytes); if it happened anyway the
        // writer learns why instead of an unvalidated object being stored.
        let schema =
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}});
        assert!(VersionSchema::compile(&schema, "spec.versions[0].schema").is_err());
        let deferred = VersionSchema::deferred(Arc::new(schema.clone()), "spec.versions[0].schema");
        let mut obj = json!({"a": "x", "b": 1});
        assert!(deferred.prune(&mut obj).is_empty());
        let causes = deferred.validate(&obj, None);
        assert!(
            causes
                .iter()
                .any(|c| c.field.starts_with("spec.versions[0].schema")),
            "{causes:?}"
        );
    }

    #[test]
    fn resources_of_a_snapshot_crd_defers_its_schemas() {
        let mut c = crd();
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}});
        assert!(
            resources_of(&c).is_err(),
            "compiled now, the bad pattern is a cause"
        );
        let infos = resources_of_with(&c, Compile::Deferred).expect("deferred: not compiled yet");
        let schema = infos[0].schema.as_ref().expect("a schema");
        assert!(!schema.validate(&json!({"a": "x"}), None).is_empty());
    }
}
