//! Table-driven tests of the write, read and error rules, each asserting the exact metav1.Status.

mod common;

use common::{Raw, raw, send, widget_crd};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

async fn server() -> apiserver::ApiServer {
    let mut crd = widget_crd();
    // kubernaut-style immutable spec: a CEL transition rule on spec.
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] =
        json!([{"rule": "self == oldSelf", "message": "spec is immutable"}]);
    let crd = serde_json::from_value(crd).expect("CRD");
    apiserver::ApiServer::builder()
        .crd(crd)
        .start()
        .await
        .expect("start")
}

fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason});
    if let Some(d) = details {
        s["details"] = d;
    }
    s["code"] = code.into();
    s
}

fn assert_status(r: &Raw, want: &Value) {
    assert_eq!(
        r.code as u64,
        want["code"].as_u64().unwrap_or(0),
        "HTTP code; body {}",
        r.body
    );
    assert_eq!(&r.body, want);
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: String,
    want: Value,
}

fn case(name: &'static str, method: &'static str, path: &str, body: Value, want: Value) -> Case {
    let content_type = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    Case {
        name,
        method,
        path: path.to_owned(),
        content_type,
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
        want,
    }
}

#[tokio::test]
async fn error_statuses_table() {
    let s = server().await;
    let r = send(&s, "POST", CMS, &json!({"metadata": {"name": "exists"}})).await;
    assert_eq!(r.code, 201);
    let exists_rv = r.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();
    send(
        &s,
        "PUT",
        &format!("{CMS}/exists"),
        &json!({"metadata": {"name": "exists"}, "data": {"a": "b"}}),
    )
    .await;
    let subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    let cases = vec![
        case(
            "missing name",
            "POST",
            CMS,
            json!({"metadata": {}}),
            status(
                422,
                "Invalid",
                "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required",
                Some(
                    json!({"kind": "ConfigMap", "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]}),
                ),
            ),
        ),
        case(
            "bad name",
            "POST",
            CMS,
            json!({"metadata": {"name": "Bad_Name"}}),
            status(
                422,
                "Invalid",
                &format!(
                    "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {subdomain}"
                ),
                Some(
                    json!({"name": "Bad_Name", "kind": "ConfigMap", "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: \"Bad_Name\": {subdomain}"), "field": "metadata.name"}]}),
                ),
            ),
        ),
        case(
            "namespace must exist",
            "POST",
            "/api/v1/namespaces/nope/configmaps",
            json!({"metadata": {"name": "x"}}),
            status(
                404,
                "NotFound",
                "namespaces \"nope\" not found",
                Some(json!({"name": "nope", "kind": "namespaces"})),
            ),
        ),
        case(
            "already exists",
            "POST",
            CMS,
            json!({"metadata": {"name": "exists"}}),
            status(
                409,
                "AlreadyExists",
                "configmaps \"exists\" already exists",
                Some(json!({"name": "exists", "kind": "configmaps"})),
            ),
        ),
        case(
            "stale update",
            "PUT",
            &format!("{CMS}/exists"),
            json!({"metadata": {"name": "exists", "resourceVersion": exists_rv}}),
            status(
                409,
                "Conflict",
                "Operation cannot be fulfilled on configmaps \"exists\": the object has been modified; please apply your changes to the latest version and try again",
                Some(json!({"name": "exists", "kind": "configmaps"})),
            ),
        ),
        case(
            "stale patch",
            "PATCH",
            &format!("{CMS}/exists"),
            json!({"metadata": {"resourceVersion": "1"}, "data": {"x": "y"}}),
            status(
                409,
                "Conflict",
                "Operation cannot be fulfilled on configmaps \"exists\": the object has been modified; please apply your changes to the latest version and try again",
                Some(json!({"name": "exists", "kind": "configmaps"})),
            ),
        ),
        case(
            "get missing",
            "GET",
            &format!("{CMS}/missing"),
            Value::Null,
            status(
                404,
                "NotFound",
                "configmaps \"missing\" not found",
                Some(json!({"name": "missing", "kind": "configmaps"})),
            ),
        ),
        case(
            "get missing in a group",
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/d",
            Value::Null,
            status(
                404,
                "NotFound",
                "deployments.apps \"d\" not found",
                Some(json!({"name": "d", "group": "apps", "kind": "deployments"})),
            ),
        ),
        case(
            "update missing",
            "PUT",
            &format!("{CMS}/missing"),
            json!({"metadata": {"name": "missing"}}),
            status(
                404,
                "NotFound",
                "configmaps \"missing\" not found",
                Some(json!({"name": "missing", "kind": "configmaps"})),
            ),
        ),
        case(
            "delete missing",
            "DELETE",
            &format!("{CMS}/missing"),
            Value::Null,
            status(
                404,
                "NotFound",
                "configmaps \"missing\" not found",
                Some(json!({"name": "missing", "kind": "configmaps"})),
            ),
        ),
        case(
            "unknown resource",
            "GET",
            "/api/v1/namespaces/default/frobs",
            Value::Null,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            ),
        ),
        case(
            "unknown group",
            "GET",
            "/apis/nope.io/v1/things",
            Value::Null,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            ),
        ),
        case(
            "no status subresource",
            "PUT",
            &format!("{CMS}/exists/status"),
            json!({"metadata": {"name": "exists"}}),
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            ),
        ),
        case(
            "post to a name",
            "POST",
            &format!("{CMS}/exists"),
            json!({}),
            status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                None,
            ),
        ),
        case(
            "kind mismatch",
            "POST",
            CMS,
            json!({"kind": "Secret", "metadata": {"name": "k"}}),
            status(
                400,
                "BadRequest",
                "the kind in the data (Secret) does not match the expected kind (ConfigMap)",
                None,
            ),
        ),
        case(
            "apiVersion mismatch",
            "POST",
            CMS,
            json!({"apiVersion": "apps/v1", "metadata": {"name": "k"}}),
            status(
                400,
                "BadRequest",
                "the API version in the data (apps/v1) does not match the expected API version (v1)",
                None,
            ),
        ),
        case(
            "resourceVersion on create",
            "POST",
            CMS,
            json!({"metadata": {"name": "k", "resourceVersion": "5"}}),
            // etcd3's plain error, which kube's response writer answers as a 500 without a reason.
            {
                let mut s = status(
                    500,
                    "",
                    "resourceVersion should not be set on objects to be created",
                    None,
                );
                s.as_object_mut().map(|m| m.remove("reason"));
                s
            },
        ),
        case(
            "name mismatch",
            "PUT",
            &format!("{CMS}/exists"),
            json!({"metadata": {"name": "other"}}),
            status(
                400,
                "BadRequest",
                "the name of the object (other) does not match the name on the URL (exists)",
                None,
            ),
        ),
        case(
            "namespace mismatch",
            "POST",
            CMS,
            json!({"metadata": {"name": "k", "namespace": "kube-system"}}),
            status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
                None,
            ),
        ),
        case(
            "uid is immutable",
            "PUT",
            &format!("{CMS}/exists"),
            json!({"metadata": {"name": "exists", "uid": "not-the-uid"}}),
            status(
                409,
                "Conflict",
                "Operation cannot be fulfilled on configmaps \"exists\": Precondition failed: UID in precondition: not-the-uid, UID in object meta: UID",
                Some(json!({"name": "exists", "kind": "configmaps"})),
            ),
        ),
        case(
            "bad label selector",
            "GET",
            &format!("{CMS}?labelSelector=a%20in%20b"),
            Value::Null,
            status(
                400,
                "BadRequest",
                "unable to parse requirement: expected a parenthesised set of values in label selector \"a in b\"",
                None,
            ),
        ),
        case(
            "unsupported field selector",
            "GET",
            &format!("{CMS}?fieldSelector=spec.x%3Dy"),
            Value::Null,
            status(400, "BadRequest", "field label not supported: spec.x", None),
        ),
        case(
            "bad dryRun",
            "POST",
            &format!("{CMS}?dryRun=Some"),
            json!({"metadata": {"name": "k"}}),
            status(
                400,
                "BadRequest",
                "invalid dryRun value \"Some\": the only supported value is \"All\"",
                None,
            ),
        ),
        case(
            "bad fieldValidation",
            "POST",
            &format!("{CMS}?fieldValidation=Loud"),
            json!({"metadata": {"name": "k"}}),
            status(
                400,
                "BadRequest",
                "invalid fieldValidation directive \"Loud\": must be one of Ignore, Warn or Strict",
                None,
            ),
        ),
    ];
    let uid = send(&s, "GET", &format!("{CMS}/exists"), &Value::Null)
        .await
        .body["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    for c in cases {
        let r = raw(&s, c.method, &c.path, Some(c.content_type), c.body.clone()).await;
        let want = serde_json::from_str::<Value>(&c.want.to_string().replace(
            "UID in object meta: UID",
            &format!("UID in object meta: {uid}"),
        ))
        .expect("json");
        assert_eq!(
            r.code as u64,
            want["code"].as_u64().unwrap_or(0),
            "{}: body {}",
            c.name,
            r.body
        );
        assert_eq!(r.body, want, "{}", c.name);
    }
    // Nothing above changed the stored object.
    let after = send(&s, "GET", &format!("{CMS}/exists"), &Value::Null).await;
    assert_eq!(after.body["data"], json!({"a": "b"}));
}

