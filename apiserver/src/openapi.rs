//! Serves `/openapi/v3` (root index and one document per group version) and `/openapi/v2` with
//! complete schemas, so kubectl's validation and `kubectl explain` work on every resource.
//!
//! Built-in types get k8s-openapi's schemas (its `schemars` impls carry kube-apiserver's
//! definition names, field descriptions and required lists); a custom resource gets its CRD
//! version's `openAPIV3Schema` with the standard `apiVersion`, `kind` and `metadata` (a reference
//! to `ObjectMeta`) fields, as kube-apiserver publishes CRDs. Every kind's schema carries
//! `x-kubernetes-group-version-kind`, which is how `kubectl explain` finds it.
//!
//! kubectl (cli-runtime's `queryParamVerifierV3`) decides that the server validates fields itself when
//! the group version's document has a PATCH operation for the kind that takes a `fieldValidation`
//! query parameter; it then sends `fieldValidation=Strict` and skips client-side schema validation.
//! PATCH request bodies list only JSON patch and merge patch, so `kubectl apply` of a custom
//! resource chooses a merge patch.
//!
//! Documents are built once per catalogue (see [`Cache`]) and served with kube-openapi's caching
//! rules: an `ETag` on every document, `If-None-Match` answered with 304, and the v3 root listing
//! each document at `?hash=<etag>`; a document fetched with its current hash may be cached for
//! good, a stale hash is redirected (301) to the current one.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use k8s_openapi::schemars::transform::RemoveRefSiblings;
use k8s_openapi::schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::builtin::{self, BuiltinType};
use crate::catalog::{Catalog, GroupVersion, ResourceInfo};
use crate::status::ApiError;

/// Content types a PATCH accepts here.
pub const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

/// How long a client may keep a document it fetched by hash: kube-openapi says one year, the
/// longest `Expires` HTTP/1.1 allows, because a changed document gets a new hash and URL.
const IMMUTABLE_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(365 * 24);

/// The two document formats; they differ in where definitions live and how a described `$ref` looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// OpenAPI 3.0: `#/components/schemas/`, a described reference is `allOf: [{$ref}]` + description.
    V3,
    /// Swagger 2.0: `#/definitions/`, a description may sit beside `$ref` (as kube-apiserver writes it).
    V2,
}

impl Dialect {
    fn prefix(self) -> &'static str {
        match self {
            Dialect::V3 => "#/components/schemas/",
            Dialect::V2 => "#/definitions/",
        }
    }

    fn generator(self) -> SchemaGenerator {
        let mut settings = SchemaSettings::openapi3();
        settings.meta_schema = None;
        if self == Dialect::V2 {
            settings.definitions_path = "/definitions".into();
            settings.transforms.retain(|t| !t.is::<RemoveRefSiblings>());
        }
        settings.into_generator()
    }
}

/// One serialized document and its content hash.
#[derive(Debug)]
struct Document {
    body: Bytes,
    etag: String,
}

impl Document {
    fn new(value: &Value) -> Self {
        let body = Bytes::from(value.to_string());
        let mut h = std::hash::DefaultHasher::new();
        body.hash(&mut h);
        Self {
            etag: format!("{:016X}", h.finish()),
            body,
        }
    }
}

/// The v3 root index and the document of every group version, keyed by [`gv_key`].
#[derive(Debug)]
struct V3Set {
    root: Document,
    docs: HashMap<String, Document>,
}

/// The documents of one catalogue, each built on first request. Building the built-in schemas takes
/// a noticeable moment, and kubectl asks for the root (which needs every document's hash) on each
/// run, so they are built once; a catalogue is immutable, so they never go stale. Cloning gives an
/// empty cache, because a catalogue is cloned only to make a changed one.
#[derive(Debug, Default)]
pub struct Cache {
    v3: OnceLock<V3Set>,
    v2: OnceLock<Document>,
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// The key of a group version in the v3 root index: `api/v1`, `apis/apps/v1`.
pub fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The definition name kube-apiserver gives a custom resource's kind: `com.example.v1.Widget`.
fn custom_definition_name(info: &ResourceInfo) -> String {
    let reversed: Vec<&str> = info.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), info.version, info.kind)
}

fn gvk(info: &ResourceInfo) -> Value {
    json!({"group": info.group, "version": info.version, "kind": info.kind})
}

