//! CRD conversion webhooks (`spec.conversion.strategy: Webhook`) against converters run by the
//! tests: objects are stored in the storage version and served in the version asked for; writes,
//! reads, lists and watches in another version call the webhook; kube's errors when it is down or
//! answers wrongly; the CRD's conversion settings validated as kube validates them.

mod common;

use serde_json::{Value, json};

use common::https_hook::{Webhook, handler, webhook_server};
use common::{WatchLines, send, watch};

/// The storage version stores `spec.size`; v2 calls it `spec.length`.
const V1: &str = "/apis/example.com/v1/namespaces/default/gadgets";
const V2: &str = "/apis/example.com/v2/namespaces/default/gadgets";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

/// A version whose replica count (and `/scale`) is `spec.<field>`.
fn version(name: &str, storage: bool, field: &str) -> Value {
    json!({"name": name, "served": true, "storage": storage,
        "subresources": {"scale": {"specReplicasPath": format!(".spec.{field}"),
                                   "statusReplicasPath": ".status.replicas"}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {field: {"type": "integer"}}},
            "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}})
}

fn crd(conversion: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [version("v1", true, "size"), version("v2", false, "length")],
            "conversion": conversion}})
}

fn webhook_conversion(hook: &Webhook) -> Value {
    json!({"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": hook.url.replace("/admit", "/convert"), "caBundle": hook.ca_bundle},
        "conversionReviewVersions": ["v1"]}})
}

/// What a correct converter does: renames `size` and `length` between the versions.
fn convert(object: &Value, desired: &str) -> Value {
    let mut o = object.clone();
    o["apiVersion"] = desired.into();
    let spec = o["spec"].as_object_mut().expect("spec");
    let (from, to) = if desired.ends_with("/v2") {
        ("size", "length")
    } else {
        ("length", "size")
    };
    if let Some(v) = spec.remove(from) {
        spec.insert(to.into(), v);
    }
    o
}

/// A ConversionReview answer with these converted objects.
fn answer(review: &Value, objects: Vec<Value>) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "response": {"uid": review["request"]["uid"], "convertedObjects": objects,
                     "result": {"status": "Success"}}})
}

/// A converter answering with `edit` applied to each correctly converted object.
async fn converter(edit: fn(&mut Value)) -> Webhook {
    webhook_server(
        &["127.0.0.1"],
        handler(move |review| {
            let desired = review["request"]["desiredAPIVersion"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let objects = review["request"]["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| {
                    let mut c = convert(o, &desired);
                    edit(&mut c);
                    c
                })
                .collect();
            Some(answer(review, objects))
        }),
    )
    .await
}