#[tokio::test]
async fn malformed_bodies_and_media_types_are_4xx() {
    let s = server().await;
    let rv_before = s.resource_version();
    let r = raw(&s, "POST", CMS, Some("application/json"), "{not json").await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (400, Some("BadRequest")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .starts_with("the body of the request could not be decoded as JSON")
    );
    let r = raw(&s, "POST", CMS, Some("application/json"), "[1,2]").await;
    assert_eq!(r.code, 400);
    let r = raw(
        &s,
        "POST",
        CMS,
        Some("application/json"),
        "{\"metadata\": 5}",
    )
    .await;
    assert_eq!(r.code, 400);
    let r = raw(&s, "POST", CMS, Some("text/plain"), "{}").await;
    assert_status(
        &r,
        &status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format (text/plain) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            None,
        ),
    );
    let r = raw(
        &s,
        "POST",
        CMS,
        Some("application/yaml"),
        "metadata:\n  name: from-yaml\ndata:\n  k: v\n",
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    let big = format!(
        "{{\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"k\":\"{}\"}}}}",
        "x".repeat(3 * 1024 * 1024 + 1)
    );
    let r = raw(&s, "POST", CMS, Some("application/json"), big).await;
    assert_status(
        &r,
        &status(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
            None,
        ),
    );

    for (path, ct, extra) in [
        // Custom resources take no strategic merge patch, as in kube-apiserver.
        (
            format!("{WIDGETS}/none"),
            "application/strategic-merge-patch+json",
            "",
        ),
        // CBOR apply needs a feature gate that is off by default in kube-apiserver.
        (
            format!("{CMS}/from-yaml"),
            "application/apply-patch+cbor",
            "",
        ),
        (format!("{CMS}/from-yaml"), "text/plain", ""),
    ] {
        let r = raw(&s, "PATCH", &path, Some(ct), "{}").await;
        assert_status(
            &r,
            &status(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{extra}"
                ),
                None,
            ),
        );
    }
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/from-yaml"),
        Some("application/merge-patch+json"),
        "{bad",
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/from-yaml"),
        Some("application/merge-patch+json"),
        "[]",
    )
    .await;
    assert_eq!(r.code, 400);
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/from-yaml"),
        Some("application/json-patch+json"),
        "{\"op\": 1}",
    )
    .await;
    assert_eq!(r.code, 400);
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/from-yaml"),
        Some("application/json-patch+json"),
        r#"[{"op":"test","path":"/data/k","value":"other"}]"#,
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (422, Some("Invalid")),
        "{}",
        r.body
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/from-yaml"),
        Some("application/json-patch+json"),
        r#"[{"op":"replace","path":"/metadata/name","value":"renamed"}]"#,
    )
    .await;
    assert_status(
        &r,
        &status(
            400,
            "BadRequest",
            "the name of the object (renamed) does not match the name on the URL (from-yaml)",
            None,
        ),
    );
    // Only the one successful create was committed.
    assert_eq!(s.resource_version(), rv_before + 1);
}

