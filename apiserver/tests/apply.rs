//! Server-side apply (`application/apply-patch+yaml`) and `metadata.managedFields`: apply-create,
//! idempotent re-apply, pruning of dropped fields, shared ownership, conflicts and `force`,
//! `/status`, associative lists of built-in and custom types, ownership of ordinary writes, and
//! the exact Status of every rejected request. A kube-runtime Controller applying status closes it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{WAIT, eventually, raw, send, widget_crd};
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";
const GADGETS: &str = "/apis/example.com/v1/namespaces/default/gadgets";
const APPLY: &str = "application/apply-patch+yaml";

/// A CRD whose schema declares every list and map type server-side apply distinguishes.
fn gadget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object",
                        "properties": {
                            "ports": {
                                "type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["name", "protocol"],
                                "items": {"type": "object", "required": ["name"], "properties": {
                                    "name": {"type": "string"},
                                    "protocol": {"type": "string", "default": "TCP"},
                                    "port": {"type": "integer"}}}
                            },
                            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                            "args": {"type": "array", "items": {"type": "string"}},
                            "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                         "additionalProperties": {"type": "string"}},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
                        }
                    }}
                }}
            }]
        }
    })
}

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .crd(serde_json::from_value(widget_crd()).expect("widget CRD"))
        .crd(serde_json::from_value(gadget_crd()).expect("gadget CRD"))
        .start()
        .await
        .expect("start")
}

/// A raw request with a User-Agent (the manager of writes without `fieldManager`).
async fn request(
    s: &apiserver::ApiServer,
    method: &str,
    path: &str,
    content_type: &str,
    user_agent: Option<&str>,
    body: impl Into<Bytes>,
) -> (u16, Value) {
    let (mut sender, addr) = common::connect(s).await;
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", &addr)
        .header("authorization", format!("Bearer {}", s.token()))
        .header("content-type", content_type);
    if let Some(ua) = user_agent {
        req = req.header("user-agent", ua);
    }
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(req.body(Full::new(body.into())).expect("request")),
    )
    .await
    .expect("answer in time")
    .expect("response");
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Applies `config` (JSON, which is YAML) as `manager`; `extra` is more query (`&force=true`).
async fn apply(
    s: &apiserver::ApiServer,
    path: &str,
    manager: &str,
    extra: &str,
    config: &Value,
) -> (u16, Value) {
    let r = common::apply(s, path, manager, extra, config).await;
    (r.code, r.body)
}

fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason});
    if let Some(d) = details {
        s["details"] = d;
    }
    s["code"] = code.into();
    s
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_owned()
}

/// managedFields without the times (they are "now"), checking each time is RFC 3339.
fn fields(obj: &Value) -> Value {
    let mut mf = obj["metadata"]["managedFields"].clone();
    for e in mf.as_array_mut().into_iter().flatten() {
        // An applier whose apply changed nothing has no time, as in kube.
        let Some(time) = e.as_object_mut().and_then(|m| m.remove("time")) else {
            continue;
        };
        assert!(
            time.as_str()
                .expect("string")
                .parse::<jiff::Timestamp>()
                .is_ok(),
            "time {time}"
        );
    }
    mf
}

/// The managedFields entry of `manager` (entries of one second are ordered by manager name).
fn entry(obj: &Value, manager: &str) -> Value {
    fields(obj)
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager)
        .cloned()
        .unwrap_or(Value::Null)
}

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

