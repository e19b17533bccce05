//! Serves `/openapi/v3` (root index and one document per group version) and `/openapi/v2`, with the
//! operations, `fieldValidation` parameters and CRD schemas kubectl's default validation looks for.
//!
//! kubectl (cli-runtime's `queryParamVerifierV3`) decides that the server validates fields itself when
//! the group version's document has a PATCH operation for the kind that takes a `fieldValidation`
//! query parameter; it then sends `fieldValidation=Strict` and skips client-side schema validation.
//! PATCH request bodies list only JSON patch and merge patch, so `kubectl apply` of a custom
//! resource chooses a merge patch. Built-in types get an open schema here (complete schemas for
//! `kubectl explain` are later work).

use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use crate::catalog::{Catalog, GroupVersion, ResourceInfo};

/// Content types a PATCH accepts here.
pub const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
];

/// The key of a group version in the v3 root index: `api/v1`, `apis/apps/v1`.
pub fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The definition name kube-apiserver gives a kind: `io.k8s.api.core.v1.Pod`, `com.example.v1.Widget`.
fn definition_name(info: &ResourceInfo) -> String {
    if !info.custom {
        let group = if info.group.is_empty() {
            "core"
        } else {
            info.group.split('.').next().unwrap_or("")
        };
        return format!("io.k8s.api.{group}.{}.{}", info.version, info.kind);
    }
    let reversed: Vec<&str> = info.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), info.version, info.kind)
}

fn gvk(info: &ResourceInfo) -> Value {
    json!({"group": info.group, "version": info.version, "kind": info.kind})
}

fn schema_of(info: &ResourceInfo) -> Value {
    let mut schema = match &info.openapi {
        Some(s) => (**s).clone(),
        None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    };
    if let Some(m) = schema.as_object_mut() {
        m.insert("x-kubernetes-group-version-kind".into(), json!([gvk(info)]));
    }
    schema
}

/// `v3 = true` writes OpenAPI 3 parameter/body forms, else Swagger 2.
fn operation(
    info: &ResourceInfo,
    action: &str,
    verb_id: &str,
    v3: bool,
    body: Option<&[&str]>,
    write: bool,
) -> Value {
    let reference = if v3 {
        format!("#/components/schemas/{}", definition_name(info))
    } else {
        format!("#/definitions/{}", definition_name(info))
    };
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
            let content: serde_json::Map<String, Value> = types
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

fn paths_of(info: &ResourceInfo, v3: bool, paths: &mut serde_json::Map<String, Value>) {
    let prefix = format!("/{}", gv_key(&info.group, &info.version));
    let collection = if info.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", info.plural)
    } else {
        format!("{prefix}/{}", info.plural)
    };
    let item = format!("{collection}/{{name}}");
    let json_body: &[&str] = &["application/json"];
    paths.insert(
        collection.clone(),
        json!({
            "get": operation(info, "list", "list", v3, None, false),
            "post": operation(info, "post", "create", v3, Some(json_body), true),
            "delete": operation(info, "deletecollection", "deleteCollection", v3, None, false),
        }),
    );
    paths.insert(
        item.clone(),
        json!({
            "get": operation(info, "get", "read", v3, None, false),
            "put": operation(info, "put", "replace", v3, Some(json_body), true),
            "patch": operation(info, "patch", "patch", v3, Some(PATCH_TYPES), true),
            "delete": operation(info, "delete", "delete", v3, None, false),
        }),
    );
    if info.status {
        paths.insert(
            format!("{item}/status"),
            json!({
                "get": operation(info, "get", "readStatus", v3, None, false),
                "put": operation(info, "put", "replaceStatus", v3, Some(json_body), true),
                "patch": operation(info, "patch", "patchStatus", v3, Some(PATCH_TYPES), true),
            }),
        );
    }
    if info.namespaced {
        paths.insert(
            format!("{prefix}/{}", info.plural),
            json!({"get": operation(info, "list", "listAllNamespaces", v3, None, false)}),
        );
    }
}

/// The OpenAPI 3 document of one group version.
pub fn v3_document(group: &str, gv: &GroupVersion) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for r in &gv.resources {
        paths_of(r, true, &mut paths);
        schemas.insert(definition_name(r), schema_of(r));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
        "x-group": group,
    })
}

fn hash_of(v: &Value) -> String {
    let mut h = std::hash::DefaultHasher::new();
    v.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: where each group version's document is, with a content hash for client caches.
pub fn v3_root(catalog: &Catalog) -> Value {
    let mut paths = serde_json::Map::new();
    for g in catalog.groups() {
        for v in &g.versions {
            let key = gv_key(&g.name, &v.version);
            let hash = hash_of(&v3_document(&g.name, v));
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v2`: one Swagger 2 document for everything.
pub fn v2_document(catalog: &Catalog) -> Value {
    let mut paths = serde_json::Map::new();
    let mut definitions = serde_json::Map::new();
    for g in catalog.groups() {
        for v in &g.versions {
            for r in &v.resources {
                paths_of(r, false, &mut paths);
                definitions.insert(definition_name(r), schema_of(r));
            }
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_patch_takes_field_validation() {
        let c = Catalog::builtin();
        let doc = v3_document("", &c.group("").expect("core").versions[0]);
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
        assert!(
            v3_root(&c)["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .expect("url")
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
    }
}