#[tokio::test]
async fn metadata_rules_uid_timestamps_generation_generate_name() {
    let s = server().await;
    let r = send(&s, "POST", CMS, &json!({"metadata": {"generateName": "gen-", "uid": "mine", "creationTimestamp": "2000-01-01T00:00:00Z"}})).await;
    assert_eq!(r.code, 201);
    let name = r.body["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    assert_ne!(r.body["metadata"]["uid"], "mine");
    assert_ne!(
        r.body["metadata"]["creationTimestamp"],
        "2000-01-01T00:00:00Z"
    );
    // ConfigMaps keep no generation, as in kube (its configmap strategy sets none); the generation
    // rules of the types that keep one are in tests/strategies.rs and tests/conformance.rs.
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    let rv: u64 = r.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("number");

    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/{name}"),
        &json!({"metadata": {"labels": {"a": "b"}}}),
    )
    .await;
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/{name}"),
        &json!({"data": {"a": "b"}}),
    )
    .await;
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    let rv2: u64 = r.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("number");
    assert!(rv2 > rv);
    // A no-op write changes nothing, not even the resourceVersion.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/{name}"),
        &json!({"data": {"a": "b"}}),
    )
    .await;
    assert_eq!(r.body["metadata"]["resourceVersion"], rv2.to_string());
    // Server-owned fields cannot be changed by a patch.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/{name}"),
        &json!({"metadata": {"creationTimestamp": "2000-01-01T00:00:00Z", "generation": 42}}),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_ne!(
        r.body["metadata"]["creationTimestamp"],
        "2000-01-01T00:00:00Z"
    );
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    // Label syntax is checked.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/{name}"),
        &json!({"metadata": {"labels": {"bad key!": "x"}}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["details"]["causes"][0]["field"].as_str()),
        (422, Some("metadata.labels"))
    );
}