#[tokio::test]
async fn rejected_applies_answer_kubes_exact_status() {
    let s = server().await;
    let (code, _) = apply(
        &s,
        &format!("{CMS}/owned"),
        "a",
        "",
        &cm("owned", json!({"k": "a"})),
    )
    .await;
    assert_eq!(code, 201);
    let bad_request = |m: &str| status(400, "BadRequest", m, None);
    let cases: Vec<(&str, String, &str, String, Value)> = vec![
        (
            "missing fieldManager",
            format!("{CMS}/x"),
            "",
            cm("x", json!({})).to_string(),
            status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                Some(json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                    {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]})),
            ),
        ),
        (
            "fieldManager too long",
            format!("{CMS}/x"),
            "fieldManager=mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
            cm("x", json!({})).to_string(),
            status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes",
                Some(json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                    {"reason": "FieldValueTooLong", "message": "Too long: may not be more than 128 bytes", "field": "fieldManager"}]})),
            ),
        ),
        (
            "another kind than the URL's",
            format!("{CMS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).to_string(),
            bad_request("invalid object type: /v1, Kind=Secret"),
        ),
        (
            "another apiVersion than the URL's",
            format!("{DEPLOYS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "x"}}).to_string(),
            bad_request("invalid object type: apps/v2, Kind=Deployment"),
        ),
        (
            "no type at all",
            format!("{CMS}/x"),
            "fieldManager=a",
            String::new(),
            bad_request("invalid object type: /, Kind="),
        ),
        (
            "another name than the URL's",
            format!("{CMS}/x"),
            "fieldManager=a",
            cm("other", json!({})).to_string(),
            bad_request("the name of the object (other) does not match the name on the URL (x)"),
        ),
        (
            "another namespace than the URL's",
            format!("{CMS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}}).to_string(),
            bad_request("the namespace of the provided object does not match the namespace sent on the request"),
        ),
        (
            "managedFields in the configuration",
            format!("{CMS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "managedFields": [{"manager": "a"}]}}).to_string(),
            bad_request("metadata.managedFields must be nil"),
        ),
        (
            "a list item without its key",
            format!("{DEPLOYS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                   "spec": {"template": {"spec": {"containers": [{"image": "i"}]}}}}).to_string(),
            bad_request("failed to create typed patch object: .spec.template.spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"),
        ),
        (
            "a duplicate list key",
            format!("{DEPLOYS}/x"),
            "fieldManager=a",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                   "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}}).to_string(),
            bad_request("failed to create typed patch object: .spec.template.spec.containers: duplicate entries for key [name=\"a\"]"),
        ),
        (
            "a conflict with an applier",
            format!("{CMS}/owned"),
            "fieldManager=b",
            cm("owned", json!({"k": "b"})).to_string(),
            status(409, "Conflict", "Apply failed with 1 conflict: conflict with \"a\": .data.k",
                   Some(json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"a\"", "field": ".data.k"}]}))),
        ),
        (
            "/status of an object that does not exist",
            format!("{WIDGETS}/none/status"),
            "fieldManager=a",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "none"}, "status": {"phase": "x"}}).to_string(),
            status(404, "NotFound", "widgets.example.com \"none\" not found",
                   Some(json!({"name": "none", "group": "example.com", "kind": "widgets"}))),
        ),
        (
            "a custom resource the schema rejects",
            format!("{WIDGETS}/big"),
            "fieldManager=a",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "big"}, "spec": {"size": 11}}).to_string(),
            status(422, "Invalid", "Widget.example.com \"big\" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
                   Some(json!({"name": "big", "group": "example.com", "kind": "Widget", "causes": [
                       {"reason": "FieldValueInvalid", "message": "Invalid value: 11: spec.size in body should be less than or equal to 10", "field": "spec.size"}]}))),
        ),
        (
            "force=maybe",
            format!("{CMS}/x"),
            "fieldManager=a&force=maybe",
            cm("x", json!({})).to_string(),
            bad_request("invalid force \"maybe\": must be true or false"),
        ),
    ];
    let before = s.resource_version();
    for (name, path, query, body, want) in cases {
        let r = raw(&s, "PATCH", &format!("{path}?{query}"), Some(APPLY), body).await;
        assert_eq!(
            r.code as u64,
            want["code"].as_u64().unwrap(),
            "{name}: {}",
            r.body
        );
        assert_eq!(r.body, want, "{name}");
    }
    // Malformed YAML: the decoder's words follow kube's prefix.
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/x?fieldManager=a"),
        Some(APPLY),
        "a: [unclosed",
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["reason"], "BadRequest");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("error decoding patch: "),
        "{}",
        r.body
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/x?fieldManager=a"),
        Some(APPLY),
        "[1, 2]",
    )
    .await;
    assert_eq!(
        r.body,
        status(
            400,
            "BadRequest",
            "error decoding patch: an apply configuration must be an object, not [1,2]",
            None
        )
    );
    // `force` belongs to apply patches only; other options name their own kind.
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/owned?force=true"),
        Some("application/merge-patch+json"),
        "{}",
    )
    .await;
    assert_eq!(
        r.body,
        status(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
            Some(
                json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                   {"reason": "FieldValueForbidden", "message": "Forbidden: may not be specified for non-apply patch", "field": "force"}]})
            )
        )
    );
    let r = raw(
        &s,
        "POST",
        &format!("{CMS}?fieldManager=a%07b"),
        Some("application/json"),
        cm("y", json!({})).to_string(),
    )
    .await;
    assert_eq!(
        r.body,
        status(
            422,
            "Invalid",
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Invalid value: \"a\\u0007b\": invalid character U+0007 (at position 1)",
            Some(
                json!({"group": "meta.k8s.io", "kind": "CreateOptions", "causes": [
                   {"reason": "FieldValueInvalid", "message": "Invalid value: \"a\\u0007b\": invalid character U+0007 (at position 1)", "field": "fieldManager"}]})
            )
        )
    );
    // CBOR apply is not served (kube-apiserver's CBOR feature gate is off by default).
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/owned?fieldManager=a"),
        Some("application/apply-patch+cbor"),
        "",
    )
    .await;
    assert_eq!(r.code, 415, "{}", r.body);
    assert_eq!(
        s.resource_version(),
        before,
        "rejected applies change nothing"
    );
}

