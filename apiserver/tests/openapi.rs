//! The OpenAPI documents over HTTP: what the v3 root lists, CRDs appearing and disappearing at
//! runtime, references that resolve, 404 for unknown group versions, and kube-openapi's cache rules.

mod common;

use bytes::Bytes;
use common::{WAIT, eventually, send, widget_crd};
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};

/// An answer with its raw headers (the shared helper sends no request headers besides auth).
struct Got {
    code: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn get(server: &apiserver::ApiServer, path: &str, headers: &[(&str, &str)]) -> Got {
    let (mut sender, addr) = common::connect(server).await;
    let mut req = http::Request::builder()
        .method("GET")
        .uri(path)
        .header("host", &addr)
        .header("authorization", format!("Bearer {}", server.token()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(req.body(Empty::<Bytes>::new()).expect("request")),
    )
    .await
    .expect("answer in time")
    .expect("response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Got {
        code,
        headers,
        body,
    }
}

/// The document of `key` (`apis/example.com/v1`) as the root lists it.
async fn document(server: &apiserver::ApiServer, key: &str) -> Option<Value> {
    let root = get(server, "/openapi/v3", &[]).await.json();
    let url = root["paths"][key]["serverRelativeURL"].as_str()?.to_owned();
    let got = get(server, &url, &[]).await;
    assert_eq!(got.code, 200, "{url}");
    Some(got.json())
}

/// Every `$ref` in `doc` names something under `prefix` in `defs`.
fn assert_references_resolve(doc: &Value, defs: &Value, prefix: &str) {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{r} is not under {prefix}"));
        assert!(defs.get(name).is_some(), "{r} does not resolve");
    }
}

#[tokio::test]
async fn a_crd_added_at_runtime_gets_a_complete_document_and_leaves_with_its_crd() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    assert!(document(&server, "apis/example.com/v1").await.is_none());

