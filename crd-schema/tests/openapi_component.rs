//! The `/openapi/v3` component schemas built from a CRD schema.

use crd_schema::{openapi_model_name, openapi_v3_component, openapi_v3_list_component};
use serde_json::json;

#[test]
fn model_name_reverses_the_group() {
    assert_eq!(
        openapi_model_name("kubernaut.ai", "v1alpha1", "RemediationRequest"),
        "ai.kubernaut.v1alpha1.RemediationRequest"
    );
    assert_eq!(
        openapi_model_name("stable.example.com", "v1", "CronTab"),
        "com.example.stable.v1.CronTab"
    );
}

#[test]
fn component_adds_type_meta_object_meta_and_gvk() {
    let schema = json!({
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}},
            "spec": {"type": "object", "properties": {
                "port": {"x-kubernetes-int-or-string": true},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
            }}
        }
    });
    let c = openapi_v3_component(&schema, "kubernaut.ai", "v1alpha1", "Thing");
    assert_eq!(
        c["x-kubernetes-group-version-kind"],
        json!([{"group": "kubernaut.ai", "version": "v1alpha1", "kind": "Thing"}])
    );
    assert_eq!(c["properties"]["apiVersion"]["type"], "string");
    assert_eq!(c["properties"]["kind"]["type"], "string");
    assert_eq!(
        c["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert_eq!(
        c["properties"]["spec"]["properties"]["port"]["anyOf"],
        json!([{"type": "integer"}, {"type": "string"}])
    );
    let template = &c["properties"]["spec"]["properties"]["template"];
    assert_eq!(template["required"], json!(["kind", "apiVersion"]));
    assert_eq!(
        template["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
}

#[test]
fn list_component_references_the_kind() {
    let l = openapi_v3_list_component("kubernaut.ai", "v1alpha1", "Thing", "ThingList", "things");
    assert_eq!(
        l["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/ai.kubernaut.v1alpha1.Thing"
    );
    assert_eq!(l["x-kubernetes-group-version-kind"][0]["kind"], "ThingList");
    assert_eq!(l["required"], json!(["items"]));
}

#[test]
fn non_object_schema_yields_plain_object() {
    let c = openapi_v3_component(&json!("nonsense"), "g", "v1", "K");
    assert_eq!(c["type"], "object");
    assert_eq!(c["properties"]["kind"]["type"], "string");
}