#[tokio::test]
async fn apply_create_reapply_prune_share_conflict_force() {
    let s = server().await;
    let path = format!("{CMS}/c");
    // Apply-create: 201, the applier owns exactly what it sent.
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "c", "labels": {"app": "x"}}, "data": {"k": "1", "j": "2"}});
    let (code, created) = apply(&s, &path, "a", "", &config).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["data"], json!({"k": "1", "j": "2"}));
    assert_eq!(
        fields(&created),
        json!([{"manager": "a", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:j": {}, "f:k": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}}])
    );
    // Re-applying the same configuration is a no-op: same resourceVersion, same managedFields.
    let (code, again) = apply(&s, &path, "a", "", &config).await;
    assert_eq!(code, 200);
    assert_eq!(rv(&again), rv(&created));
    assert_eq!(
        again["metadata"]["managedFields"],
        created["metadata"]["managedFields"]
    );

    // Another manager applying the same value shares it; no conflict.
    let (code, shared) = apply(&s, &path, "b", "", &cm("c", json!({"j": "2"}))).await;
    assert_eq!(code, 200, "{shared}");
    // b's apply changed nothing, so its entry has no time and sorts first (kube sorts by time).
    assert_eq!(
        fields(&shared),
        json!([{"manager": "b", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:j": {}}}},
               {"manager": "a", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:j": {}, "f:k": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}}])
    );
    assert_eq!(shared["metadata"]["managedFields"][0].get("time"), None);

    // `a` stops applying `j` (still b's) and the label (nobody's): the label goes, `j` stays.
    let (code, pruned) = apply(&s, &path, "a", "", &cm("c", json!({"k": "1"}))).await;
    assert_eq!(code, 200, "{pruned}");
    assert_eq!(pruned["data"], json!({"k": "1", "j": "2"}));
    assert_eq!(
        pruned["metadata"]
            .get("labels")
            .cloned()
            .unwrap_or(json!({})),
        json!({})
    );
    assert_ne!(rv(&pruned), rv(&shared));

    // A different value for a field `a` owns: 409 naming a and the field.
    let (code, conflict) = apply(&s, &path, "b", "", &cm("c", json!({"j": "2", "k": "9"}))).await;
    assert_eq!(
        (code, conflict),
        (
            409,
            status(
                409,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"a\": .data.k",
                Some(
                    json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"a\"", "field": ".data.k"}]})
                )
            )
        )
    );
    // force=true takes it over.
    let (code, forced) = apply(
        &s,
        &path,
        "b",
        "&force=true",
        &cm("c", json!({"j": "2", "k": "9"})),
    )
    .await;
    assert_eq!(code, 200, "{forced}");
    assert_eq!(forced["data"]["k"], "9");
    assert_eq!(
        entry(&forced, "a"),
        Value::Null,
        "a owned only k, now taken"
    );
    assert_eq!(
        entry(&forced, "b")["fieldsV1"],
        json!({"f:data": {"f:j": {}, "f:k": {}}})
    );

    // `b` drops `k`: removed, nobody owns it any more.
    let (_, dropped) = apply(&s, &path, "b", "", &cm("c", json!({"j": "2"}))).await;
    assert_eq!(dropped["data"], json!({"j": "2"}));

    // dryRun=All: answered, not stored.
    let (code, dry) = apply(
        &s,
        &format!("{CMS}/dry"),
        "a",
        "&dryRun=All",
        &cm("dry", json!({"x": "y"})),
    )
    .await;
    assert_eq!(code, 201, "{dry}");
    assert_eq!(dry["data"]["x"], "y");
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/dry"), &Value::Null)
            .await
            .code,
        404
    );
    // ... and on an existing object: the answer has the change, the store does not.
    let before_rv = s.resource_version();
    let (code, dry) = apply(
        &s,
        &path,
        "b",
        "&dryRun=All",
        &cm("c", json!({"j": "changed"})),
    )
    .await;
    assert_eq!(code, 200, "{dry}");
    assert_eq!(dry["data"]["j"], "changed");
    assert_eq!(s.resource_version(), before_rv);
    let stored = send(&s, "GET", &path, &Value::Null).await.body;
    assert_eq!(stored["data"], json!({"j": "2"}));

    // YAML proper (kubectl sends YAML).
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\ndata:\n  a: \"1\"\n";
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/yml?fieldManager=a"),
        Some(APPLY),
        yaml,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["data"], json!({"a": "1"}));
}