/// The `apiVersion`, `kind` and `metadata` properties every kind has, taken from a built-in type
/// so their descriptions are kube-apiserver's; registers `ObjectMeta` (and what it refers to).
fn standard_properties(generator: &mut SchemaGenerator) -> Map<String, Value> {
    let config_map = <ConfigMap as JsonSchema>::json_schema(generator).to_value();
    ["apiVersion", "kind", "metadata"]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), config_map["properties"].get(k)?.clone())))
        .collect()
}

/// A custom resource's schema as kube-apiserver publishes it: the CRD's, with the standard fields.
fn custom_schema(info: &ResourceInfo, standard: &Map<String, Value>) -> Value {
    let mut schema = match &info.openapi {
        Some(s) => (**s).clone(),
        None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    };
    if let Some(props) = schema
        .as_object_mut()
        .map(|m| m.entry("properties").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        for (k, v) in standard {
            props.insert(k.clone(), v.clone());
        }
    }
    schema
}

fn operation(
    info: &ResourceInfo,
    definition: &str,
    action: &str,
    verb_id: &str,
    dialect: Dialect,
    body: Option<&[&str]>,
    write: bool,
) -> Value {
    let reference = format!("{}{definition}", dialect.prefix());
    let v3 = dialect == Dialect::V3;
    let param = |name: &str, description: &str| {
        if v3 {
            json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
        } else {
            json!({"name": name, "in": "query", "description": description, "type": "string", "uniqueItems": true})
        }
    };
    let mut params = Vec::new();
    if write {
        params.push(param(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid value: All",
        ));
        params.push(param(
            "fieldManager",
            "a name associated with the actor or entity that is making these changes",
        ));
        params.push(param(
            "fieldValidation",
            "instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn (default) or Strict",
        ));
    }
    let mut op = json!({
        "operationId": format!("{verb_id}{}", info.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(info),
        "parameters": params,
    });
    if v3 {
        op["responses"] = json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": reference}}}}});
        if let Some(types) = body {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| ((*t).to_owned(), json!({"schema": {"$ref": reference}})))
                .collect();
            op["requestBody"] = json!({"content": content, "required": true});
        }
    } else {
        op["responses"] = json!({"200": {"description": "OK", "schema": {"$ref": reference}}});
        if let Some(types) = body {
            op["consumes"] = json!(types);
            if let Some(p) = op["parameters"].as_array_mut() {
                p.push(json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": reference}}));
            }
        }
    }
    op
}

fn paths_of(
    info: &ResourceInfo,
    definition: &str,
    dialect: Dialect,
    paths: &mut Map<String, Value>,
) {
    let prefix = format!("/{}", gv_key(&info.group, &info.version));
    let collection = if info.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", info.plural)
    } else {
        format!("{prefix}/{}", info.plural)
    };
    let item = format!("{collection}/{{name}}");
    let json_body: &[&str] = &["application/json"];
    let op = |action, verb_id, body, write| {
        operation(info, definition, action, verb_id, dialect, body, write)
    };
    paths.insert(
        collection.clone(),
        json!({
            "get": op("list", "list", None, false),
            "post": op("post", "create", Some(json_body), true),
            "delete": op("deletecollection", "deleteCollection", None, false),
        }),
    );
    paths.insert(
        item.clone(),
        json!({
            "get": op("get", "read", None, false),
            "put": op("put", "replace", Some(json_body), true),
            "patch": op("patch", "patch", Some(PATCH_TYPES), true),
            "delete": op("delete", "delete", None, false),
        }),
    );
    if info.status {
        paths.insert(
            format!("{item}/status"),
            json!({
                "get": op("get", "readStatus", None, false),
                "put": op("put", "replaceStatus", Some(json_body), true),
                "patch": op("patch", "patchStatus", Some(PATCH_TYPES), true),
            }),
        );
    }
    if info.namespaced {
        paths.insert(
            format!("{prefix}/{}", info.plural),
            json!({"get": op("list", "listAllNamespaces", None, false)}),
        );
    }
}

