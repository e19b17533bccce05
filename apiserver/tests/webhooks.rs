//! Admission webhooks over HTTPS, against webhook servers made by the tests (TLS from their own
//! CA, given as `caBundle`): what a webhook receives, refusals, patches, warnings, the failure
//! policies (unreachable, hanging, untrusted), dry runs, deletes, Service references, reinvocation,
//! and a webhook that calls the API server back while it is being asked.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use common::https_hook::{Webhook, handler, webhook_server, webhook_server_with_self_signed_ca};
use common::{Raw, deployment, raw, send, warnings};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// A webhook server on 127.0.0.1 that admits everything (and records what it was asked).
async fn allowing_server() -> Webhook {
    webhook_server(
        &["127.0.0.1"],
        handler(|review| Some(response(review, json!({})))),
    )
    .await
}

fn response(review: &Value, fields: Value) -> Value {
    let mut r = json!({"uid": review["request"]["uid"], "allowed": true});
    for (k, v) in fields.as_object().into_iter().flatten() {
        r[k] = v.clone();
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": r})
}

fn json_patch(ops: Value) -> Value {
    json!({"patchType": "JSONPatch",
        "patch": base64::engine::general_purpose::STANDARD.encode(ops.to_string())})
}

/// A webhook entry for ConfigMap writes (`operations`), served by `hook`; `extra` overrides.
fn entry(name: &str, hook: &Webhook, operations: &[&str], extra: Value) -> Value {
    let mut w = json!({
        "name": name,
        "clientConfig": {"url": hook.url, "caBundle": hook.ca_bundle},
        "rules": [{"operations": operations, "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        w[k] = v.clone();
    }
    w
}

async fn configure(s: &apiserver::ApiServer, mutating: bool, name: &str, webhooks: Vec<Value>) {
    let (kind, plural) = if mutating {
        (
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
        )
    } else {
        (
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
        )
    };
    let r = send(
        s,
        "POST",
        &format!("/apis/admissionregistration.k8s.io/v1/{plural}"),
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": webhooks}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

async fn get_cm(s: &apiserver::ApiServer, name: &str) -> Raw {
    send(s, "GET", &format!("{CMS}/{name}"), &Value::Null).await
}

#[tokio::test]
async fn a_validating_webhook_sees_the_request_and_its_refusal_is_the_answer() {
    let s = server().await;
    let hook = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            let forbidden = review["request"]["object"]["data"]["pet"] == "cat";
            Some(if forbidden {
                response(
                    review,
                    json!({"allowed": false, "result": {"code": 403, "reason": "Forbidden", "message": "no cats"}}),
                )
            } else {
                response(review, json!({"warnings": ["pets are noisy"]}))
            })
        }),
    )
    .await;
    configure(
        &s,
        false,
        "pets",
        vec![entry("pets.example.com", &hook, &["CREATE"], json!({}))],
    )
    .await;

    let r = send(&s, "POST", CMS, &cm("dog", json!({"pet": "dog"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(warnings(&r), ["299 - \"pets are noisy\""]);
    let review = &hook.reviews()[0];
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    let request = &review["request"];
    assert!(!request["uid"].as_str().unwrap_or("").is_empty());
    assert_eq!(
        request["kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "configmaps"})
    );
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(
        (request["name"].as_str(), request["namespace"].as_str()),
        (Some("dog"), Some("default"))
    );
    assert_eq!(request["object"]["data"], json!({"pet": "dog"}));
    assert!(request["oldObject"].is_null());
    assert_eq!(request["dryRun"], false);
    assert_eq!(request["options"]["kind"], "CreateOptions");
    assert!(
        !request["userInfo"]["username"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{request}"
    );
    // The validating stage sees the object as it will be stored.
    assert!(
        !request["object"]["metadata"]["uid"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    let stored = get_cm(&s, "dog").await;
    assert_eq!(
        stored.body["metadata"]["uid"], request["object"]["metadata"]["uid"],
        "the object the webhook admitted is the object stored"
    );

    let r = send(&s, "POST", CMS, &cm("cat", json!({"pet": "cat"}))).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "Forbidden");
    assert_eq!(
        r.body["message"],
        "admission webhook \"pets.example.com\" denied the request: no cats"
    );
    assert_eq!(
        get_cm(&s, "cat").await.code,
        404,
        "a refused create stores nothing"
    );
}

/// kopf's `WebhookServer` serves a self-signed CA certificate and gives that same certificate as
/// `caBundle`: Go's client trusts it (a root served as the leaf is its own chain), so must this
/// server; the host name is still checked.
#[tokio::test]
async fn a_webhook_serving_its_own_ca_certificate_is_trusted_as_go_trusts_it() {
    let s = server().await;
    let refuse_cats = || {
        handler(|review| {
            let forbidden = review["request"]["object"]["data"]["pet"] == "cat";
            Some(response(
                review,
                json!({"allowed": !forbidden, "result": {"code": 403, "message": "no cats"}}),
            ))
        })
    };
    let hook = webhook_server_with_self_signed_ca(&["localhost", "127.0.0.1"], refuse_cats()).await;
    configure(
        &s,
        false,
        "pets",
        vec![entry("pets.example.com", &hook, &["CREATE"], json!({}))],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("dog", json!({"pet": "dog"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "POST", CMS, &cm("cat", json!({"pet": "cat"}))).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(hook.reviews().len(), 2);

    // The same kind of certificate for another name: the call fails on the host name.
    let misnamed = webhook_server_with_self_signed_ca(&["example.com"], refuse_cats()).await;
    configure(
        &s,
        false,
        "misnamed",
        vec![entry(
            "misnamed.example.com",
            &misnamed,
            &["CREATE"],
            json!({}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("bird", json!({"pet": "bird"}))).await;
    assert_eq!(r.code, 500, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with(
            "Internal error occurred: failed calling webhook \"misnamed.example.com\": failed to call webhook"
        ),
        "{message}"
    );
    assert!(misnamed.reviews().is_empty());
}

#[tokio::test]
async fn mutating_webhooks_patch_before_validation_and_validating_webhooks_see_the_patch() {
    let s = server().await;
    let mutator = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            let mut fields = json_patch(json!([
                {"op": "add", "path": "/metadata/labels", "value": {"team": "a"}},
                {"op": "add", "path": "/data/added", "value": "by-webhook"}
            ]));
            fields["warnings"] = json!(["labelled"]);
            Some(response(review, fields))
        }),
    )
    .await;
    let checker = allowing_server().await;
    configure(
        &s,
        true,
        "label",
        vec![entry(
            "label.example.com",
            &mutator,
            &["CREATE", "UPDATE"],
            json!({}),
        )],
    )
    .await;
    configure(
        &s,
        false,
        "check",
        vec![entry(
            "check.example.com",
            &checker,
            &["CREATE", "UPDATE"],
            json!({}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("c", json!({"a": "1"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(r.body["data"], json!({"a": "1", "added": "by-webhook"}));
    assert_eq!(warnings(&r), ["299 - \"labelled\""]);
    // The mutating webhook saw the object before the strategy (no uid yet); the validating one
    // saw the patched, prepared object.
    let mutated = &mutator.reviews()[0]["request"]["object"];
    assert!(mutated["metadata"]["uid"].is_null(), "{mutated}");
    let checked = &checker.reviews()[0]["request"]["object"];
    assert_eq!(checked["metadata"]["labels"], json!({"team": "a"}));
    assert!(checked["metadata"]["uid"].is_string());

    // An update: the webhooks see the stored object as oldObject.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/c"),
        &json!({"data": {"a": "2"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let update = &checker.reviews()[1]["request"];
    assert_eq!(update["operation"], "UPDATE");
    assert_eq!(update["oldObject"]["data"]["a"], "1");
    assert_eq!(update["object"]["data"]["a"], "2");
    assert_eq!(update["options"]["kind"], "UpdateOptions");
}

#[tokio::test]
async fn failed_calls_follow_the_failure_policy() {
    let s = server().await;
    // A port that refuses connections: bound, then closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dead = Webhook {
        url: format!("https://127.0.0.1:{closed}/admit"),
        ca_bundle: String::new(),
        reviews: Arc::default(),
    };
    configure(
        &s,
        false,
        "dead",
        vec![entry("dead.example.com", &dead, &["CREATE"], json!({}))],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(r.body["reason"], "InternalError");
    assert_eq!(
        r.body["message"],
        format!(
            "Internal error occurred: failed calling webhook \"dead.example.com\": failed to call webhook: Post \"https://127.0.0.1:{closed}/admit?timeout=10s\": dial tcp 127.0.0.1:{closed}: connect: connection refused"
        )
    );
    let r = send(
        &s,
        "DELETE",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/dead",
        &Value::Null,
    )
    .await;
    assert_eq!(
        r.code, 200,
        "webhook configurations are never sent to webhooks: {}",
        r.body
    );
    configure(
        &s,
        false,
        "ignored",
        vec![entry(
            "dead.example.com",
            &dead,
            &["CREATE"],
            json!({"failurePolicy": "Ignore"}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 201, "Ignore admits: {}", r.body);
}

#[tokio::test]
async fn a_hanging_webhook_is_cut_at_its_timeout_and_an_untrusted_one_is_refused() {
    let s = server().await;
    let hanging = webhook_server(&["127.0.0.1"], handler(|_| None)).await;
    configure(
        &s,
        false,
        "hang",
        vec![entry(
            "hang.example.com",
            &hanging,
            &["CREATE"],
            json!({"timeoutSeconds": 1}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 500, "{}", r.body);
    let port = hanging
        .url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .unwrap_or("");
    assert_eq!(
        r.body["message"],
        format!(
            "Internal error occurred: failed calling webhook \"hang.example.com\": failed to call webhook: Post \"https://127.0.0.1:{port}/admit?timeout=1s\": context deadline exceeded"
        )
    );
    assert_eq!(hanging.reviews().len(), 1, "the webhook was asked once");

    let s = server().await;
    let served = allowing_server().await;
    let other = webhook_server(&["127.0.0.1"], handler(|_| None)).await;
    let untrusted = Webhook {
        url: served.url.clone(),
        ca_bundle: other.ca_bundle.clone(),
        reviews: Arc::default(),
    };
    configure(
        &s,
        false,
        "untrusted",
        vec![entry(
            "untrusted.example.com",
            &untrusted,
            &["CREATE"],
            json!({}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 500, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or("");
    assert!(
        message.ends_with(
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
        ),
        "{message}"
    );
    assert!(
        served.reviews().is_empty(),
        "no review is sent over an untrusted connection"
    );
}

#[tokio::test]
async fn dry_runs_tell_the_webhook_and_store_nothing() {
    let s = server().await;
    let hook = allowing_server().await;
    configure(
        &s,
        false,
        "none",
        vec![entry(
            "none.example.com",
            &hook,
            &["CREATE"],
            json!({"sideEffects": "NoneOnDryRun"}),
        )],
    )
    .await;
    let r = send(
        &s,
        "POST",
        &format!("{CMS}?dryRun=All"),
        &cm("a", json!({})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(hook.reviews()[0]["request"]["dryRun"], true);
    assert_eq!(
        hook.reviews()[0]["request"]["options"]["dryRun"],
        json!(["All"])
    );
    assert_eq!(get_cm(&s, "a").await.code, 404, "a dry run stores nothing");
}

#[tokio::test]
async fn a_write_racing_its_webhook_is_admitted_again_or_conflicts() {
    let s = server().await;
    let client = s.client().expect("client");
    let c = client.clone();
    // On its first call for each write, the webhook changes the object being written.
    let hook = webhook_server(
        &["127.0.0.1"],
        Arc::new(move |review: Value| {
            let c = c.clone();
            Box::pin(async move {
                let request = &review["request"];
                let outer = request["object"]["metadata"]["annotations"]["side"].is_null()
                    && request["object"]["data"]["b"] == "2";
                let first = request["oldObject"]["metadata"]["annotations"]["side"].is_null();
                if outer && first {
                    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                        kube::Api::namespaced(c, "default");
                    let name = request["name"].as_str().unwrap_or("").to_owned();
                    let patch = json!({"metadata": {"annotations": {"side": "1"}}});
                    let _ = api
                        .patch(&name, &Default::default(), &kube::api::Patch::Merge(&patch))
                        .await;
                }
                Some(response(&review, json!({})))
            })
        }),
    )
    .await;
    for name in ["race", "conflict"] {
        let r = send(&s, "POST", CMS, &cm(name, json!({"a": "1"}))).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    configure(
        &s,
        true,
        "racer",
        vec![entry("racer.example.com", &hook, &["UPDATE"], json!({}))],
    )
    .await;
    // A patch applies to the newest object: the webhook is asked again, and both changes stay.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/race"),
        &json!({"data": {"b": "2"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["metadata"]["annotations"], json!({"side": "1"}));
    assert_eq!(r.body["data"], json!({"a": "1", "b": "2"}));
    let asked: Vec<Value> = hook
        .reviews()
        .into_iter()
        .filter(|r| r["request"]["name"] == "race" && r["request"]["object"]["data"]["b"] == "2")
        .collect();
    assert_eq!(asked.len(), 2, "asked again once the stored object changed");
    assert_eq!(
        asked[1]["request"]["oldObject"]["metadata"]["annotations"]["side"],
        "1"
    );
    // An update naming the resourceVersion it read conflicts, as it would without webhooks.
    let stored = get_cm(&s, "conflict").await.body;
    let mut update = stored.clone();
    update["data"]["b"] = "2".into();
    let r = send(&s, "PUT", &format!("{CMS}/conflict"), &update).await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(r.body["reason"], "Conflict");
}

#[tokio::test]
async fn deletes_are_admitted_with_the_stored_object_and_cannot_be_patched() {
    let s = server().await;
    let r = send(&s, "POST", CMS, &cm("keep", json!({"k": "v"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "POST", CMS, &cm("go", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let guard = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(if review["request"]["name"] == "keep" {
                response(
                    review,
                    json!({"allowed": false, "result": {"message": "keep it"}}),
                )
            } else {
                response(review, json!({}))
            })
        }),
    )
    .await;
    configure(
        &s,
        false,
        "guard",
        vec![entry("guard.example.com", &guard, &["DELETE"], json!({}))],
    )
    .await;
    let r = send(&s, "DELETE", &format!("{CMS}/keep"), &Value::Null).await;
    assert_eq!(r.code, 400, "a refusal without a code is a 400: {}", r.body);
    assert_eq!(
        r.body["message"],
        "admission webhook \"guard.example.com\" denied the request: keep it"
    );
    assert_eq!(get_cm(&s, "keep").await.code, 200);
    let review = &guard.reviews()[0]["request"];
    assert_eq!(review["operation"], "DELETE");
    assert!(review["object"].is_null());
    assert_eq!(review["oldObject"]["data"], json!({"k": "v"}));
    assert_eq!(review["options"]["kind"], "DeleteOptions");
    let r = send(&s, "DELETE", &format!("{CMS}/go"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);

    let patcher = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(response(
                review,
                json_patch(json!([{"op": "add", "path": "/data/x", "value": "y"}])),
            ))
        }),
    )
    .await;
    configure(
        &s,
        true,
        "patcher",
        vec![entry(
            "patcher.example.com",
            &patcher,
            &["DELETE"],
            json!({}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("p", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "DELETE", &format!("{CMS}/p"), &Value::Null).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Internal error occurred: admission webhook \"patcher.example.com\" attempted to modify the object, which is not supported for this operation"
    );
}

#[tokio::test]
async fn a_webhook_may_call_the_api_server_while_it_is_asked() {
    let s = Arc::new(server().await);
    let client = s.client().expect("client");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, seen_by_hook) = (client.clone(), seen.clone());
    let hook = webhook_server(
        &["127.0.0.1"],
        Arc::new(move |review: Value| {
            let (c, seen) = (c.clone(), seen_by_hook.clone());
            Box::pin(async move {
                // Reads and writes through the API while the write being admitted waits.
                let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                    kube::Api::namespaced(c, "default");
                let listed = api.list(&Default::default()).await.map(|l| l.items.len());
                seen.lock().expect("seen").push(listed.is_ok());
                if review["request"]["name"] == "first" {
                    let side = serde_json::from_value(cm("side", json!({}))).expect("cm");
                    let _ = api.create(&Default::default(), &side).await;
                }
                Some(response(&review, json!({})))
            })
        }),
    )
    .await;
    configure(
        &s,
        true,
        "reentrant",
        vec![entry(
            "reentrant.example.com",
            &hook,
            &["CREATE"],
            json!({}),
        )],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("first", json!({}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        get_cm(&s, "side").await.code,
        200,
        "the webhook's own write went through"
    );
    assert!(seen.lock().expect("seen").iter().all(|ok| *ok));
}

#[tokio::test]
async fn a_service_reference_reaches_the_server_the_test_routed_it_to() {
    let s = server().await;
    let hook = webhook_server(
        &["hooks.webhooks.svc"],
        handler(|review| {
            Some(response(
                review,
                json!({"allowed": false, "result": {"code": 422, "reason": "Invalid", "message": "via service"}}),
            ))
        }),
    )
    .await;
    let port: u16 = hook
        .url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    for (path, obj) in [
        (
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "webhooks"}}),
        ),
        (
            "/api/v1/namespaces/webhooks/services",
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "hooks"}, "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 9443}]}}),
        ),
    ] {
        let r = send(&s, "POST", path, &obj).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let mut w = entry("svc.example.com", &hook, &["CREATE"], json!({}));
    w["clientConfig"] = json!({"service": {"namespace": "webhooks", "name": "hooks", "path": "/admit"},
        "caBundle": hook.ca_bundle});
    configure(&s, false, "svc", vec![w]).await;
    // No route yet, and no endpoints: the call fails (failurePolicy Fail).
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Internal error occurred: failed calling webhook \"svc.example.com\": could not get REST client: no endpoints available for service \"hooks\""
    );
    s.route_service("webhooks", "hooks", ([127, 0, 0, 1], port).into());
    let r = send(&s, "POST", CMS, &cm("a", json!({}))).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "admission webhook \"svc.example.com\" denied the request: via service"
    );
    assert_eq!(hook.reviews().len(), 1);
}

#[tokio::test]
async fn a_webhook_asking_for_reinvocation_runs_again_after_a_later_change() {
    let s = server().await;
    let first = allowing_server().await;
    let second = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(response(
                review,
                json_patch(json!([{"op": "add", "path": "/data/second", "value": "x"}])),
            ))
        }),
    )
    .await;
    configure(
        &s,
        true,
        "a-first",
        vec![entry(
            "first.example.com",
            &first,
            &["CREATE"],
            json!({"reinvocationPolicy": "IfNeeded"}),
        )],
    )
    .await;
    configure(
        &s,
        true,
        "b-second",
        vec![entry("second.example.com", &second, &["CREATE"], json!({}))],
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("a", json!({"first": "y"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["data"]["second"], "x");
    let again = first.reviews();
    assert_eq!(
        again.len(),
        2,
        "called again after the second webhook changed the object"
    );
    assert_eq!(again[1]["request"]["object"]["data"]["second"], "x");
    assert_eq!(
        second.reviews().len(),
        1,
        "Never (the default) is not called again"
    );
}

#[tokio::test]
async fn selectors_and_match_conditions_decide_who_is_called() {
    let s = server().await;
    let hook = allowing_server().await;
    configure(
        &s,
        false,
        "picky",
        vec![entry(
            "picky.example.com",
            &hook,
            &["CREATE"],
            json!({"objectSelector": {"matchLabels": {"checked": "yes"}},
                "matchConditions": [{"name": "not-skipped", "expression": "!('skip' in object.data)"}]}),
        )],
    )
    .await;
    let mut labelled = cm("a", json!({"x": "1"}));
    labelled["metadata"]["labels"] = json!({"checked": "yes"});
    assert_eq!(
        send(&s, "POST", CMS, &cm("plain", json!({}))).await.code,
        201
    );
    let mut skipped = cm("skipped", json!({"skip": "1"}));
    skipped["metadata"]["labels"] = json!({"checked": "yes"});
    assert_eq!(send(&s, "POST", CMS, &skipped).await.code, 201);
    assert!(hook.reviews().is_empty(), "neither matched");
    assert_eq!(send(&s, "POST", CMS, &labelled).await.code, 201);
    assert_eq!(hook.reviews().len(), 1);
    // A condition that cannot be evaluated (no `data` at all) refuses the write under Fail.
    let mut no_data = cm("no-data", Value::Null);
    no_data["metadata"]["labels"] = json!({"checked": "yes"});
    let r = send(&s, "POST", CMS, &no_data).await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (403, Some("Forbidden")),
        "{}",
        r.body
    );
    assert_eq!(hook.reviews().len(), 1);
    // A webhook without rules is called for nothing.
    configure(
        &s,
        false,
        "ruleless",
        vec![entry(
            "ruleless.example.com",
            &hook,
            &["CREATE"],
            json!({"rules": []}),
        )],
    )
    .await;
    assert_eq!(
        send(&s, "POST", CMS, &cm("unruled", json!({}))).await.code,
        201
    );
    assert_eq!(hook.reviews().len(), 1);
    // Writes of other resources never reach it.
    let r = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/secrets",
        Some("application/json"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"checked": "yes"}}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(hook.reviews().len(), 1);
}

#[tokio::test]
async fn concurrent_writes_through_webhooks_all_land() {
    // Sixteen unconditional patches of one object race through a mutating webhook: each one
    // whose object changed while its webhook was asked is asked again (kube's GuaranteedUpdate
    // retries), and none is refused; sixteen creates of their own objects run beside them.
    let s = Arc::new(server().await);
    let hook = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(response(
                review,
                json_patch(json!([{"op": "add", "path": "/metadata/annotations", "value": {"seen": "yes"}}])),
            ))
        }),
    )
    .await;
    let r = send(&s, "POST", CMS, &cm("shared", json!({"start": "0"}))).await;
    assert_eq!(r.code, 201, "{}", r.body);
    configure(
        &s,
        true,
        "annotate",
        vec![entry(
            "annotate.example.com",
            &hook,
            &["CREATE", "UPDATE"],
            json!({}),
        )],
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let (path, body) = (
                format!("{CMS}/shared"),
                json!({"data": {format!("k{i}"): "v"}}),
            );
            let own = cm(&format!("own-{i}"), json!({"i": i.to_string()}));
            let (p, c) = tokio::join!(send(&s, "PATCH", &path, &body), send(&s, "POST", CMS, &own));
            (p.code, p.body, c.code, c.body)
        }));
    }
    for t in tasks {
        let (pc, pb, cc, cb) = t.await.expect("task");
        assert_eq!(pc, 200, "{pb}");
        assert_eq!(cc, 201, "{cb}");
        assert_eq!(cb["metadata"]["annotations"]["seen"], "yes", "{cb}");
    }
    let shared = get_cm(&s, "shared").await.body;
    assert_eq!(
        shared["data"].as_object().map(|d| d.len()),
        Some(17),
        "{shared}"
    );
    assert_eq!(shared["metadata"]["annotations"]["seen"], "yes");
}

/// A MutatingAdmissionPolicy on ConfigMap creates that sets `data.seen` from `data.second`.
async fn seen_policy(s: &apiserver::ApiServer, reinvocation: &str) {
    let r = send(
        s,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "seen"},
        "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["configmaps"]}]},
            "reinvocationPolicy": reinvocation,
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": "Object{data: {'seen': 'second' in object.data ? 'yes' : 'no'}}"}}]
        }}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        s,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": "seen"}, "spec": {"policyName": "seen"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn mutating_policies_run_before_webhooks_and_again_after_their_change_if_needed() {
    for (reinvocation, seen) in [("IfNeeded", "yes"), ("Never", "no")] {
        let s = server().await;
        seen_policy(&s, reinvocation).await;
        let hook = webhook_server(
            &["127.0.0.1"],
            handler(|review| {
                Some(response(
                    review,
                    json_patch(json!([{"op": "add", "path": "/data/second", "value": "x"}])),
                ))
            }),
        )
        .await;
        configure(
            &s,
            true,
            "second",
            vec![entry("second.example.com", &hook, &["CREATE"], json!({}))],
        )
        .await;
        let r = send(&s, "POST", CMS, &cm("a", json!({"first": "y"}))).await;
        assert_eq!(r.code, 201, "{}", r.body);
        assert_eq!(
            r.body["data"],
            json!({"first": "y", "second": "x", "seen": seen}),
            "{reinvocation}"
        );
        let reviews = hook.reviews();
        assert_eq!(
            reviews[0]["request"]["object"]["data"]["seen"], "no",
            "the webhook sees the policy's mutation"
        );
        assert_eq!(get_cm(&s, "a").await.body["data"]["seen"], seen);
    }
}

#[tokio::test]
async fn a_collection_delete_is_admitted_item_by_item() {
    let s = server().await;
    for name in ["a", "b", "c"] {
        let mut obj = cm(name, json!({}));
        obj["metadata"]["labels"] = json!({"batch": "1"});
        let r = send(&s, "POST", CMS, &obj).await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let guard = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(if review["request"]["name"] == "b" {
                response(
                    review,
                    json!({"allowed": false, "result": {"message": "b stays", "code": 403}}),
                )
            } else {
                response(review, json!({"warnings": ["seen"]}))
            })
        }),
    )
    .await;
    configure(
        &s,
        false,
        "guard",
        vec![entry("guard.example.com", &guard, &["DELETE"], json!({}))],
    )
    .await;
    // kube deletes item by item, each through admission, and stops at the first refusal,
    // keeping what it already deleted.
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}?labelSelector=batch%3D1"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "admission webhook \"guard.example.com\" denied the request: b stays"
    );
    assert_eq!(get_cm(&s, "a").await.code, 404);
    assert_eq!(get_cm(&s, "b").await.code, 200);
    assert_eq!(get_cm(&s, "c").await.code, 200);
    let asked: Vec<Value> = guard
        .reviews()
        .iter()
        .map(|r| r["request"]["name"].clone())
        .collect();
    assert_eq!(asked, [json!("a"), json!("b")]);
    assert_eq!(
        guard.reviews()[0]["request"]["oldObject"]["metadata"]["name"],
        "a"
    );

    // Without the refused item, the rest goes, and the answer lists what was deleted, with the
    // webhook's warnings.
    let r = raw(
        &s,
        "DELETE",
        &format!("{CMS}?fieldSelector=metadata.name%3Dc"),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["kind"], "ConfigMapList");
    let names: Vec<&Value> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["metadata"]["name"])
        .collect();
    assert_eq!(names, [&json!("c")]);
    assert_eq!(warnings(&r), ["299 - \"seen\""]);
    assert_eq!(get_cm(&s, "c").await.code, 404);
}

// Subresource writes: each is admitted with the subresource's own object, as kube's REST storage
// passes it to admission (`ScaleREST`'s Scale, `EvictionREST`'s Eviction, the parent object for
// `approval` and `ephemeralcontainers`).

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const PODS: &str = "/api/v1/namespaces/default/pods";

/// A mutating webhook server on 127.0.0.1 that answers every review with the JSON patch `ops`.
async fn patching_server(ops: Value) -> Webhook {
    webhook_server(
        &["127.0.0.1"],
        handler(move |review| Some(response(review, json_patch(ops.clone())))),
    )
    .await
}

/// A webhook entry served by `hook` for the one rule `rule` (operations, groups, versions,
/// resources).
fn entry_for(name: &str, hook: &Webhook, rule: Value) -> Value {
    entry(name, hook, &[], json!({"rules": [rule]}))
}

fn rule(operations: &[&str], group: &str, resources: &[&str]) -> Value {
    json!({"operations": operations, "apiGroups": [group], "apiVersions": ["*"], "resources": resources})
}

async fn replicas_of(s: &apiserver::ApiServer, name: &str) -> Value {
    let r = send(s, "GET", &format!("{DEPLOYS}/{name}"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body["spec"]["replicas"].clone()
}

#[tokio::test]
async fn scale_writes_are_admitted_as_a_scale_and_a_mutating_patch_sets_the_replicas() {
    let s = server().await;
    let created = send(&s, "POST", DEPLOYS, &deployment("web", 1)).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mutator =
        patching_server(json!([{"op": "replace", "path": "/spec/replicas", "value": 5}])).await;
    let checker = allowing_server().await;
    let parent = allowing_server().await;
    configure(
        &s,
        true,
        "scale",
        vec![entry_for(
            "scale.example.com",
            &mutator,
            rule(&["UPDATE"], "apps", &["deployments/scale"]),
        )],
    )
    .await;
    configure(
        &s,
        false,
        "scales",
        vec![
            entry_for(
                "any-scale.example.com",
                &checker,
                rule(&["*"], "*", &["*/scale"]),
            ),
            // A rule for the resource itself does not match its subresources.
            entry_for(
                "deployments.example.com",
                &parent,
                rule(&["UPDATE"], "apps", &["deployments"]),
            ),
        ],
    )
    .await;

    let r = send(
        &s,
        "PATCH",
        &format!("{DEPLOYS}/web/scale"),
        &json!({"spec": {"replicas": 3}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        (r.body["kind"].clone(), r.body["spec"]["replicas"].clone()),
        (json!("Scale"), json!(5))
    );
    assert_eq!(
        replicas_of(&s, "web").await,
        5,
        "the webhook's patch is what is stored"
    );

    let request = mutator.reviews()[0]["request"].clone();
    let scale_kind = json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
    let deployments = json!({"group": "apps", "version": "v1", "resource": "deployments"});
    assert_eq!(request["kind"], scale_kind);
    assert_eq!(request["requestKind"], scale_kind);
    assert_eq!(request["resource"], deployments);
    assert_eq!(request["requestResource"], deployments);
    assert_eq!(request["subResource"], "scale");
    assert_eq!(request["requestSubResource"], "scale");
    assert_eq!(request["operation"], "UPDATE");
    assert_eq!(
        (request["name"].as_str(), request["namespace"].as_str()),
        (Some("web"), Some("default"))
    );
    assert_eq!(request["options"]["kind"], "UpdateOptions");
    assert_eq!(request["dryRun"], false);
    for (which, replicas) in [("object", 3), ("oldObject", 1)] {
        let o = &request[which];
        assert_eq!(
            (o["apiVersion"].as_str(), o["kind"].as_str()),
            (Some("autoscaling/v1"), Some("Scale")),
            "{o}"
        );
        assert_eq!(o["spec"]["replicas"], replicas, "{which}: {o}");
        assert_eq!(o["metadata"]["uid"], created.body["metadata"]["uid"]);
        assert_eq!(o["status"]["selector"], "app=web");
    }
    // The validating webhook sees the Scales of the object as written and as it was.
    let checked = checker.reviews()[0]["request"].clone();
    assert_eq!(checked["kind"], scale_kind);
    assert_eq!(checked["object"]["spec"]["replicas"], 5);
    assert_eq!(checked["oldObject"]["spec"]["replicas"], 1);
    assert_eq!(checked["object"]["kind"], "Scale");
    assert!(parent.reviews().is_empty(), "{:?}", parent.reviews());

    // A plain update of the Deployment is not a scale write.
    let mut d = send(&s, "GET", &format!("{DEPLOYS}/web"), &Value::Null)
        .await
        .body;
    d["metadata"]["labels"] = json!({"touched": "yes"});
    let r = send(&s, "PUT", &format!("{DEPLOYS}/web"), &d).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(mutator.reviews().len(), 1);
    assert_eq!(checker.reviews().len(), 1);
    assert_eq!(parent.reviews().len(), 1);
    assert_eq!(parent.reviews()[0]["request"]["kind"]["kind"], "Deployment");
}

#[tokio::test]
async fn a_refused_scale_write_changes_nothing_and_a_dry_run_is_sent_as_one() {
    let s = server().await;
    assert_eq!(
        send(&s, "POST", DEPLOYS, &deployment("web", 1)).await.code,
        201
    );
    let guard = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            let replicas = review["request"]["object"]["spec"]["replicas"].as_i64().unwrap_or(0);
            Some(if replicas > 4 {
                response(
                    review,
                    json!({"allowed": false, "result": {"code": 403, "reason": "Forbidden", "message": "at most 4"}}),
                )
            } else {
                response(review, json!({"warnings": ["scaled"]}))
            })
        }),
    )
    .await;
    configure(
        &s,
        false,
        "limit",
        vec![entry_for(
            "limit.example.com",
            &guard,
            rule(&["UPDATE"], "apps", &["deployments/scale"]),
        )],
    )
    .await;
    let scale = |replicas: i64| {
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": replicas}})
    };
    let r = send(&s, "PUT", &format!("{DEPLOYS}/web/scale"), &scale(9)).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "Forbidden");
    assert_eq!(
        r.body["message"],
        "admission webhook \"limit.example.com\" denied the request: at most 4"
    );
    assert_eq!(
        replicas_of(&s, "web").await,
        1,
        "a refused scale writes nothing"
    );

    let r = send(
        &s,
        "PUT",
        &format!("{DEPLOYS}/web/scale?dryRun=All"),
        &scale(3),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 3);
    assert_eq!(warnings(&r), ["299 - \"scaled\""]);
    let request = &guard.reviews()[1]["request"];
    assert_eq!(request["dryRun"], true);
    assert_eq!(request["options"]["dryRun"], json!(["All"]));
    assert_eq!(replicas_of(&s, "web").await, 1, "a dry run writes nothing");

    let r = send(&s, "PUT", &format!("{DEPLOYS}/web/scale"), &scale(4)).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(replicas_of(&s, "web").await, 4);
}

#[tokio::test]
async fn a_custom_resources_scale_is_admitted_as_an_autoscaling_v1_scale() {
    let crd = common::gizmo_crd();
    let s = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(crd).expect("CRD"))
        .start()
        .await
        .expect("start");
    let gizmos = "/apis/example.com/v1/namespaces/default/gizmos";
    let g = json!({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "spec": {"count": 1}});
    assert_eq!(send(&s, "POST", gizmos, &g).await.code, 201);
    let mutator =
        patching_server(json!([{"op": "replace", "path": "/spec/replicas", "value": 2}])).await;
    configure(
        &s,
        true,
        "gizmo-scale",
        vec![entry_for(
            "gizmo-scale.example.com",
            &mutator,
            rule(&["UPDATE"], "example.com", &["gizmos/scale"]),
        )],
    )
    .await;
    let r = send(
        &s,
        "PATCH",
        &format!("{gizmos}/g/scale"),
        &json!({"spec": {"replicas": 7}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["replicas"], 2);
    let stored = send(&s, "GET", &format!("{gizmos}/g"), &Value::Null).await;
    assert_eq!(stored.body["spec"]["count"], 2);
    let request = &mutator.reviews()[0]["request"];
    assert_eq!(
        request["kind"],
        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    );
    assert_eq!(
        request["resource"],
        json!({"group": "example.com", "version": "v1", "resource": "gizmos"})
    );
    assert_eq!(request["subResource"], "scale");
    assert_eq!(request["object"]["apiVersion"], "autoscaling/v1");
    assert_eq!(request["object"]["spec"]["replicas"], 7);
    assert_eq!(request["oldObject"]["spec"]["replicas"], 1);
}

/// The status code of a GET of the pod `name` in `default`: 200 while it exists, 404 once gone.
async fn pod_code(s: &apiserver::ApiServer, name: &str) -> u16 {
    send(s, "GET", &format!("{PODS}/{name}"), &Value::Null)
        .await
        .code
}

#[tokio::test]
async fn an_eviction_is_admitted_as_a_create_of_pods_eviction() {
    let s = server().await;
    for name in ["keep", "go", "dry"] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        assert_eq!(send(&s, "POST", PODS, &pod).await.code, 201);
    }
    let guard = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(if review["request"]["name"] == "keep" {
                response(
                    review,
                    json!({"allowed": false, "result": {"message": "keep stays"}}),
                )
            } else {
                response(review, json!({}))
            })
        }),
    )
    .await;
    // A mutating webhook turns the eviction of "dry" into a dry run.
    let mutator = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(if review["request"]["name"] == "dry" {
                response(
                    review,
                    json_patch(json!([{"op": "add", "path": "/deleteOptions", "value": {"dryRun": ["All"]}}])),
                )
            } else {
                response(review, json!({}))
            })
        }),
    )
    .await;
    let deletes = allowing_server().await;
    configure(
        &s,
        true,
        "evictions",
        vec![entry_for(
            "dry.example.com",
            &mutator,
            rule(&["CREATE"], "", &["pods/eviction"]),
        )],
    )
    .await;
    configure(
        &s,
        false,
        "evictions",
        vec![
            entry_for(
                "guard.example.com",
                &guard,
                rule(&["CREATE"], "", &["pods/eviction"]),
            ),
            // The pod's deletion an eviction makes is not admitted (kube deletes it with
            // `ValidateAllObjectFunc`).
            entry_for(
                "deletes.example.com",
                &deletes,
                rule(&["DELETE"], "", &["pods"]),
            ),
        ],
    )
    .await;
    let evict = |name: &str| json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}});

    let r = send(&s, "POST", &format!("{PODS}/keep/eviction"), &evict("keep")).await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "admission webhook \"guard.example.com\" denied the request: keep stays"
    );
    assert_eq!(pod_code(&s, "keep").await, 200);

    let r = send(&s, "POST", &format!("{PODS}/go/eviction"), &evict("go")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(pod_code(&s, "go").await, 404);
    let request = &guard.reviews()[1]["request"];
    let eviction_kind = json!({"group": "policy", "version": "v1", "kind": "Eviction"});
    assert_eq!(request["kind"], eviction_kind);
    assert_eq!(request["requestKind"], eviction_kind);
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(request["subResource"], "eviction");
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(
        (request["name"].as_str(), request["namespace"].as_str()),
        (Some("go"), Some("default"))
    );
    assert_eq!(request["options"]["kind"], "CreateOptions");
    assert_eq!(request["object"]["apiVersion"], "policy/v1");
    assert_eq!(request["object"]["kind"], "Eviction");
    assert_eq!(request["object"]["metadata"]["name"], "go");
    assert_eq!(request["object"]["metadata"]["namespace"], "default");
    assert!(request["oldObject"].is_null());

    // The mutated Eviction is the one acted on: a dry run keeps the pod.
    let r = send(&s, "POST", &format!("{PODS}/dry/eviction"), &evict("dry")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(pod_code(&s, "dry").await, 200);
    let validated = &guard.reviews()[2]["request"];
    assert_eq!(
        validated["object"]["deleteOptions"]["dryRun"],
        json!(["All"])
    );
    assert!(deletes.reviews().is_empty(), "{:?}", deletes.reviews());
}

#[tokio::test]
async fn a_binding_is_admitted_as_a_create_of_pods_binding() {
    let s = server().await;
    for name in ["a", "b"] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        assert_eq!(send(&s, "POST", PODS, &pod).await.code, 201);
    }
    // A mutating webhook annotates the Binding: the mutated Binding is the one acted on.
    let mutator = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(response(
                review,
                json_patch(json!([{"op": "add", "path": "/metadata/annotations",
                    "value": {"mutated.example.com/by": "webhook"}}])),
            ))
        }),
    )
    .await;
    let guard = allowing_server().await;
    let rules = || {
        vec![
            rule(&["CREATE"], "", &["pods/binding"]),
            rule(&["CREATE"], "", &["bindings"]),
        ]
    };
    configure(
        &s,
        true,
        "bindings",
        vec![entry(
            "annotate.example.com",
            &mutator,
            &[],
            json!({"rules": rules()}),
        )],
    )
    .await;
    configure(
        &s,
        false,
        "bindings",
        vec![entry(
            "guard.example.com",
            &guard,
            &[],
            json!({"rules": rules()}),
        )],
    )
    .await;
    let binding = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": name}, "target": {"kind": "Node", "name": "n1"}})
    };

    let r = send(&s, "POST", &format!("{PODS}/a/binding"), &binding("a")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let pod = send(&s, "GET", &format!("{PODS}/a"), &Value::Null)
        .await
        .body;
    assert_eq!(pod["spec"]["nodeName"], "n1");
    assert_eq!(
        pod["metadata"]["annotations"],
        json!({"mutated.example.com/by": "webhook"})
    );
    let request = &guard.reviews()[0]["request"];
    let binding_kind = json!({"group": "", "version": "v1", "kind": "Binding"});
    assert_eq!(request["kind"], binding_kind);
    assert_eq!(request["requestKind"], binding_kind);
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(request["subResource"], "binding");
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(
        (request["name"].as_str(), request["namespace"].as_str()),
        (Some("a"), Some("default"))
    );
    assert_eq!(request["object"]["kind"], "Binding");
    assert_eq!(request["object"]["target"]["name"], "n1");
    assert_eq!(
        request["object"]["metadata"]["annotations"],
        json!({"mutated.example.com/by": "webhook"})
    );

    // The legacy resource: a create of `bindings`, named by the Binding.
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/bindings",
        &binding("b"),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let request = &guard.reviews()[1]["request"];
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "bindings"})
    );
    assert!(
        request.get("subResource").is_none_or(|v| v == ""),
        "{request}"
    );
    assert_eq!(request["name"], "b");
}

#[tokio::test]
async fn approval_and_ephemeral_container_writes_are_admitted_with_their_subresource() {
    let s = server().await;
    let hook = allowing_server().await;
    configure(
        &s,
        false,
        "subresources",
        vec![entry(
            "subresources.example.com",
            &hook,
            &[],
            json!({"rules": [
                rule(&["UPDATE"], "certificates.k8s.io", &["certificatesigningrequests/approval"]),
                rule(&["UPDATE"], "", &["pods/ephemeralcontainers"]),
            ]}),
        )],
    )
    .await;
    let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let created = send(&s, "POST", csrs, &json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "c"}, "spec": {"request": common::csr_request("c"), "signerName": "example.com/signer", "usages": ["client auth"]}})).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let mut csr = created.body.clone();
    csr["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "reason": "Test", "message": "ok"}]});
    let r = send(&s, "PUT", &format!("{csrs}/c/approval"), &csr).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    assert_eq!(send(&s, "POST", PODS, &pod).await.code, 201);
    let r = send(
        &s,
        "PATCH",
        &format!("{PODS}/p/ephemeralcontainers"),
        &json!({"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);

    let reviews = hook.reviews();
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    let approval = &reviews[0]["request"];
    assert_eq!(
        approval["kind"],
        json!({"group": "certificates.k8s.io", "version": "v1", "kind": "CertificateSigningRequest"})
    );
    assert_eq!(approval["subResource"], "approval");
    assert_eq!(approval["operation"], "UPDATE");
    assert_eq!(
        approval["object"]["status"]["conditions"][0]["type"],
        "Approved"
    );
    assert!(approval["oldObject"]["status"]["conditions"].is_null());
    let ephemeral = &reviews[1]["request"];
    assert_eq!(
        ephemeral["kind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(ephemeral["subResource"], "ephemeralcontainers");
    assert_eq!(
        ephemeral["object"]["spec"]["ephemeralContainers"][0]["name"],
        "dbg"
    );
}

/// The group, version and kind (or resource) an AdmissionReview names.
fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}
fn gvr(group: &str, version: &str, resource: &str) -> Value {
    json!({"group": group, "version": version, "resource": resource})
}

/// Writes through the `events.k8s.io/v1` view of core Events are requests for `events.k8s.io`
/// (kube's `RequestInfo`), and the two APIs share one storage, so kube's
/// `EquivalentResourceRegistry` makes each the other's equivalent: a rule naming either API
/// matches writes through both under the default `matchPolicy: Equivalent`, and the webhook sees
/// the object converted to the API its rule named, with `requestKind`/`requestResource` naming
/// the API the request came through; a mutating webhook's patch to that form is converted back.
/// Under `matchPolicy: Exact` a rule matches its own API only.
#[tokio::test]
async fn writes_through_either_events_api_are_admitted_for_rules_of_both() {
    let s = server().await;
    let guard = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            let object = &review["request"]["object"];
            Some(
                if object["message"] == "forbidden" || object["metadata"]["labels"]["deny"] == "yes"
                {
                    response(
                        review,
                        json!({"allowed": false, "result": {"message": "no such events"}}),
                    )
                } else {
                    response(review, json!({}))
                },
            )
        }),
    )
    .await;
    let view_seen = allowing_server().await;
    let core_exact = allowing_server().await;
    let view_exact = allowing_server().await;
    let labeller = patching_server(json!([
        {"op": "add", "path": "/metadata/labels", "value": {"seen": "yes"}}
    ]))
    .await;
    // Patches the view's field name: only a webhook shown the events.k8s.io form can.
    let rewriter = webhook_server(
        &["127.0.0.1"],
        handler(|review| {
            Some(if review["request"]["object"]["note"] == "please rewrite" {
                response(
                    review,
                    json_patch(json!([{"op": "replace", "path": "/note", "value": "rewritten"}])),
                )
            } else {
                response(review, json!({}))
            })
        }),
    )
    .await;
    let exact_entry = |name: &str, hook: &Webhook, group: &str| {
        let mut e = entry_for(
            name,
            hook,
            rule(&["CREATE", "UPDATE", "DELETE"], group, &["events"]),
        );
        e["matchPolicy"] = "Exact".into();
        e
    };
    configure(
        &s,
        true,
        "events",
        vec![
            entry_for(
                "rewrite.example.com",
                &rewriter,
                rule(&["CREATE"], "events.k8s.io", &["events"]),
            ),
            entry_for(
                "label.example.com",
                &labeller,
                rule(&["CREATE"], "", &["events"]),
            ),
        ],
    )
    .await;
    configure(
        &s,
        false,
        "events",
        vec![
            entry_for(
                "guard.example.com",
                &guard,
                rule(&["CREATE", "UPDATE", "DELETE"], "", &["events"]),
            ),
            entry_for(
                "view.example.com",
                &view_seen,
                rule(
                    &["CREATE", "UPDATE", "DELETE"],
                    "events.k8s.io",
                    &["events"],
                ),
            ),
            exact_entry("core-exact.example.com", &core_exact, ""),
            exact_entry("view-exact.example.com", &view_exact, "events.k8s.io"),
        ],
    )
    .await;

    let view = "/apis/events.k8s.io/v1/namespaces/default/events";
    let core = "/api/v1/namespaces/default/events";
    let event = |name: &str, note: &str| {
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-12-07T00:00:00.000000Z", "reportingController": "example.com/c",
            "reportingInstance": "i", "action": "Act", "reason": "Because", "type": "Normal",
            "note": note, "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}})
    };
    let last = |hook: &Webhook| hook.reviews().last().expect("called")["request"].clone();

    // A create through the view.
    let made = send(&s, "POST", view, &event("e", "please rewrite")).await;
    assert_eq!(made.code, 201, "{}", made.body);
    assert_eq!(
        made.body["note"], "rewritten",
        "the patch to the view's form, converted back: {}",
        made.body
    );
    assert_eq!(made.body["metadata"]["labels"]["seen"], "yes");
    let stored = send(&s, "GET", &format!("{core}/e"), &Value::Null).await;
    assert_eq!(stored.body["message"], "rewritten");
    let asked = &rewriter.reviews()[0]["request"];
    assert_eq!(asked["kind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["requestKind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["object"]["apiVersion"], "events.k8s.io/v1");
    assert_eq!(asked["object"]["regarding"]["name"], "p");
    let asked = &labeller.reviews()[0]["request"];
    assert_eq!(asked["kind"], gvk("", "v1", "Event"), "{asked}");
    assert_eq!(asked["resource"], gvr("", "v1", "events"));
    assert_eq!(asked["requestKind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(
        asked["requestResource"],
        gvr("events.k8s.io", "v1", "events")
    );
    assert_eq!(asked["object"]["apiVersion"], "v1");
    assert_eq!(
        asked["object"]["message"], "rewritten",
        "the core form, after the earlier webhook's patch"
    );
    assert!(asked["object"].get("note").is_none(), "{asked}");
    let asked = last(&guard);
    assert_eq!(asked["kind"], gvk("", "v1", "Event"));
    assert_eq!(asked["requestKind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["object"]["involvedObject"]["name"], "p");
    let asked = last(&view_seen);
    assert_eq!(asked["kind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["resource"], gvr("events.k8s.io", "v1", "events"));
    assert_eq!(
        asked["requestResource"],
        gvr("events.k8s.io", "v1", "events")
    );
    assert_eq!(asked["object"]["note"], "rewritten");
    assert_eq!(asked["object"]["metadata"]["labels"]["seen"], "yes");
    assert_eq!(view_exact.reviews().len(), 1, "Exact: its own API");
    assert!(core_exact.reviews().is_empty(), "Exact: not the other API");

    // A create through the core API.
    let plain = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "c"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Because", "message": "please rewrite", "type": "Normal",
        "source": {"component": "example.com/c"}});
    let made = send(&s, "POST", core, &plain).await;
    assert_eq!(made.code, 201, "{}", made.body);
    assert_eq!(
        made.body["message"], "rewritten",
        "a rule naming only events.k8s.io matches core writes: {}",
        made.body
    );
    let asked = &rewriter.reviews()[1]["request"];
    assert_eq!(asked["kind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["resource"], gvr("events.k8s.io", "v1", "events"));
    assert_eq!(asked["requestKind"], gvk("", "v1", "Event"));
    assert_eq!(asked["requestResource"], gvr("", "v1", "events"));
    assert_eq!(asked["object"]["note"], "please rewrite");
    assert_eq!(
        asked["object"]["deprecatedSource"]["component"],
        "example.com/c"
    );
    let asked = last(&view_seen);
    assert_eq!(asked["requestKind"], gvk("", "v1", "Event"));
    assert_eq!(asked["object"]["note"], "rewritten");
    let asked = last(&guard);
    assert_eq!(asked["kind"], gvk("", "v1", "Event"));
    assert_eq!(asked["requestKind"], gvk("", "v1", "Event"));
    assert_eq!(core_exact.reviews().len(), 1);
    assert_eq!(view_exact.reviews().len(), 1);

    // Refusals of the webhook of the core rule stop writes through the view.
    let refused = send(&s, "POST", view, &event("f", "forbidden")).await;
    // kube's `ToStatusErr`: a refusal without a code of at least 400 is a 400.
    assert_eq!(refused.code, 400, "{}", refused.body);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("no such events"),
        "{}",
        refused.body
    );
    let patched = raw(
        &s,
        "PATCH",
        &format!("{view}/e"),
        Some("application/merge-patch+json"),
        r#"{"metadata": {"labels": {"deny": "yes"}}}"#,
    )
    .await;
    assert_eq!(
        patched.code, 400,
        "a patch through the view too: {}",
        patched.body
    );
    let asked = last(&guard);
    assert_eq!(asked["operation"], "UPDATE");
    assert_eq!(asked["requestKind"], gvk("events.k8s.io", "v1", "Event"));
    assert_eq!(asked["oldObject"]["message"], "rewritten", "the core form");
    let kept = send(&s, "GET", &format!("{core}/e"), &Value::Null).await;
    assert_eq!(
        kept.body["metadata"]["labels"],
        json!({"seen": "yes"}),
        "nothing refused was stored"
    );

    // A delete through the view.
    let deleted = send(&s, "DELETE", &format!("{view}/c"), &Value::Null).await;
    assert_eq!(deleted.code, 200, "{}", deleted.body);
    let asked = last(&guard);
    assert_eq!(asked["operation"], "DELETE");
    assert_eq!(asked["resource"], gvr("", "v1", "events"));
    assert_eq!(
        asked["requestResource"],
        gvr("events.k8s.io", "v1", "events")
    );
    assert_eq!(asked["oldObject"]["apiVersion"], "v1");
    assert_eq!(asked["oldObject"]["message"], "rewritten");
    let asked = last(&view_seen);
    assert_eq!(asked["operation"], "DELETE");
    assert_eq!(asked["oldObject"]["apiVersion"], "events.k8s.io/v1");
    assert_eq!(asked["oldObject"]["note"], "rewritten");
    assert_eq!(
        view_exact.reviews().len(),
        4,
        "every request through the view (two creates, a patch, a delete)"
    );
    assert_eq!(core_exact.reviews().len(), 1, "the core create only");
}
