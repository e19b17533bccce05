//! Builds the `/openapi/v3` component schemas kube-apiserver publishes for a CRD version.
//!
//! Follows apiextensions-apiserver `pkg/controller/openapi/builder/builder.go` for OpenAPI v3:
//! the CRD schema, unfolded (`x-kubernetes-int-or-string` gains
//! `anyOf: [{type: integer}, {type: string}]`), with `apiVersion`, `kind` and a `metadata`
//! reference to ObjectMeta at the root and in every embedded resource, and the
//! `x-kubernetes-group-version-kind` extension. kubectl reads these for client-side validation and
//! `kubectl explain`.

use serde_json::{Map, Value, json};

/// The OpenAPI v3 reference to ObjectMeta.
const OBJECT_META_REF: &str =
    "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// The OpenAPI v3 reference to ListMeta.
const LIST_META_REF: &str = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const EMBEDDED_API_VERSION_DESCRIPTION: &str = "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const EMBEDDED_KIND_DESCRIPTION: &str = "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The component name kube-apiserver gives a kind: the group reversed, then version and kind,
/// e.g. `ai.kubernaut.v1alpha1.RemediationRequest`.
pub fn openapi_model_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').collect();
    parts.reverse();
    format!("{}.{version}.{kind}", parts.join("."))
}

fn meta_ref(reference: &str, description: &str) -> Value {
    json!({"allOf": [{"$ref": reference}], "description": description})
}

/// The component schema of one kind, from the version's `openAPIV3Schema` (which should have
/// compiled with [`crate::Schema::compile`]; anything else yields a plain `type: object`).
pub fn openapi_v3_component(
    open_api_v3_schema: &Value,
    group: &str,
    version: &str,
    kind: &str,
) -> Value {
    let mut root = match open_api_v3_schema {
        Value::Object(_) => open_api_v3_schema.clone(),
        _ => json!({"type": "object"}),
    };
    unfold(&mut root);
    if let Value::Object(m) = &mut root {
        let props = m.entry("properties").or_insert_with(|| json!({}));
        if let Value::Object(p) = props {
            p.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": API_VERSION_DESCRIPTION}),
            );
            p.insert(
                "kind".into(),
                json!({"type": "string", "description": KIND_DESCRIPTION}),
            );
            p.insert(
                "metadata".into(),
                meta_ref(OBJECT_META_REF, METADATA_DESCRIPTION),
            );
        }
        // The root's own embedded flag would be redundant: its properties were just set.
        add_embedded_properties_below(m);
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "version": version, "kind": kind}]),
        );
    }
    root
}

/// The `<Kind>List` component that goes with [`openapi_v3_component`].
pub fn openapi_v3_list_component(
    group: &str,
    version: &str,
    kind: &str,
    list_kind: &str,
    plural: &str,
) -> Value {
    let item_ref = format!(
        "#/components/schemas/{}",
        openapi_model_name(group, version, kind)
    );
    json!({
        "type": "object",
        "description": format!("{list_kind} is a list of {kind}"),
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DESCRIPTION},
            "kind": {"type": "string", "description": KIND_DESCRIPTION},
            "items": {
                "type": "array",
                "description": format!("List of {plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"),
                "items": {"$ref": item_ref}
            },
            "metadata": meta_ref(LIST_META_REF, LIST_METADATA_DESCRIPTION)
        },
        "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": list_kind}]
    })
}

/// `Structural.Unfold`: int-or-string fields get their two alternatives spelled out.
fn unfold(v: &mut Value) {
    let Value::Object(m) = v else { return };
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(unfold);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = m.get_mut(key) {
            unfold(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = m.get_mut(key) {
            list.iter_mut().for_each(unfold);
        }
    }
    if m.get("x-kubernetes-int-or-string") != Some(&Value::Bool(true)) {
        return;
    }
    let pattern = json!([{"type": "integer"}, {"type": "string"}]);
    let any_of_is_pattern = m.get("anyOf") == Some(&pattern);
    let all_of_starts_with_pattern = m
        .get("allOf")
        .and_then(|a| a.get(0))
        .and_then(|f| f.get("anyOf"))
        == Some(&pattern);
    if any_of_is_pattern || all_of_starts_with_pattern {
        return;
    }
    if m.get("anyOf").is_none() {
        m.insert("anyOf".into(), pattern);
    } else {
        let mut all_of = vec![json!({"anyOf": pattern})];
        if let Some(Value::Array(existing)) = m.remove("allOf") {
            all_of.extend(existing);
        }
        m.insert("allOf".into(), Value::Array(all_of));
    }
}

/// `addEmbeddedProperties` for everything below the root.
fn add_embedded_properties_below(m: &mut Map<String, Value>) {
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for (k, p) in props.iter_mut() {
            if k == "metadata" || k == "apiVersion" || k == "kind" {
                continue;
            }
            add_embedded_properties(p);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = m.get_mut(key) {
            add_embedded_properties(child);
        }
    }
}

fn add_embedded_properties(v: &mut Value) {
    let Value::Object(m) = v else { return };
    add_embedded_properties_below(m);
    if m.get("x-kubernetes-embedded-resource") != Some(&Value::Bool(true)) {
        return;
    }
    let props = m.entry("properties").or_insert_with(|| json!({}));
    if let Value::Object(p) = props {
        p.insert(
            "apiVersion".into(),
            json!({"type": "string", "description": EMBEDDED_API_VERSION_DESCRIPTION}),
        );
        p.insert(
            "kind".into(),
            json!({"type": "string", "description": EMBEDDED_KIND_DESCRIPTION}),
        );
        p.insert(
            "metadata".into(),
            meta_ref(OBJECT_META_REF, METADATA_DESCRIPTION),
        );
    }
    let required = m.entry("required").or_insert_with(|| json!([]));
    if let Value::Array(r) = required {
        for k in ["kind", "apiVersion"] {
            if !r.iter().any(|x| x == k) {
                r.push(Value::from(k));
            }
        }
    }
}
