//! Validation of built-in types over HTTP: decoding against the Go type (400 worded as kube's
//! decoder), `fieldValidation` for unknown fields, ObjectMeta rules and per-type rules (422 with
//! kube's messages and field paths), on create, update, patch and server-side apply.

mod common;

use common::{Raw, raw, send, widget_crd};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const APPLY: &str = "application/apply-patch+yaml";

/// These tests count ConfigMaps: no `kube-root-ca.crt`.
async fn server() -> apiserver::ApiServer {
    common::server_without_namespace_defaults().await
}

fn message(r: &Raw) -> &str {
    r.body["message"].as_str().unwrap_or_default()
}

fn warnings(r: &Raw) -> Vec<String> {
    r.headers
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

fn assert_invalid(r: &Raw, message: &str) {
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["reason"], "Invalid", "{}", r.body);
    assert_eq!(self::message(r), message, "{}", r.body);
}

fn assert_bad_request(r: &Raw, message: &str) {
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(r.body["reason"], "BadRequest", "{}", r.body);
    assert_eq!(self::message(r), message, "{}", r.body);
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "app", "image": "busybox"}]}})
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}})
}

#[tokio::test]
async fn wrong_json_types_are_decode_errors() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "data": {"a": 5}}),
    )
    .await;
    assert_bad_request(
        &r,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
    );
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "binaryData": {"a": "not base64!"}}),
    )
    .await;
    assert_bad_request(
        &r,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: illegal base64 data at input byte 3",
    );
    let mut p = pod("p");
    p["spec"]["containers"][0]["ports"] = json!([{"containerPort": "80"}]);
    let r = send(&s, "POST", PODS, &p).await;
    assert_bad_request(
        &r,
        "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
    );
    let mut d = deployment("d");
    d["spec"]["replicas"] = json!(1.5);
    let r = send(&s, "POST", DEPLOYS, &d).await;
    assert_bad_request(
        &r,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
    );
    // Nothing was stored.
    let r = send(&s, "GET", CMS, &Value::Null).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.body);
}