#[tokio::test]
async fn ordinary_writes_record_update_managers() {
    let s = server().await;
    // POST with fieldManager.
    let r = raw(
        &s,
        "POST",
        &format!("{CMS}?fieldManager=creator"),
        Some("application/json"),
        cm("u", json!({"k": "1"})).to_string(),
    )
    .await;
    assert_eq!(r.code, 201);
    assert_eq!(
        fields(&r.body),
        json!([{"manager": "creator", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:k": {}}}}])
    );
    // PUT without fieldManager: the User-Agent's product names the manager.
    let mut body = r.body.clone();
    body["data"]["j"] = "2".into();
    let (code, updated) = request(
        &s,
        "PUT",
        &format!("{CMS}/u"),
        "application/json",
        Some("my-tool/1.2 (linux)"),
        body.to_string(),
    )
    .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(
        fields(&updated),
        json!([{"manager": "creator", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:k": {}}}},
               {"manager": "my-tool", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:j": {}}}}])
    );
    // A merge patch changing k takes it from creator (updates never conflict).
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/u?fieldManager=patcher"),
        Some("application/merge-patch+json"),
        json!({"data": {"k": "3"}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        entry(&r.body, "creator")["fieldsV1"],
        json!({"f:data": {}}),
        "creator keeps only the map it created"
    );
    assert_eq!(
        entry(&r.body, "patcher")["fieldsV1"],
        json!({"f:data": {"f:k": {}}})
    );
    // A no-op patch changes nothing (no new resourceVersion, no new entry).
    let before = rv(&r.body);
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/u?fieldManager=other"),
        Some("application/merge-patch+json"),
        json!({"data": {"k": "3"}}).to_string(),
    )
    .await;
    assert_eq!(rv(&r.body), before);
    assert_eq!(fields(&r.body).as_array().unwrap().len(), 3);
    // An apply changing a field an Update manager owns conflicts, naming it like kube does.
    let (code, c) = apply(
        &s,
        &format!("{CMS}/u"),
        "applier",
        "",
        &cm("u", json!({"k": "4"})),
    )
    .await;
    assert_eq!(
        (code, c),
        (
            409,
            status(
                409,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"patcher\" using v1: .data.k",
                Some(
                    json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"patcher\" using v1", "field": ".data.k"}]})
                )
            )
        )
    );

    // Clearing managedFields with [{}]; later updates are not tracked until the next apply.
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/u?fieldManager=patcher"),
        Some("application/merge-patch+json"),
        json!({"metadata": {"managedFields": [{}]}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.body["metadata"].get("managedFields"), None, "{}", r.body);
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/u?fieldManager=patcher"),
        Some("application/merge-patch+json"),
        json!({"data": {"z": "1"}}).to_string(),
    )
    .await;
    assert_eq!(r.body["metadata"].get("managedFields"), None);
    // The first apply then finds everything owned by "before-first-apply".
    let (code, c) = apply(
        &s,
        &format!("{CMS}/u"),
        "applier",
        "",
        &cm("u", json!({"z": "2"})),
    )
    .await;
    assert_eq!(code, 409, "{c}");
    assert_eq!(
        c["message"],
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.z"
    );

    // Neither fieldManager nor User-Agent (kube-rs sends none): the entry has no manager,
    // as Go's omitempty writes it.
    let r = raw(
        &s,
        "POST",
        CMS,
        Some("application/json"),
        cm("anon", json!({"a": "1"})).to_string(),
    )
    .await;
    assert_eq!(
        fields(&r.body),
        json!([{"operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}])
    );

    // A Secret's stringData is folded into data before its fields are recorded.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"pw": "x"}});
    let r = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/secrets?fieldManager=creator",
        Some("application/json"),
        secret.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        entry(&r.body, "creator")["fieldsV1"],
        // `type` was defaulted (Opaque) before tracking, so the creator owns it, as in kube.
        json!({"f:data": {".": {}, "f:pw": {}}, "f:type": {}})
    );

    // Status writes of a custom resource: subresource "status", spec untouched.
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    let r = raw(
        &s,
        "POST",
        &format!("{WIDGETS}?fieldManager=maker"),
        Some("application/json"),
        w.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        fields(&r.body),
        json!([{"manager": "maker", "operation": "Update", "apiVersion": "example.com/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {".": {}, "f:color": {}, "f:size": {}}}}])
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w/status?fieldManager=ctrl"),
        Some("application/merge-patch+json"),
        json!({"status": {"phase": "Ready"}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        entry(&r.body, "ctrl"),
        json!({"manager": "ctrl", "operation": "Update", "apiVersion": "example.com/v1", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:status": {".": {}, "f:phase": {}}}, "subresource": "status"})
    );
}

#[tokio::test]
async fn a_stale_resource_version_on_a_status_apply_is_a_conflict() {
    let s = server().await;
    let w = |rv: Option<&str>, phase: &str| {
        let mut meta = json!({"name": "rv"});
        if let Some(rv) = rv {
            meta["resourceVersion"] = rv.into();
        }
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta,
               "spec": {"size": 1}, "status": {"phase": phase}})
    };
    let (code, created) = apply(&s, &format!("{WIDGETS}/rv"), "owner", "", &w(None, "")).await;
    assert_eq!(code, 201, "{created}");
    let current = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, st) = apply(
        &s,
        &format!("{WIDGETS}/rv/status"),
        "ctrl",
        "",
        &w(Some(&current), "Ready"),
    )
    .await;
    assert_eq!(code, 200, "the current resourceVersion is accepted: {st}");
    // `current` is stale now: kube answers 409 and writes nothing.
    let (code, stale) = apply(
        &s,
        &format!("{WIDGETS}/rv/status"),
        "ctrl",
        "",
        &w(Some(&current), "Failed"),
    )
    .await;
    assert_eq!(code, 409, "{stale}");
    assert_eq!(stale["reason"], "Conflict", "{stale}");
    let now = send(&s, "GET", &format!("{WIDGETS}/rv"), &Value::Null)
        .await
        .body;
    assert_eq!(
        now["status"]["phase"], "Ready",
        "the stale apply wrote nothing"
    );
}

#[tokio::test]
async fn apply_on_status_and_status_ignored_on_the_main_resource() {
    let s = server().await;
    let w = |spec: Value, status: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
               "spec": spec, "status": status})
    };
    // The main resource ignores status (the type has a status subresource).
    let (code, created) = apply(
        &s,
        &format!("{WIDGETS}/w"),
        "owner",
        "",
        &w(json!({"size": 2}), json!({"phase": "Bogus"})),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created.get("status"), None);
    assert_eq!(
        created["spec"],
        json!({"size": 2, "color": "red"}),
        "schema defaults still apply"
    );
    assert_eq!(
        fields(&created),
        json!([{"manager": "owner", "operation": "Apply", "apiVersion": "example.com/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:size": {}}}}])
    );
    // /status writes status only: the spec in the configuration is ignored.
    let (code, st) = apply(
        &s,
        &format!("{WIDGETS}/w/status"),
        "ctrl",
        "",
        &w(json!({"size": 9}), json!({"phase": "Ready"})),
    )
    .await;
    assert_eq!(code, 200, "{st}");
    assert_eq!(st["spec"], json!({"size": 2, "color": "red"}));
    assert_eq!(st["status"], json!({"phase": "Ready"}));
    assert_eq!(st["metadata"]["generation"], 1);
    assert_eq!(
        entry(&st, "ctrl"),
        json!({"manager": "ctrl", "operation": "Apply", "apiVersion": "example.com/v1", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:status": {"f:phase": {}}}, "subresource": "status"})
    );
    // The status applier owns its fields: another status applier conflicts, naming the subresource.
    let (code, c) = apply(
        &s,
        &format!("{WIDGETS}/w/status"),
        "other",
        "",
        &w(json!({}), json!({"phase": "Failed"})),
    )
    .await;
    assert_eq!(
        (code, c),
        (
            409,
            status(
                409,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"ctrl\" with subresource \"status\": .status.phase",
                Some(
                    json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"ctrl\" with subresource \"status\"", "field": ".status.phase"}]})
                )
            )
        )
    );
    // Dropping a status field the status applier alone owned removes it.
    let (code, st) = apply(
        &s,
        &format!("{WIDGETS}/w/status"),
        "ctrl",
        "",
        &w(json!({}), json!({"observedGeneration": 1})),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(st["status"], json!({"observedGeneration": 1}));
    assert_eq!(st["spec"], json!({"size": 2, "color": "red"}));
}

#[tokio::test]
async fn associative_lists_merge_by_key() {
    let s = server().await;
    let deploy = |containers: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"selector": {"matchLabels": {"app": "d"}},
                        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": containers}}}})
    };
    let path = format!("{DEPLOYS}/d");
    let (code, created) = apply(
        &s,
        &path,
        "a",
        "",
        &deploy(json!([{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}])),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    // kube's types: the selector is an atomic struct, container ports are keyed by port and
    // (defaulted) protocol.
    assert_eq!(
        entry(&created, "a")["fieldsV1"],
        json!({"f:spec": {"f:selector": {}, "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}})
    );
    // Another manager adds a container: both stay.
    let side = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                      "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:1"}]}}}});
    let (code, both) = apply(&s, &path, "b", "", &side).await;
    assert_eq!(code, 200, "{both}");
    let names = |d: &Value| -> Vec<String> {
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&both), ["app", "side"]);
    assert_eq!(
        entry(&both, "b")["fieldsV1"],
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"side\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    // a changes its container's image; side is untouched.
    let (code, changed) = apply(
        &s,
        &path,
        "a",
        "",
        &deploy(json!([{"name": "app", "image": "app:2"}])),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(names(&changed), ["app", "side"]);
    assert_eq!(
        changed["spec"]["template"]["spec"]["containers"][0]["image"],
        "app:2"
    );
    assert_eq!(
        changed["spec"]["template"]["spec"]["containers"][1]["image"],
        "side:1"
    );
    assert_eq!(changed["metadata"]["generation"], 3);
    // b changing a's image conflicts on the item's field.
    let (code, c) = apply(&s, &path, "b", "", &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:1"}, {"name": "app", "image": "app:3"}]}}}})).await;
    assert_eq!(code, 409);
    assert_eq!(
        c["message"],
        "Apply failed with 1 conflict: conflict with \"a\": .spec.template.spec.containers[name=\"app\"].image"
    );
    // b drops its container: removed; a's stays.
    let (_, gone) = apply(
        &s,
        &path,
        "b",
        "",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}),
    )
    .await;
    assert_eq!(names(&gone), ["app"]);

    // A custom resource: list-map with two keys (one defaulted), a set, an atomic list, an
    // atomic map and a granular map.
    let gadget = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": spec});
    let gpath = format!("{GADGETS}/g");
    let (code, g) = apply(
        &s,
        &gpath,
        "a",
        "",
        &gadget(json!({
        "ports": [{"name": "http", "port": 80}], "tags": ["x"], "args": ["1"],
        "selector": {"app": "g"}, "labels": {"a": "1"}})),
    )
    .await;
    assert_eq!(code, 201, "{g}");
    assert_eq!(
        entry(&g, "a")["fieldsV1"],
        json!({"f:spec": {"f:args": {}, "f:labels": {"f:a": {}},
                          "f:ports": {"k:{\"name\":\"http\",\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}},
                          "f:selector": {}, "f:tags": {"v:\"x\"": {}}}})
    );
    let (code, g) = apply(&s, &gpath, "b", "", &gadget(json!({
        "ports": [{"name": "http", "protocol": "UDP", "port": 81}], "tags": ["y"], "labels": {"b": "2"}}))).await;
    assert_eq!(code, 200, "{g}");
    assert_eq!(
        g["spec"],
        json!({"ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "http", "protocol": "UDP", "port": 81}],
               "tags": ["x", "y"], "args": ["1"], "selector": {"app": "g"}, "labels": {"a": "1", "b": "2"}})
    );
    // Atomic list and atomic map are owned whole: changing them conflicts.
    let (code, c) = apply(
        &s,
        &gpath,
        "b",
        "",
        &gadget(json!({"args": ["2"], "selector": {"app": "g", "tier": "x"}})),
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(
        c["message"],
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.args\n- .spec.selector"
    );
}

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed: {0}")]
struct ReconcileError(#[from] kube::Error);

/// Applies status as field manager "widget-controller" (kube's recommended status write).
async fn reconcile(
    w: Arc<DynamicObject>,
    api: Arc<Api<DynamicObject>>,
) -> Result<Action, ReconcileError> {
    let generation = w.metadata.generation;
    if w.data["status"]["observedGeneration"].as_i64() == generation {
        return Ok(Action::await_change());
    }
    let status = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                        "status": {"phase": "Ready", "observedGeneration": generation}});
    api.patch_status(
        &w.name_any(),
        &PatchParams::apply("widget-controller"),
        &Patch::Apply(status),
    )
    .await?;
    Ok(Action::await_change())
}

#[tokio::test]
async fn a_controller_applies_status_with_kube_rs() {
    let s = server().await;
    let client = s.client().expect("client");
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    // The spec by server-side apply too, through kube::Api.
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}});
    api.patch("w", &PatchParams::apply("tester"), &Patch::Apply(&w))
        .await
        .expect("apply-create through kube::Api");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let controller = tokio::spawn(
        Controller::new_with(api.clone(), watcher::Config::default(), ar.clone())
            .graceful_shutdown_on(async move { stop.cancelled().await })
            .run(
                reconcile,
                |_, _: &ReconcileError, _| Action::requeue(Duration::from_millis(50)),
                Arc::new(api.clone()),
            )
            .for_each(|_| async {}),
    );
    let done = eventually("status applied", || {
        let api = api.clone();
        async move {
            let w = api.get("w").await.ok()?;
            (w.data["status"]["observedGeneration"] == 1).then_some(w)
        }
    })
    .await;
    assert_eq!(done.data["status"]["phase"], "Ready");
    let managers: Vec<(String, String, String)> = done
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.manager.unwrap_or_default(),
                e.operation.unwrap_or_default(),
                e.subresource.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        [
            ("tester".into(), "Apply".into(), String::new()),
            ("widget-controller".into(), "Apply".into(), "status".into())
        ]
    );
    // A spec change by apply bumps the generation; the controller applies status again.
    api.patch("w", &PatchParams::apply("tester"), &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}})))
        .await
        .expect("apply spec change");
    eventually("observedGeneration 2", || {
        let api = api.clone();
        async move { (api.get("w").await.ok()?.data["status"]["observedGeneration"] == 2).then_some(()) }
    })
    .await;
    // A conflicting apply through kube::Api surfaces kube's 409.
    let err = api
        .patch("w", &PatchParams::apply("intruder"), &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 4}})))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(
                s.message,
                "Apply failed with 1 conflict: conflict with \"tester\": .spec.size"
            );
        }
        other => panic!("expected a 409 Status, got {other}"),
    }
    let forced = api
        .patch("w", &PatchParams::apply("intruder").force(), &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 4}})))
        .await
        .expect("forced apply");
    assert_eq!(forced.data["spec"]["size"], 4);
    shutdown.cancel();
    tokio::time::timeout(WAIT, controller)
        .await
        .expect("controller stops")
        .expect("no panic");
}