#[tokio::test]
async fn finalizers_delay_deletion_until_removed() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "f", "finalizers": ["example.com/keep"]}}),
    )
    .await;
    let uid = r.body["metadata"]["uid"].as_str().expect("uid").to_owned();
    let r = send(&s, "DELETE", &format!("{CMS}/f"), &Value::Null).await;
    assert_eq!(r.code, 200);
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(r.body["metadata"]["deletionGracePeriodSeconds"], 0);
    // ConfigMaps keep no generation, so deletion bumps none (tests/strategies.rs: a Pod's does).
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    // Still there; a second delete changes nothing.
    let again = send(&s, "DELETE", &format!("{CMS}/f"), &Value::Null).await;
    assert_eq!(
        again.body["metadata"]["resourceVersion"],
        r.body["metadata"]["resourceVersion"]
    );
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/f"), &Value::Null)
            .await
            .code,
        200
    );
    // No new finalizers while deleting.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/f"),
        &json!({"metadata": {"finalizers": ["example.com/keep", "example.com/more"]}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            422,
            "Invalid",
            "ConfigMap \"f\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/more\"}",
            Some(
                json!({"name": "f", "kind": "ConfigMap", "causes": [{"reason": "FieldValueForbidden", "field": "metadata.finalizers",
            "message": "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/more\"}"}]}),
            ),
        ),
    );
    // Removing the last finalizer deletes it.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/f"),
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/f"), &Value::Null)
            .await
            .code,
        404
    );
    // The name is free again.
    let r = send(&s, "POST", CMS, &json!({"metadata": {"name": "f"}})).await;
    assert_eq!(r.code, 201);
    assert_ne!(r.body["metadata"]["uid"], uid.as_str());
}

#[tokio::test]
async fn delete_preconditions() {
    let s = server().await;
    let r = send(&s, "POST", CMS, &json!({"metadata": {"name": "p"}})).await;
    let uid = r.body["metadata"]["uid"].as_str().expect("uid").to_owned();
    let rv = r.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/p"),
        &json!({"preconditions": {"uid": "other"}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on configmaps \"p\": Precondition failed: UID in precondition: other, UID in object meta: {uid}"
            ),
            Some(json!({"name": "p", "kind": "configmaps"})),
        ),
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/p"),
        &json!({"preconditions": {"resourceVersion": "1"}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on configmaps \"p\": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: {rv}"
            ),
            Some(json!({"name": "p", "kind": "configmaps"})),
        ),
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/p"),
        &json!({"preconditions": {"uid": uid, "resourceVersion": rv}}),
    )
    .await;
    assert_eq!(r.code, 200);
}