/// The built-in types by (group, version, kind).
type Builtins = HashMap<(&'static str, &'static str, &'static str), BuiltinType>;

fn builtins_by_gvk() -> Builtins {
    builtin::builtin_types()
        .into_iter()
        .map(|t| ((t.group, t.version, t.kind), t))
        .collect()
}

/// The paths and definitions of `resources` in one dialect.
fn paths_and_definitions<'a>(
    resources: impl IntoIterator<Item = &'a std::sync::Arc<ResourceInfo>>,
    dialect: Dialect,
    builtins: &Builtins,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut generator = dialect.generator();
    let mut standard = None;
    let mut custom = Vec::new();
    let mut kinds = Vec::new();
    let mut paths = Map::new();
    for info in resources {
        let builtin = (!info.custom)
            .then(|| {
                builtins.get(&(
                    info.group.as_str(),
                    info.version.as_str(),
                    info.kind.as_str(),
                ))
            })
            .flatten();
        let definition = match builtin {
            Some(t) => {
                let reference: Schema = (t.schema)(&mut generator);
                reference
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix(dialect.prefix()))
                    .map(str::to_owned)
                    .unwrap_or_else(|| custom_definition_name(info))
            }
            None => {
                let standard = standard.get_or_insert_with(|| standard_properties(&mut generator));
                let name = custom_definition_name(info);
                custom.push((name.clone(), custom_schema(info, standard)));
                name
            }
        };
        paths_of(info, &definition, dialect, &mut paths);
        kinds.push((definition, gvk(info)));
    }
    // Custom schemas join the generated ones before the dialect's transforms run, so their
    // `metadata` reference takes the dialect's form too.
    generator.definitions_mut().extend(custom);
    let mut definitions = generator.take_definitions(true);
    for (name, gvk) in kinds {
        if let Some(Value::Object(d)) = definitions.get_mut(&name) {
            d.insert("x-kubernetes-group-version-kind".into(), json!([gvk]));
            // k8s-openapi lists `metadata` as required because its Rust field is not an Option;
            // kube-apiserver's documents never do (a missing name is its validation's business),
            // and `kubectl explain` would print `-required-` beside it.
            if let Some(Value::Array(required)) = d.get_mut("required") {
                required.retain(|f| f != "metadata");
                if required.is_empty() {
                    d.remove("required");
                }
            }
        }
    }
    (paths, definitions)
}

/// The OpenAPI 3 document of one group version.
fn v3_document(group: &str, gv: &GroupVersion, builtins: &Builtins) -> Value {
    let (paths, schemas) = paths_and_definitions(&gv.resources, Dialect::V3, builtins);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
        "x-group": group,
    })
}

fn build_v3(catalog: &Catalog) -> V3Set {
    let builtins = builtins_by_gvk();
    let mut docs = HashMap::new();
    let mut index = Map::new();
    for g in catalog.groups() {
        for v in &g.versions {
            let key = gv_key(&g.name, &v.version);
            let doc = Document::new(&v3_document(&g.name, v, &builtins));
            index.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", doc.etag)}),
            );
            docs.insert(key, doc);
        }
    }
    V3Set {
        root: Document::new(&json!({"paths": index})),
        docs,
    }
}

fn build_v2(catalog: &Catalog) -> Document {
    let builtins = builtins_by_gvk();
    let resources = catalog
        .groups()
        .iter()
        .flat_map(|g| g.versions.iter().flat_map(|v| v.resources.iter()));
    let (paths, definitions) = paths_and_definitions(resources, Dialect::V2, &builtins);
    Document::new(&json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions,
    }))
}

fn v3_set(catalog: &Catalog) -> &V3Set {
    catalog.openapi().v3.get_or_init(|| build_v3(catalog))
}

/// Whether an `Accept` header admits JSON (only JSON is served; protobuf-only clients fall back).
fn accepts_json(accept: &str) -> bool {
    accept.is_empty()
        || accept.contains("json")
        || accept.contains("*/*")
        || accept.contains("application/*")
}

