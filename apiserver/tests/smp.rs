//! Strategic merge patch over HTTP: built-in objects and their status, exact Status answers for
//! malformed patches and stale resourceVersions.

mod common;

use common::raw;
use serde_json::{Value, json};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const SMP: &str = "application/strategic-merge-patch+json";

async fn with_deployment() -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let d = json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}]}}}
    });
    let r = raw(
        &s,
        "POST",
        DEPLOYMENTS,
        Some("application/json"),
        d.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    s
}

async fn smp(s: &apiserver::ApiServer, path: &str, patch: Value) -> common::Raw {
    raw(s, "PATCH", path, Some(SMP), patch.to_string()).await
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

#[tokio::test]
async fn containers_merge_by_name_and_generation_moves() {
    let s = with_deployment().await;
    let r = smp(
        &s,
        &format!("{DEPLOYMENTS}/web"),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:2"}]}}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["spec"]["template"]["spec"]["containers"],
        // Each container carries kube's defaults (tests/defaulting.rs) and Go's always-written
        // `resources` struct.
        json!([{"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent", "resources": {},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"},
               {"name": "side", "image": "side:2", "imagePullPolicy": "IfNotPresent", "resources": {},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}])
    );
    assert_eq!(r.body["metadata"]["generation"], 2);
}

#[tokio::test]
async fn status_conditions_merge_by_type() {
    let s = with_deployment().await;
    let path = format!("{DEPLOYMENTS}/web/status");
    let first = json!({"status": {"conditions": [{"type": "Available", "status": "False"}]}});
    assert_eq!(smp(&s, &path, first).await.code, 200);
    let r = smp(
        &s,
        &path,
        json!({"status": {"conditions": [{"type": "Progressing", "status": "True"}, {"type": "Available", "status": "True"}]}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["status"]["conditions"],
        // DeploymentCondition's times are metav1.Time structs: unset, Go writes them as null.
        json!([{"type": "Available", "status": "True", "lastUpdateTime": null, "lastTransitionTime": null},
               {"type": "Progressing", "status": "True", "lastUpdateTime": null, "lastTransitionTime": null}])
    );
    // A status write leaves the generation alone.
    assert_eq!(r.body["metadata"]["generation"], 1);
}

#[tokio::test]
async fn rejected_patches_answer_exact_statuses_and_change_nothing() {
    let s = with_deployment().await;
    let path = format!("{DEPLOYMENTS}/web");
    let rv = s.resource_version();
    let cases = [
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            status(
                400,
                "BadRequest",
                "map: {\"image\":\"x\"} does not contain declared merge key: name",
            ),
        ),
        (
            json!([{"op": "add"}]),
            status(
                400,
                "BadRequest",
                "error decoding patch: a strategic merge patch must be a JSON object",
            ),
        ),
        (
            json!({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 3}}),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
                   "reason": "Conflict", "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 409}),
        ),
    ];
    for (patch, want) in cases {
        let r = smp(&s, &path, patch.clone()).await;
        assert_eq!(r.body, want, "{patch}");
        assert_eq!(u64::from(r.code), want["code"].as_u64().unwrap());
    }
    let r = raw(&s, "PATCH", &path, Some(SMP), "{not json").await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    assert_eq!(s.resource_version(), rv, "rejected patches wrote nothing");
}

#[tokio::test]
async fn retain_keys_clears_unlisted_fields_of_existing_maps() {
    let s = with_deployment().await;
    let path = format!("{DEPLOYMENTS}/web");
    let rolling = json!({"spec": {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "template": {"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}
    }});
    assert_eq!(smp(&s, &path, rolling).await.code, 200);
    // What kubectl apply sends when a manifest switches a Deployment to Recreate and a volume's source.
    let r = smp(
        &s,
        &path,
        json!({"spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {"volumes": [
                {"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}
            ]}}
        }}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(
        r.body["spec"]["template"]["spec"]["volumes"],
        // defaultMode is kube's default for a configMap volume, put back after the patch.
        json!([{"name": "v", "configMap": {"name": "cm", "defaultMode": 420}}])
    );
    // A map the patch introduces is taken as written, without the directive (kube's removeDirectives).
    // (Not securityContext: defaulting gives every pod template one, `{}`.)
    let r = smp(
        &s,
        &path,
        json!({"spec": {"template": {"spec": {"dnsConfig": {"$retainKeys": ["other"], "nameservers": ["10.0.0.53"]}}}}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["spec"]["template"]["spec"]["dnsConfig"],
        json!({"nameservers": ["10.0.0.53"]})
    );
}

#[tokio::test]
async fn malformed_retain_keys_are_rejected_and_change_nothing() {
    let s = with_deployment().await;
    let path = format!("{DEPLOYMENTS}/web");
    let before = raw(&s, "GET", &path, None, "").await.body;
    for patch in [
        // A field the patch sets but the list leaves out.
        json!({"spec": {"template": {"$retainKeys": ["spec"], "metadata": {"labels": {"x": "y"}}}}}),
        // Not a list.
        json!({"spec": {"template": {"$retainKeys": "spec"}}}),
    ] {
        let r = smp(&s, &path, patch.clone()).await;
        assert_eq!(
            r.body,
            status(400, "BadRequest", "invalid patch format of retainKeys"),
            "{patch}"
        );
    }
    assert_eq!(raw(&s, "GET", &path, None, "").await.body, before);
}