#[tokio::test]
async fn dry_run_validates_without_storing() {
    let s = server().await;
    let rv = s.resource_version();
    let r = send(
        &s,
        "POST",
        &format!("{CMS}?dryRun=All"),
        &json!({"metadata": {"name": "dry"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    assert_eq!(r.body["metadata"]["name"], "dry");
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/dry"), &Value::Null)
            .await
            .code,
        404
    );
    let r = send(
        &s,
        "POST",
        &format!("{CMS}?dryRun=All"),
        &json!({"metadata": {"name": "BAD"}}),
    )
    .await;
    assert_eq!(r.code, 422);
    send(&s, "POST", CMS, &json!({"metadata": {"name": "real"}})).await;
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/real?dryRun=All"),
        &json!({"data": {"a": "b"}}),
    )
    .await;
    assert_eq!(r.body["data"]["a"], "b");
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/real?dryRun=All"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200);
    let r = send(&s, "GET", &format!("{CMS}/real"), &Value::Null).await;
    assert_eq!((r.code, &r.body["data"]), (200, &Value::Null));
    assert_eq!(s.resource_version(), rv + 1);
}

/// kube reads a resourceVersion sent on create in its storage stage (etcd3's `Create`), after
/// validation and admission, and only a non-zero number is refused; dry runs never get there.
#[tokio::test]
async fn a_resource_version_sent_on_create_is_read_by_the_storage_stage() {
    let s = server().await;
    for (i, sent) in ["v1", "0", ""].into_iter().enumerate() {
        let name = format!("rv{i}");
        let r = send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": name, "resourceVersion": sent}}),
        )
        .await;
        assert_eq!(r.code, 201, "{sent:?}: {}", r.body);
        let stored = r.body["metadata"]["resourceVersion"].as_str().unwrap_or("");
        assert!(
            stored.parse::<u64>().is_ok_and(|v| v > 0),
            "{sent:?} must be replaced by the commit's version, got {stored:?}"
        );
    }
    // Validation comes first: an invalid object is a 422 whatever its resourceVersion.
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "BAD", "resourceVersion": "5"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // A dry run answers without the storage stage, echoing what was sent.
    let r = send(
        &s,
        "POST",
        &format!("{CMS}?dryRun=All"),
        &json!({"metadata": {"name": "dry", "resourceVersion": "5"}}),
    )
    .await;
    assert_eq!(
        (r.code, &r.body["metadata"]["resourceVersion"]),
        (201, &json!("5")),
        "{}",
        r.body
    );
    // The refused create stored nothing.
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "five", "resourceVersion": "5"}}),
    )
    .await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        send(&s, "GET", &format!("{CMS}/five"), &Value::Null)
            .await
            .code,
        404
    );
}

#[tokio::test]
async fn deletecollection_deletes_what_the_selector_matches() {
    let s = server().await;
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": name, "labels": {"app": app}}}),
        )
        .await;
    }
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}?labelSelector=app%3Dx"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        (r.code, r.body["kind"].as_str()),
        (200, Some("ConfigMapList"))
    );
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    let left = send(&s, "GET", CMS, &Value::Null).await;
    let names: Vec<&str> = left.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    // The root CA ConfigMap every namespace holds has no app=x label.
    assert_eq!(names, ["c", "kube-root-ca.crt"]);
}