#[tokio::test]
async fn deeply_nested_apply_bodies_are_rejected_not_fatal() {
    let s = server().await;
    // Deep nesting must end in a 4xx from the decoder's own limits, never a stack overflow.
    for depth in [1_000usize, 100_000] {
        for body in [
            format!("a: {}{}", "[".repeat(depth), "]".repeat(depth)),
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
        ] {
            let r = raw(
                &s,
                "PATCH",
                &format!("{CMS}/deep?fieldManager=a"),
                Some(APPLY),
                body,
            )
            .await;
            assert!(
                (400..500).contains(&r.code),
                "depth {depth}: {} {}",
                r.code,
                r.body
            );
        }
    }
    // A nesting the decoder accepts still merges and records fields without trouble.
    let mut data = json!("leaf");
    for _ in 0..60 {
        data = json!({"x": data});
    }
    let (code, body) = apply(&s, &format!("{GADGETS}/deep"), "a", "",
        &json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "deep", "annotations": {"a": "b"}}, "spec": {"labels": {"k": "v"}}, "extra": data})).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn duplicate_keys_follow_field_validation() {
    let s = server().await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\ndata: {k: '1', k: '2'}\n";
    let path = format!("{CMS}/dup?fieldManager=a");
    // Strict (what kubectl sends): 400, nothing stored.
    let r = raw(
        &s,
        "PATCH",
        &format!("{path}&fieldValidation=Strict"),
        Some(APPLY),
        body,
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].clone()),
        (400, json!("BadRequest")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("error strict decoding patch: "),
        "{}",
        r.body
    );
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/dup"), &Value::Null)
            .await
            .code,
        404
    );
    // Warn (the default): the last value wins, with a Warning header.
    let r = raw(&s, "PATCH", &path, Some(APPLY), body).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["data"], json!({"k": "2"}));
    assert!(r.headers.get("warning").is_some(), "{:?}", r.headers);
    // Ignore: no warning.
    let r = raw(
        &s,
        "PATCH",
        &format!("{path}&fieldValidation=Ignore"),
        Some(APPLY),
        body,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(r.headers.get("warning").is_none(), "{:?}", r.headers);
}