#[tokio::test]
async fn unknown_fields_follow_field_validation_and_are_never_stored() {
    let s = server().await;
    let mut p = pod("strict");
    p["spec"]["foo"] = json!(1);
    p["spec"]["containers"][0]["bar"] = json!(true);
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}?fieldValidation=Strict"),
        Some("application/json"),
        p.to_string(),
    )
    .await;
    assert_bad_request(
        &r,
        // Document order: `containers` comes before the `foo` added after it.
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].bar\", unknown field \"spec.foo\"",
    );
    // Warn (the default): created without them, one warning each.
    let mut p = pod("warn");
    p["spec"]["foo"] = json!(1);
    let r = send(&s, "POST", PODS, &p).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.body["spec"].get("foo").is_none(), "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec!["299 - \"unknown field \\\"spec.foo\\\"\""]
    );
    let r = send(&s, "GET", &format!("{PODS}/warn"), &Value::Null).await;
    assert!(r.body["spec"].get("foo").is_none(), "{}", r.body);
    // Ignore: dropped silently.
    let mut p = pod("ignore");
    p["spec"]["foo"] = json!(1);
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}?fieldValidation=Ignore"),
        Some("application/json"),
        p.to_string(),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty());
    assert!(r.body["spec"].get("foo").is_none(), "{}", r.body);
    // Update: the same rules.
    let mut p = r.body.clone();
    p["spec"]["foo"] = json!(2);
    let r = raw(
        &s,
        "PUT",
        &format!("{PODS}/ignore?fieldValidation=Strict"),
        Some("application/json"),
        p.to_string(),
    )
    .await;
    assert_bad_request(
        &r,
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.foo\"",
    );
    // Patch: kube's patch handler answers 422 on the field `patch`.
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/ignore?fieldValidation=Strict"),
        Some("application/merge-patch+json"),
        json!({"spec": {"foo": 1}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let m = message(&r);
    assert!(
        m.starts_with(" \"\" is invalid: patch: Invalid value: \"{"),
        "{m}"
    );
    assert!(
        m.ends_with("\": strict decoding error: unknown field \"spec.foo\""),
        "{m}"
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{PODS}/ignore"),
        Some("application/merge-patch+json"),
        json!({"spec": {"foo": 1}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec!["299 - \"unknown field \\\"spec.foo\\\"\""]
    );
    assert!(r.body["spec"].get("foo").is_none(), "{}", r.body);
}

#[tokio::test]
async fn patches_and_applies_are_decoded_as_kube_does() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "cm"}, "data": {"a": "1"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/cm"),
        &json!({"data": {"a": 5}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert!(
        message(&r).ends_with(
            "\": json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        ),
        "{}",
        r.body
    );
    // Strategic merge patch too.
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/cm"),
        Some("application/strategic-merge-patch+json"),
        json!({"data": {"a": true}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // Server-side apply: undeclared fields fail whatever fieldValidation says.
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}, "spec": {"x": 1}});
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/cm?fieldManager=t&fieldValidation=Ignore"),
        Some(APPLY),
        config.to_string(),
    )
    .await;
    assert_bad_request(
        &r,
        "failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): .spec: field not declared in schema",
    );
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": 5}});
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/cm?fieldManager=t"),
        Some(APPLY),
        config.to_string(),
    )
    .await;
    assert_bad_request(
        &r,
        "failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): .data.a: expected string, got &value.valueUnstructured{Value:5}",
    );
    // The stored object is unchanged by all of them.
    let r = send(&s, "GET", &format!("{CMS}/cm"), &Value::Null).await;
    assert_eq!(r.body["data"], json!({"a": "1"}));
}

#[tokio::test]
async fn config_map_rules_on_create_update_patch_and_apply() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "data": {"a b": "1"}}),
    )
    .await;
    assert_invalid(
        &r,
        "ConfigMap \"x\" is invalid: data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    assert_eq!(r.body["details"]["causes"][0]["field"], "data[a b]");
    assert_eq!(
        r.body["details"]["causes"][0]["reason"],
        "FieldValueInvalid"
    );
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "data": {"k": "1"}, "binaryData": {"k": "AA=="}}),
    )
    .await;
    assert_invalid(
        &r,
        "ConfigMap \"x\" is invalid: data[k]: Invalid value: \"k\": duplicate of key present in binaryData",
    );
    // 2.9 MiB of data (under the 3 MiB body limit) is over the 1 MiB object limit.
    let big = "x".repeat(2_900_000);
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "data": {"k": big}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", message(&r));
    assert!(
        message(&r).ends_with("Too long: may not be more than 1048576 bytes"),
        "{}",
        message(&r)
    );
    // 300 KiB of annotations are over 256 KiB.
    let big = "x".repeat(300 * 1024);
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x", "annotations": {"a": big}}}),
    )
    .await;
    assert_invalid(
        &r,
        "ConfigMap \"x\" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes",
    );

    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x"}, "data": {"k": "1"}, "immutable": true}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Update, merge patch and apply all meet the same rules.
    let mut put = r.body.clone();
    put["data"] = json!({"k": "2"});
    let r = send(&s, "PUT", &format!("{CMS}/x"), &put).await;
    assert_invalid(
        &r,
        "ConfigMap \"x\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
    );
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/x"),
        &json!({"data": {"bad key": "1"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "data",
        "{}",
        r.body
    );
    assert_eq!(
        r.body["details"]["causes"][1]["field"], "data[bad key]",
        "{}",
        r.body
    );
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}, "data": {"a/b": "1"}});
    let r = raw(
        &s,
        "PATCH",
        &format!("{CMS}/y?fieldManager=t"),
        Some(APPLY),
        config.to_string(),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["details"]["causes"][0]["field"], "data[a/b]",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn object_meta_rules() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x", "labels": {"a": "-b"}}}),
    )
    .await;
    assert_invalid(
        &r,
        "ConfigMap \"x\" is invalid: metadata.labels: Invalid value: \"-b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    let owners = json!([
        {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": true},
        {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": true},
        {"apiVersion": "", "kind": "C", "name": "c", "uid": "3"}
    ]);
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "x", "ownerReferences": owners}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let causes: Vec<(&str, &str)> = r.body["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        causes,
        vec![
            ("metadata.ownerReferences", "FieldValueInvalid"),
            (
                "metadata.ownerReferences[2].apiVersion",
                "FieldValueRequired"
            ),
        ]
    );
    assert!(message(&r).contains("Only one reference can have Controller set to true. Found \"true\" in references for A/a and B/b"));
    // Services are DNS-1035 labels, RBAC names path segments.
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/services",
        &json!({"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["details"]["causes"][0]["field"], "metadata.name");
    let r = send(
        &s,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        &json!({"metadata": {"name": "system:Odd Name"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // A finalizer without a domain that is not one of kube's own is refused by core's
    // `ValidateObjectMeta` (`validateKubeFinalizerName`); custom resources only draw a warning
    // (tests/validation_rest.rs).
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "f", "finalizers": ["mine", "kubernetes"]}}),
    )
    .await;
    assert_invalid(
        &r,
        "ConfigMap \"f\" is invalid: metadata.finalizers[0]: Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified",
    );
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "f", "finalizers": ["example.com/mine", "orphan"]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
}

#[tokio::test]
async fn pod_rules_and_pod_updates() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        PODS,
        &json!({"metadata": {"name": "p"}, "spec": {}}),
    )
    .await;
    assert_invalid(&r, "Pod \"p\" is invalid: spec.containers: Required value");
    let mut p = pod("p");
    p["spec"]["containers"] = json!([{"name": "Bad_Name", "image": ""}, {"name": "a", "image": "x", "env": [{"name": "A=B"}],
        "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}]);
    p["spec"]["restartPolicy"] = json!("Sometimes");
    let r = send(&s, "POST", PODS, &p).await;
    assert_eq!(r.code, 422, "{}", r.body);
    let fields: Vec<&str> = r.body["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        vec![
            "spec.containers[0].name",
            "spec.containers[0].image",
            "spec.containers[1].env[0].name",
            "spec.containers[1].resources.requests[memory]",
            "spec.restartPolicy",
        ],
        "{}",
        r.body
    );
    assert!(message(&r).contains("spec.containers[1].resources.requests[memory]: Invalid value: \"2Gi\": must be less than or equal to memory limit of 1Gi"));
    let r = send(&s, "POST", PODS, &pod("p")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Images may change; other spec fields may not.
    // A strategic merge patch, as `kubectl set image` sends: containers merge by name, so only
    // the image changes (a merge patch would replace the list and drop its defaulted fields).
    let r = common::request(
        &s,
        "PATCH",
        &format!("{PODS}/p"),
        &[("content-type", "application/strategic-merge-patch+json")],
        json!({"spec": {"containers": [{"name": "app", "image": "busybox:2"}]}}).to_string(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.text());
    let r = send(
        &s,
        "PATCH",
        &format!("{PODS}/p"),
        &json!({"spec": {"nodeName": "n1"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert!(
        message(&r).starts_with("Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"),
        "{}",
        message(&r)
    );
}

#[tokio::test]
async fn workload_rules() {
    let s = server().await;
    let mut d = deployment("d");
    d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    d["spec"]["replicas"] = json!(-1);
    let r = send(&s, "POST", DEPLOYS, &d).await;
    assert_invalid(
        &r,
        "Deployment.apps \"d\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`]",
    );
    let mut d = deployment("d");
    d["spec"].as_object_mut().expect("spec").remove("selector");
    let r = send(&s, "POST", DEPLOYS, &d).await;
    assert_invalid(
        &r,
        "Deployment.apps \"d\" is invalid: spec.selector: Required value",
    );
    let r = send(&s, "POST", DEPLOYS, &deployment("d")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "PATCH", &format!("{DEPLOYS}/d"), &json!({"spec": {"selector": {"matchLabels": {"app": "d", "x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}}}}})).await;
    assert_invalid(
        &r,
        "Deployment.apps \"d\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"d\",\"x\":\"y\"}}: field is immutable",
    );
    // Jobs: pods that restart Always are refused; CronJob schedules must parse.
    let job = json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "x"}]}}}});
    let r = send(&s, "POST", "/apis/batch/v1/namespaces/default/jobs", &job).await;
    assert_invalid(
        &r,
        "Job.batch \"j\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
    let cj = json!({"metadata": {"name": "cj"}, "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}});
    let r = send(
        &s,
        "POST",
        "/apis/batch/v1/namespaces/default/cronjobs",
        &cj,
    )
    .await;
    assert_invalid(
        &r,
        "CronJob.batch \"cj\" is invalid: spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
    );
}

#[tokio::test]
async fn service_and_rbac_rules() {
    let s = server().await;
    let svcs = "/api/v1/namespaces/default/services";
    let r = send(
        &s,
        "POST",
        svcs,
        &json!({"metadata": {"name": "s"}, "spec": {"type": "Bogus", "ports": [{"port": 80}]}}),
    )
    .await;
    assert_invalid(
        &r,
        "Service \"s\" is invalid: spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
    );
    let r = send(&s, "POST", svcs, &json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}})).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{svcs}/s"),
        &json!({"spec": {"clusterIP": "10.0.0.2"}}),
    )
    .await;
    assert_invalid(
        &r,
        "Service \"s\" is invalid: spec.clusterIPs[0]: Invalid value: \"10.0.0.2\": may not change once set",
    );
    let rbs = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings";
    let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                    "subjects": [{"kind": "Robot", "name": "x"}]});
    let r = send(&s, "POST", rbs, &rb).await;
    assert_invalid(
        &r,
        "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
    );
    let mut rb = rb;
    rb["subjects"] = json!([{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]);
    let r = send(&s, "POST", rbs, &rb).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{rbs}/rb"),
        &json!({"roleRef": {"name": "other"}}),
    )
    .await;
    assert_invalid(
        &r,
        "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: roleRef: Invalid value: {\"APIGroup\":\"rbac.authorization.k8s.io\",\"Kind\":\"Role\",\"Name\":\"other\"}: cannot change roleRef",
    );
}

#[tokio::test]
async fn secrets_need_their_types_keys() {
    let s = server().await;
    let secrets = "/api/v1/namespaces/default/secrets";
    let r = send(
        &s,
        "POST",
        secrets,
        &json!({"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}}),
    )
    .await;
    assert_invalid(&r, "Secret \"t\" is invalid: data[tls.key]: Required value");
    let r = send(
        &s,
        "POST",
        secrets,
        &json!({"metadata": {"name": "o"}, "stringData": {"k": "v"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{secrets}/o"),
        &json!({"type": "kubernetes.io/basic-auth", "data": {"username": ""}}),
    )
    .await;
    assert_invalid(
        &r,
        "Secret \"o\" is invalid: type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
    );
}

/// The JSON-patch body that replaces the value at `path`.
fn replace(path: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": path, "value": value}])
}

async fn json_patch(s: &apiserver::ApiServer, path: &str, ops: &Value) -> Raw {
    raw(
        s,
        "PATCH",
        path,
        Some("application/json-patch+json"),
        ops.to_string(),
    )
    .await
}

#[tokio::test]
async fn ingress_rules_backends_and_class_annotation() {
    let s = server().await;
    let ings = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let r = send(
        &s,
        "POST",
        ings,
        &json!({"metadata": {"name": "i"}, "spec": {}}),
    )
    .await;
    assert_invalid(
        &r,
        "Ingress.networking.k8s.io \"i\" is invalid: spec: Invalid value: null: either `defaultBackend` or `rules` must be specified",
    );
    let no_port = json!({"metadata": {"name": "i"}, "spec": {"rules": [{"host": "example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web"}}}]}}]}});
    let r = send(&s, "POST", ings, &no_port).await;
    assert_invalid(
        &r,
        "Ingress.networking.k8s.io \"i\" is invalid: spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
    );
    let ip_host = json!({"metadata": {"name": "i"}, "spec": {"rules": [{"host": "10.0.0.1"}]}});
    let r = send(&s, "POST", ings, &ip_host).await;
    assert_invalid(
        &r,
        "Ingress.networking.k8s.io \"i\" is invalid: spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
    );
    let backend = json!({"service": {"name": "web", "port": {"number": 80}}});
    let mismatch = json!({"metadata": {"name": "i", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {"ingressClassName": "other", "defaultBackend": backend}});
    let r = send(&s, "POST", ings, &mismatch).await;
    assert_invalid(
        &r,
        "Ingress.networking.k8s.io \"i\" is invalid: annotations.kubernetes.io/ingress.class: Invalid value: \"nginx\": must match `ingressClassName` when both are specified",
    );
    let good = json!({"metadata": {"name": "i"}, "spec": {"ingressClassName": "nginx",
        "tls": [{"hosts": ["*.example.com"], "secretName": "tls"}],
        "rules": [{"host": "*.example.com", "http": {"paths": [{"path": "/api", "pathType": "Prefix", "backend": backend}]}}]}});
    let r = send(&s, "POST", ings, &good).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = json_patch(
        &s,
        &format!("{ings}/i"),
        &replace("/spec/tls/0/secretName", json!("Bad_Name")),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert!(
        message(&r).starts_with("Ingress.networking.k8s.io \"i\" is invalid: spec.tls[0].secretName: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn ingress_class_controller_and_parameters() {
    let s = server().await;
    let classes = "/apis/networking.k8s.io/v1/ingressclasses";
    let r = send(
        &s,
        "POST",
        classes,
        &json!({"metadata": {"name": "c"}, "spec": {"controller": "nginx"}}),
    )
    .await;
    assert_invalid(
        &r,
        "IngressClass.networking.k8s.io \"c\" is invalid: spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")",
    );
    let params = json!({"metadata": {"name": "c"}, "spec": {"controller": "example.com/ingress",
        "parameters": {"kind": "Params", "name": "p", "scope": "Namespace"}}});
    let r = send(&s, "POST", classes, &params).await;
    assert_invalid(
        &r,
        "IngressClass.networking.k8s.io \"c\" is invalid: spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
    );
    let r = send(
        &s,
        "POST",
        classes,
        &json!({"metadata": {"name": "c"}, "spec": {"controller": "example.com/ingress"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{classes}/c"),
        &json!({"spec": {"controller": "example.com/other"}}),
    )
    .await;
    assert_invalid(
        &r,
        "IngressClass.networking.k8s.io \"c\" is invalid: spec.controller: Invalid value: \"example.com/other\": field is immutable",
    );
}

#[tokio::test]
async fn network_policy_ports_and_peers() {
    let s = server().await;
    let nps = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies";
    let np = json!({"metadata": {"name": "np"}, "spec": {"podSelector": {}, "ingress": [{
        "ports": [{"port": "http", "endPort": 90}],
        "from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}, "podSelector": {}}]}]}});
    let r = send(&s, "POST", nps, &np).await;
    assert_invalid(
        &r,
        "NetworkPolicy.networking.k8s.io \"np\" is invalid: [spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric, spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`, spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer]",
    );
    let np = json!({"metadata": {"name": "np"}, "spec": {"podSelector": {}, "ingress": [{
        "ports": [{"port": 80, "endPort": 90}],
        "from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}]}]}});
    let r = send(&s, "POST", nps, &np).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn horizontal_pod_autoscaler_rules() {
    let s = server().await;
    let hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
    let r = send(&s, "POST", hpas, &json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 1}})).await;
    assert_invalid(
        &r,
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`",
    );
    let mismatched = json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": target, "maxReplicas": 3, "metrics": [
        {"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}}]}});
    let r = send(&s, "POST", hpas, &mismatched).await;
    assert_invalid(
        &r,
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: [spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0, spec.metrics[0].pods: Required value: must populate information for the given metric source]",
    );
    let behavior = json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": target, "maxReplicas": 3,
        "behavior": {"scaleDown": {"selectPolicy": "Sometimes", "policies": [{"type": "Pods", "value": 0, "periodSeconds": 60}]}}}});
    let r = send(&s, "POST", hpas, &behavior).await;
    assert_invalid(
        &r,
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: [spec.behavior.scaleDown.selectPolicy: Unsupported value: \"Sometimes\": supported values: \"Disabled\", \"Max\", \"Min\", spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero]",
    );
    let r = send(
        &s,
        "POST",
        hpas,
        &json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": target, "maxReplicas": 3}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{hpas}/h"),
        &json!({"spec": {"scaleTargetRef": {"name": "a/b"}}}),
    )
    .await;
    assert_invalid(
        &r,
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'",
    );
}

#[tokio::test]
async fn priority_class_values_and_reserved_names() {
    let s = server().await;
    let pcs = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let r = send(
        &s,
        "POST",
        pcs,
        &json!({"metadata": {"name": "high"}, "value": 2000000000}),
    )
    .await;
    assert_invalid(
        &r,
        "PriorityClass.scheduling.k8s.io \"high\" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
    );
    let r = send(
        &s,
        "POST",
        pcs,
        &json!({"metadata": {"name": "system-mine"}, "value": 10}),
    )
    .await;
    assert_invalid(
        &r,
        "PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
    );
    let r = send(
        &s,
        "POST",
        pcs,
        &json!({"metadata": {"name": "high"}, "value": 1000}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "PATCH", &format!("{pcs}/high"), &json!({"value": 1001})).await;
    assert_invalid(
        &r,
        "PriorityClass.scheduling.k8s.io \"high\" is invalid: value: Forbidden: may not be changed in an update.",
    );
}

#[tokio::test]
async fn pod_disruption_budget_eviction_policy() {
    let s = server().await;
    let pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 1, "unhealthyPodEvictionPolicy": "Never"}});
    let r = send(&s, "POST", pdbs, &pdb).await;
    assert_invalid(
        &r,
        "PodDisruptionBudget.policy \"p\" is invalid: spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
    );
    let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"}});
    let r = send(&s, "POST", pdbs, &pdb).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn storage_class_csi_driver_and_volume_attachment_rules() {
    let s = server().await;
    let scs = "/apis/storage.k8s.io/v1/storageclasses";
    let r = send(
        &s,
        "POST",
        scs,
        &json!({"metadata": {"name": "sc"}, "reclaimPolicy": "Recycle"}),
    )
    .await;
    assert_invalid(
        &r,
        "StorageClass.storage.k8s.io \"sc\" is invalid: [provisioner: Required value, reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"]",
    );
    let sc = json!({"metadata": {"name": "sc"}, "provisioner": "csi.example.com", "parameters": {"type": "ssd"}});
    let r = send(&s, "POST", scs, &sc).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{scs}/sc"),
        &json!({"parameters": {"type": "hdd"}}),
    )
    .await;
    assert_invalid(
        &r,
        "StorageClass.storage.k8s.io \"sc\" is invalid: parameters: Forbidden: updates to parameters are forbidden.",
    );

    let drivers = "/apis/storage.k8s.io/v1/csidrivers";
    let driver = json!({"metadata": {"name": "csi.example.com"}, "spec": {"tokenRequests": [{"audience": "a", "expirationSeconds": 60}]}});
    let r = send(&s, "POST", drivers, &driver).await;
    assert_invalid(
        &r,
        "CSIDriver.storage.k8s.io \"csi.example.com\" is invalid: spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
    );
    let r = send(
        &s,
        "POST",
        drivers,
        &json!({"metadata": {"name": "csi.example.com"}, "spec": {}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{drivers}/csi.example.com"),
        &json!({"spec": {"attachRequired": false}}),
    )
    .await;
    assert_invalid(
        &r,
        "CSIDriver.storage.k8s.io \"csi.example.com\" is invalid: spec.attachedRequired: Invalid value: false: field is immutable",
    );

    let vas = "/apis/storage.k8s.io/v1/volumeattachments";
    let r = send(&s, "POST", vas, &json!({"metadata": {"name": "va"}, "spec": {"attacher": "csi.example.com", "nodeName": "node-1", "source": {}}})).await;
    assert_invalid(
        &r,
        "VolumeAttachment.storage.k8s.io \"va\" is invalid: spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName",
    );
    let va = json!({"metadata": {"name": "va"}, "spec": {"attacher": "csi.example.com", "nodeName": "node-1", "source": {"persistentVolumeName": "pv-1"}}});
    let r = send(&s, "POST", vas, &va).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{vas}/va"),
        &json!({"spec": {"nodeName": "node-2"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let m = message(&r);
    assert!(
        m.starts_with("VolumeAttachment.storage.k8s.io \"va\" is invalid: spec: Invalid value: ")
            && m.ends_with(": field is immutable"),
        "{m}"
    );
}

#[tokio::test]
async fn persistent_volume_rules_and_pending_phase() {
    let s = server().await;
    let pvs = "/api/v1/persistentvolumes";
    let r = send(&s, "POST", pvs, &json!({"metadata": {"name": "pv"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}})).await;
    assert_invalid(
        &r,
        "PersistentVolume \"pv\" is invalid: spec: Required value: must specify a volume type",
    );
    let pv = json!({"metadata": {"name": "pv"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/data"}}});
    let r = send(&s, "POST", pvs, &pv).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["status"]["phase"], "Pending", "{}", r.body);
    assert!(
        r.body["status"]["lastPhaseTransitionTime"].is_string(),
        "{}",
        r.body
    );
    let r = send(
        &s,
        "PATCH",
        &format!("{pvs}/pv"),
        &json!({"spec": {"hostPath": {"path": "/other"}}}),
    )
    .await;
    assert_invalid(
        &r,
        "PersistentVolume \"pv\" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
    );
}

#[tokio::test]
async fn persistent_volume_claims_start_pending_and_only_grow_when_bound() {
    let s = server().await;
    let pvcs = "/api/v1/namespaces/default/persistentvolumeclaims";
    let r = send(
        &s,
        "POST",
        pvcs,
        &json!({"metadata": {"name": "c"}, "spec": {}}),
    )
    .await;
    assert_invalid(
        &r,
        "PersistentVolumeClaim \"c\" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]",
    );
    let claim = json!({"metadata": {"name": "c"}, "status": {"phase": "Bound"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let r = send(&s, "POST", pvcs, &claim).await;
    assert_eq!(r.code, 201, "{}", r.body);
    // PrepareForCreate drops the status written; the claim starts Pending.
    assert_eq!(r.body["status"], json!({"phase": "Pending"}), "{}", r.body);
    let r = send(&s, "GET", &format!("{pvcs}/c"), &Value::Null).await;
    assert_eq!(r.body["status"]["phase"], "Pending", "{}", r.body);

    let grow = json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}});
    let r = send(&s, "PATCH", &format!("{pvcs}/c"), &grow).await;
    assert_invalid(
        &r,
        "PersistentVolumeClaim \"c\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
    // The PV controller binds it (volumeName once, then the status).
    let r = send(
        &s,
        "PATCH",
        &format!("{pvcs}/c"),
        &json!({"spec": {"volumeName": "pv-1"}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{pvcs}/c"),
        &json!({"spec": {"volumeName": "pv-2"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let bound = json!({"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}});
    let r = send(&s, "PATCH", &format!("{pvcs}/c/status"), &bound).await;
    assert_eq!(r.code, 200, "{}", r.body);
    // Validation lets a bound claim grow; the PersistentVolumeClaimResize admission plugin then
    // wants a StorageClass that allows expansion, and this claim has none
    // (tests/admission_plugins.rs grows one that has).
    let r = send(&s, "PATCH", &format!("{pvcs}/c"), &grow).await;
    assert_eq!(r.code, 403, "{}", r.body);
    let shrink = json!({"spec": {"resources": {"requests": {"storage": "500Mi"}}}});
    let r = send(&s, "PATCH", &format!("{pvcs}/c"), &shrink).await;
    assert_invalid(
        &r,
        "PersistentVolumeClaim \"c\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity",
    );
}

#[tokio::test]
async fn endpoint_slice_addresses_and_ports() {
    let s = server().await;
    let slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
    let slice = json!({"metadata": {"name": "e"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1", "fe80::1"]}], "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]});
    let r = send(&s, "POST", slices, &slice).await;
    assert_invalid(
        &r,
        "EndpointSlice.discovery.k8s.io \"e\" is invalid: [endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128), endpoints[0].addresses[1]: Invalid value: \"fe80::1\": must be a valid IPv4 address, ports[1].name: Duplicate value: \"http\"]",
    );
    let slice = json!({"metadata": {"name": "e"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.2.3"]}], "ports": [{"name": "http", "port": 80}]});
    let r = send(&s, "POST", slices, &slice).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{slices}/e"),
        &json!({"addressType": "IPv6", "endpoints": [{"addresses": ["2001:db8::1"]}]}),
    )
    .await;
    assert_invalid(
        &r,
        "EndpointSlice.discovery.k8s.io \"e\" is invalid: addressType: Invalid value: \"IPv6\": field is immutable",
    );
}

#[tokio::test]
async fn webhook_configuration_rules() {
    let s = server().await;
    let vwcs = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
    let hook = json!({"name": "check", "clientConfig": {"url": "http://hooks.example.com/check"},
        "rules": [{"operations": ["*", "CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    let r = send(
        &s,
        "POST",
        vwcs,
        &json!({"metadata": {"name": "w"}, "webhooks": [hook]}),
    )
    .await;
    assert_invalid(
        &r,
        "ValidatingWebhookConfiguration.admissionregistration.k8s.io \"w\" is invalid: [webhooks[0].name: Invalid value: \"check\": should be a domain with at least three segments separated by dots, webhooks[0].rules[0].operations: Invalid value: [\"*\",\"CREATE\"]: if '*' is present, must not specify other operations, webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun, webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path], webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1]",
    );
    let hook = json!({"name": "check.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "hooks", "namespace": "default", "path": "/check"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    let r = send(
        &s,
        "POST",
        vwcs,
        &json!({"metadata": {"name": "w"}, "webhooks": [hook.clone(), hook]}),
    )
    .await;
    assert_invalid(
        &r,
        "ValidatingWebhookConfiguration.admissionregistration.k8s.io \"w\" is invalid: webhooks[1].name: Duplicate value: \"check.example.com\"",
    );
    let r = send(
        &s,
        "POST",
        vwcs,
        &json!({"metadata": {"name": "w"}, "webhooks": [hook]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let mwcs = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
    let mut mutating = hook.clone();
    mutating["reinvocationPolicy"] = json!("Always");
    let r = send(
        &s,
        "POST",
        mwcs,
        &json!({"metadata": {"name": "m"}, "webhooks": [mutating]}),
    )
    .await;
    assert_invalid(
        &r,
        "MutatingWebhookConfiguration.admissionregistration.k8s.io \"m\" is invalid: webhooks[0].reinvocationPolicy: Unsupported value: \"Always\": supported values: \"IfNeeded\", \"Never\"",
    );
    let r = send(
        &s,
        "POST",
        mwcs,
        &json!({"metadata": {"name": "m"}, "webhooks": [hook]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn validating_admission_policy_structure() {
    let s = server().await;
    let vaps = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
    let r = send(&s, "POST", vaps, &json!({"metadata": {"name": "p"}, "spec": {"paramKind": {"apiVersion": "a/b/c", "kind": "Config"}}})).await;
    assert_invalid(
        &r,
        "ValidatingAdmissionPolicy.admissionregistration.k8s.io \"p\" is invalid: [spec.paramKind.apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c, spec.matchConstraints: Required value, spec.validations: Required value: validations or auditAnnotations must contain at least one item, spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item]",
    );
    let policy = json!({"metadata": {"name": "p"}, "spec": {
        "matchConstraints": {"resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"]}]},
        "validations": [{"expression": "object.spec.replicas <= 5", "reason": "TooMany"}]}});
    let r = send(&s, "POST", vaps, &policy).await;
    assert_invalid(
        &r,
        "ValidatingAdmissionPolicy.admissionregistration.k8s.io \"p\" is invalid: spec.validations[0].reason: Unsupported value: \"TooMany\": supported values: \"Forbidden\", \"Invalid\", \"RequestEntityTooLarge\", \"Unauthorized\"",
    );
    let mut policy = policy;
    policy["spec"]["validations"][0]["reason"] = json!("Invalid");
    let r = send(&s, "POST", vaps, &policy).await;
    assert_eq!(r.code, 201, "{}", r.body);

    let bindings = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";
    let binding = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Deny", "Warn"],
        "paramRef": {"name": "cfg", "selector": {}}}});
    let r = send(&s, "POST", bindings, &binding).await;
    assert_invalid(
        &r,
        "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io \"b\" is invalid: [spec.paramRef.name: Forbidden: name and selector are mutually exclusive, spec.paramRef.selector: Forbidden: name and selector are mutually exclusive, spec.paramRef.parameterNotFoundAction: Required value, spec.validationActions: Invalid value: [\"Deny\",\"Warn\"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)]",
    );
    let binding = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Deny"]}});
    let r = send(&s, "POST", bindings, &binding).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{bindings}/b"),
        &json!({"spec": {"validationActions": []}}),
    )
    .await;
    assert_invalid(
        &r,
        "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io \"b\" is invalid: spec.validationActions: Required value: at least one validation action is required",
    );
}

const CSRS: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

fn csr(name: &str) -> Value {
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": common::csr_request(name), "signerName": "example.com/signer",
                 "usages": ["digital signature", "client auth"]}})
}

fn csr_invalid(name: &str, causes: &str) -> String {
    format!("CertificateSigningRequest.certificates.k8s.io \"{name}\" is invalid: {causes}")
}

#[tokio::test]
async fn certificate_signing_request_create_rules() {
    let s = server().await;
    // A signed request is accepted; the user fields and status a client sends are not kept:
    // the user fields are the requester's (here the admin; tests/auth.rs has other users).
    let mut good = csr("good");
    good["spec"]["username"] = "mallory".into();
    good["spec"]["uid"] = "forged".into();
    good["spec"]["groups"] = json!(["forged"]);
    good["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
    let r = send(&s, "POST", CSRS, &good).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["username"], "admin", "{}", r.body);
    assert!(r.body["spec"].get("uid").is_none(), "{}", r.body);
    assert_eq!(
        r.body["spec"]["groups"],
        json!(["system:masters", "system:authenticated"]),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], json!({}), "{}", r.body);

    let mut bad = csr("bad");
    bad["spec"]["request"] = "aGVsbG8=".into(); // "hello"
    assert_invalid(
        &send(&s, "POST", CSRS, &bad).await,
        &csr_invalid(
            "bad",
            "spec.request: Invalid value: \"aGVsbG8=\": PEM block type must be CERTIFICATE REQUEST",
        ),
    );
    let mut no_usages = csr("no-usages");
    no_usages["spec"]["usages"] = json!([]);
    assert_invalid(
        &send(&s, "POST", CSRS, &no_usages).await,
        &csr_invalid("no-usages", "spec.usages: Required value"),
    );
    let mut unknown = csr("unknown");
    unknown["spec"]["usages"] = json!(["client auth", "client auth"]);
    assert_invalid(
        &send(&s, "POST", CSRS, &unknown).await,
        &csr_invalid(
            "unknown",
            "spec.usages[1]: Duplicate value: \"client auth\"",
        ),
    );
    let mut legacy = csr("legacy");
    legacy["spec"]["signerName"] = "kubernetes.io/legacy-unknown".into();
    assert_invalid(
        &send(&s, "POST", CSRS, &legacy).await,
        &csr_invalid(
            "legacy",
            "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version",
        ),
    );
    let mut unsigned = csr("unsigned");
    unsigned["spec"]["signerName"] = "signer".into();
    assert_invalid(
        &send(&s, "POST", CSRS, &unsigned).await,
        &csr_invalid(
            "unsigned",
            "spec.signerName: Invalid value: \"signer\": must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ),
    );
    let mut short = csr("short");
    short["spec"]["expirationSeconds"] = 599.into();
    assert_invalid(
        &send(&s, "POST", CSRS, &short).await,
        &csr_invalid(
            "short",
            "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)",
        ),
    );
    // Nothing invalid was stored.
    let list = send(&s, "GET", CSRS, &Value::Null).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn certificate_signing_request_update_paths_own_their_parts() {
    let s = server().await;
    let created = send(&s, "POST", CSRS, &csr("c")).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let at = |sub: &str| format!("{CSRS}/c{sub}");
    let approve = json!({"status": {"conditions": [{"type": "Approved", "status": "True", "reason": "Test"}]}});

    // The main resource keeps spec and status: a changed spec is reset, not refused.
    let mut changed = created.body.clone();
    changed["spec"]["signerName"] = "example.com/other".into();
    changed["metadata"]["labels"] = json!({"team": "a"});
    let r = send(&s, "PUT", &at(""), &changed).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["signerName"], "example.com/signer");
    assert_eq!(r.body["metadata"]["labels"]["team"], "a");

    // /status may not decide the request.
    assert_invalid(
        &send(&s, "PATCH", &at("/status"), &approve).await,
        &csr_invalid(
            "c",
            "status.conditions: Forbidden: updates may not add a condition of type \"Approved\"",
        ),
    );
    // /approval may; its times are stamped.
    let r = send(&s, "PATCH", &at("/approval"), &approve).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(r.body["status"]["conditions"][0]["lastTransitionTime"].is_string());
    let managers: Vec<&str> = r.body["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["subresource"].as_str())
        .collect();
    assert!(managers.contains(&"approval"), "{}", r.body);
    // ... and may not take it back or add the opposite decision.
    assert_invalid(
        &send(
            &s,
            "PATCH",
            &at("/approval"),
            &json!({"status": {"conditions": []}}),
        )
        .await,
        &csr_invalid(
            "c",
            "status.conditions: Forbidden: updates may not remove a condition of type \"Approved\"",
        ),
    );
    let both = json!({"status": {"conditions": [{"type": "Approved", "status": "True"},
        {"type": "Denied", "status": "True"}]}});
    assert_invalid(
        &send(&s, "PATCH", &at("/approval"), &both).await,
        &csr_invalid(
            "c",
            "status.conditions: Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive",
        ),
    );

    // /status sets the certificate: PEM CERTIFICATE blocks only, and only once.
    let junk = json!({"status": {"certificate": "anVuaw=="}}); // "junk"
    assert_invalid(
        &send(&s, "PATCH", &at("/status"), &junk).await,
        &csr_invalid(
            "c",
            "status.certificate: Invalid value: \"<certificate data>\": must contain at least one CERTIFICATE PEM block",
        ),
    );
    let issued = common::csr_certificate("c");
    let r = send(
        &s,
        "PATCH",
        &at("/status"),
        &json!({"status": {"certificate": issued}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    // The approval survived the status write.
    assert_eq!(r.body["status"]["conditions"][0]["type"], "Approved");
    let again = json!({"status": {"certificate": common::csr_certificate("other")}});
    assert_invalid(
        &send(&s, "PATCH", &at("/status"), &again).await,
        &csr_invalid(
            "c",
            "status.certificate: Forbidden: updates may not modify existing certificate content",
        ),
    );
}

#[tokio::test]
async fn pod_log_options_are_checked_before_the_pod_is_read() {
    let s = server().await;
    let made = send(&s, "POST", PODS, &pod("solo")).await;
    assert_eq!(made.code, 201, "{}", made.body);
    let log = |name: &str, query: &str| format!("{PODS}/{name}/log?{query}");

    for (query, causes) in [
        (
            "tailLines=-1",
            "tailLines: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "limitBytes=0",
            "limitBytes: Invalid value: 0: must be greater than 0",
        ),
        (
            "sinceSeconds=-5",
            "sinceSeconds: Invalid value: -5: must be greater than 0",
        ),
        (
            "sinceSeconds=60&sinceTime=2026-12-05T08:00:00Z",
            ": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
        (
            "tailLines=-1&limitBytes=-1",
            "[tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: -1: must be greater than 0]",
        ),
    ] {
        let r = raw(&s, "GET", &log("solo", query), None, "").await;
        assert_invalid(&r, &format!("PodLogOptions \"solo\" is invalid: {causes}"));
        assert_eq!(r.body["details"]["kind"], "PodLogOptions", "{query}");
    }
    let r = raw(&s, "GET", &log("solo", "tailLines=-1"), None, "").await;
    assert_eq!(
        r.body["details"]["causes"],
        json!([{"reason": "FieldValueInvalid", "field": "tailLines",
            "message": "Invalid value: -1: must be greater than or equal to 0"}])
    );

    // Values that do not convert are the parameter codec's 400s.
    assert_bad_request(
        &raw(&s, "GET", &log("solo", "tailLines=ten"), None, "").await,
        "strconv.ParseInt: parsing \"ten\": invalid syntax",
    );
    assert_bad_request(
        &raw(&s, "GET", &log("solo", "sinceTime=yesterday"), None, "").await,
        "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"",
    );

    // The options come first: a missing pod with bad options is a 422, with good ones a 404.
    let r = raw(&s, "GET", &log("ghost", "tailLines=-1"), None, "").await;
    assert_eq!(r.code, 422, "{}", r.body);
    let r = raw(&s, "GET", &log("ghost", "tailLines=1"), None, "").await;
    assert_eq!(r.code, 404, "{}", r.body);

    // Valid options reach the kubelet-less answer: 204 for an unscheduled pod.
    let r = raw(
        &s,
        "GET",
        &log(
            "solo",
            "tailLines=0&limitBytes=1&sinceSeconds=1&follow=true&timestamps=1",
        ),
        None,
        "",
    )
    .await;
    assert_eq!(r.code, 204, "{}", r.body);
    let r = raw(
        &s,
        "GET",
        &log("solo", "sinceTime=2026-12-05T08:00:00Z"),
        None,
        "",
    )
    .await;
    assert_eq!(r.code, 204, "{}", r.body);
}

const BUNDLES: &str = "/apis/certificates.k8s.io/v1/clustertrustbundles";

/// A self-signed CA certificate as PEM.
fn ca_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("self-signed").pem()
}

#[tokio::test]
async fn cluster_trust_bundle_rules() {
    let s = server().await;
    let bundle = |name: &str, signer: Option<&str>, pem: &str| {
        let mut b = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "ClusterTrustBundle",
            "metadata": {"name": name}, "spec": {"trustBundle": pem}});
        if let Some(signer) = signer {
            b["spec"]["signerName"] = signer.into();
        }
        b
    };
    let ca = ca_pem("a");
    let ok = send(
        &s,
        "POST",
        BUNDLES,
        &bundle("example.com:signer:a", Some("example.com/signer"), &ca),
    )
    .await;
    assert_eq!(ok.code, 201, "{}", ok.body);
    assert_invalid(
        &send(
            &s,
            "POST",
            BUNDLES,
            &bundle("other", Some("example.com/signer"), &ca),
        )
        .await,
        "ClusterTrustBundle.certificates.k8s.io \"other\" is invalid: metadata.name: Invalid value: \"other\": ClusterTrustBundle for signerName example.com/signer must be named with prefix example.com:signer:",
    );
    assert_invalid(
        &send(&s, "POST", BUNDLES, &bundle("a:b", None, &ca)).await,
        "ClusterTrustBundle.certificates.k8s.io \"a:b\" is invalid: metadata.name: Invalid value: \"a:b\": ClusterTrustBundle without signer name must not have \":\" in its name",
    );
    assert_invalid(
        &send(
            &s,
            "POST",
            BUNDLES,
            &bundle("dup", None, &format!("{ca}{}{ca}", ca_pem("b"))),
        )
        .await,
        "ClusterTrustBundle.certificates.k8s.io \"dup\" is invalid: spec.trustBundle: Invalid value: \"<value omitted>\": duplicate trust anchor (indices [0 2])",
    );
    assert_invalid(
        &send(&s, "POST", BUNDLES, &bundle("none", None, "")).await,
        "ClusterTrustBundle.certificates.k8s.io \"none\" is invalid: spec.trustBundle: Invalid value: \"<value omitted>\": at least one trust anchor must be provided",
    );
    // The signer name cannot change.
    let r = send(
        &s,
        "PATCH",
        &format!("{BUNDLES}/example.com:signer:a"),
        &json!({"spec": {"signerName": "example.com/other"}}),
    )
    .await;
    assert_invalid(
        &r,
        "ClusterTrustBundle.certificates.k8s.io \"example.com:signer:a\" is invalid: [metadata.name: Invalid value: \"example.com:signer:a\": ClusterTrustBundle for signerName example.com/other must be named with prefix example.com:other:, spec.signerName: Invalid value: \"example.com/other\": field is immutable]",
    );
}

const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

/// A server serving `widgets.example.com` (`common::widget_crd`) besides the built-in types.
async fn server_with_widgets() -> apiserver::ApiServer {
    let crd = serde_json::from_value(widget_crd()).expect("CRD");
    apiserver::ApiServer::builder()
        .namespace_defaults(false)
        .crd(crd)
        .start()
        .await
        .expect("start")
}

/// One `Warning` header as kube writes a strict decoding error.
fn warning(error: &str) -> String {
    format!("299 - {}", json!(error))
}

#[tokio::test]
async fn duplicate_fields_of_a_built_in_body_follow_field_validation_and_merge_as_go_decodes() {
    let s = server().await;
    // Go decodes a repeated `metadata` into the struct the first one filled: name and label
    // both kept; the repeated scalar `image` is replaced; the unknown field is met between them.
    let body = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup"},
        "spec":{"containers":[{"name":"app","image":"a","image":"b","bogus":1}]},
        "metadata":{"labels":{"x":"y"}}}"#;
    let r = raw(&s, "POST", PODS, Some("application/json"), body).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![
            warning("duplicate field \"spec.containers[0].image\""),
            warning("unknown field \"spec.containers[0].bogus\""),
            warning("duplicate field \"metadata\""),
        ]
    );
    assert_eq!(r.body["metadata"]["name"], "dup", "{}", r.body);
    assert_eq!(
        r.body["metadata"]["labels"],
        json!({"x": "y"}),
        "{}",
        r.body
    );
    assert_eq!(r.body["spec"]["containers"][0]["image"], "b", "{}", r.body);
    // Strict: kube's create handler wraps the strict error as any decode error.
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}?fieldValidation=Strict"),
        Some("application/json"),
        body.replace("\"dup\"", "\"strict\""),
    )
    .await;
    assert_bad_request(
        &r,
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: duplicate field \"spec.containers[0].image\", unknown field \"spec.containers[0].bogus\", duplicate field \"metadata\"",
    );
    // Ignore: the same merged object, no word.
    let r = raw(
        &s,
        "POST",
        &format!("{PODS}?fieldValidation=Ignore"),
        Some("application/json"),
        body.replace("\"dup\"", "\"quiet\""),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
    assert_eq!(
        r.body["metadata"]["labels"],
        json!({"x": "y"}),
        "{}",
        r.body
    );
    // Update: the same rules.
    let update = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","a":"2"}}"#;
    let r = send(&s, "POST", CMS, &json!({"metadata": {"name": "c"}})).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = raw(
        &s,
        "PUT",
        &format!("{CMS}/c?fieldValidation=Strict"),
        Some("application/json"),
        update,
    )
    .await;
    assert_bad_request(
        &r,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"data.a\"",
    );
    let r = raw(
        &s,
        "PUT",
        &format!("{CMS}/c"),
        Some("application/json"),
        update,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(warnings(&r), vec![warning("duplicate field \"data.a\"")]);
    assert_eq!(r.body["data"], json!({"a": "2"}), "{}", r.body);
}

#[tokio::test]
async fn duplicate_fields_of_a_custom_resource_come_before_its_pruned_fields() {
    let s = server_with_widgets().await;
    // Decoded into map[string]interface{}: the last value wins whole (no merge), and the
    // duplicates (schemaCoercingDecoder's decode) precede the unknown fields pruning finds.
    let body = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
        "spec":{"size":1,"bogus":true,"items":[{"k":1,"k":2}]},
        "spec":{"size":2,"bogus":true},"metadata":{"name":"w","name":"w"}}"#;
    let r = raw(&s, "POST", WIDGETS, Some("application/json"), body).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![
            warning("duplicate field \"spec.items[0].k\""),
            warning("duplicate field \"spec\""),
            warning("duplicate field \"metadata\""),
            warning("duplicate field \"metadata.name\""),
            warning("unknown field \"spec.bogus\""),
        ]
    );
    assert_eq!(
        r.body["spec"],
        json!({"size": 2, "color": "red"}),
        "{}",
        r.body
    );
    let r = raw(
        &s,
        "POST",
        &format!("{WIDGETS}?fieldValidation=Strict"),
        Some("application/json"),
        r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"x"},"spec":{"size":1,"size":2,"bogus":1}}"#,
    )
    .await;
    assert_bad_request(
        &r,
        "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: duplicate field \"spec.size\", unknown field \"spec.bogus\"",
    );
    // A patch body's duplicates, then the patched object's pruned fields, in one 422.
    let r = raw(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w?fieldValidation=Strict"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"size":3,"size":4,"bogus":1}}"#,
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert!(
        message(&r).ends_with(
            "\": strict decoding error: duplicate field \"spec.size\", unknown field \"spec.bogus\""
        ),
        "{}",
        r.body
    );
    let r = raw(
        &s,
        "PATCH",
        &format!("{WIDGETS}/w"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"size":3,"size":4,"bogus":1}}"#,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![
            warning("duplicate field \"spec.size\""),
            warning("unknown field \"spec.bogus\""),
        ]
    );
    assert_eq!(r.body["spec"]["size"], 4, "{}", r.body);
}

#[tokio::test]
async fn duplicate_fields_of_a_patch_body_are_its_own_strict_errors() {
    let s = server().await;
    let r = send(&s, "POST", CMS, &json!({"metadata": {"name": "p"}})).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let cases = [
        (
            "application/merge-patch+json",
            r#"{"data":{"a":"1","a":"2"},"bogus":1}"#,
            vec!["duplicate field \"data.a\"", "unknown field \"bogus\""],
        ),
        (
            "application/strategic-merge-patch+json",
            r#"{"metadata":{"labels":{"l":"1"},"labels":{"l":"2"}}}"#,
            vec!["duplicate field \"metadata.labels\""],
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"add","path":"/data/b","value":"1","value":"2","bogus":0}]"#,
            vec![
                "json patch duplicate field \"[0].value\"",
                "json patch unknown field \"[0].bogus\"",
            ],
        ),
    ];
    for (ct, patch, errors) in cases {
        let r = raw(&s, "PATCH", &format!("{CMS}/p"), Some(ct), patch).await;
        assert_eq!(r.code, 200, "{ct}: {}", r.body);
        let want: Vec<String> = errors.iter().map(|e| warning(e)).collect();
        assert_eq!(warnings(&r), want, "{ct}");
        let r = raw(
            &s,
            "PATCH",
            &format!("{CMS}/p?fieldValidation=Strict"),
            Some(ct),
            patch,
        )
        .await;
        assert_eq!(r.code, 422, "{ct}: {}", r.body);
        assert!(
            message(&r).ends_with(&format!("\": strict decoding error: {}", errors.join(", "))),
            "{ct}: {}",
            r.body
        );
        let r = raw(
            &s,
            "PATCH",
            &format!("{CMS}/p?fieldValidation=Ignore"),
            Some(ct),
            patch,
        )
        .await;
        assert_eq!(r.code, 200, "{ct}: {}", r.body);
        assert!(warnings(&r).is_empty(), "{ct}: {:?}", warnings(&r));
    }
    let r = send(&s, "GET", &format!("{CMS}/p"), &Value::Null).await;
    assert_eq!(r.body["data"], json!({"a": "2", "b": "2"}), "{}", r.body);
    assert_eq!(
        r.body["metadata"]["labels"],
        json!({"l": "2"}),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn duplicate_keys_of_a_yaml_body_keep_the_last_value_and_follow_field_validation() {
    let s = server().await;
    let body =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\ndata:\n  a: \"1\"\n  a: \"2\"\n";
    let r = raw(
        &s,
        "POST",
        &format!("{CMS}?fieldValidation=Strict"),
        Some("application/yaml"),
        body,
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert!(
        message(&r).starts_with(
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: "
        ),
        "{}",
        r.body
    );
    let r = raw(&s, "POST", CMS, Some("application/yaml"), body).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(warnings(&r).len(), 1, "{:?}", warnings(&r));
    assert_eq!(r.body["data"], json!({"a": "2"}), "{}", r.body);
}
