//! Validation of built-in types over HTTP: decoding against the Go type (400 worded as kube's
//! decoder), `fieldValidation` for unknown fields, ObjectMeta rules and per-type rules (422 with
//! kube's messages and field paths), on create, update, patch and server-side apply.

mod common;

use common::{Raw, raw, send};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const APPLY: &str = "application/apply-patch+yaml";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        // No kube-controller-manager objects (`kube-root-ca.crt`): these tests count ConfigMaps.
        .namespace_defaults(false)
        .start()
        .await
        .expect("start")
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
        "strict decoding error: unknown field \"spec.containers[0].bar\", unknown field \"spec.foo\"",
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
    assert_bad_request(&r, "strict decoding error: unknown field \"spec.foo\"");
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
    // An undomained finalizer is a warning.
    let r = send(
        &s,
        "POST",
        CMS,
        &json!({"metadata": {"name": "f", "finalizers": ["mine"]}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        warnings(&r),
        vec![
            "299 - \"metadata.finalizers: \\\"mine\\\": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers\""
        ]
    );
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
        "Deployment.apps \"d\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`]",
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
        "Deployment.apps \"d\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"d\", \"x\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
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
        "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"other\"}: cannot change roleRef",
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