#[tokio::test]
async fn kubectl_server_side_apply_keeps_the_last_applied_annotation_in_step() {
    let s = server().await;
    const LAST: &str = "kubectl.kubernetes.io/last-applied-configuration";
    // As kubectl's client-side apply leaves it.
    let csa = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "la", "annotations": {LAST: "{\"old\":true}\n"}}, "data": {"k": "1"}});
    let r = raw(
        &s,
        "POST",
        &format!("{CMS}?fieldManager=kubectl-client-side-apply"),
        Some("application/json"),
        csa.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Another manager's apply leaves the annotation alone.
    let (code, other) = apply(
        &s,
        &format!("{CMS}/la"),
        "other",
        "",
        &cm("la", json!({"j": "2"})),
    )
    .await;
    assert_eq!(code, 200, "{other}");
    assert_eq!(other["metadata"]["annotations"][LAST], "{\"old\":true}\n");
    // `kubectl apply --server-side` (manager "kubectl") writes what it applied, keys sorted.
    let config = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "la"}, "data": {"z": "9", "a": "0"}});
    let (code, applied) = apply(&s, &format!("{CMS}/la"), "kubectl", "", &config).await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(
        applied["metadata"]["annotations"][LAST],
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"0\",\"z\":\"9\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"la\"}}\n"
    );
    // Without the annotation there is nothing to keep in step.
    let (code, fresh) = apply(
        &s,
        &format!("{CMS}/fresh"),
        "kubectl",
        "",
        &cm("fresh", json!({"a": "1"})),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(fresh["metadata"].get("annotations"), None);
}