fn not_acceptable(path: &str) -> ApiError {
    ApiError {
        code: 406,
        reason: "NotAcceptable".into(),
        message: format!(
            "only application/json is served for {path} by this embedded API server; ask for application/json"
        ),
        details: None,
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A document as kube-openapi answers it: ETag, 304 for a matching `If-None-Match`, and long-lived
/// cache headers when the client asked for it by its current hash.
fn document_response(doc: &Document, by_hash: bool, headers: &HeaderMap) -> Response<Bytes> {
    let etag = format!("\"{}\"", doc.etag);
    let not_modified = header_str(headers, header::IF_NONE_MATCH)
        .split(',')
        .any(|t| t.trim() == etag || t.trim() == "*");
    let mut resp = if not_modified {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(doc.body.clone())
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if by_hash {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        let expires = jiff::Timestamp::now()
            .checked_add(IMMUTABLE_FOR)
            .ok()
            .and_then(|t| {
                jiff::fmt::rfc2822::DateTimePrinter::new()
                    .timestamp_to_rfc9110_string(&t)
                    .ok()
            })
            .and_then(|s| HeaderValue::from_str(&s).ok());
        if let Some(v) = expires {
            h.insert(header::EXPIRES, v);
        }
    } else {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
    }
    resp
}

/// Answers a GET of `/openapi/<rest>`: the v3 root, a v3 group-version document, or the v2 document.
/// An unknown group version is a 404 Status, as for any path that names nothing.
pub fn serve(
    catalog: &Catalog,
    rest: &[&str],
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response<Bytes>, ApiError> {
    let key = match rest {
        ["v3"] => return Ok(document_response(&v3_set(catalog).root, false, headers)),
        ["v2"] => {
            if !accepts_json(header_str(headers, header::ACCEPT)) {
                return Err(not_acceptable("/openapi/v2"));
            }
            let doc = catalog.openapi().v2.get_or_init(|| build_v2(catalog));
            return Ok(document_response(doc, false, headers));
        }
        ["v3", "api", version] => gv_key("", version),
        ["v3", "apis", group, version] => gv_key(group, version),
        _ => return Err(ApiError::path_not_found()),
    };
    let doc = v3_set(catalog)
        .docs
        .get(&key)
        .ok_or_else(ApiError::path_not_found)?;
    if !accepts_json(header_str(headers, header::ACCEPT)) {
        return Err(not_acceptable(&format!("/openapi/v3/{key}")));
    }
    let hash = query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|q| q.into_iter().find(|(k, _)| k == "hash").map(|(_, v)| v))
        .filter(|h| !h.is_empty());
    match hash {
        Some(h) if h != doc.etag => {
            // A stale hash: send the client to the current document, as kube-openapi does.
            let mut resp = Response::new(Bytes::new());
            *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(v) = HeaderValue::from_str(&format!("/openapi/v3/{key}?hash={}", doc.etag)) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        Some(_) => Ok(document_response(doc, true, headers)),
        None => Ok(document_response(doc, false, headers)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(catalog: &Catalog, key: &str) -> Value {
        serde_json::from_slice(&v3_set(catalog).docs[key].body).expect("json")
    }

    #[test]
    fn pod_patch_takes_field_validation() {
        let c = Catalog::builtin();
        let doc = v3(&c, "api/v1");
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
        assert!(
            patch["parameters"]
                .as_array()
                .expect("params")
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_none()
        );
        let root: Value = serde_json::from_slice(&v3_set(&c).root.body).expect("json");
        assert!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .expect("url")
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
    }

    #[test]
    fn built_in_kinds_have_k8s_openapi_schemas_with_resolvable_references() {
        let c = Catalog::builtin();
        let doc = v3(&c, "apis/apps/v1");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
        let spec = &schemas["io.k8s.api.apps.v1.DeploymentSpec"];
        assert!(
            spec["properties"]["replicas"]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Number of desired pods"))
        );
        assert_eq!(spec["required"], json!(["selector", "template"]));
        // A described reference takes the OpenAPI 3 form kube-apiserver uses.
        assert_eq!(
            spec["properties"]["template"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"
        );
        // Every reference in the document resolves inside it.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = &r[..r.find('"').expect("end of ref")];
            let name = target
                .strip_prefix("#/components/schemas/")
                .expect("component ref");
            assert!(schemas.contains_key(name), "unresolved {target}");
        }
    }

    #[test]
    fn v2_puts_descriptions_beside_references() {
        let c = Catalog::builtin();
        let doc: Value = serde_json::from_slice(&c.openapi().v2.get_or_init(|| build_v2(&c)).body)
            .expect("json");
        let template =
            &doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"];
        assert_eq!(
            template["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
        );
        assert!(template["description"].is_string());
        assert_eq!(
            doc["definitions"]["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"][0]["kind"],
            "Pod"
        );
    }

    #[test]
    fn a_changed_catalogue_starts_with_an_empty_cache() {
        let c = Catalog::builtin();
        let before = v3_set(&c).root.etag.clone();
        let changed = c.without("apps", "deployments");
        let after = v3_set(&changed);
        assert_ne!(before, after.root.etag);
        let apps = v3(&changed, "apis/apps/v1");
        assert!(
            apps["components"]["schemas"]
                .get("io.k8s.api.apps.v1.Deployment")
                .is_none()
        );
    }
}