    let created = send(
        &server,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &widget_crd(),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    let doc = eventually("the CRD's group version in /openapi/v3", || async {
        document(&server, "apis/example.com/v1").await
    })
    .await;

    let schemas = &doc["components"]["schemas"];
    let widget = &schemas["com.example.v1.Widget"];
    assert_eq!(
        widget["x-kubernetes-group-version-kind"],
        json!([{"group": "example.com", "version": "v1", "kind": "Widget"}])
    );
    assert_eq!(
        widget["properties"]["spec"]["properties"]["size"],
        json!({"type": "integer", "minimum": 0, "maximum": 10})
    );
    assert_eq!(widget["properties"]["spec"]["required"], json!(["size"]));
    // The standard fields kube-apiserver adds to every CRD schema.
    assert_eq!(
        widget["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(
        widget["properties"]["kind"]["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Kind is a string value"))
    );
    assert_references_resolve(&doc, schemas, "#/components/schemas/");
    assert!(
        doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status"]["patch"]
            .is_object()
    );

    let v2 = get(&server, "/openapi/v2", &[]).await.json();
    assert_eq!(
        v2["definitions"]["com.example.v1.Widget"]["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert_references_resolve(&v2, &v2["definitions"], "#/definitions/");

    let deleted = send(
        &server,
        "DELETE",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
        &Value::Null,
    )
    .await;
    assert_eq!(deleted.code, 200, "{}", deleted.body);
    eventually("the CRD's group version gone from /openapi/v3", || async {
        document(&server, "apis/example.com/v1")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        get(&server, "/openapi/v2", &[]).await.json()["definitions"]
            .get("com.example.v1.Widget")
            .is_none()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn built_in_documents_carry_k8s_openapi_schemas() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let core = document(&server, "api/v1").await.expect("core v1 listed");
    let schemas = &core["components"]["schemas"];
    let pod = &schemas["io.k8s.api.core.v1.Pod"];
    assert_eq!(
        pod["x-kubernetes-group-version-kind"],
        json!([{"group": "", "version": "v1", "kind": "Pod"}])
    );
    assert!(pod.get("required").is_none(), "{}", pod["required"]);
    assert_eq!(
        schemas["io.k8s.api.core.v1.Container"]["required"],
        json!(["name"])
    );
    assert_references_resolve(&core, schemas, "#/components/schemas/");
    let crds = document(&server, "apis/apiextensions.k8s.io/v1")
        .await
        .expect("apiextensions listed");
    assert_eq!(
        crds["components"]["schemas"]["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"]
            ["x-kubernetes-group-version-kind"][0]["kind"],
        "CustomResourceDefinition"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_group_version_is_a_404_status() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    for path in [
        "/openapi/v3/apis/nope.example.com/v1",
        "/openapi/v3/apis/apps/v9",
        "/openapi/v3/api/v2",
        "/openapi/v3/apis/apps",
        "/openapi/v4",
    ] {
        let got = get(&server, path, &[]).await;
        assert_eq!(got.code, 404, "{path}");
        let status = got.json();
        assert_eq!(
            (
                &status["kind"],
                &status["status"],
                &status["reason"],
                &status["code"]
            ),
            (
                &json!("Status"),
                &json!("Failure"),
                &json!("NotFound"),
                &json!(404)
            ),
            "{path}: {status}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn documents_follow_kube_openapi_cache_rules() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let root = get(&server, "/openapi/v3", &[]).await.json();
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 listed")
        .to_owned();
    let hash = url.split("hash=").nth(1).expect("hash").to_owned();

    // By its current hash: cacheable for good, ETag is the hash.
    let by_hash = get(&server, &url, &[]).await;
    assert_eq!(by_hash.code, 200);
    assert_eq!(by_hash.header("cache-control"), "public, immutable");
    assert!(!by_hash.header("expires").is_empty());
    assert_eq!(by_hash.header("etag"), format!("\"{hash}\""));
    assert_eq!(by_hash.header("content-type"), "application/json");

    // Without a hash: must be revalidated.
    let plain = get(&server, "/openapi/v3/apis/apps/v1", &[]).await;
    assert_eq!(plain.code, 200);
    assert_eq!(plain.header("cache-control"), "no-cache, private");
    assert_eq!(plain.body, by_hash.body);

    // A stale hash is redirected to the current document.
    let stale = get(&server, "/openapi/v3/apis/apps/v1?hash=0123", &[]).await;
    assert_eq!(stale.code, 301);
    assert_eq!(stale.header("location"), url);

    // Revalidation with the ETag.
    let etag = format!("\"{hash}\"");
    let same = get(
        &server,
        "/openapi/v3/apis/apps/v1",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(same.code, 304);
    assert!(same.body.is_empty());
    let other = get(
        &server,
        "/openapi/v3/apis/apps/v1",
        &[("if-none-match", "\"x\"")],
    )
    .await;
    assert_eq!(other.code, 200);

    // Only JSON is served: a protobuf-only client gets 406 (and kubectl falls back or says so).
    let protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    for path in ["/openapi/v2", "/openapi/v3/apis/apps/v1"] {
        let got = get(&server, path, &[("accept", protobuf)]).await;
        assert_eq!(got.code, 406, "{path}");
        assert_eq!(got.json()["reason"], "NotAcceptable", "{path}");
    }
    let v2 = get(&server, "/openapi/v2", &[("accept", "application/json")]).await;
    assert_eq!(v2.code, 200);
    assert_eq!(v2.json()["swagger"], "2.0");
    server.shutdown().await;
}

#[tokio::test]
async fn each_served_crd_version_has_its_own_document_and_schema() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let mut crd = widget_crd();
    let mut v2 = crd["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(false);
    v2["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["shape"] =
        json!({"type": "string", "description": "Only in v2."});
    let mut v3 = v2.clone();
    v3["name"] = json!("v3alpha1");
    v3["served"] = json!(false);
    let versions = crd["spec"]["versions"].as_array_mut().expect("versions");
    versions.push(v2);
    versions.push(v3);
    let created = send(
        &server,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd,
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);
    let v2_doc = eventually("example.com/v2 in /openapi/v3", || async {
        document(&server, "apis/example.com/v2").await
    })
    .await;
    let v1_doc = document(&server, "apis/example.com/v1")
        .await
        .expect("v1 listed");
    let spec_of = |doc: &Value, version: &str| {
        doc["components"]["schemas"][format!("com.example.{version}.Widget")]["properties"]["spec"]
            ["properties"]
            .clone()
    };
    assert_eq!(
        spec_of(&v2_doc, "v2")["shape"]["description"],
        "Only in v2."
    );
    assert!(spec_of(&v1_doc, "v1").get("shape").is_none());
    assert!(spec_of(&v1_doc, "v1").get("size").is_some());
    assert_eq!(
        v2_doc["components"]["schemas"]["com.example.v2.Widget"]["x-kubernetes-group-version-kind"],
        json!([{"group": "example.com", "version": "v2", "kind": "Widget"}])
    );
    // A version that is not served has no document.
    assert!(
        document(&server, "apis/example.com/v3alpha1")
            .await
            .is_none()
    );
    assert_eq!(
        get(&server, "/openapi/v3/apis/example.com/v3alpha1", &[])
            .await
            .code,
        404
    );
    server.shutdown().await;
}