#[tokio::test]
async fn kubectl_takes_over_client_side_applied_fields_without_conflicts() {
    let s = server().await;
    const LAST: &str = "kubectl.kubernetes.io/last-applied-configuration";
    // What `kubectl apply` (client-side) leaves: the annotation matches the live values.
    let last = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "csa"}, "data": {"k": "1", "j": "1"}});
    let csa = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "csa", "annotations": {LAST: format!("{last}\n")}}, "data": {"k": "1", "j": "1"}});
    let r = raw(
        &s,
        "POST",
        &format!("{CMS}?fieldManager=kubectl-client-side-apply"),
        Some("application/json"),
        csa.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Someone else changes j afterwards: its live value no longer matches the annotation.
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/csa?fieldManager=editor"),
        Some("application/merge-patch+json"),
        json!({"data": {"j": "edited"}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200);
    // Another manager changing k conflicts as usual.
    let (code, _) = apply(
        &s,
        &format!("{CMS}/csa"),
        "other",
        "",
        &cm("csa", json!({"k": "2"})),
    )
    .await;
    assert_eq!(code, 409);
    // kubectl (server-side) may take k over, but j still conflicts with its editor.
    let (code, c) = apply(
        &s,
        &format!("{CMS}/csa"),
        "kubectl",
        "",
        &cm("csa", json!({"k": "2", "j": "2"})),
    )
    .await;
    assert_eq!(
        (code, c),
        (
            409,
            status(
                409,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"editor\" using v1: .data.j",
                Some(
                    json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"editor\" using v1", "field": ".data.j"}]})
                )
            )
        )
    );
    let (code, taken) = apply(
        &s,
        &format!("{CMS}/csa"),
        "kubectl",
        "",
        &cm("csa", json!({"k": "2"})),
    )
    .await;
    assert_eq!(code, 200, "{taken}");
    assert_eq!(taken["data"], json!({"k": "2", "j": "edited"}));
    assert_eq!(
        entry(&taken, "kubectl")["fieldsV1"],
        json!({"f:data": {"f:k": {}}})
    );
    assert_eq!(
        entry(&taken, "kubectl-client-side-apply")["fieldsV1"],
        json!({"f:data": {}, "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );
}

#[tokio::test]
async fn more_than_ten_update_managers_merge_the_oldest_into_ancient_changes() {
    let s = server().await;
    let (code, _) = apply(
        &s,
        &format!("{CMS}/many"),
        "applier",
        "",
        &cm("many", json!({"a": "0"})),
    )
    .await;
    assert_eq!(code, 201);
    for i in 0..11 {
        let r = raw(
            &s,
            "PATCH",
            &format!("{CMS}/many?fieldManager=m{i:02}"),
            Some("application/merge-patch+json"),
            json!({"data": {format!("k{i:02}"): "v"}}).to_string(),
        )
        .await;
        assert_eq!(r.code, 200, "{}", r.body);
    }
    let got = send(&s, "GET", &format!("{CMS}/many"), &Value::Null)
        .await
        .body;
    let managers: Vec<String> = fields(&got)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap().to_owned())
        .collect();
    // Appliers never count; the two oldest updaters (m00, m01) became one bucket.
    assert_eq!(
        managers.iter().filter(|m| *m != "applier").count(),
        10,
        "{managers:?}"
    );
    assert!(
        !managers.contains(&"m00".to_owned()) && !managers.contains(&"m01".to_owned()),
        "{managers:?}"
    );
    assert_eq!(
        entry(&got, "ancient-changes")["fieldsV1"],
        json!({"f:data": {"f:k00": {}, "f:k01": {}}})
    );
    assert_eq!(
        entry(&got, "m10")["fieldsV1"],
        json!({"f:data": {"f:k10": {}}})
    );
}

#[tokio::test]
async fn apply_creates_objects_whose_lists_of_structs_are_left_out() {
    // The empty object an apply-create starts from has Go's zero values: nil slices are absent,
    // not `{}` (a ServiceAccount without imagePullSecrets, a role without rules, a binding
    // without subjects were refused with kube's decode error for the placeholder).
    let s = server().await;
    for (path, config) in [
        (
            "/api/v1/namespaces/default/serviceaccounts/robot",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/empty",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "empty"}}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/nobody",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "nobody"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "empty"}}),
        ),
    ] {
        let (code, body) = apply(&s, path, "installer", "", &config).await;
        assert_eq!(code, 201, "{path}: {body}");
        for list in ["imagePullSecrets", "secrets", "subjects"] {
            assert!(body.get(list).is_none(), "{path}: {list} left out: {body}");
        }
    }
    let (_, role) = apply(
        &s,
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/empty",
        "installer",
        "",
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "empty"}}),
    )
    .await;
    assert_eq!(
        role["rules"],
        Value::Null,
        "a ClusterRole's rules are written as null, as Go does: {role}"
    );
}