#[tokio::test]
async fn custom_resource_schema_enforcement() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        WIDGETS,
        &json!({"metadata": {"name": "w"}, "spec": {"size": 11}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            422,
            "Invalid",
            "Widget.example.com \"w\" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
            Some(
                json!({"name": "w", "group": "example.com", "kind": "Widget", "causes": [
            {"reason": "FieldValueInvalid", "message": "Invalid value: 11: spec.size in body should be less than or equal to 10", "field": "spec.size"}]}),
            ),
        ),
    );
    let r = send(
        &s,
        "POST",
        WIDGETS,
        &json!({"metadata": {"name": "w"}, "spec": {"size": -1, "color": "green"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let causes = r.body["details"]["causes"].as_array().expect("causes");
    assert_eq!(causes.len(), 3, "{}", r.body);
    assert_eq!(
        (causes[0]["field"].as_str(), causes[1]["field"].as_str()),
        (Some("spec.color"), Some("spec.size"))
    );
    // Like kube-apiserver, CEL rules are skipped after blocking errors, and the Status says so (its
    // field is Go's nil path; crd-schema decides how to spell it, so it is not asserted here).
    assert_eq!(
        (causes[2]["reason"].as_str(), causes[2]["message"].as_str()),
        (
            Some("FieldValueInvalid"),
            Some(
                "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
            )
        )
    );
    let r = send(
        &s,
        "POST",
        WIDGETS,
        &json!({"metadata": {"name": "w"}, "spec": {}}),
    )
    .await;
    assert_eq!(
        r.body["details"]["causes"][0],
        json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"})
    );

    // Defaulting and pruning, with fieldValidation.
    let r = send(
        &s,
        "POST",
        &format!("{WIDGETS}?fieldValidation=Strict"),
        &json!({"metadata": {"name": "w"}, "spec": {"size": 1, "bogus": 1}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            400,
            "BadRequest",
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.bogus\"",
            None,
        ),
    );
    let r = send(
        &s,
        "POST",
        WIDGETS,
        &json!({"metadata": {"name": "w"}, "spec": {"size": 1, "bogus": 1}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"], json!({"size": 1, "color": "red"}));
    assert_eq!(
        r.headers.get("warning").and_then(|v| v.to_str().ok()),
        Some("299 - \"unknown field \\\"spec.bogus\\\"\"")
    );
    let r = send(
        &s,
        "POST",
        &format!("{WIDGETS}?fieldValidation=Ignore"),
        &json!({"metadata": {"name": "w2"}, "spec": {"size": 1, "bogus": 1}}),
    )
    .await;
    assert!(r.headers.get("warning").is_none());

    // The CEL transition rule makes spec immutable; status stays writable.
    let r = send(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w"),
        &json!({"spec": {"size": 2}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["details"]["causes"][0]["field"], "spec");
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("spec is immutable"),
        "{}",
        r.body
    );
    let r = send(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w/status"),
        &json!({"status": {"phase": "Ready"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    // Status writes are pruned like any body.
    let r = send(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w/status"),
        &json!({"status": {"junk": 1}}),
    )
    .await;
    assert_eq!(r.body["status"], json!({"phase": "Ready"}), "{}", r.body);
    assert_eq!(
        r.headers.get("warning").and_then(|v| v.to_str().ok()),
        Some("299 - \"unknown field \\\"status.junk\\\"\"")
    );
    // Status is validated too.
    let r = send(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w/status"),
        &json!({"status": {"observedGeneration": "one"}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["details"]["causes"][0]["field"].as_str()),
        (422, Some("status.observedGeneration")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn crd_validation_is_422_with_causes() {
    let s = server().await;
    let mut crd = widget_crd();
    crd["metadata"]["name"] = "wrong".into();
    crd["spec"]["scope"] = "Global".into();
    let r = send(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd,
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (422, Some("Invalid")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .starts_with("CustomResourceDefinition.apiextensions.k8s.io \"wrong\" is invalid: [")
    );
    let fields: Vec<&str> = r.body["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(fields, ["metadata.name", "spec.scope"]);
}

#[tokio::test]
async fn list_paging_is_a_consistent_snapshot() {
    let s = server().await;
    for i in 0..5 {
        send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": format!("cm{i}")}}),
        )
        .await;
    }
    let first = send(&s, "GET", &format!("{CMS}?limit=2"), &Value::Null).await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2));
    // cm2..cm4 and the namespace's root CA ConfigMap.
    assert_eq!(first.body["metadata"]["remainingItemCount"], 4);
    let token = first.body["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_owned();
    // Changes after the first page are not visible in later pages.
    send(&s, "POST", CMS, &json!({"metadata": {"name": "cm9"}})).await;
    send(&s, "DELETE", &format!("{CMS}/cm3"), &Value::Null).await;
    let mut names: Vec<String> = Vec::new();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = send(
            &s,
            "GET",
            &format!("{CMS}?limit=2&continue={t}"),
            &Value::Null,
        )
        .await;
        assert_eq!(page.code, 200, "{}", page.body);
        assert_eq!(
            page.body["metadata"]["resourceVersion"],
            first.body["metadata"]["resourceVersion"]
        );
        names.extend(
            page.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned)),
        );
        token = page.body["metadata"]["continue"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(names, ["cm2", "cm3", "cm4", "kube-root-ca.crt"]);
    let r = send(
        &s,
        "GET",
        &format!("{CMS}?limit=2&continue=garbage"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 400);
    // All-namespace lists see every namespace; field selectors pick by name.
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces?fieldSelector=metadata.name%3Ddefault",
        &Value::Null,
    )
    .await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1));
    let r = send(&s, "GET", "/api/v1/services", &Value::Null).await;
    assert_eq!(r.body["items"][0]["metadata"]["name"], "kubernetes");
}

#[tokio::test]
async fn expired_continue_token_is_410() {
    let crd = serde_json::from_value(widget_crd()).expect("crd");
    let s = apiserver::ApiServer::builder()
        .crd(crd)
        .watch_history(4)
        .start()
        .await
        .expect("start");
    for i in 0..3 {
        send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": format!("cm{i}")}}),
        )
        .await;
    }
    let first = send(&s, "GET", &format!("{CMS}?limit=1"), &Value::Null).await;
    let token = first.body["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_owned();
    for i in 0..5 {
        send(
            &s,
            "POST",
            CMS,
            &json!({"metadata": {"name": format!("more{i}")}}),
        )
        .await;
    }
    let r = send(
        &s,
        "GET",
        &format!("{CMS}?limit=1&continue={token}"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (410, Some("Expired")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn terminating_namespace_refuses_new_objects() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "doomed", "finalizers": ["example.com/hold"]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "doomed"
    );
    let r = send(&s, "DELETE", "/api/v1/namespaces/doomed", &Value::Null).await;
    assert_eq!(r.body["status"]["phase"], "Terminating");
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/doomed/configmaps",
        &json!({"metadata": {"name": "late"}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            403,
            "Forbidden",
            "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated",
            Some(json!({"name": "late", "kind": "configmaps"})),
        ),
    );
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "a.b"}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["details"]["causes"][0]["field"].as_str()),
        (422, Some("metadata.name")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn field_selectors_on_declared_fields() {
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["selectableFields"] = json!([{"jsonPath": ".spec.color"}]);
    let s = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(crd).expect("crd"))
        .start()
        .await
        .expect("start");
    for (name, color) in [("r", "red"), ("b", "blue")] {
        let r = send(
            &s,
            "POST",
            WIDGETS,
            &json!({"metadata": {"name": name}, "spec": {"size": 1, "color": color}}),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
    let r = send(
        &s,
        "GET",
        &format!("{WIDGETS}?fieldSelector=spec.color%3Dblue"),
        &Value::Null,
    )
    .await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["b"]);
    let r = send(
        &s,
        "GET",
        &format!("{WIDGETS}?fieldSelector=spec.size%3D1"),
        &Value::Null,
    )
    .await;
    assert_status(
        &r,
        &status(
            400,
            "BadRequest",
            "field label not supported: spec.size",
            None,
        ),
    );
    // Events by involved object, as `kubectl describe` asks.
    let ev = json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Widget", "name": "r", "namespace": "default"}, "reason": "Test"});
    assert_eq!(
        send(&s, "POST", "/api/v1/namespaces/default/events", &ev)
            .await
            .code,
        201
    );
    let r = send(&s, "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dr,involvedObject.kind%3DWidget", &Value::Null).await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    // Empty terms are skipped, as kube's `parseSelector` does (kr8s sends a trailing comma).
    for sel in [
        "spec.color%3Dblue%2C",
        "%2Cspec.color%3Dblue",
        "metadata.name%3Db%2C%2Cspec.color%3Dblue",
    ] {
        let r = send(
            &s,
            "GET",
            &format!("{WIDGETS}?fieldSelector={sel}"),
            &Value::Null,
        )
        .await;
        assert_eq!(r.code, 200, "{sel}: {}", r.body);
        assert_eq!(r.body["items"][0]["metadata"]["name"], "b", "{sel}");
        assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1), "{sel}");
    }
}

#[tokio::test]
async fn crd_updates_change_what_is_served() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let created = send(&s, "POST", CRDS, &widget_crd()).await;
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(
        send(
            &s,
            "GET",
            "/apis/example.com/v2/namespaces/default/widgets",
            &Value::Null
        )
        .await
        .code,
        404
    );
    let mut crd = created.body.clone();
    let mut v2 = crd["spec"]["versions"][0].clone();
    v2["name"] = "v2".into();
    v2["storage"] = false.into();
    crd["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .push(v2);
    let r = send(&s, "PUT", &format!("{CRDS}/widgets.example.com"), &crd).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["metadata"]["generation"], 2);
    assert_eq!(
        send(
            &s,
            "GET",
            "/apis/example.com/v2/namespaces/default/widgets",
            &Value::Null
        )
        .await
        .code,
        200
    );

    // A schema that is not structural is rejected with causes under the version's schema path.
    let mut bad = r.body.clone();
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"] =
        json!({"minimum": 0});
    let r = send(&s, "PUT", &format!("{CRDS}/widgets.example.com"), &bad).await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (422, Some("Invalid")),
        "{}",
        r.body
    );
    let field = r.body["details"]["causes"][0]["field"]
        .as_str()
        .expect("field");
    assert!(
        field.starts_with("spec.versions[0].schema.openAPIV3Schema"),
        "{field}"
    );
    // The group is immutable.
    let mut moved = created.body.clone();
    moved["spec"]["group"] = "other.example.com".into();
    moved["metadata"]["resourceVersion"] = Value::Null;
    let r = send(&s, "PUT", &format!("{CRDS}/widgets.example.com"), &moved).await;
    assert_eq!(r.code, 422, "{}", r.body);
}

#[tokio::test]
async fn immutable_configmaps_keep_their_data() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": true}),
    )
    .await;
    assert_eq!(r.code, 201);
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/frozen"),
        &json!({"data": {"a": "2"}}),
    )
    .await;
    assert_status(
        &r,
        &status(
            422,
            "Invalid",
            "ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
            Some(json!({"name": "frozen", "kind": "ConfigMap", "causes": [
                {"reason": "FieldValueForbidden", "message": "Forbidden: field is immutable when `immutable` is set", "field": "data"}]})),
        ),
    );
    // Metadata stays writable.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/frozen"),
        &json!({"metadata": {"labels": {"x": "y"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
}

/// A `/status` write is validated like kube-apiserver's status strategy: the schema for
/// `.status` only, so a spec that a tightened schema no longer accepts does not block the
/// controller's status writes.
#[tokio::test]
async fn status_writes_validate_status_only() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    const W: &str = "/apis/example.com/v1/namespaces/default/widgets";
    let created = send(&s, "POST", CRDS, &widget_crd()).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let r = send(&s, "POST", W, &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 8}})).await;
    assert_eq!(r.code, 201, "{}", r.body);

    // Tighten the schema: size 8 is no longer valid.
    let mut crd = created.body.clone();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]
        ["maximum"] = json!(5);
    let r = send(&s, "PUT", &format!("{CRDS}/widgets.example.com"), &crd).await;
    assert_eq!(r.code, 200, "{}", r.body);

    // The status write goes through...
    let patch = json!({"status": {"phase": "Running"}});
    let r = send(&s, "PATCH", &format!("{W}/w/status"), &patch).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["status"]["phase"], "Running");
    // ...a bad status value is still refused, named relative to the object...
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w/status"),
        &json!({"status": {"observedGeneration": "x"}}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (422, Some("Invalid")),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "status.observedGeneration",
        "{}",
        r.body
    );
    // ...and on the main resource, an unchanged invalid value is tolerated (CRD validation
    // ratcheting, GA since 1.33) while a changed one must satisfy the new schema.
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w"),
        &json!({"metadata": {"labels": {"a": "b"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w"),
        &json!({"spec": {"size": 9}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "spec.size",
        "{}",
        r.body
    );
}

/// A CEL rule added to a CRD that a stored object breaks: an update that leaves the value as it
/// was is let through with the rule's failure as a warning (kube's ratcheting, `addErr` in
/// apiextensions' `schema/cel/validation.go`), on the main resource and on `/status`; an update
/// that changes the value is refused.
#[tokio::test]
async fn ratcheted_cel_rule_failures_come_back_as_warnings() {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    const W: &str = "/apis/example.com/v1/namespaces/default/widgets";
    let created = send(&s, "POST", CRDS, &widget_crd()).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let r = send(&s, "POST", W, &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 8}})).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(common::warnings(&r).is_empty(), "{:?}", r.headers);

    let mut crd = created.body.clone();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]
        ["x-kubernetes-validations"] =
        json!([{"rule": "self <= 5", "message": "size is at most 5"}]);
    let r = send(&s, "PUT", &format!("{CRDS}/widgets.example.com"), &crd).await;
    assert_eq!(r.code, 200, "{}", r.body);

    let expected = [r#"299 - "spec.size: Invalid value: 8: size is at most 5""#];
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w"),
        &json!({"metadata": {"labels": {"a": "b"}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(common::warnings(&r), expected);
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w/status"),
        &json!({"status": {"phase": "Running"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(common::warnings(&r), expected);
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w"),
        &json!({"spec": {"size": 9}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["message"], "Invalid value: 9: size is at most 5",
        "{}",
        r.body
    );
    let r = send(
        &s,
        "PATCH",
        &format!("{W}/w"),
        &json!({"spec": {"size": 4}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(common::warnings(&r).is_empty(), "{:?}", r.headers);
}