async fn install(s: &apiserver::ApiServer, conversion: Value) {
    let r = send(
        s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd(conversion),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

fn gadget(api_version: &str, field: &str, n: i64) -> Value {
    json!({"apiVersion": api_version, "kind": "Gadget", "metadata": {"name": "g"},
           "spec": {field: n}})
}

/// The desired versions the converter was asked for, in order.
fn asked(hook: &Webhook) -> Vec<String> {
    hook.reviews()
        .iter()
        .map(|r| {
            r["request"]["desiredAPIVersion"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn objects_are_stored_in_the_storage_version_and_served_in_the_version_asked_for() {
    let s = server().await;
    let hook = converter(|_| {}).await;
    install(&s, webhook_conversion(&hook)).await;

    // A create in v2: converted into v1 to be stored, and the answer back into v2.
    let r = send(&s, "POST", V2, &gadget("example.com/v2", "length", 3)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["apiVersion"], "example.com/v2");
    assert_eq!(r.body["spec"], json!({"length": 3}), "{}", r.body);
    assert_eq!(asked(&hook), ["example.com/v1", "example.com/v2"]);
    let sent = &hook.reviews()[0];
    assert_eq!(sent["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(sent["request"]["objects"][0]["spec"], json!({"length": 3}));

    // Read in the storage version: as stored, no call.
    let r = send(&s, "GET", &format!("{V1}/g"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["spec"],
        json!({"size": 3}),
        "stored in v1: {}",
        r.body
    );
    assert_eq!(hook.reviews().len(), 2);

    // Read, listed in v2: converted, a list in one review.
    let r = send(&s, "GET", &format!("{V2}/g"), &Value::Null).await;
    assert_eq!(r.body["spec"], json!({"length": 3}), "{}", r.body);
    assert!(
        r.body["metadata"]["resourceVersion"].is_string(),
        "{}",
        r.body
    );
    let r = send(&s, "POST", V1, &{
        let mut g = gadget("example.com/v1", "size", 4);
        g["metadata"]["name"] = "h".into();
        g
    })
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let before = hook.reviews().len();
    let r = send(&s, "GET", V2, &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let lengths: Vec<&Value> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["spec"]["length"])
        .collect();
    assert_eq!(lengths, [&json!(3), &json!(4)], "{}", r.body);
    assert_eq!(r.body["apiVersion"], "example.com/v2");
    let reviews = hook.reviews();
    assert_eq!(reviews.len(), before + 1, "one review for the list");
    assert_eq!(
        reviews[before]["request"]["objects"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // A merge patch in v2 patches the object as v2 sees it; it is stored in v1.
    let r = common::raw(
        &s,
        "PATCH",
        &format!("{V2}/g"),
        Some("application/merge-patch+json"),
        json!({"spec": {"length": 7}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"], json!({"length": 7}), "{}", r.body);
    let r = send(&s, "GET", &format!("{V1}/g"), &Value::Null).await;
    assert_eq!(r.body["spec"], json!({"size": 7}), "{}", r.body);
    assert_eq!(r.body["metadata"]["generation"], 2);
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_through_the_converter() {
    let s = server().await;
    let hook = converter(|_| {}).await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 2)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    // v2's scale reads `spec.length`: only the converted object has it.
    let r = send(&s, "GET", &format!("{V2}/g/scale"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 2, "{}", r.body);
    let r = common::raw(
        &s,
        "PATCH",
        &format!("{V2}/g/scale"),
        Some("application/merge-patch+json"),
        json!({"spec": {"replicas": 5}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 5, "{}", r.body);
    let r = send(&s, "GET", &format!("{V1}/g"), &Value::Null).await;
    assert_eq!(
        r.body["spec"],
        json!({"size": 5}),
        "stored in v1: {}",
        r.body
    );
    assert!(asked(&hook).contains(&"example.com/v2".to_owned()));
}

#[tokio::test]
async fn watches_in_another_version_see_converted_objects() {
    let s = server().await;
    let hook = converter(|_| {}).await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let mut w: WatchLines = watch(&s, &format!("{V2}?watch=true")).await;
    let added = w.next().await.expect("ADDED");
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["apiVersion"], "example.com/v2");
    assert_eq!(added["object"]["spec"], json!({"length": 1}));
    let mut updated = r.body.clone();
    updated["spec"]["size"] = 2.into();
    let r = send(&s, "PUT", &format!("{V1}/g"), &updated).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let modified = w.next().await.expect("MODIFIED");
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(
        modified["object"]["spec"],
        json!({"length": 2}),
        "{modified}"
    );
}

#[tokio::test]
async fn an_unreachable_converter_fails_reads_and_writes_in_other_versions_only() {
    let s = server().await;
    let hook = converter(|_| {}).await;
    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut conversion = webhook_conversion(&hook);
    conversion["webhook"]["clientConfig"]["url"] =
        format!("https://127.0.0.1:{port}/convert").into();
    install(&s, conversion).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    assert_eq!(
        r.code, 201,
        "the storage version needs no conversion: {}",
        r.body
    );

    let refused = format!(
        "Post \"https://127.0.0.1:{port}/convert?timeout=30s\": dial tcp 127.0.0.1:{port}: connect: connection refused"
    );
    let r = send(&s, "GET", &format!("{V2}/g"), &Value::Null).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("conversion webhook for example.com/v1, Kind=Gadget failed: {refused}")
    );
    assert!(
        r.body.get("reason").is_none(),
        "kube passes the converter's error through without a reason: {}",
        r.body
    );
    let r = send(&s, "GET", V2, &Value::Null).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("conversion webhook for example.com/v1, Kind=GadgetList failed: {refused}")
    );
    let mut other = gadget("example.com/v2", "length", 2);
    other["metadata"]["name"] = "other".into();
    let r = send(&s, "POST", V2, &other).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!("conversion webhook for example.com/v2, Kind=Gadget failed: {refused}")
    );
    let r = send(&s, "GET", &format!("{V2}/other"), &Value::Null).await;
    assert_eq!(r.code, 404, "the failed create stored nothing: {}", r.body);
    // The storage version still reads and writes.
    let r = send(&s, "GET", V1, &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1));
    assert!(hook.reviews().is_empty());
}

#[tokio::test]
async fn wrong_answers_are_refused_as_kube_refuses_them_and_labels_may_change() {
    // A converter that renames the object.
    let s = server().await;
    let hook = converter(|o| o["metadata"]["name"] = "renamed".into()).await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "GET", &format!("{V2}/g"), &Value::Null).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "conversion webhook for example.com/v1, Kind=Gadget returned invalid object: must have the same name: g != renamed"
    );

    // A converter that answers with the wrong apiVersion.
    let s = server().await;
    let hook = converter(|o| o["apiVersion"] = "example.com/v1".into()).await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "GET", V2, &Value::Null).await;
    assert_eq!(
        r.body["message"],
        "conversion webhook for example.com/v1, Kind=GadgetList returned invalid converted object at index 1: invalid groupVersion (expected example.com/v2, received example.com/v1)"
    );

    // A converter that fails with a message of its own.
    let s = server().await;
    let hook = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                "response": {"uid": review["request"]["uid"],
                             "result": {"status": "Failure", "message": "size 1 has no length"}}}),
            )
        }),
    )
    .await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "GET", &format!("{V2}/g"), &Value::Null).await;
    assert_eq!(
        r.body["message"],
        "conversion webhook for example.com/v1, Kind=Gadget failed: size 1 has no length"
    );

    // Labels and annotations are the converter's to change; the rest of metadata is not.
    let s = server().await;
    let hook = converter(|o| {
        o["metadata"]["labels"] = json!({"converted": "yes"});
        o["metadata"]["resourceVersion"] = "12345".into();
    })
    .await;
    install(&s, webhook_conversion(&hook)).await;
    let r = send(&s, "POST", V1, &gadget("example.com/v1", "size", 1)).await;
    let rv = r.body["metadata"]["resourceVersion"].clone();
    let r = send(&s, "GET", &format!("{V2}/g"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["metadata"]["labels"], json!({"converted": "yes"}));
    assert_eq!(r.body["metadata"]["resourceVersion"], rv);
}

#[tokio::test]
async fn conversion_settings_are_validated_as_kube_validates_them() {
    let s = server().await;
    let post = |conversion: Value| {
        let s = &s;
        async move {
            send(
                s,
                "POST",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                &crd(conversion),
            )
            .await
        }
    };
    let causes = |r: &common::Raw| -> Vec<(String, String)> {
        r.body["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["field"].as_str().unwrap_or("").to_owned(),
                    c["message"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let r = post(json!({"strategy": "Webhook"})).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        causes(&r),
        [
            (
                "spec.conversion.webhookClientConfig".to_owned(),
                "Required value: required when strategy is set to Webhook".to_owned()
            ),
            (
                "spec.conversion.conversionReviewVersions".to_owned(),
                "Required value".to_owned()
            )
        ]
    );
    let r = post(json!({"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "http://example.com/convert"},
        "conversionReviewVersions": ["v2", "v2"]}}))
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        causes(&r),
        [
            (
                "spec.conversion.webhookClientConfig.url".to_owned(),
                "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]".to_owned()
            ),
            (
                "spec.conversion.conversionReviewVersions[1]".to_owned(),
                "Invalid value: \"v2\": duplicate version".to_owned()
            ),
            (
                "spec.conversion.conversionReviewVersions".to_owned(),
                "Invalid value: [\"v2\",\"v2\"]: must include at least one of v1, v1beta1"
                    .to_owned()
            )
        ]
    );
    let r = post(json!({"strategy": "None", "webhook": {
        "clientConfig": {"url": "https://example.com/convert"}, "conversionReviewVersions": ["v1"]}}))
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        causes(&r),
        [
            (
                "spec.conversion.webhookClientConfig".to_owned(),
                "Forbidden: should not be set when strategy is not set to Webhook".to_owned()
            ),
            (
                "spec.conversion.conversionReviewVersions".to_owned(),
                "Forbidden: should not be set when strategy is not set to Webhook".to_owned()
            )
        ]
    );
    let r = post(json!({"strategy": "Copy"})).await;
    assert_eq!(
        causes(&r),
        [(
            "spec.conversion.strategy".to_owned(),
            "Unsupported value: \"Copy\": supported values: \"None\", \"Webhook\"".to_owned()
        )]
    );
    // A Service reference gets kube's default port.
    let r = post(json!({"strategy": "Webhook", "webhook": {
        "clientConfig": {"service": {"namespace": "default", "name": "conv"}},
        "conversionReviewVersions": ["v1"]}}))
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
        443
    );
}
